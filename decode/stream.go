package decode

import (
	"bytes"
	"fmt"

	"github.com/sipscope/sipscope/sip"
)

const (
	// maxLine bounds a start line waited for; SIP start lines are short.
	maxLine = 4096
	// maxHTTPHeader bounds the HTTP upgrade request or response.
	maxHTTPHeader = 16 << 10
	// probeLimit is how far into a stream whose first bytes are text but
	// not a SIP start line (a capture that began mid-message) a start
	// line is looked for before the stream is ignored.
	probeLimit = 64 << 10
	// maxPooled bounds the stream buffers kept for reuse.
	maxPooled = 64
)

// streamData consumes in-order stream bytes. When nothing is buffered the
// segment is read in place and only an incomplete tail is copied, so a
// stream of whole messages costs no copy.
func (d *Decoder) streamData(s *stream, data []byte, o *origin) {
	t := &d.tcp
	if len(s.buf) == 0 {
		used := d.consume(s, data, o, true)
		if used < len(data) && s.mode != modeTLS && s.mode != modeIgnore {
			d.appendBuf(s, data[used:], o.first)
		}
	} else {
		d.appendBuf(s, data, o.first)
		used := d.consume(s, s.buf, o, false)
		d.shiftBuf(s, used)
	}
	if s.mode == modeTLS || s.mode == modeIgnore {
		d.tcpClearBuf(s)
		return
	}
	if len(s.buf) > d.opt.MaxMessage+maxHTTPHeader || t.buffered > d.opt.MaxBuffered {
		d.warn(o.frame, true, fmt.Sprintf("TCP %s -> %s: %d bytes buffered without a complete message; dropped",
			s.key.src, s.key.dst, len(s.buf)))
		d.tcpClearBuf(s)
		if s.mode == modeSIP || s.mode == modeHEP {
			s.resync = true
		}
	}
}

// consume reads messages from b and returns how many bytes it used; the
// rest waits for more data. Each round advances, changes the stream's
// mode or stops, so the loop is bounded by len(b) plus the mode changes.
func (d *Decoder) consume(s *stream, b []byte, o *origin, direct bool) int {
	pos := 0
	for range len(b) + 8 {
		if pos >= len(b) {
			return pos
		}
		var n int
		var wait bool
		switch s.mode {
		case modeUnknown:
			n, wait = d.classify(s, b[pos:], o)
		case modeSIP:
			n, wait = d.sipStep(s, b, pos, o, direct)
		case modeWS:
			n, wait = d.wsStep(s, b, pos, o, direct)
		case modeHEP:
			n, wait = d.hepStep(s, b, pos, o, direct)
		default:
			return len(b)
		}
		pos += n
		if wait {
			return pos
		}
	}
	return pos
}

// classify decides from a stream's first bytes what it carries.
func (d *Decoder) classify(s *stream, b []byte, o *origin) (int, bool) {
	if len(b) >= 3 && isTLSRecord(b) {
		s.mode = modeTLS
		d.stats.TLSFlows++
		if r := d.tcp.streams[s.key.reverse()]; r == nil || r.mode != modeTLS {
			d.warn(o.frame, false, fmt.Sprintf("TLS between %s and %s: encrypted, so SIP over TLS cannot be "+
				"decoded without keys; its packets are counted", s.key.src, s.key.dst))
		}
		return len(b), false
	}
	if len(b) < 4 {
		return 0, true
	}
	switch {
	case bytes.HasPrefix(b, hep3Magic):
		s.mode = modeHEP
		return 0, false
	case bytes.HasPrefix(b, []byte("GET ")) || bytes.HasPrefix(b, []byte("HTTP/")):
		end := bytes.Index(b, []byte("\r\n\r\n"))
		if end < 0 {
			if len(b) > maxHTTPHeader {
				d.ignore(s)
				return len(b), false
			}
			return 0, true
		}
		if !isWebSocketUpgrade(b[:end+2]) {
			d.ignore(s)
			return len(b), false
		}
		s.mode = modeWS
		return end + 4, false
	case wsCarriesSIP(b):
		// Joined after the upgrade: the first bytes are a WebSocket frame
		// holding a SIP message.
		s.mode = modeWS
		return 0, false
	case isBinary(b[:min(len(b), 16)]):
		d.ignore(s)
		return len(b), false
	}
	s.mode = modeSIP
	s.probing = true
	return 0, false
}

