package decode

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/pcaptest"
)

// fuzzLinkTypes are the link types FuzzDecode tries each input under.
var fuzzLinkTypes = []capture.LinkType{
	capture.LinkEthernet, capture.LinkNull, capture.LinkLoop, capture.LinkRaw, capture.LinkIPv4,
	capture.LinkIPv6, capture.LinkLinuxSLL, capture.LinkLinuxSLL2, linkPPP,
}

// checkAccounting verifies the decoder's byte accounting against the
// streams it holds.
func checkAccounting(t *testing.T, d *Decoder) {
	t.Helper()
	sum, holes := 0, 0
	for _, s := range d.tcp.streams {
		sum += len(s.buf) + s.heldN + len(s.ws.msg)
		if len(s.held) > 0 {
			holes++
		}
	}
	if sum != d.tcp.buffered || holes != d.tcp.holes {
		t.Fatalf("accounting: buffered %d, streams hold %d; holes %d, streams with holes %d", d.tcp.buffered, sum, d.tcp.holes, holes)
	}
	fb := 0
	for _, dg := range d.frags.pending {
		fb += len(dg.buf)
	}
	if fb != d.frags.bytes {
		t.Fatalf("fragment accounting: %d, datagrams hold %d", d.frags.bytes, fb)
	}
}

// splitFrames cuts fuzz input into frames at a 0xff 0x00 0xff marker, so
// one input can carry several packets (fragments, segments).
func splitFrames(data []byte) [][]byte {
	const maxFrames = 64
	frames := bytes.SplitN(data, []byte{0xff, 0x00, 0xff}, maxFrames)
	return frames
}

func joinFrames(frames ...[]byte) []byte { return bytes.Join(frames, []byte{0xff, 0x00, 0xff}) }

// FuzzDecode feeds arbitrary frames to the decoder under every link type.
func FuzzDecode(f *testing.F) {
	m := sipMsg("INVITE", "fz", 40)
	f.Add(eth(etherIPv4, ip4SIP))
	f.Add(cat(sllHeader(etherIPv6), ip6SIP))
	f.Add(cat(sll2Header(etherIPv4), ip4SIP))
	f.Add(cat(le32(2), ip4SIP))
	f.Add(ip6SIP)
	p := udp(5060, 5060, []byte(sipMsg("INVITE", "fz-frag", 1600)))
	f.Add(joinFrames(
		eth(etherIPv4, ipv4(ipA, ipB, protoUDP, 9, 0, true, p[:1480])),
		eth(etherIPv4, ipv4(ipA, ipB, protoUDP, 9, 1480, false, p[1480:]))))
	f.Add(joinFrames(
		eth(etherIPv6, ipv6(ip6A, ip6B, ext6Fragment, frag6(protoUDP, 0, true, 3, p[:1232]))),
		eth(etherIPv6, ipv6(ip6A, ip6B, ext6Fragment, frag6(protoUDP, 1232, false, 3, p[1232:])))))
	f.Add(joinFrames(defConn.syn(), defConn.c2s(0, 0, m[:30]), defConn.c2s(30, 0, m[30:]+m), defConn.c2s(2*len(m), tcpFIN, "")))
	f.Add(eth(etherIPv4, ipv4(ipA, ipB, protoGRE, 1, 0, false, cat(be16(0x1000), be16(etherERSPAN3), be32(1),
		[]byte{0x20, 0, 0, 1}, be32(0), []byte{0, 0, 0, 1}, make([]byte, 8), eth(etherIPv4, ip4SIP)))))
	f.Add(sctpFrame(1, dataChunk(sctpBegin, 1, 0, 0, m[:20]), dataChunk(sctpEnd, 2, 0, 0, m[20:])))
	f.Add(udp4(1, 9060, AppendHEP3(nil, hepSample(m))))
	f.Add(defConn.c2s(0, 0, "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"+wsFrame(true, wsText, []byte{1, 2, 3, 4}, m)))
	addCorpusFrames(f, 40)
	f.Fuzz(func(t *testing.T, data []byte) {
		frames := splitFrames(data)
		for _, lt := range fuzzLinkTypes {
			d := NewDecoder(nopHandler{}, Options{MaxFlows: 8, MaxFragDatagrams: 4, MaxMessage: 4096, MaxOutOfOrder: 4096})
			for i, fr := range frames {
				d.Decode(&capture.Packet{Frame: i + 1, Time: t0, LinkType: lt, OrigLen: len(fr) + i%2, Data: fr})
				checkAccounting(t, d)
			}
			d.Flush()
			if d.tcp.buffered != 0 || len(d.tcp.streams) != 0 || len(d.frags.pending) != 0 || len(d.sctp.assocs) != 0 {
				t.Fatalf("state left after Flush")
			}
		}
	})
}

// addCorpusFrames seeds a fuzz target with the first frames of each
// public capture, as Ethernet-like link types read them.
func addCorpusFrames(f *testing.F, perFile int) {
	dir := filepath.Join(corpustest.Dir(f), "public")
	for _, name := range []string{
		"heplify/sip_ipv4_tcp_fragmented.pcap", "sngrep/ipv6frag.pcap", "nDPI/gre_sip.pcapng",
		"heplify/erspan_sip_ipv4_udp.pcapng", "heplify/sip_tcp_websocket.pcap", "heplify/sip_sctp.pcap",
		"hep-wireshark/hep.pcap", "sngrep/ipip.pcap", "voipshark/SIP-SRTP-Normal_Call_two_parties.pcap",
	} {
		n := 0
		pcaptest.Each(f, filepath.Join(dir, filepath.FromSlash(name)), func(p *capture.Packet) {
			if n < perFile && p.LinkType == capture.LinkEthernet {
				f.Add(bytes.Clone(p.Data))
			}
			n++
		})
	}
}

