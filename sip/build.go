package sip

import (
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
)

// NewRequest returns a request with the given method and Request-URI and
// no headers. The caller adds at least Via, Max-Forwards, From, To,
// Call-ID and CSeq (RFC 3261 §8.1.1) with Set or Add; Content-Length is
// written by AppendTo.
func NewRequest(method, uri string) *Message {
	return &Message{Method: method, RequestURI: uri, ContentLength: -1, MaxForwards: -1}
}

// NewResponse returns a response to req as a UAS builds it (RFC 3261
// §8.2.6): the Via headers in order, From, To, Call-ID and CSeq copied;
// Timestamp copied into a 100 (§8.2.6.1); Record-Route copied into a
// dialog-creating 1xx or 2xx (§12.1.1). When req's To has no tag and code
// is not 100, a tag is added that is derived from the request, so every
// response to the same request carries the same tag; SetToTag chooses
// another. An empty reason takes the RFC 3261 §21 phrase.
func NewResponse(req *Message, code int, reason string) *Message {
	if reason == "" {
		reason = StatusText(code)
	}
	r := &Message{StatusCode: code, Reason: reason, ContentLength: -1, MaxForwards: -1}
	dialogCreating := code > 100 && code < 300
	switch req.Method {
	case "INVITE", "SUBSCRIBE", "REFER", "NOTIFY":
	default:
		dialogCreating = false
	}
	for _, h := range req.Headers {
		switch h.Name {
		case "Via", "From", "Call-ID", "CSeq":
		case "To":
			if req.To.Tag == "" && code != 100 {
				h.Value = setTag(h.Value, responseTag(req))
			}
		case "Timestamp":
			if code != 100 {
				continue
			}
		case "Record-Route":
			if !dialogCreating {
				continue
			}
		default:
			continue
		}
		r.Headers = append(r.Headers, h)
	}
	r.derive(false)
	return r
}

// responseTag derives a To tag from what identifies the request's
// transaction and dialog, so that retransmitted and later responses agree.
func responseTag(req *Message) string {
	h := fnv.New64a()
	h.Write([]byte(req.CallID))
	h.Write([]byte{0})
	h.Write([]byte(req.From.Tag))
	h.Write([]byte{0})
	if len(req.Via) > 0 {
		h.Write([]byte(req.Via[0].Branch))
	}
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(req.CSeq)))
	return strconv.FormatUint(h.Sum64(), 36)
}

// NewCancel returns the CANCEL of a pending request (RFC 3261 §9.1): same
// Request-URI, Call-ID, From, To, CSeq number and Route headers, and only
// the request's top Via, so that it matches the request's transaction.
func NewCancel(req *Message) *Message {
	c := NewRequest("CANCEL", req.RequestURI)
	c.copyTransactionHeaders(req, req.Get("To"), "CANCEL")
	return c
}

// NewAck returns the ACK a client transaction sends for a non-2xx final
// response resp to the INVITE req (RFC 3261 §17.1.1.3): the request's top
// Via, Request-URI, Call-ID, From and Route, the To of the response (with
// its tag) and the CSeq number of the INVITE. The ACK for a 2xx is a new
// transaction of the dialog and is not built here.
func NewAck(req, resp *Message) *Message {
	a := NewRequest("ACK", req.RequestURI)
	a.copyTransactionHeaders(req, resp.Get("To"), "ACK")
	return a
}

func (m *Message) copyTransactionHeaders(req *Message, to, method string) {
	if v, _ := nextItem(req.Get("Via"), 0); v != "" {
		m.Headers = append(m.Headers, Header{"Via", v})
	}
	m.Headers = append(m.Headers, Header{"Max-Forwards", "70"})
	for _, h := range req.Headers {
		switch h.Name {
		case "From", "Call-ID", "Route":
			m.Headers = append(m.Headers, h)
		case "To":
			m.Headers = append(m.Headers, Header{"To", to})
		case "CSeq":
			m.Headers = append(m.Headers, Header{"CSeq", strconv.Itoa(req.CSeq) + " " + method})
		}
	}
	m.derive(false)
}

// Set replaces the named header: the first one keeps its place and takes
// value, the others are removed; without one, the header is added at the
// end. Fields such as CallID and Via follow.
func (m *Message) Set(name, value string) {
	name = CanonicalName(name)
	out, set := m.Headers[:0], false
	for _, h := range m.Headers {
		if h.Name == name {
			if set {
				continue
			}
			h.Value, set = value, true
		}
		out = append(out, h)
	}
	m.Headers = out
	if !set {
		m.Headers = append(m.Headers, Header{name, value})
	}
	m.derive(false)
}

// Add adds a header after all others.
func (m *Message) Add(name, value string) {
	m.Headers = append(m.Headers, Header{CanonicalName(name), value})
	m.derive(false)
}

// Prepend adds a header before the first header of the same name, or
// before all headers when there is none: where a proxy puts its Via or
// Record-Route (RFC 3261 §16.6).
func (m *Message) Prepend(name, value string) {
	name = CanonicalName(name)
	at := 0
	for i, h := range m.Headers {
		if h.Name == name {
			at = i
			break
		}
	}
	m.Headers = append(m.Headers, Header{})
	copy(m.Headers[at+1:], m.Headers[at:])
	m.Headers[at] = Header{name, value}
	m.derive(false)
}

