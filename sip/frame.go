package sip

import "bytes"

// FrameLength finds the end of the first SIP message in a stream (TCP, TLS,
// SCTP, WebSocket): the header section up to the empty line, then
// Content-Length bytes of body (RFC 3261 §18.3). CRLFs before the message
// (keep-alives, RFC 5626 §3.5.1) are reported as skip; the message is then
// b[skip:skip+n]. ok is false while b does not yet hold a whole message.
//
// A message without a usable Content-Length (absent, not a number, or
// larger than any SIP body can be) is taken to end at the empty line, so
// that framing carries on with the next message; Parse then reports the
// problem. Bare LF line ends and a folded Content-Length are understood.
// FrameLength allocates nothing; it scans all of b for the empty line, so
// the caller bounds how much of a stream it buffers.
func FrameLength(b []byte) (skip, n int, ok bool) {
	skip = skipCRLF(b)
	msg := b[skip:]
	hdrEnd, bodyStart := -1, -1
	search := msg
	if i := bytes.Index(search, []byte("\n\r\n")); i >= 0 {
		hdrEnd, bodyStart = i+1, i+3
		search = search[:i+1]
	}
	if i := bytes.Index(search, []byte("\n\n")); i >= 0 {
		hdrEnd, bodyStart = i+1, i+2
	}
	if hdrEnd < 0 {
		return skip, 0, false
	}
	cl := contentLength(msg[:hdrEnd])
	total := bodyStart + cl
	if total > len(msg) {
		return skip, 0, false
	}
	return skip, total, true
}

// contentLength returns the first Content-Length of a header section, or 0.
func contentLength(h []byte) int {
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || isWS(line[0]) {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !(len(name) == 1 && name[0]|0x20 == 'l') && !bytes.EqualFold(name, []byte("Content-Length")) {
			continue
		}
		v := bytes.TrimSpace(line[colon+1:])
		if len(v) == 0 && len(h) > 0 && isWS(h[0]) {
			// The value was folded onto the next line (§7.3.1).
			next := h
			if i := bytes.IndexByte(h, '\n'); i >= 0 {
				next = h[:i]
			}
			v = bytes.TrimSpace(next)
		}
		n := 0
		for _, c := range v {
			if c < '0' || c > '9' {
				return 0
			}
			if n = n*10 + int(c-'0'); n > maxContentLength {
				return 0
			}
		}
		return n
	}
	return 0
}
