// Package sip parses SIP messages (RFC 3261) tolerantly: a message with
// problems is still returned, with the problems listed, so that nothing in a
// capture is dropped silently. It also builds messages for the active mode.
package sip

import (
	"strconv"
	"strings"
)

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
	CSeqMethod    string
	Via           []Via // every Via value, topmost first
	Contact       string
	UserAgent     string // User-Agent, or Server in a response
	ContentType   string
	ContentLength int // -1 when absent
	MaxForwards   int // -1 when absent

	Body []byte
	// Raw is the whole message as captured, kept only when the parser was
	// asked to (ladders and reports show it).
	Raw []byte

	// Problems found while parsing; a message with problems is malformed
	// but still carries every field that could be read.
	Problems []string
}

// IsRequest reports whether the message is a request.
func (m *Message) IsRequest() bool { return m.StatusCode == 0 }

// Malformed reports whether parsing found problems.
func (m *Message) Malformed() bool { return len(m.Problems) > 0 }

// Header is one header field.
type Header struct {
	Name  string // canonical long form, e.g. "Call-ID", "Via"
	Value string
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

// Values returns every value of the named header, splitting comma-separated
// lists for headers whose grammar allows them (Via, Route, Supported, ...).
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

// NameAddr is a From, To or Contact value: display name, URI and tag.
type NameAddr struct {
	Display string
	URI     string
	Tag     string
	Raw     string
}

// User returns the user part of the URI ("alice" in sip:alice@host).
func (n NameAddr) User() string { return URIUser(n.URI) }

// URIUser returns the user part of a SIP URI, or "".
func URIUser(uri string) string {
	u := uri
	if i := strings.IndexByte(u, ':'); i >= 0 {
		u = u[i+1:]
	}
	at := strings.IndexByte(u, '@')
	if at < 0 {
		return ""
	}
	u = u[:at]
	if i := strings.IndexByte(u, ';'); i >= 0 {
		u = u[:i]
	}
	if i := strings.IndexByte(u, ':'); i >= 0 { // user:password
		u = u[:i]
	}
	return u
}

// URIHost returns the host[:port] part of a SIP URI, or "".
func URIHost(uri string) string {
	u := uri
	if i := strings.IndexByte(u, ':'); i >= 0 && !strings.HasPrefix(u[i+1:], "//") {
		u = u[i+1:]
	}
	if at := strings.LastIndexByte(u, '@'); at >= 0 {
		u = u[at+1:]
	}
	if i := strings.IndexAny(u, ";?>"); i >= 0 {
		u = u[:i]
	}
	return u
}

// Via is one Via header value (RFC 3261 §20.42).
type Via struct {
	Transport string // "UDP", "TCP", "TLS", "WS", ...
	Host      string // sent-by host
	Port      int    // sent-by port, 0 when absent
	Branch    string
	Received  string // received= parameter (RFC 3261 §18.2.1)
	RPort     int    // rport= value (RFC 3581), 0 when absent or empty
	HasRPort  bool   // rport present, with or without a value
}

// SentBy returns host[:port] as the Via states it.
func (v Via) SentBy() string {
	if v.Port == 0 {
		return v.Host
	}
	if strings.IndexByte(v.Host, ':') >= 0 && !strings.HasPrefix(v.Host, "[") {
		return "[" + v.Host + "]:" + strconv.Itoa(v.Port)
	}
	return v.Host + ":" + strconv.Itoa(v.Port)
}

// RFC3261Branch reports whether the branch carries the RFC 3261 magic cookie,
// which makes it usable alone as a transaction key (§17.2.3).
func (v Via) RFC3261Branch() bool { return strings.HasPrefix(v.Branch, "z9hG4bK") }