func (d *Decoder) ignore(s *stream) {
	s.mode = modeIgnore
	d.stats.TCPIgnored++
}

// isTLSRecord reports whether b starts with a TLS record header: content
// type change_cipher_spec, alert, handshake or application_data (RFC 8446
// §5.1) and a legacy version 3.x.
func isTLSRecord(b []byte) bool {
	return b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 3 && b[2] <= 4
}

// isBinary reports whether b holds bytes no text protocol sends.
func isBinary(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\r' && c != '\n' && c != '\t' || c >= 0x7f {
			return true
		}
	}
	return false
}

// isWebSocketUpgrade reports whether an HTTP header section (request or
// response) asks for or accepts the WebSocket upgrade (RFC 6455 §4): an
// Upgrade header naming websocket. A response must be 101.
func isWebSocketUpgrade(h []byte) bool {
	if bytes.HasPrefix(h, []byte("HTTP/")) {
		sp := bytes.IndexByte(h, ' ')
		if sp < 0 || !bytes.HasPrefix(h[sp+1:], []byte("101")) {
			return false
		}
	}
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || !bytes.EqualFold(bytes.TrimSpace(line[:colon]), []byte("Upgrade")) {
			continue
		}
		for tok := range bytes.SplitSeq(line[colon+1:], []byte(",")) {
			if bytes.EqualFold(bytes.TrimSpace(tok), []byte("websocket")) {
				return true
			}
		}
	}
	return false
}

// sipStep frames one SIP message at b[pos:] by its Content-Length.
func (d *Decoder) sipStep(s *stream, b []byte, pos int, o *origin, direct bool) (int, bool) {
	rest := b[pos:]
	if s.resync {
		i, found := findStartLine(rest)
		if s.probing {
			s.probed += i
			if !found && s.probed > probeLimit {
				d.ignore(s)
				return len(rest), false
			}
		}
		if !found {
			return i, true
		}
		s.resync, s.probing = false, false
		return i, false
	}
	skip, n, ok := sip.FrameLength(rest)
	msg := rest[skip:]
	if len(msg) == 0 {
		return skip, true
	}
	eol := bytes.IndexByte(msg, '\n')
	if eol < 0 {
		if len(msg) > maxLine {
			s.resync = true
			return skip, false
		}
		return skip, true
	}
	if !sip.LooksLike(msg) || (s.probing && !clearStart(msg)) {
		s.resync = true
		// A capture that began mid-message shows its tail first: that
		// is expected, not worth a warning.
		if !s.warned && !s.probing {
			s.warned = true
			d.warn(o.frame, false, fmt.Sprintf("TCP %s -> %s: bytes that do not start a SIP message; skipped to the next start line",
				s.key.src, s.key.dst))
		}
		return skip, false
	}
	if !ok {
		if len(msg) > d.opt.MaxMessage {
			d.warn(o.frame, true, fmt.Sprintf("TCP %s -> %s: SIP message over %d bytes without its end; skipped",
				s.key.src, s.key.dst, d.opt.MaxMessage))
			s.resync = true
			return skip + eol + 1, false
		}
		return skip, true
	}
	m := d.setMeta(o, s.key.src, s.key.dst, TCP)
	if !direct {
		m.FirstFrame = s.firstFrame(pos+skip, n)
	}
	s.probing = false
	d.deliverSIP(m, msg[:n])
	return skip + n, false
}

// findStartLine returns the offset of the first SIP start line in b, or,
// when there is none yet, the offset from which to look again once more
// bytes arrive (an incomplete last line is kept). A start line is looked
// for at line starts and also inside a line, where it follows a body
// that did not end in CRLF.
func findStartLine(b []byte) (int, bool) {
	i := 0
	for i < len(b) {
		eol := bytes.IndexByte(b[i:], '\n')
		if eol < 0 {
			if len(b)-i > maxLine {
				return len(b), false
			}
			return i, false
		}
		if j := startInLine(b[i:], eol); j >= 0 {
			return i + j, true
		}
		i += eol + 1
	}
	return len(b), false
}