// Del removes every header of that name.
func (m *Message) Del(name string) {
	name = CanonicalName(name)
	out := m.Headers[:0]
	for _, h := range m.Headers {
		if h.Name != name {
			out = append(out, h)
		}
	}
	clear(m.Headers[len(out):])
	m.Headers = out
	m.derive(false)
}

// SetBody sets the body with its Content-Type (removed when contentType is
// "") and Content-Length.
func (m *Message) SetBody(contentType string, body []byte) {
	m.Body = body
	if contentType == "" {
		m.Del("Content-Type")
	} else {
		m.Set("Content-Type", contentType)
	}
	m.Set("Content-Length", strconv.Itoa(len(body)))
}

// SetToTag sets the tag parameter of the To header, replacing any.
func (m *Message) SetToTag(tag string) {
	m.Set("To", setTag(m.Get("To"), tag))
}

// setTag returns a From or To value with its tag parameter replaced.
func setTag(value, tag string) string {
	s := trimWS(value)
	paramsAt := 0
	if gt := strings.LastIndexByte(s, '>'); gt >= 0 {
		paramsAt = gt + 1
	} else if i := strings.IndexByte(s, ';'); i >= 0 {
		paramsAt = i
	} else {
		paramsAt = len(s)
	}
	var b strings.Builder
	b.WriteString(s[:paramsAt])
	params := s[paramsAt:]
	for i := 0; i < len(params); {
		start := i
		var k string
		k, _, _, i = nextParam(params, i)
		if k == "" || strings.EqualFold(k, "tag") {
			continue
		}
		b.WriteByte(';')
		b.WriteString(trimWS(params[start:min(i-1, len(params))]))
	}
	b.WriteString(";tag=")
	b.WriteString(tag)
	return b.String()
}

// Bytes serialises the message; see AppendTo.
func (m *Message) Bytes() []byte {
	n := len(m.Method) + len(m.RequestURI) + len(m.Reason) + len(m.Body) + 64
	for _, h := range m.Headers {
		n += len(h.Name) + len(h.Value) + 4
	}
	return m.AppendTo(make([]byte, 0, n))
}

// AppendTo appends the message in wire form to b: the start line, the
// headers in order with their canonical names, a Content-Length computed
// from Body (in place of the first Content-Length header, or last), the
// empty line and the body. CR and LF inside names and values become spaces,
// so that no value can inject a header.
func (m *Message) AppendTo(b []byte) []byte {
	if m.IsRequest() {
		b = appendClean(b, m.Method)
		b = append(b, ' ')
		b = appendClean(b, m.RequestURI)
		b = append(b, " SIP/2.0\r\n"...)
	} else {
		b = append(b, "SIP/2.0 "...)
		b = strconv.AppendInt(b, int64(m.StatusCode), 10)
		b = append(b, ' ')
		b = appendClean(b, m.Reason)
		b = append(b, "\r\n"...)
	}
	wroteLength := false
	for _, h := range m.Headers {
		if h.Name == "Content-Length" {
			if wroteLength {
				continue
			}
			wroteLength = true
			b = appendLength(b, len(m.Body))
			continue
		}
		b = appendClean(b, h.Name)
		b = append(b, ": "...)
		b = appendClean(b, h.Value)
		b = append(b, "\r\n"...)
	}
	if !wroteLength {
		b = appendLength(b, len(m.Body))
	}
	b = append(b, "\r\n"...)
	return append(b, m.Body...)
}

func appendLength(b []byte, n int) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\r\n"...)
}

func appendClean(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// NewBranch returns a random Via branch with the RFC 3261 magic cookie
// (§8.1.1.7).
func NewBranch() string { return "z9hG4bK" + randomHex(8) }

// NewTag returns a random From or To tag (RFC 3261 §19.3).
func NewTag() string { return randomHex(8) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// StatusText returns the reason phrase RFC 3261 §21 (and later RFCs) give
// a status code, or "" for an unknown code.
func StatusText(code int) string { return statusText[code] }

var statusText = map[int]string{
	100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
	183: "Session Progress", 199: "Early Dialog Terminated",
	200: "OK", 202: "Accepted", 204: "No Notification",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
	305: "Use Proxy", 380: "Alternative Service",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
	407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
	412: "Conditional Request Failed", 413: "Request Entity Too Large",
	414: "Request-URI Too Long", 415: "Unsupported Media Type",
	416: "Unsupported URI Scheme", 417: "Unknown Resource-Priority", 420: "Bad Extension",
	421: "Extension Required", 422: "Session Interval Too Small", 423: "Interval Too Brief",
	428: "Use Identity Header", 429: "Provide Referrer Identity", 433: "Anonymity Disallowed",
	436: "Bad Identity-Info", 437: "Unsupported Certificate", 438: "Invalid Identity Header",
	439: "First Hop Lacks Outbound Support", 440: "Max-Breadth Exceeded",
	469: "Bad Info Package", 470: "Consent Needed",
	480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
	482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
	486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
	489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
	494: "Security Agreement Required",
	500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
	513: "Message Too Large", 555: "Push Notification Service Not Supported",
	580: "Precondition Failure",
	600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
	606: "Not Acceptable", 607: "Unwanted", 608: "Rejected",
}
