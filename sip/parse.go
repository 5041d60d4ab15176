package sip

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotSIP is returned, wrapped with the start of the input, by Parse when
// the bytes do not start with a SIP request or status line. Test for it
// with errors.Is.
var ErrNotSIP = errors.New("sip: not a SIP message")

// maxStartLine bounds the request or status line that LooksLike and Parse
// accept, so that neither scans a large non-SIP payload for a line end.
const maxStartLine = 4096

// maxProblems bounds Message.Problems: a hostile message can have a problem
// on every line.
const maxProblems = 16

// maxContentLength is the largest Content-Length taken at its word; a
// larger one cannot describe a SIP body and is reported as bad.
const maxContentLength = 1 << 24

// startLine is the location of the parts of a request line (RFC 3261 §7.1)
// or status line (§7.2) within the line.
type startLine struct {
	ok                 bool
	response           bool
	method, uri        [2]int // request: [start, end) offsets
	code               int    // response
	reason             int    // response: offset of the reason phrase
	methodHasLowercase bool
}

// scanStartLine checks a start line (without its line end) the way both
// LooksLike and Parse do, so that they always agree.
func scanStartLine(line []byte) startLine {
	var sl startLine
	if len(line) >= 7 && isSIPVersion(line[:7]) {
		// SIP-Version SP Status-Code SP Reason-Phrase
		rest := line[7:]
		i := 0
		for i < len(rest) && isWS(rest[i]) {
			i++
		}
		if i == 0 || len(rest)-i < 3 {
			return sl
		}
		code := 0
		for _, c := range rest[i : i+3] {
			if c < '0' || c > '9' {
				return sl
			}
			code = code*10 + int(c-'0')
		}
		if code < 100 || code > 699 {
			return sl
		}
		j := i + 3
		if j < len(rest) && !isWS(rest[j]) {
			return sl
		}
		for j < len(rest) && isWS(rest[j]) {
			j++
		}
		sl.ok, sl.response, sl.code, sl.reason = true, true, code, 7+j
		return sl
	}
	// Method SP Request-URI SP SIP-Version
	i := 0
	for i < len(line) && isTokenChar(line[i]) {
		if line[i] >= 'a' && line[i] <= 'z' {
			sl.methodHasLowercase = true
		}
		i++
	}
	if i == 0 || i > 32 || i == len(line) || !isWS(line[i]) {
		return sl
	}
	sl.method = [2]int{0, i}
	for i < len(line) && isWS(line[i]) {
		i++
	}
	u := i
	for i < len(line) && line[i] > ' ' && line[i] != 0x7f {
		i++
	}
	if i == u {
		return sl
	}
	sl.uri = [2]int{u, i}
	for i < len(line) && isWS(line[i]) {
		i++
	}
	v := i
	for i < len(line) && !isWS(line[i]) {
		i++
	}
	if i-v != 7 || !isSIPVersion(line[v:i]) {
		return sl
	}
	for i < len(line) && isWS(line[i]) {
		i++
	}
	sl.ok = i == len(line)
	return sl
}

// isSIPVersion reports whether b is "SIP/2.0" in any case (RFC 3261 §7.1:
// the version string is case-insensitive).
func isSIPVersion(b []byte) bool {
	return len(b) == 7 && b[0]|0x20 == 's' && b[1]|0x20 == 'i' && b[2]|0x20 == 'p' &&
		b[3] == '/' && b[4] == '2' && b[5] == '.' && b[6] == '0'
}

