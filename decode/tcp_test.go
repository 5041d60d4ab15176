package decode

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// conn builds the segments of one TCP connection between A:5070 (client)
// and B:5060, with sequence numbers counted from each side's start.
type conn struct {
	cport, sport uint16
	ciss, siss   uint32
}

var defConn = conn{cport: 5070, sport: 5060, ciss: 1000, siss: 9000}

// c2s is a client segment carrying data at offset off of the client stream.
func (c conn) c2s(off int, flags byte, data string) []byte {
	return tcp4(ipA, ipB, c.cport, c.sport, c.ciss+1+uint32(off), c.siss+1, flags|tcpACK, data)
}

// s2c is a server segment acknowledging ack bytes of the client stream.
func (c conn) s2c(off, ack int, flags byte, data string) []byte {
	return tcp4(ipB, ipA, c.sport, c.cport, c.siss+1+uint32(off), c.ciss+1+uint32(ack), flags|tcpACK, data)
}

func (c conn) syn() []byte {
	return tcp4(ipA, ipB, c.cport, c.sport, c.ciss, 0, tcpSYN, "")
}

// summarize lists the delivered messages as Call-ID@FirstFrame/Frame.
func summarize(r *recorder) string {
	var parts []string
	for _, s := range r.sips {
		id := "?"
		if i := strings.Index(s.data, "Call-ID: "); i >= 0 {
			id = s.data[i+9:]
			id = id[:strings.IndexByte(id, '\r')]
		}
		parts = append(parts, fmt.Sprintf("%s@%d/%d", id, s.meta.FirstFrame, s.meta.Frame))
	}
	return strings.Join(parts, " ")
}

// wantSummary checks the SIP messages delivered, as summarize writes them.
func wantSummary(t *testing.T, r *recorder, want string) {
	t.Helper()
	if got := summarize(r); got != want {
		t.Errorf("got %q, want %q (warnings %+v)", got, want, r.warns)
	}
}

