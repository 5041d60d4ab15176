package sip

import "bytes"

// FrameLength finds the end of the first SIP message in a stream (TCP, TLS,
// SCTP): the header section up to the empty line, then Content-Length bytes
// of body (RFC 3261 §18.3). It returns the message length and true, or false
// when b does not yet hold a whole message. A message without
// Content-Length on a stream is taken to have no body. Leading CRLFs
// (keep-alives, RFC 5626 §3.5.1) count toward the returned length as skip.
func FrameLength(b []byte) (skip, n int, ok bool) {
	for skip < len(b) && (b[skip] == '\r' || b[skip] == '\n') {
		skip++
	}
	msg := b[skip:]
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		return skip, 0, false
	}
	headers := msg[:end+2]
	cl := 0
	for len(headers) > 0 {
		line := headers
		if i := bytes.IndexByte(headers, '\n'); i >= 0 {
			line, headers = headers[:i], headers[i+1:]
		} else {
			headers = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		if (len(name) == 1 && (name[0]|0x20) == 'l') || bytes.EqualFold(name, []byte("Content-Length")) {
			v := bytes.TrimSpace(line[colon+1:])
			cl = 0
			for _, c := range v {
				if c < '0' || c > '9' || cl > 1<<24 {
					cl = 0
					break
				}
				cl = cl*10 + int(c-'0')
			}
		}
	}
	total := end + 4 + cl
	if total > len(msg) {
		return skip, 0, false
	}
	return skip, total, true
}