// skipCRLF returns the index of the first byte that is not CR or LF: RFC
// 3261 §7.5 has CRLFs before the start line ignored (stream keep-alives).
func skipCRLF(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// firstLine returns the end of the start line beginning at b[0] (before
// its CR LF or LF) and the index after its line end; ok is false when no
// line end appears within maxStartLine bytes and the line is cut there.
func firstLine(b []byte) (end, next int, ok bool) {
	n := bytes.IndexByte(b[:min(len(b), maxStartLine+1)], '\n')
	if n < 0 {
		if len(b) > maxStartLine {
			return 0, 0, false
		}
		return len(b), len(b), true
	}
	end = n
	if end > 0 && b[end-1] == '\r' {
		end--
	}
	return end, n + 1, true
}

// LooksLike reports whether b starts with a SIP request or status line,
// after any CRLF keep-alives. It reads at most the first line and
// allocates nothing, so the decoder can ask it of every datagram. It
// accepts exactly the start lines that Parse accepts.
func LooksLike(b []byte) bool {
	b = b[skipCRLF(b):]
	if len(b) < 12 {
		return false
	}
	end, _, ok := firstLine(b)
	return ok && scanStartLine(b[:end]).ok
}

// Options control Parse.
type Options struct {
	KeepRaw bool // keep a copy of the whole message in Message.Raw
}

// Parse parses one SIP message (RFC 3261 §7). It returns an error wrapping
// ErrNotSIP when b has no SIP start line; otherwise it returns a Message,
// listing in Problems whatever was wrong with it (bad header lines,
// missing mandatory headers, Content-Length disagreeing with the body).
//
// It accepts CRLF or bare LF line ends, header names in any case and in
// compact form, whitespace before the colon and folded lines. The body is
// Content-Length bytes after the empty line; without Content-Length it is
// the rest of b (RFC 3261 §18.3, UDP).
//
// Parse copies what it keeps: the returned Message does not alias b. The
// start line and header section share one string allocation, which any
// kept field (CallID, a header value) keeps alive; Parse allocates five
// times in all for a typical message.
func Parse(b []byte, opt Options) (*Message, error) {
	start := skipCRLF(b)
	msg := b[start:]
	end, next, ok := firstLine(msg)
	if !ok || len(msg) < 12 {
		return nil, notSIP(msg)
	}
	sl := scanStartLine(msg[:end])
	if !sl.ok {
		return nil, notSIP(msg)
	}
	m := &Message{ContentLength: -1, MaxForwards: -1}

	// The header section ends at the first empty line, CRLF CRLF or LF LF.
	hdrEnd, bodyStart := len(msg), -1
	search := msg[end:]
	if i := bytes.Index(search, []byte("\n\r\n")); i >= 0 {
		hdrEnd, bodyStart = end+i+1, end+i+3
		search = search[:i+1]
	}
	if i := bytes.Index(search, []byte("\n\n")); i >= 0 {
		hdrEnd, bodyStart = end+i+1, end+i+2
	}
	hs := string(msg[:hdrEnd])

	if sl.response {
		m.StatusCode, m.Reason = sl.code, trimWS(hs[sl.reason:end])
	} else {
		m.Method = hs[sl.method[0]:sl.method[1]]
		if sl.methodHasLowercase {
			m.Method = strings.ToUpper(m.Method)
		}
		m.RequestURI = hs[sl.uri[0]:sl.uri[1]]
		if i := strings.IndexByte(m.RequestURI, ':'); i <= 0 || !isScheme(m.RequestURI[:i]) {
			m.problem("Request-URI " + quote(m.RequestURI) + " has no scheme (RFC 3261 §19.1)")
		}
	}
	m.parseHeaders(hs, min(next, len(hs)))
	m.derive(true)

	if bodyStart < 0 {
		m.problem("no empty line after the headers (message cut?)")
	}
	var body []byte
	if bodyStart >= 0 {
		body = msg[bodyStart:]
	}
	switch {
	case m.ContentLength < 0:
	case m.ContentLength <= len(body):
		body = body[:m.ContentLength]
	default:
		m.problem("body of " + strconv.Itoa(len(body)) + " bytes is shorter than Content-Length " +
			strconv.Itoa(m.ContentLength) + " (message cut?)")
	}
	if m.ContentType == "" && len(bytes.Trim(body, " \t\r\n")) > 0 {
		m.problem("body of " + strconv.Itoa(len(body)) + " bytes without Content-Type (RFC 3261 §20.15), starts " +
			quote(string(body[:min(len(body), 24)])))
	}
	if opt.KeepRaw {
		m.Raw = append([]byte(nil), b...)
		if len(body) > 0 {
			off := start + bodyStart
			m.Body = m.Raw[off : off+len(body) : off+len(body)]
		}
	} else if len(body) > 0 {
		m.Body = append([]byte(nil), body...)
	}
	return m, nil
}

func notSIP(b []byte) error {
	return fmt.Errorf("%w: starts %s", ErrNotSIP, quote(string(b[:min(len(b), 24)])))
}

func (m *Message) problem(s string) {
	switch {
	case len(m.Problems) < maxProblems:
		m.Problems = append(m.Problems, s)
	case len(m.Problems) == maxProblems:
		m.Problems = append(m.Problems, "further problems not listed")
	}
}

// parseHeaders reads the header lines of hs from pos on. Names, and values
// that were not folded, are substrings of hs.
func (m *Message) parseHeaders(hs string, pos int) {
	m.Headers = make([]Header, 0, strings.Count(hs[pos:], "\n")+1)
	bareLF := false
	for pos < len(hs) {
		line, next, lf := lineAt(hs, pos)
		bareLF = bareLF || lf
		if line == "" {
			pos = next
			continue
		}
		if isWS(line[0]) {
			m.problem("continuation line " + quote(trimWS(line)) + " before any header")
			pos = next
			continue
		}
		// A header line and the folded lines that continue it (§7.3.1).
		folded := false
		for next < len(hs) && isWS(hs[next]) {
			var lf bool
			_, next, lf = lineAt(hs, next)
			bareLF = bareLF || lf
			folded = true
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			m.problem("header line " + quote(line) + " has no colon")
			pos = next
			continue
		}
		name := trimWS(line[:colon])
		if !isToken(name) {
			m.problem("header name " + quote(name) + " is not a token (RFC 3261 §7.3.1)")
			if name == "" {
				pos = next
				continue
			}
		}
		var value string
		if folded {
			value = unfold(hs[pos+colon+1 : next])
		} else {
			value = trimWS(line[colon+1:])
		}
		h := Header{Name: CanonicalName(name), Value: value}
		if hasCTL(value) {
			m.problem("header " + quote(h.Name) + " has control characters in its value " + quote(value) + " (RFC 3261 §25.1)")
		}
		m.Headers = append(m.Headers, h)
		pos = next
	}
	if bareLF {
		m.problem("lines end in LF, not CRLF (RFC 3261 §7)")
	}
}

// hasCTL reports whether s holds a control character other than HTAB,
// which no header value may contain.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// lineAt returns the line of s starting at pos without its line end, the
// index after the line end, and whether the line ended in a bare LF.
func lineAt(s string, pos int) (line string, next int, bareLF bool) {
	n := strings.IndexByte(s[pos:], '\n')
	if n < 0 {
		return strings.TrimSuffix(s[pos:], "\r"), len(s), false
	}
	line = s[pos : pos+n]
	if strings.HasSuffix(line, "\r") {
		return line[:len(line)-1], pos + n + 1, false
	}
	return line, pos + n + 1, true
}

// unfold joins a folded header value: each line end with the whitespace
// around it becomes one space (RFC 3261 §7.3.1).
func unfold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		n := strings.IndexByte(s, '\n')
		line := s
		if n >= 0 {
			line, s = s[:n], s[n+1:]
		} else {
			s = ""
		}
		line = trimWS(strings.TrimSuffix(line, "\r"))
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(line)
	}
	return b.String()
}