// TestTCPReassembly feeds TCP segments in many orders and checks which
// SIP messages come out, framed by Content-Length, with the frames they
// came from (Call-ID@FirstFrame/Frame).
func TestTCPReassembly(t *testing.T) {
	c := defConn
	m1, m2, m3 := sipMsg("INVITE", "m1", 120), sipMsg("BYE", "m2", 0), sipMsg("INFO", "m3", 40)
	l1, l2 := len(m1), len(m2)
	tests := []struct {
		name   string
		opt    Options
		frames [][]byte
		want   string
		check  func(t *testing.T, st Stats, warns []capture.Warning)
	}{
		{name: "two messages in one segment",
			frames: [][]byte{c.syn(), c.c2s(0, 0, m1+m2)},
			want:   "m1@2/2 m2@2/2"},
		{name: "one message over three segments",
			frames: [][]byte{c.c2s(0, 0, m1[:30]), c.c2s(30, 0, m1[30:100]), c.c2s(100, 0, m1[100:])},
			want:   "m1@1/3"},
		{name: "message end and next message in one segment",
			frames: [][]byte{c.c2s(0, 0, m1[:50]), c.c2s(50, 0, m1[50:]+m2[:10]), c.c2s(l1+10, 0, m2[10:])},
			want:   "m1@1/2 m2@2/3"},
		{name: "out of order",
			frames: [][]byte{c.syn(), c.c2s(l1, 0, m2), c.c2s(0, 0, m1)},
			want:   "m1@3/3 m2@2/3",
			check: func(t *testing.T, st Stats, _ []capture.Warning) {
				if st.TCPOutOfOrder != 1 {
					t.Errorf("TCPOutOfOrder %d", st.TCPOutOfOrder)
				}
			}},
		{name: "three segments in reverse order",
			frames: [][]byte{c.syn(), c.c2s(100, 0, m1[100:]), c.c2s(30, 0, m1[30:100]), c.c2s(0, 0, m1[:30])},
			want:   "m1@2/4"},
		{name: "out of order before the first segment captured",
			frames: [][]byte{c.c2s(l1, 0, m2), c.c2s(0, 0, m1), c.c2s(0, 0, m1), c.c2s(l1+l2, 0, m3)},
			want:   "m2@1/1 m1@2/2 m3@4/4"},
		{name: "retransmission dropped",
			frames: [][]byte{c.c2s(0, 0, m1), c.c2s(0, 0, m1), c.c2s(l1, 0, m2)},
			want:   "m1@1/1 m2@3/3",
			check: func(t *testing.T, st Stats, _ []capture.Warning) {
				if st.TCPRetransmissions != 1 {
					t.Errorf("TCPRetransmissions %d", st.TCPRetransmissions)
				}
			}},
		{name: "retransmission overlapping new data",
			frames: [][]byte{c.c2s(0, 0, m1[:80]), c.c2s(40, 0, m1[40:])},
			want:   "m1@1/2"},
		{name: "retransmission of a held segment",
			frames: [][]byte{c.syn(), c.c2s(l1, 0, m2), c.c2s(l1, 0, m2), c.c2s(0, 0, m1)},
			want:   "m1@4/4 m2@2/4"},
		{name: "keep-alive CRLFs between messages",
			frames: [][]byte{c.c2s(0, 0, "\r\n\r\n"), c.c2s(4, 0, m1), c.c2s(4+l1, 0, "\r\n"), c.c2s(6+l1, 0, m2)},
			want:   "m1@2/2 m2@4/4"},
		{name: "SIP on ports other than 5060",
			frames: [][]byte{conn{cport: 40001, sport: 15060, ciss: 5}.c2s(0, 0, m1)},
			want:   "m1@1/1"},
		{name: "both directions",
			frames: [][]byte{c.c2s(0, 0, m1), c.s2c(0, l1, 0, m2), c.c2s(l1, 0, m3)},
			want:   "m1@1/1 m2@2/2 m3@3/3"},
		{name: "capture joined mid-message",
			frames: [][]byte{c.c2s(0, 0, m1[60:]), c.c2s(l1-60, 0, m2)},
			want:   "m2@2/2"},
		{name: "gap proven by the peer's acknowledgment",
			frames: [][]byte{
				c.c2s(0, 0, m1),
				c.c2s(l1, 0, m2[:20]),
				// m2[20:] is never captured.
				c.c2s(l1+l2, 0, m3),
				c.s2c(0, l1+l2+len(m3), 0, ""),
			},
			want: "m1@1/1 m3@3/3",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if st.TCPGaps != 1 || len(warns) != 1 || warns[0].Frame != 3 || !warns[0].Damaged ||
					!strings.Contains(warns[0].Text, fmt.Sprintf("%d bytes missing between frame 2 and frame 3", l2-20)) ||
					!strings.Contains(warns[0].Text, "20 bytes of a message cut by the hole dropped") {
					t.Errorf("gaps %d, warnings %+v", st.TCPGaps, warns)
				}
			}},
		{name: "gap with resynchronisation at the next start line",
			frames: [][]byte{
				c.c2s(0, 0, m1[:50]),
				c.c2s(100, 0, m1[100:]+m2),
				c.s2c(0, l1+l2, 0, ""),
			},
			want: "m2@2/2"},
		{name: "gap found at the end of the capture",
			frames: [][]byte{c.c2s(0, 0, m1[:50]), c.c2s(l1, 0, m2)},
			want:   "m2@2/2",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if st.TCPGaps != 1 || len(warns) != 1 || !strings.Contains(warns[0].Text, "ended with the capture") {
					t.Errorf("gaps %d, warnings %+v", st.TCPGaps, warns)
				}
			}},
		{name: "out-of-order limit declares a gap",
			opt: Options{MaxOutOfOrder: 100},
			frames: [][]byte{
				c.c2s(0, 0, m1[:10]),
				c.c2s(l1, 0, m2),
				c.c2s(l1+l2, 0, m3),
			},
			want: "m2@2/2 m3@3/3",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if st.TCPGaps != 1 || !strings.Contains(warns[0].Text, "out-of-order limit") {
					t.Errorf("gaps %d, warnings %+v", st.TCPGaps, warns)
				}
			}},
		{name: "FIN with an incomplete message",
			frames: [][]byte{c.c2s(0, 0, m1+m2[:15]), c.c2s(l1+15, tcpFIN, ""), c.c2s(0, 0, m1)},
			want:   "m1@1/1",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if len(warns) != 1 || warns[0].Frame != 1 || !strings.Contains(warns[0].Text, "closed with 15 bytes of an incomplete message") {
					t.Errorf("warnings %+v", warns)
				}
				if st.TCPRetransmissions != 1 {
					t.Errorf("retransmission after close: %d", st.TCPRetransmissions)
				}
			}},
		{name: "FIN held out of order",
			frames: [][]byte{c.syn(), c.c2s(l1, tcpFIN, m2), c.c2s(0, 0, m1)},
			want:   "m1@3/3 m2@2/3"},
		{name: "reset by the peer ends both directions",
			frames: [][]byte{c.c2s(0, 0, m1[:40]), c.s2c(0, 40, tcpRST, "")},
			want:   "",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if len(warns) != 1 || warns[0].Frame != 1 || !strings.Contains(warns[0].Text, "reset by the peer with 40 bytes") {
					t.Errorf("warnings %+v", warns)
				}
			}},
		{name: "reset from the sender",
			frames: [][]byte{c.c2s(0, 0, m1[:40]), c.c2s(40, tcpRST, "")},
			want:   "",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if len(warns) != 1 || !strings.Contains(warns[0].Text, "reset with 40 bytes") {
					t.Errorf("warnings %+v", warns)
				}
			}},
		{name: "new connection on the same ports",
			frames: [][]byte{
				c.syn(), c.c2s(0, 0, m1), c.c2s(l1, tcpFIN, ""),
				conn{cport: 5070, sport: 5060, ciss: 777777}.syn(),
				conn{cport: 5070, sport: 5060, ciss: 777777}.c2s(0, 0, m2),
			},
			want: "m1@2/2 m2@5/5"},
		{name: "new connection on ports joined mid-way",
			frames: [][]byte{
				c.c2s(0, 0, m1),
				conn{cport: 5070, sport: 5060, ciss: 424242}.syn(),
				conn{cport: 5070, sport: 5060, ciss: 424242}.c2s(0, 0, m2),
			},
			want: "m1@1/1 m2@3/3"},
		{name: "repeated SYN",
			frames: [][]byte{c.syn(), c.syn(), c.c2s(0, 0, m1)},
			want:   "m1@3/3"},
		{name: "oversized message without its end",
			opt:    Options{MaxMessage: 100},
			frames: [][]byte{c.c2s(0, 0, m1[:l1-5]), c.c2s(l1-5, 0, m1[l1-5:]+m2)},
			want:   "m2@2/2",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if len(warns) != 1 || !strings.Contains(warns[0].Text, "over 100 bytes") {
					t.Errorf("warnings %+v", warns)
				}
			}},
		{name: "sequence numbers wrap",
			frames: [][]byte{
				conn{cport: 1, sport: 2, ciss: 0xffffffff - 50}.c2s(0, 0, m1[:60]),
				conn{cport: 1, sport: 2, ciss: 0xffffffff - 50}.c2s(60, 0, m1[60:]),
			},
			want: "m1@1/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, d := decodeFrames(tt.opt, tt.frames...)
			wantSummary(t, r, tt.want)
			for _, s := range r.sips {
				if s.meta.Transport != TCP {
					t.Errorf("transport %v", s.meta.Transport)
				}
			}
			if tt.check != nil {
				tt.check(t, d.Stats(), r.warns)
			}
			if d.tcp.buffered != 0 || len(d.tcp.streams) != 0 {
				t.Errorf("after Flush: %d bytes buffered, %d streams", d.tcp.buffered, len(d.tcp.streams))
			}
		})
	}
}

