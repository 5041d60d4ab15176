package sip

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// ErrNotSIP is returned by Parse when the bytes do not start with a SIP
// request or status line.
var ErrNotSIP = errors.New("sip: not a SIP message")

// compact maps RFC 3261 §7.3.3 (and later RFCs') compact forms to long names.
var compact = map[byte]string{
	'a': "Accept-Contact", 'b': "Referred-By", 'c': "Content-Type",
	'd': "Request-Disposition", 'e': "Content-Encoding", 'f': "From",
	'i': "Call-ID", 'j': "Reject-Contact", 'k': "Supported",
	'l': "Content-Length", 'm': "Contact", 'n': "Identity-Info",
	'o': "Event", 'r': "Refer-To", 's': "Subject", 't': "To",
	'u': "Allow-Events", 'v': "Via", 'x': "Session-Expires", 'y': "Identity",
}

// canonical spells well-known headers the way RFC 3261 does.
var canonical = map[string]string{}

var multiValued = map[string]bool{
	"Via": true, "Route": true, "Record-Route": true, "Contact": true,
	"Supported": true, "Require": true, "Allow": true, "Accept": true,
	"Proxy-Require": true, "Unsupported": true, "Allow-Events": true,
	"Accept-Encoding": true, "Accept-Language": true, "Content-Encoding": true,
}

func init() {
	for _, n := range []string{
		"Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info",
		"Allow", "Allow-Events", "Authentication-Info", "Authorization", "Call-ID",
		"Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Type", "CSeq", "Date",
		"Error-Info", "Event", "Expires", "From", "Identity", "Identity-Info",
		"In-Reply-To", "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE",
		"Organization", "P-Asserted-Identity", "P-Preferred-Identity", "Priority",
		"Privacy", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require",
		"RAck", "Reason", "Record-Route", "Refer-To", "Referred-By", "Reject-Contact",
		"Remote-Party-ID", "Replaces", "Reply-To", "Request-Disposition", "Require",
		"Retry-After", "Route", "RSeq", "Server", "Session-Expires", "Subject",
		"Subscription-State", "Supported", "Timestamp", "To", "Unsupported",
		"User-Agent", "Via", "Warning", "WWW-Authenticate", "X-Asterisk-HangupCause",
	} {
		canonical[strings.ToLower(n)] = n
	}
}

// CanonicalName returns the long, canonically spelled form of a header name:
// "i" and "call-id" both become "Call-ID". Unknown names keep their
// spelling with each dash-separated word capitalised.
func CanonicalName(name string) string {
	name = strings.TrimSpace(name)
	if len(name) == 1 {
		c := name[0] | 0x20
		if long, ok := compact[c]; ok {
			return long
		}
	}
	if c, ok := canonical[name]; ok {
		return c
	}
	lower := strings.ToLower(name)
	if c, ok := canonical[lower]; ok {
		return c
	}
	b := []byte(lower)
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
		up = c == '-'
	}
	return string(b)
}

// methods that LooksLike accepts at the start of a request line. Other
// tokens are accepted too when the line ends in SIP/2.0, so extension
// methods are not lost.
var knownMethods = [][]byte{
	[]byte("INVITE "), []byte("ACK "), []byte("BYE "), []byte("CANCEL "),
	[]byte("OPTIONS "), []byte("REGISTER "), []byte("PRACK "), []byte("UPDATE "),
	[]byte("INFO "), []byte("SUBSCRIBE "), []byte("NOTIFY "), []byte("REFER "),
	[]byte("MESSAGE "), []byte("PUBLISH "),
}

var sipVersion = []byte("SIP/2.0")

