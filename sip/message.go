// Package sip parses SIP messages (RFC 3261) tolerantly: a message with
// problems is still returned, with the problems listed, so that nothing in a
// capture is dropped silently. It also builds messages for the active mode.
package sip

import "strconv"

// Message is one SIP request or response. Strings are copies: a Message
// outlives the packet buffer it was parsed from.
type Message struct {
	// Request line (requests) or status line (responses).
	Method     string // "" for a response
	RequestURI string
	StatusCode int // 0 for a request
	Reason     string

	Headers []Header // in wire order, names in canonical long form

	// Frequently used headers, extracted once.
	CallID        string
	From, To      NameAddr
	CSeq          int
	CSeqMethod    string // upper case
	Via           []Via  // every Via value, topmost first
	Contact       string // first Contact value
	UserAgent     string // User-Agent, or Server in a response
	ContentType   string
	ContentLength int // -1 when absent or not a number
	MaxForwards   int // -1 when absent or not a number

	// Body is the message body: Content-Length bytes after the empty line,
	// or everything after it when Content-Length is absent or wrong.
	Body []byte
	// Raw is the whole message as captured, kept only when the parser was
	// asked to (ladders and reports show it).
	Raw []byte

	// Problems found while parsing, each naming the text it concerns; a
	// message with problems is malformed but still carries every field that
	// could be read. At most maxProblems are listed.
	Problems []string
}

// IsRequest reports whether the message is a request.
func (m *Message) IsRequest() bool { return m.StatusCode == 0 }

// Malformed reports whether parsing found problems.
func (m *Message) Malformed() bool { return len(m.Problems) > 0 }

// Header is one header field.
type Header struct {
	Name  string // canonical long form, e.g. "Call-ID", "Via"
	Value string // trimmed, folded lines joined with single spaces
}

// Get returns the first value of the named header (any case, compact or
// long form), or "".
func (m *Message) Get(name string) string {
	name = CanonicalName(name)
	for _, h := range m.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// Values returns every value of the named header in wire order, across
// repeated header lines, splitting comma-separated lists for headers whose
// grammar is a list (Via, Route, Contact, Supported, ...; RFC 3261 §7.3.1).
func (m *Message) Values(name string) []string {
	name = CanonicalName(name)
	var out []string
	for _, h := range m.Headers {
		if h.Name != name {
			continue
		}
		if multiValued[name] {
			out = append(out, SplitList(h.Value)...)
		} else {
			out = append(out, h.Value)
		}
	}
	return out
}

// Summary is the short label of a message on a ladder: the method for a
// request, "200 OK" for a response.
func (m *Message) Summary() string {
	if m.IsRequest() {
		return m.Method
	}
	if m.Reason == "" {
		return strconv.Itoa(m.StatusCode)
	}
	return strconv.Itoa(m.StatusCode) + " " + m.Reason
}