// derive sets the fields extracted from well-known headers. With report
// set it lists what is wrong with them in Problems.
func (m *Message) derive(report bool) {
	m.CallID, m.From, m.To, m.CSeq, m.CSeqMethod = "", NameAddr{}, NameAddr{}, 0, ""
	m.Via, m.Contact, m.UserAgent, m.ContentType = nil, "", "", ""
	m.ContentLength, m.MaxForwards = -1, -1
	problem := func(s string) {
		if report {
			m.problem(s)
		}
	}
	vias := 0
	for _, h := range m.Headers {
		if h.Name == "Via" {
			vias += 1 + strings.Count(h.Value, ",")
		}
	}
	if vias > 0 {
		m.Via = make([]Via, 0, vias)
	}
	var seenFrom, seenTo, seenCallID, seenCSeq, seenCL, seenMF, seenServer bool
	for _, h := range m.Headers {
		switch h.Name {
		case "Call-ID":
			if seenCallID {
				problem("more than one Call-ID header")
				continue
			}
			seenCallID, m.CallID = true, h.Value
			if h.Value == "" {
				problem("empty Call-ID")
			}
		case "From", "To":
			seen, field := &seenFrom, &m.From
			if h.Name == "To" {
				seen, field = &seenTo, &m.To
			}
			if *seen {
				problem("more than one " + h.Name + " header")
				continue
			}
			*seen, *field = true, ParseNameAddr(h.Value)
			if field.URI == "" {
				problem(h.Name + " " + quote(h.Value) + " has no URI")
			}
		case "CSeq":
			if seenCSeq {
				problem("more than one CSeq header")
				continue
			}
			seenCSeq = true
			num, method, _ := strings.Cut(h.Value, " ")
			if i := strings.IndexByte(num, '\t'); i >= 0 {
				num, method = num[:i], num[i+1:]
			}
			method = trimWS(method)
			n, ok := parseDigits(num, 1<<31-1)
			if !ok || !isToken(method) {
				problem("CSeq " + quote(h.Value) + " is not a number and a method (RFC 3261 §20.16)")
				continue
			}
			m.CSeq, m.CSeqMethod = n, strings.ToUpper(method)
		case "Via":
			for i := 0; i < len(h.Value); {
				var item string
				item, i = nextItem(h.Value, i)
				if item == "" {
					continue
				}
				via, err := ParseVia(item)
				if err != nil {
					problem(err.Error())
					continue
				}
				m.Via = append(m.Via, via)
			}
		case "Contact":
			if m.Contact == "" {
				m.Contact, _ = nextItem(h.Value, 0)
			}
		case "User-Agent":
			m.UserAgent = h.Value
		case "Server":
			if !seenServer && m.UserAgent == "" {
				m.UserAgent = h.Value
			}
			seenServer = true
		case "Content-Type":
			m.ContentType = h.Value
		case "Content-Length":
			n, ok := parseDigits(h.Value, maxContentLength)
			switch {
			case !ok:
				problem("Content-Length " + quote(h.Value) + " is not a number (RFC 3261 §20.14)")
			case seenCL && n != m.ContentLength:
				problem("Content-Length headers disagree: " + strconv.Itoa(m.ContentLength) + " and " + strconv.Itoa(n))
			case !seenCL:
				m.ContentLength = n
			}
			seenCL = true
		case "Max-Forwards":
			if seenMF {
				continue
			}
			seenMF = true
			if n, ok := parseDigits(h.Value, 1<<31-1); ok {
				m.MaxForwards = n
			} else {
				problem("Max-Forwards " + quote(h.Value) + " is not a number (RFC 3261 §20.22)")
			}
		}
	}
	for _, req := range [...]struct {
		seen bool
		name string
	}{{seenCallID, "Call-ID"}, {seenCSeq, "CSeq"}, {seenFrom, "From"}, {seenTo, "To"}, {vias > 0, "Via"}} {
		if !req.seen {
			problem("no " + req.name + " header (RFC 3261 §8.1.1)")
		}
	}
	if m.IsRequest() && m.CSeqMethod != "" && m.CSeqMethod != m.Method {
		problem("CSeq method " + m.CSeqMethod + " differs from request method " + quote(m.Method) + " (RFC 3261 §8.1.1.5)")
	}
}
