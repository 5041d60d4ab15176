package decode

import (
	"encoding/binary"
	"fmt"

	"github.com/sipscope/sipscope/sip"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xa
)

// wsState is a WebSocket message being assembled from fragments (RFC 6455
// §5.4); control frames may come between them.
type wsState struct {
	msg        []byte // unmasked payload so far
	inMsg      bool
	compressed bool // RSV1: permessage-deflate (RFC 7692)
	first      int  // frame of the message's first byte
	warned     bool // compressed messages reported once
}

// wsHeader is a WebSocket frame header.
type wsHeader struct {
	fin, rsv1 bool
	opcode    byte
	masked    bool
	key       [4]byte
	n         int // payload length
	hlen      int // header length
}

// parseWSHeader reads a frame header. ok is false when b is too short to
// hold it; bad reports a length no implementation sends.
func parseWSHeader(b []byte) (h wsHeader, ok, bad bool) {
	if len(b) < 2 {
		return h, false, false
	}
	h.fin, h.rsv1, h.opcode = b[0]&0x80 != 0, b[0]&0x40 != 0, b[0]&0x0f
	h.masked = b[1]&0x80 != 0
	h.hlen = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, false, false
		}
		h.n, h.hlen = int(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		if len(b) < 10 {
			return h, false, false
		}
		n := binary.BigEndian.Uint64(b[2:10])
		if n > 1<<30 {
			return h, false, true
		}
		h.n, h.hlen = int(n), 10
	default:
		h.n = int(l)
	}
	if h.masked {
		if len(b) < h.hlen+4 {
			return h, false, false
		}
		h.key = [4]byte(b[h.hlen : h.hlen+4])
		h.hlen += 4
	}
	return h, true, false
}

// appendUnmasked appends p to dst, unmasking it with key (RFC 6455 §5.3)
// when the frame was masked.
func appendUnmasked(dst, p []byte, h *wsHeader) []byte {
	if !h.masked {
		return append(dst, p...)
	}
	for i, c := range p {
		dst = append(dst, c^h.key[i&3])
	}
	return dst
}

// wsCarriesSIP reports whether b starts with a complete-looking WebSocket
// data frame whose payload starts with a SIP start line.
func wsCarriesSIP(b []byte) bool {
	h, ok, bad := parseWSHeader(b)
	if !ok || bad || h.rsv1 || (h.opcode != wsText && h.opcode != wsBinary) {
		return false
	}
	var line [512]byte
	p := b[h.hlen:]
	p = p[:min(len(p), h.n, len(line))]
	return sip.LooksLike(appendUnmasked(line[:0], p, &h))
}

// wsStep reads one WebSocket frame at b[pos:]; a complete data message
// holding a SIP message is delivered with transport WS (RFC 7118 §5: one
// SIP message per WebSocket message).
func (d *Decoder) wsStep(s *stream, b []byte, pos int, o *origin, direct bool) (int, bool) {
	rest := b[pos:]
	h, ok, bad := parseWSHeader(rest)
	if bad || (ok && h.n > d.opt.MaxMessage) {
		d.warn(o.frame, true, fmt.Sprintf("WebSocket %s -> %s: frame of %d bytes exceeds the message limit; stream ignored",
			s.key.src, s.key.dst, h.n))
		d.ignore(s)
		return len(rest), false
	}
	if !ok || len(rest) < h.hlen+h.n {
		return 0, true
	}
	total := h.hlen + h.n
	d.stats.WebSocketFrames++
	payload := rest[h.hlen:total]
	first := o.first
	if !direct {
		first = s.firstFrame(pos, total)
	}
	switch h.opcode {
	case wsText, wsBinary:
		d.wsDrop(s)
		if h.fin {
			d.scratch = appendUnmasked(d.scratch[:0], payload, &h)
			d.wsMessage(s, d.scratch, h.rsv1, first, o)
			break
		}
		s.ws.msg = appendUnmasked(s.ws.msg[:0], payload, &h)
		s.ws.inMsg, s.ws.compressed, s.ws.first = true, h.rsv1, first
		d.tcp.buffered += len(s.ws.msg)
	case wsContinuation:
		if !s.ws.inMsg {
			break
		}
		if len(s.ws.msg)+len(payload) > d.opt.MaxMessage {
			d.warn(o.frame, true, fmt.Sprintf("WebSocket %s -> %s: fragmented message over %d bytes; dropped",
				s.key.src, s.key.dst, d.opt.MaxMessage))
			d.wsDrop(s)
			break
		}
		before := len(s.ws.msg)
		s.ws.msg = appendUnmasked(s.ws.msg, payload, &h)
		s.ws.first = min(s.ws.first, first)
		d.tcp.buffered += len(s.ws.msg) - before
		if h.fin {
			d.wsMessage(s, s.ws.msg, s.ws.compressed, s.ws.first, o)
			d.wsDrop(s)
		}
	case wsPing, wsPong:
	case wsClose:
		// Nothing may follow a close frame (RFC 6455 §5.5.1).
		s.mode = modeIgnore
	default:
		// Reserved opcode: the connection fails (RFC 6455 §5.2).
		d.ignore(s)
		return len(rest), false
	}
	return total, false
}

// wsDrop forgets a partly assembled message.
func (d *Decoder) wsDrop(s *stream) {
	d.tcp.buffered -= len(s.ws.msg)
	s.ws.msg = s.ws.msg[:0]
	s.ws.inMsg, s.ws.compressed = false, false
}

// wsMessage delivers a complete WebSocket message if it holds SIP.
func (d *Decoder) wsMessage(s *stream, msg []byte, compressed bool, first int, o *origin) {
	d.stats.WebSocketMessages++
	if compressed {
		if !s.ws.warned {
			s.ws.warned = true
			d.warn(o.frame, false, fmt.Sprintf("WebSocket %s -> %s: messages compressed with permessage-deflate "+
				"are not decoded", s.key.src, s.key.dst))
		}
		return
	}
	for len(msg) > 0 && (msg[0] == '\r' || msg[0] == '\n') {
		msg = msg[1:]
	}
	if !sip.LooksLike(msg) {
		return
	}
	m := d.setMeta(o, s.key.src, s.key.dst, WS)
	m.FirstFrame = first
	d.deliverSIP(m, msg)
}