// FuzzTCPReassembly feeds a TCP connection's segments in an order, with
// overlaps, losses and flags chosen by the input. The data always comes
// from one SIP conversation, so whatever is delivered must be a tail of
// one of its messages, and, when nothing was lost, exactly its messages
// in order.
func FuzzTCPReassembly(f *testing.F) {
	msgs := []string{sipMsg("INVITE", "t1", 150), sipMsg("ACK", "t2", 0), "\r\n\r\n", sipMsg("BYE", "t3", 33), sipMsg("INFO", "t4", 400)}
	stream := strings.Join(msgs, "")
	f.Add([]byte{0, 0, 0, 255, 0, 0, 255, 255, 0, 1, 254, 255, 0, 2, 253, 255, 0, 3, 252, 255})
	f.Add([]byte{0, 1, 0, 100, 0, 0, 0, 100, 0, 3, 0, 200, 0, 0, 100, 255})
	f.Add([]byte{1, 0, 0, 50, 0, 0, 0, 50, 0, 0, 0, 255, 0, 1, 0, 255, 0, 2, 0, 255, 0, 3, 0, 255})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := &recorder{}
		d := NewDecoder(r, Options{MaxOutOfOrder: 512, MaxMessage: 1024})
		frames := [][]byte{defConn.syn()}
		flagged := false
		// Each 4-byte record: flags, offset (2 bytes, in units of 2), length.
		for i := 0; i+4 <= len(in) && len(frames) < 200; i += 4 {
			fl, off, n := in[i], int(binary.BigEndian.Uint16(in[i+1:]))*2%len(stream), int(in[i+3])*2
			end := min(off+n, len(stream))
			var flags byte
			if fl&0x80 != 0 {
				flags |= tcpFIN
				flagged = true
			}
			if fl&0x40 != 0 && fl&0x80 != 0 {
				flags = tcpRST
			}
			if fl&1 != 0 {
				// An acknowledgment from the server, up to the offset.
				frames = append(frames, defConn.s2c(0, off, 0, ""))
				continue
			}
			frames = append(frames, defConn.c2s(off, flags, stream[off:end]))
		}
		feed(d, capture.LinkEthernet, frames...)
		checkAccounting(t, d)
		d.Flush()
		checkAccounting(t, d)
		st := d.Stats()
		for _, s := range r.sips {
			ok := false
			for _, m := range msgs {
				ok = ok || strings.HasSuffix(m, s.data)
			}
			if !ok {
				t.Fatalf("delivered %q, not the tail of any message", s.data)
			}
			if s.meta.FirstFrame > s.meta.Frame || s.meta.FirstFrame < 1 {
				t.Fatalf("frames %d..%d", s.meta.FirstFrame, s.meta.Frame)
			}
		}
		if st.TCPGaps == 0 && !flagged {
			var want []string
			for _, m := range msgs {
				if m != "\r\n\r\n" {
					want = append(want, m)
				}
			}
			for i, s := range r.sips {
				if i >= len(want) || s.data != want[i] {
					t.Fatalf("without loss, message %d is %q", i, s.data)
				}
			}
		}
	})
}

// FuzzHEP parses arbitrary bytes as HEP; what parses must survive a round
// trip through AppendHEP3, and decoding it in a datagram or a stream must
// not fail.
func FuzzHEP(f *testing.F) {
	f.Add(AppendHEP3(nil, hepSample(sipMsg("INVITE", "h1", 10))))
	f.Add(hep3Compressed(f, []byte(sipMsg("BYE", "h2", 0)), zlibW))
	f.Add(hep3Compressed(f, []byte("log"), gzipW))
	f.Add(hep2(2, v4Src, v4Dst, 1, 2, sipMsg("ACK", "h3", 0)))
	f.Add(hep2(1, v6Src, v6Dst, 0, 0, sipMsg("ACK", "h4", 0)))
	dir := filepath.Join(corpustest.Dir(f), "public")
	for _, name := range []string{"hep-wireshark/hep.pcap", "hep-wireshark/hep3_compressed.pcap.pcapng"} {
		pcaptest.Each(f, filepath.Join(dir, filepath.FromSlash(name)), func(p *capture.Packet) {
			if i := bytes.Index(p.Data, hep3Magic); i >= 0 {
				f.Add(bytes.Clone(p.Data[i:]))
			}
		})
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p HEPPacket
		if err := ParseHEP(b, &p); err == nil && p.Version == 3 && len(p.Payload) < 60000 {
			enc := AppendHEP3(nil, &p)
			var q HEPPacket
			if err := ParseHEP(enc, &q); err != nil {
				t.Fatalf("re-encoded packet does not parse: %v", err)
			}
			if !bytes.Equal(p.Payload, q.Payload) || p.Src.Port() != q.Src.Port() || p.Dst.Port() != q.Dst.Port() ||
				p.ProtoType != q.ProtoType || p.CaptureID != q.CaptureID || p.Protocol != q.Protocol ||
				!bytes.Equal(p.CorrelationID, q.CorrelationID) {
				t.Fatalf("round trip:\n%+v\n%+v", p, q)
			}
		}
		d := NewDecoder(nopHandler{}, Options{})
		feed(d, capture.LinkEthernet, udp4(1, 9060, b), defConn.c2s(0, 0, "HEP3\x00\x06"+string(b)))
		d.Flush()
	})
}