// startInLine returns where in the line b[:eol] a SIP start line begins,
// or -1: at its start, at "SIP/2.0 " (a status line), or, for a line
// ending in "SIP/2.0" (a request line), at an upper-case word.
func startInLine(b []byte, eol int) int {
	if clearStart(b) {
		return 0
	}
	line := bytes.TrimRight(b[:eol], "\r")
	if k := bytes.Index(line, []byte("SIP/2.0 ")); k > 0 && sip.LooksLike(b[k:]) {
		return k
	}
	if !bytes.HasSuffix(line, []byte(" SIP/2.0")) {
		return -1
	}
	for j := 1; j < len(line); j++ {
		if c, p := line[j], line[j-1]; c >= 'A' && c <= 'Z' && (p < 'A' || p > 'Z') && sip.LooksLike(b[j:]) {
			return j
		}
	}
	return -1
}

// clearStart reports whether b starts with a start line that leaves no
// doubt where a message begins, for use where the boundary is a guess:
// a status line, or a request whose method is upper case, as every
// registered method is. (sip.LooksLike also takes lower-case methods,
// which would let "xxxxACK" pass for a method when a body that did not
// end in CRLF runs into the next request line.)
func clearStart(b []byte) bool {
	if !sip.LooksLike(b) {
		return false
	}
	for _, c := range b {
		switch {
		case c == ' ' || c == '/':
			return true
		case (c < 'A' || c > 'Z') && c != '-' && c != '_' && c != '.' && c != '!' && c != '%' && c != '*' && c != '+':
			return false
		}
	}
	return false
}

// hepStep frames one HEP3 packet at b[pos:] by its length field; after a
// gap it skips to the next "HEP3".
func (d *Decoder) hepStep(s *stream, b []byte, pos int, o *origin, direct bool) (int, bool) {
	rest := b[pos:]
	if len(rest) < 6 {
		return 0, true
	}
	if s.resync || !bytes.HasPrefix(rest, hep3Magic) {
		i := bytes.Index(rest, hep3Magic)
		if i < 0 {
			return len(rest) - len(hep3Magic) + 1, true
		}
		s.resync = false
		if i > 0 {
			return i, false
		}
	}
	n := int(rest[4])<<8 | int(rest[5])
	if n < 6 {
		return len(hep3Magic), false
	}
	if len(rest) < n {
		return 0, true
	}
	inner := *o
	if !direct {
		inner.first = s.firstFrame(pos, n)
	}
	d.hepPayload(&inner, rest[:n])
	return n, false
}

// appendBuf copies stream bytes into the stream's buffer, noting the frame
// they came from.
func (d *Decoder) appendBuf(s *stream, b []byte, first int) {
	t := &d.tcp
	if s.buf == nil && len(t.pool) > 0 {
		s.buf = t.pool[len(t.pool)-1]
		t.pool = t.pool[:len(t.pool)-1]
	}
	s.buf = append(s.buf, b...)
	t.buffered += len(b)
	if k := len(s.marks); k > 0 && s.marks[k-1].first == first {
		s.marks[k-1].end = len(s.buf)
	} else {
		s.marks = append(s.marks, mark{end: len(s.buf), first: first})
	}
}

// shiftBuf drops the first n bytes of the stream's buffer.
func (d *Decoder) shiftBuf(s *stream, n int) {
	if n <= 0 {
		return
	}
	if n >= len(s.buf) {
		d.tcpClearBuf(s)
		return
	}
	k := copy(s.buf, s.buf[n:])
	s.buf = s.buf[:k]
	d.tcp.buffered -= n
	j := 0
	for _, m := range s.marks {
		if m.end -= n; m.end > 0 {
			s.marks[j] = m
			j++
		}
	}
	s.marks = s.marks[:j]
}

// tcpClearBuf empties the stream's buffer and gives it back for reuse.
func (d *Decoder) tcpClearBuf(s *stream) {
	t := &d.tcp
	t.buffered -= len(s.buf)
	if s.buf != nil && cap(s.buf) <= d.opt.MaxMessage && len(t.pool) < maxPooled {
		t.pool = append(t.pool, s.buf[:0])
	}
	s.buf = nil
	s.marks = s.marks[:0]
}

// firstFrame returns the earliest frame that brought any of the n bytes
// at offset i of the stream's buffer.
func (s *stream) firstFrame(i, n int) int {
	first, start := 0, 0
	for _, m := range s.marks {
		if m.end > i && start < i+n && (first == 0 || m.first < first) {
			first = m.first
		}
		start = m.end
	}
	if first == 0 {
		return s.lastFrame
	}
	return first
}