// TestTCPStateIsReleased checks that FIN frees a stream's buffers, that
// idle streams expire on packet time and that the flow cap evicts.
func TestTCPStateIsReleased(t *testing.T) {
	c := defConn
	m1 := sipMsg("INVITE", "r1", 50)
	t.Run("FIN frees the buffers", func(t *testing.T) {
		d := NewDecoder(&recorder{}, Options{})
		feed(d, capture.LinkEthernet, c.c2s(0, 0, m1[:30]), c.c2s(30, 0, m1[30:40]))
		if d.tcp.buffered != 40 {
			t.Fatalf("buffered %d", d.tcp.buffered)
		}
		feed(d, capture.LinkEthernet, c.c2s(40, tcpFIN, ""))
		s := d.tcp.streams[flowKey{netip.AddrPortFrom(ipA, c.cport), netip.AddrPortFrom(ipB, c.sport)}]
		if d.tcp.buffered != 0 || s == nil || !s.closed || s.buf != nil {
			t.Errorf("buffered %d, stream %+v", d.tcp.buffered, s)
		}
	})
	t.Run("idle streams expire", func(t *testing.T) {
		r := &recorder{}
		d := NewDecoder(r, Options{})
		frame := c.c2s(0, 0, m1[:30])
		d.Decode(&capture.Packet{Frame: 1, Time: t0, LinkType: capture.LinkEthernet, Data: frame})
		later := udp4(1, 2, []byte("x"))
		d.Decode(&capture.Packet{Frame: 2, Time: t0.Add(6 * time.Minute), LinkType: capture.LinkEthernet, Data: later})
		if st := d.Stats(); st.TCPFlowsExpired != 1 || len(d.tcp.streams) != 0 {
			t.Errorf("expired %d, streams %d", st.TCPFlowsExpired, len(d.tcp.streams))
		}
		if len(r.warns) != 1 || !strings.Contains(r.warns[0].Text, "idle for more than 5m0s with 30 bytes") {
			t.Errorf("warnings %+v", r.warns)
		}
	})
	t.Run("flow cap evicts the least recently active", func(t *testing.T) {
		d := NewDecoder(&recorder{}, Options{MaxFlows: 2})
		for port := range uint16(3) {
			feed(d, capture.LinkEthernet, conn{cport: 6000 + port, sport: 5060, ciss: 1}.c2s(0, 0, m1))
		}
		if st := d.Stats(); st.TCPFlowsEvicted != 1 || len(d.tcp.streams) != 2 {
			t.Errorf("evicted %d, streams %d", st.TCPFlowsEvicted, len(d.tcp.streams))
		}
	})
}