// LooksLike reports whether b starts with a SIP request or status line. It
// reads at most the first line and allocates nothing, so the decoder can ask
// it of every datagram.
func LooksLike(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	if bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		c := b[8]
		return c >= '1' && c <= '6'
	}
	c := b[0]
	if c < 'A' || c > 'Z' {
		return false
	}
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	} else if len(line) > 2048 {
		return false
	}
	line = bytes.TrimRight(line, "\r")
	if !bytes.HasSuffix(line, sipVersion) {
		return false
	}
	for _, m := range knownMethods {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	// Extension method: token, space, URI, space, SIP/2.0.
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	for _, c := range line[:sp] {
		if !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return bytes.Count(line, []byte(" ")) == 2
}

// Options control Parse.
type Options struct {
	KeepRaw bool // keep a copy of the whole message in Message.Raw
}

// Parse parses one SIP message. It returns ErrNotSIP when b has no SIP start
// line; otherwise it returns a Message, listing in Problems whatever was
// wrong with it (bad header lines, Content-Length disagreeing with the body).
func Parse(b []byte, opt Options) (*Message, error) {
	m := &Message{ContentLength: -1, MaxForwards: -1}
	if err := parseInto(m, b); err != nil {
		return nil, err
	}
	if opt.KeepRaw {
		m.Raw = append([]byte(nil), b...)
	}
	return m, nil
}

func parseInto(m *Message, b []byte) error {
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		eol = len(b)
	}
	start := string(bytes.TrimRight(b[:eol], "\r"))
	if err := m.parseStartLine(start); err != nil {
		return err
	}
	rest := b
	if eol < len(b) {
		rest = b[eol+1:]
	} else {
		rest = nil
	}
	// Header section ends at the first empty line.
	var headerBytes, body []byte
	if i := bytes.Index(rest, []byte("\r\n\r\n")); i >= 0 && !bytes.HasPrefix(rest, []byte("\r\n")) {
		headerBytes, body = rest[:i+2], rest[i+4:]
	} else if bytes.HasPrefix(rest, []byte("\r\n")) {
		body = rest[2:]
	} else if i := bytes.Index(rest, []byte("\n\n")); i >= 0 {
		headerBytes, body = rest[:i+1], rest[i+2:]
		m.Problems = append(m.Problems, "lines end in LF, not CRLF")
	} else {
		headerBytes = rest
		if len(rest) > 0 {
			m.Problems = append(m.Problems, "no empty line after the headers (message cut?)")
		}
	}
	m.parseHeaders(headerBytes)
	m.extract()
	switch {
	case m.ContentLength < 0:
		m.Body = clone(body)
	case m.ContentLength <= len(body):
		m.Body = clone(body[:m.ContentLength])
	default:
		m.Body = clone(body)
		m.Problems = append(m.Problems, "body shorter than Content-Length ("+
			strconv.Itoa(len(body))+" < "+strconv.Itoa(m.ContentLength)+")")
	}
	return nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func (m *Message) parseStartLine(line string) error {
	if strings.HasPrefix(line, "SIP/2.0 ") {
		rest := line[8:]
		code := rest
		reason := ""
		if i := strings.IndexByte(rest, ' '); i >= 0 {
			code, reason = rest[:i], rest[i+1:]
		}
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 699 {
			return ErrNotSIP
		}
		m.StatusCode, m.Reason = n, reason
		return nil
	}
	f := strings.Split(line, " ")
	if len(f) != 3 || f[2] != "SIP/2.0" || f[0] == "" || f[1] == "" {
		return ErrNotSIP
	}
	for _, c := range f[0] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_' || c == '.' || c == '!' || c == '%' || c == '*' || c == '+' || c == '`' || c == '\'' || c == '~') {
			return ErrNotSIP
		}
	}
	m.Method, m.RequestURI = strings.ToUpper(f[0]), f[1]
	return nil
}

func (m *Message) parseHeaders(b []byte) {
	lines := bytes.Split(b, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		line := bytes.TrimRight(lines[i], "\r")
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			// Folded continuation (RFC 3261 §7.3.1) of the previous header.
			if n := len(m.Headers); n > 0 {
				m.Headers[n-1].Value += " " + string(bytes.TrimSpace(line))
			} else {
				m.Problems = append(m.Problems, "continuation line before any header")
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			m.Problems = append(m.Problems, "header line without a colon: "+truncate(string(line), 40))
			continue
		}
		name := string(bytes.TrimSpace(line[:colon]))
		if strings.ContainsAny(name, " \t") {
			m.Problems = append(m.Problems, "header name with spaces: "+truncate(name, 40))
		}
		m.Headers = append(m.Headers, Header{
			Name:  CanonicalName(name),
			Value: string(bytes.TrimSpace(line[colon+1:])),
		})
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (m *Message) extract() {
	for _, h := range m.Headers {
		switch h.Name {
		case "Call-ID":
			if m.CallID == "" {
				m.CallID = h.Value
			}
		case "From":
			m.From = ParseNameAddr(h.Value)
		case "To":
			m.To = ParseNameAddr(h.Value)
		case "CSeq":
			f := strings.Fields(h.Value)
			if len(f) == 2 {
				n, err := strconv.Atoi(f[0])
				if err == nil {
					m.CSeq, m.CSeqMethod = n, strings.ToUpper(f[1])
					continue
				}
			}
			m.Problems = append(m.Problems, "bad CSeq: "+truncate(h.Value, 40))
		case "Via":
			for _, v := range SplitList(h.Value) {
				via, err := ParseVia(v)
				if err != nil {
					m.Problems = append(m.Problems, err.Error())
					continue
				}
				m.Via = append(m.Via, via)
			}
		case "Contact":
			if m.Contact == "" {
				m.Contact = h.Value
			}
		case "User-Agent":
			m.UserAgent = h.Value
		case "Server":
			if m.UserAgent == "" {
				m.UserAgent = h.Value
			}
		case "Content-Type":
			m.ContentType = h.Value
		case "Content-Length":
			n, err := strconv.Atoi(h.Value)
			if err != nil || n < 0 {
				m.Problems = append(m.Problems, "bad Content-Length: "+truncate(h.Value, 40))
				continue
			}
			m.ContentLength = n
		case "Max-Forwards":
			if n, err := strconv.Atoi(h.Value); err == nil {
				m.MaxForwards = n
			}
		}
	}
	if m.CallID == "" {
		m.Problems = append(m.Problems, "no Call-ID")
	}
	if m.CSeqMethod == "" {
		m.Problems = append(m.Problems, "no CSeq")
	}
	if len(m.Via) == 0 {
		m.Problems = append(m.Problems, "no Via")
	}
}

// SplitList splits a comma-separated header value, ignoring commas inside
// quotes and angle brackets.
func SplitList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			if s := strings.TrimSpace(v[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// ParseNameAddr parses a From, To or Contact value:
// `"Alice" <sip:alice@host>;tag=1` or `sip:alice@host;tag=1`.
func ParseNameAddr(v string) NameAddr {
	n := NameAddr{Raw: v}
	rest := v
	if lt := strings.IndexByte(v, '<'); lt >= 0 {
		n.Display = strings.Trim(strings.TrimSpace(v[:lt]), "\"")
		gt := strings.IndexByte(v[lt:], '>')
		if gt < 0 {
			n.URI = v[lt+1:]
			return n
		}
		n.URI = v[lt+1 : lt+gt]
		rest = v[lt+gt+1:]
	} else {
		// Without angle brackets, parameters belong to the header (§20.10).
		uri := v
		if i := strings.IndexByte(v, ';'); i >= 0 {
			uri, rest = v[:i], v[i:]
		} else {
			rest = ""
		}
		n.URI = strings.TrimSpace(uri)
	}
	n.Tag = Param(rest, "tag")
	return n
}

// Param returns the value of the named ;parameter in s (case-insensitive
// name), "" when absent or valueless.
func Param(s, name string) string {
	v, _ := param(s, name)
	return v
}

func param(s, name string) (string, bool) {
	for _, p := range strings.Split(s, ";") {
		p = strings.TrimSpace(p)
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Trim(strings.TrimSpace(v), "\""), true
		}
	}
	return "", false
}

// ParseVia parses one Via value: `SIP/2.0/UDP host:port;branch=...`.
func ParseVia(v string) (Via, error) {
	var via Via
	proto, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return via, errors.New("bad Via: " + truncate(v, 40))
	}
	parts := strings.Split(proto, "/")
	if len(parts) != 3 {
		return via, errors.New("bad Via protocol: " + truncate(proto, 40))
	}
	via.Transport = strings.ToUpper(strings.TrimSpace(parts[2]))
	rest = strings.TrimSpace(rest)
	sentBy, params, _ := strings.Cut(rest, ";")
	sentBy = strings.TrimSpace(sentBy)
	host, port := splitHostPort(sentBy)
	via.Host, via.Port = host, port
	via.Branch = Param(params, "branch")
	via.Received = Param(params, "received")
	if rp, ok := param(params, "rport"); ok {
		via.HasRPort = true
		via.RPort, _ = strconv.Atoi(rp)
	}
	return via, nil
}

// splitHostPort splits "host:port", "[v6]:port", "host" or a bare IPv6
// address.
func splitHostPort(s string) (string, int) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return s, 0
		}
		host := s[1:end]
		if strings.HasPrefix(s[end+1:], ":") {
			p, _ := strconv.Atoi(s[end+2:])
			return host, p
		}
		return host, 0
	}
	if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		n, _ := strconv.Atoi(p)
		return h, n
	}
	return s, 0
}