// wsFrame builds a WebSocket frame; a non-nil key masks the payload.
func wsFrame(fin bool, opcode byte, key []byte, payload string) string {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0}
	mask := byte(0)
	if key != nil {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		h = append(h, mask|byte(n))
	case n < 1<<16:
		h = append(h, mask|126)
		h = append(h, be16(uint16(n))...)
	default:
		h = append(h, mask|127, 0, 0, 0, 0)
		h = append(h, be32(uint32(n))...)
	}
	p := []byte(payload)
	if key != nil {
		h = append(h, key...)
		for i := range p {
			p[i] ^= key[i&3]
		}
	}
	return string(h) + string(p)
}

// TestWebSocketCarriesSIP follows the HTTP upgrade and reads SIP from
// WebSocket frames (RFC 7118): masked and unmasked, text and binary,
// fragmented, and split across TCP segments.
func TestWebSocketCarriesSIP(t *testing.T) {
	c := conn{cport: 43380, sport: 8080, ciss: 100, siss: 200}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	upgrade := "GET /ws HTTP/1.1\r\nHost: pbx\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n"
	accept := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
	reg := sipMsg("REGISTER", "ws1", 0)
	inv := sipMsg("INVITE", "ws2", 300) // over 125 bytes: 16-bit length
	ok := "SIP/2.0 200 OK\r\nCall-ID: ws1\r\nContent-Length: 0\r\n\r\n"
	u := len(upgrade)
	tests := []struct {
		name   string
		frames [][]byte
		want   string
		check  func(t *testing.T, st Stats, warns []capture.Warning)
	}{
		{name: "masked request, unmasked response",
			frames: [][]byte{
				c.c2s(0, 0, upgrade), c.s2c(0, u, 0, accept),
				c.c2s(u, 0, wsFrame(true, wsText, key, reg)),
				c.s2c(len(accept), u, 0, wsFrame(true, wsText, nil, ok)),
			},
			want: "ws1@3/3 ws1@4/4"},
		{name: "upgrade and first frame in one segment",
			frames: [][]byte{c.c2s(0, 0, upgrade+wsFrame(true, wsBinary, key, inv))},
			want:   "ws2@1/1"},
		{name: "fragmented message with a ping between",
			frames: [][]byte{c.c2s(0, 0, upgrade+
				wsFrame(false, wsText, key, inv[:100])+
				wsFrame(true, wsPing, key, "hi")+
				wsFrame(false, wsContinuation, key, inv[100:200])),
				c.c2s(u+6+100+6+2+6+100, 0, wsFrame(true, wsContinuation, key, inv[200:])),
			},
			want: "ws2@1/2"},
		{name: "frame split across segments",
			frames: func() [][]byte {
				f := wsFrame(true, wsText, key, inv)
				return [][]byte{c.c2s(0, 0, upgrade+f[:3]), c.c2s(u+3, 0, f[3:200]), c.c2s(u+200, 0, f[200:]+wsFrame(true, wsText, key, reg))}
			}(),
			want: "ws2@1/3 ws1@3/3"},
		{name: "nothing after a close frame",
			frames: [][]byte{c.c2s(0, 0, upgrade+wsFrame(true, wsClose, key, "\x03\xe8")+wsFrame(true, wsText, key, reg))},
			want:   ""},
		{name: "compressed messages are reported, not decoded",
			frames: [][]byte{c.c2s(0, 0, upgrade+"\xc1\x05hello")},
			want:   "",
			check: func(t *testing.T, st Stats, warns []capture.Warning) {
				if len(warns) != 1 || !strings.Contains(warns[0].Text, "permessage-deflate") {
					t.Errorf("warnings %+v", warns)
				}
			}},
		{name: "joined after the upgrade",
			frames: [][]byte{c.c2s(0, 0, wsFrame(true, wsText, key, reg))},
			want:   "ws1@1/1"},
		{name: "HTTP without upgrade is ignored",
			frames: [][]byte{c.c2s(0, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"+reg)},
			want:   "",
			check: func(t *testing.T, st Stats, _ []capture.Warning) {
				if st.TCPIgnored != 1 {
					t.Errorf("TCPIgnored %d", st.TCPIgnored)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, d := decodeFrames(Options{}, tt.frames...)
			wantSummary(t, r, tt.want)
			for _, s := range r.sips {
				if s.meta.Transport != WS {
					t.Errorf("transport %v", s.meta.Transport)
				}
				if s.data != reg && s.data != inv && s.data != ok {
					t.Errorf("message %q", s.data)
				}
			}
			if tt.check != nil {
				tt.check(t, d.Stats(), r.warns)
			}
		})
	}
}

// TestTLSIsCountedNotDecoded checks that a TLS connection is counted per
// direction and packet, reported once, and never read as SIP.
func TestTLSIsCountedNotDecoded(t *testing.T) {
	c := conn{cport: 50000, sport: 5061, ciss: 1, siss: 2}
	hello := "\x16\x03\x01\x00\x40" + strings.Repeat("\x01", 64)
	server := "\x16\x03\x03\x00\x20" + strings.Repeat("\x02", 32)
	app := "\x17\x03\x03\x00\x30" + strings.Repeat("INVITE sip:x SIP/2.0\r\n", 2)
	r := &recorder{}
	d := NewDecoder(r, Options{})
	feed(d, capture.LinkEthernet,
		c.syn(), c.c2s(0, 0, hello), c.s2c(0, len(hello), 0, server), c.c2s(len(hello), 0, app), c.c2s(len(hello)+len(app), tcpFIN, ""))
	d.Flush()
	st := d.Stats()
	if st.TLSFlows != 2 || st.TLSPackets != 3 || len(r.sips) != 0 {
		t.Errorf("TLS flows %d packets %d, SIP %d", st.TLSFlows, st.TLSPackets, len(r.sips))
	}
	if len(r.warns) != 1 || r.warns[0].Frame != 2 || !strings.Contains(r.warns[0].Text, "without keys") {
		t.Errorf("warnings %+v", r.warns)
	}
}

// TestHTTPOnSIPPortIsNotSIP checks that HTTP on TCP port 5060 is
// recognised and left alone.
func TestHTTPOnSIPPortIsNotSIP(t *testing.T) {
	c := defConn
	req := "GET /index.html HTTP/1.1\r\nHost: 5060\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nINVITE sip:x SIP/2.0"
	r, d := decodeFrames(Options{}, c.c2s(0, 0, req), c.s2c(0, len(req), 0, resp))
	if st := d.Stats(); len(r.sips) != 0 || st.TCPIgnored != 2 || len(r.warns) != 0 {
		t.Errorf("SIP %d, ignored %d, warnings %+v", len(r.sips), st.TCPIgnored, r.warns)
	}
}

// TestBinaryStreamIsIgnored checks that a stream of binary data is not
// buffered.
func TestBinaryStreamIsIgnored(t *testing.T) {
	c := defConn
	r := &recorder{}
	d := NewDecoder(r, Options{})
	bin := strings.Repeat("\x00\x01\x02\x80", 100)
	feed(d, capture.LinkEthernet, c.c2s(0, 0, bin), c.c2s(400, 0, bin))
	if d.tcp.buffered != 0 || d.Stats().TCPIgnored != 1 {
		t.Errorf("buffered %d, ignored %d", d.tcp.buffered, d.Stats().TCPIgnored)
	}
}

// TestTextStreamWithoutSIPIsIgnoredAfterProbing checks that a text stream
// with no SIP start line stops being scanned.
func TestTextStreamWithoutSIPIsIgnoredAfterProbing(t *testing.T) {
	c := defConn
	d := NewDecoder(&recorder{}, Options{})
	line := strings.Repeat("220 mail server ready\r\n", 100)
	off := 0
	for range 40 {
		feed(d, capture.LinkEthernet, c.c2s(off, 0, line))
		off += len(line)
	}
	if d.Stats().TCPIgnored != 1 || d.tcp.buffered != 0 {
		t.Errorf("ignored %d buffered %d", d.Stats().TCPIgnored, d.tcp.buffered)
	}
}
