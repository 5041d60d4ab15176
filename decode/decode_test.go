package decode

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
)

var (
	testSIP = []byte(sipMsg("OPTIONS", "link-1", 0))
	ip4SIP  = ipv4(ipA, ipB, protoUDP, 7, 0, false, udp(5060, 5060, testSIP))
	ip6SIP  = ipv6(ip6A, ip6B, protoUDP, udp(5060, 5060, testSIP))
	v4Src   = netip.AddrPortFrom(ipA, 5060)
	v4Dst   = netip.AddrPortFrom(ipB, 5060)
	v6Src   = netip.AddrPortFrom(ip6A, 5060)
	v6Dst   = netip.AddrPortFrom(ip6B, 5060)
)

// le32 is a 4-byte little-endian value, as a BSD loopback header on x86.
func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func sllHeader(proto uint16) []byte {
	return cat(be16(0), be16(1), be16(6), macA, []byte{0, 0}, be16(proto))
}

func sll2Header(proto uint16) []byte {
	return cat(be16(proto), be16(0), be32(2), be16(1), []byte{0, 6}, macA, []byte{0, 0})
}

// TestLinkTypesDeliverSIP decodes one SIP/UDP packet under every link
// layer the decoder reads.
func TestLinkTypesDeliverSIP(t *testing.T) {
	tests := []struct {
		name     string
		lt       capture.LinkType
		frame    []byte
		src, dst netip.AddrPort
		carrier  Carrier
	}{
		{"ethernet ipv4", capture.LinkEthernet, eth(etherIPv4, ip4SIP), v4Src, v4Dst, 0},
		{"ethernet ipv6", capture.LinkEthernet, eth(etherIPv6, ip6SIP), v6Src, v6Dst, 0},
		{"ethernet padded to 60 bytes", capture.LinkEthernet,
			cat(eth(etherIPv4, ipv4(ipA, ipB, protoUDP, 1, 0, false, udp(5060, 5060, nil))), make([]byte, 18)), v4Src, v4Dst, 0},
		{"802.1Q", capture.LinkEthernet, eth(etherVLAN, cat(be16(100), be16(etherIPv4), ip4SIP)), v4Src, v4Dst, CarrierVLAN},
		{"802.1ad QinQ", capture.LinkEthernet,
			eth(etherQinQ, cat(be16(10), be16(etherVLAN), be16(20), be16(etherIPv4), ip4SIP)), v4Src, v4Dst, CarrierVLAN},
		{"pre-standard QinQ 0x9100", capture.LinkEthernet,
			eth(etherQinQOld, cat(be16(10), be16(etherVLAN), be16(20), be16(etherIPv6), ip6SIP)), v6Src, v6Dst, CarrierVLAN},
		{"802.3 LLC/SNAP", capture.LinkEthernet,
			eth(uint16(8+len(ip4SIP)), cat([]byte{0xaa, 0xaa, 3, 0, 0, 0}, be16(etherIPv4), ip4SIP)), v4Src, v4Dst, 0},
		{"PPPoE session", capture.LinkEthernet,
			eth(etherPPPoE, cat([]byte{0x11, 0}, be16(0x1234), be16(uint16(2+len(ip4SIP))), be16(0x0021), ip4SIP)),
			v4Src, v4Dst, CarrierPPP},
		{"MPLS two labels", capture.LinkEthernet,
			eth(etherMPLS, cat([]byte{0, 1, 0x00, 64}, []byte{0, 2, 0x01, 64}, ip4SIP)), v4Src, v4Dst, 0},
		{"linux SLL", capture.LinkLinuxSLL, cat(sllHeader(etherIPv4), ip4SIP), v4Src, v4Dst, 0},
		{"linux SLL ipv6", capture.LinkLinuxSLL, cat(sllHeader(etherIPv6), ip6SIP), v6Src, v6Dst, 0},
		{"linux SLL2", capture.LinkLinuxSLL2, cat(sll2Header(etherIPv4), ip4SIP), v4Src, v4Dst, 0},
		{"linux SLL2 with VLAN", capture.LinkLinuxSLL2,
			cat(sll2Header(etherVLAN), be16(5), be16(etherIPv6), ip6SIP), v6Src, v6Dst, CarrierVLAN},
		{"raw 101 ipv4", capture.LinkRaw, ip4SIP, v4Src, v4Dst, 0},
		{"raw 101 ipv6", capture.LinkRaw, ip6SIP, v6Src, v6Dst, 0},
		{"raw ipv4 228", capture.LinkIPv4, ip4SIP, v4Src, v4Dst, 0},
		{"raw ipv6 229", capture.LinkIPv6, ip6SIP, v6Src, v6Dst, 0},
		{"null AF_INET little endian", capture.LinkNull, cat(le32(2), ip4SIP), v4Src, v4Dst, 0},
		{"null AF_INET big endian", capture.LinkNull, cat(be32(2), ip4SIP), v4Src, v4Dst, 0},
		{"null AF_INET6 24 (NetBSD, OpenBSD)", capture.LinkNull, cat(le32(24), ip6SIP), v6Src, v6Dst, 0},
		{"null AF_INET6 28 (FreeBSD)", capture.LinkNull, cat(le32(28), ip6SIP), v6Src, v6Dst, 0},
		{"null AF_INET6 30 (Darwin) big endian", capture.LinkNull, cat(be32(30), ip6SIP), v6Src, v6Dst, 0},
		{"loop 108 network order", capture.LinkLoop, cat(be32(2), ip4SIP), v4Src, v4Dst, 0},
		{"PPP with HDLC address and control", linkPPP, cat([]byte{0xff, 0x03, 0x00, 0x21}, ip4SIP), v4Src, v4Dst, CarrierPPP},
		{"PPP compressed protocol field", linkPPP, cat([]byte{0x57}, ip6SIP), v6Src, v6Dst, CarrierPPP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			d := NewDecoder(r, Options{})
			feed(d, tt.lt, tt.frame)
			wantMsg := string(testSIP)
			if tt.name == "ethernet padded to 60 bytes" {
				// An empty UDP datagram in a padded frame: the padding is not payload.
				if len(r.datagrams) != 1 || r.datagrams[0].data != "" {
					t.Fatalf("datagrams %+v, want one empty", r.datagrams)
				}
				return
			}
			if len(r.sips) != 1 {
				t.Fatalf("got %d SIP messages, want 1 (warnings %v, stats %+v)", len(r.sips), r.warns, d.Stats())
			}
			got := r.sips[0]
			if got.data != wantMsg {
				t.Errorf("message %q", got.data)
			}
			if got.meta.Src != tt.src || got.meta.Dst != tt.dst || got.meta.Carrier != tt.carrier ||
				got.meta.Transport != UDP || got.meta.Frame != 1 || got.meta.FirstFrame != 1 || !got.meta.Time.Equal(t0) {
				t.Errorf("meta %+v", got.meta)
			}
		})
	}
}

// TestUnknownLinkTypeWarnsOnce checks that each unsupported link type is
// reported once, with the first frame, and counted for every frame.
func TestUnknownLinkTypeWarnsOnce(t *testing.T) {
	r := &recorder{}
	d := NewDecoder(r, Options{})
	for i, lt := range []capture.LinkType{147, 147, 1, 148, 147} {
		data := []byte{1, 2, 3}
		if lt == capture.LinkEthernet {
			data = eth(etherIPv4, ip4SIP)
		}
		d.Decode(&capture.Packet{Frame: i + 1, Time: t0, LinkType: lt, OrigLen: len(data), Data: data})
	}
	if got := d.Stats().UnknownLinkType; got != 4 {
		t.Errorf("UnknownLinkType = %d, want 4", got)
	}
	if len(r.warns) != 2 || r.warns[0].Frame != 1 || r.warns[1].Frame != 4 ||
		!strings.Contains(r.warns[0].Text, "147") || !strings.Contains(r.warns[1].Text, "148") {
		t.Errorf("warnings %+v", r.warns)
	}
	if len(r.sips) != 1 {
		t.Errorf("the Ethernet frame between was not decoded")
	}
}

// TestNonIPAndMalformedAreCounted checks that frames the decoder cannot
// use are counted, not delivered.
func TestNonIPAndMalformedAreCounted(t *testing.T) {
	arp := eth(0x0806, make([]byte, 28))
	badIHL := eth(etherIPv4, append([]byte{0x41}, ip4SIP[1:]...))
	shortUDP := eth(etherIPv4, ipv4(ipA, ipB, protoUDP, 1, 0, false, []byte{1, 2, 3}))
	r := &recorder{}
	d := NewDecoder(r, Options{})
	feed(d, capture.LinkEthernet, arp, badIHL, shortUDP, []byte{1})
	st := d.Stats()
	if st.NonIP != 1 || st.Malformed != 3 || len(r.sips)+len(r.datagrams) != 0 {
		t.Errorf("NonIP %d Malformed %d delivered %d", st.NonIP, st.Malformed, len(r.sips)+len(r.datagrams))
	}
}

// TestTunnelsDeliverInnerSIP decodes SIP inside each tunnel and checks the
// inner addresses and the carrier flags.
func TestTunnelsDeliverInnerSIP(t *testing.T) {
	outerA, outerB := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")
	outer := func(proto byte, payload []byte) []byte {
		return eth(etherIPv4, ipv4(outerA, outerB, proto, 9, 0, false, payload))
	}
	seq := be32(77)
	erspan2Hdr := cat([]byte{0x10, 0x64, 0x00, 0x01}, be32(0))
	erspan3Hdr := func(ft byte, o bool) []byte {
		last := byte(0)
		if o {
			last = 1
		}
		return cat([]byte{0x20, 0x64, 0x00, 0x01}, be32(12345), []byte{0, 0, ft << 2, last})
	}
	tests := []struct {
		name    string
		frame   []byte
		src     netip.AddrPort
		carrier Carrier
	}{
		{"IPv4 in IPv4", outer(protoIPv4, ip4SIP), v4Src, CarrierIPinIP},
		{"IPv6 in IPv4", outer(protoIPv6, ip6SIP), v6Src, CarrierIPinIP},
		{"IPv4 in IPv6", eth(etherIPv6, ipv6(ip6A, ip6B, protoIPv4, ip4SIP)), v4Src, CarrierIPinIP},
		{"GRE", outer(protoGRE, cat(be16(0), be16(etherIPv4), ip4SIP)), v4Src, CarrierGRE},
		{"GRE with checksum, key and sequence", outer(protoGRE,
			cat(be16(0xb000), be16(etherIPv4), be32(0), be32(42), seq, ip4SIP)), v4Src, CarrierGRE},
		{"GRE transparent Ethernet bridging", outer(protoGRE,
			cat(be16(0x2000), be16(etherTEB), be32(1), eth(etherIPv4, ip4SIP))), v4Src, CarrierGRE},
		{"GRE version 1 with PPP (PPTP)", outer(protoGRE,
			cat(be16(0x3001), be16(etherPPP), be16(uint16(4+len(ip4SIP))), be16(7), seq, []byte{0xff, 0x03, 0x00, 0x21}, ip4SIP)),
			v4Src, CarrierGRE | CarrierPPP},
		{"GRE version 1 with acknowledgment", outer(protoGRE,
			cat(be16(0x3081), be16(etherPPP), be16(uint16(2+len(ip4SIP))), be16(7), seq, be32(5), []byte{0x00, 0x21}, ip4SIP)),
			v4Src, CarrierGRE | CarrierPPP},
		{"GRE with IPv6", eth(etherIPv6, ipv6(ip6A, ip6B, protoGRE, cat(be16(0), be16(etherIPv6), ip6SIP))), v6Src, CarrierGRE},
		{"ERSPAN type I", outer(protoGRE, cat(be16(0), be16(etherERSPAN2), eth(etherIPv4, ip4SIP))),
			v4Src, CarrierGRE | CarrierERSPAN},
		{"ERSPAN type II", outer(protoGRE, cat(be16(0x1000), be16(etherERSPAN2), seq, erspan2Hdr, eth(etherIPv4, ip4SIP))),
			v4Src, CarrierGRE | CarrierERSPAN},
		{"ERSPAN type II with VLAN inside", outer(protoGRE, cat(be16(0x1000), be16(etherERSPAN2), seq, erspan2Hdr,
			eth(etherVLAN, cat(be16(3), be16(etherIPv4), ip4SIP)))), v4Src, CarrierGRE | CarrierERSPAN | CarrierVLAN},
		{"ERSPAN type III", outer(protoGRE, cat(be16(0x1000), be16(etherERSPAN3), seq, erspan3Hdr(0, false),
			eth(etherIPv4, ip4SIP))), v4Src, CarrierGRE | CarrierERSPAN},
		{"ERSPAN type III with platform subheader", outer(protoGRE, cat(be16(0x1000), be16(etherERSPAN3), seq,
			erspan3Hdr(0, true), make([]byte, 8), eth(etherIPv4, ip4SIP))), v4Src, CarrierGRE | CarrierERSPAN},
		{"ERSPAN type III carrying IP", outer(protoGRE, cat(be16(0x1000), be16(etherERSPAN3), seq,
			erspan3Hdr(2, false), ip6SIP)), v6Src, CarrierGRE | CarrierERSPAN},
		{"VXLAN", outer(protoUDP, udp(40001, vxlanPort, cat([]byte{0x08, 0, 0, 0, 0, 0x12, 0x34, 0}, eth(etherIPv4, ip4SIP)))),
			v4Src, CarrierVXLAN},
		{"QinQ, PPPoE, GRE, PPP", eth(etherVLAN, cat(be16(155), be16(etherVLAN), be16(1), be16(etherPPPoE),
			[]byte{0x11, 0}, be16(0x837a), be16(uint16(2+20+16+len(ip4SIP))), be16(0x0021),
			ipv4(outerA, outerB, protoGRE, 3, 0, false,
				cat(be16(0x3001), be16(etherPPP), be16(uint16(4+len(ip4SIP))), be16(9), seq, []byte{0xff, 0x03, 0x00, 0x21}, ip4SIP)))),
			v4Src, CarrierVLAN | CarrierPPP | CarrierGRE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			d := NewDecoder(r, Options{})
			feed(d, capture.LinkEthernet, tt.frame)
			if len(r.sips) != 1 {
				t.Fatalf("got %d SIP messages, want 1 (stats %+v)", len(r.sips), d.Stats())
			}
			m := r.sips[0].meta
			if m.Src != tt.src || m.Carrier != tt.carrier || r.sips[0].data != string(testSIP) {
				t.Errorf("src %v carrier %b; want %v %b", m.Src, m.Carrier, tt.src, tt.carrier)
			}
		})
	}
}

// TestTunnelNestingIsBounded checks that a packet nesting IP in IP without
// end is refused rather than followed.
func TestTunnelNestingIsBounded(t *testing.T) {
	p := ip4SIP
	for range 3 * maxDepth {
		p = ipv4(ipA, ipB, protoIPv4, 1, 0, false, p)
	}
	r := &recorder{}
	d := NewDecoder(r, Options{})
	feed(d, capture.LinkRaw, p)
	if len(r.sips) != 0 || d.Stats().Malformed != 1 {
		t.Errorf("SIP %d, Malformed %d", len(r.sips), d.Stats().Malformed)
	}
}

// TestVXLANPortNeedsVXLANHeader checks that a datagram to the VXLAN port
// without the I flag is a plain datagram.
func TestVXLANPortNeedsVXLANHeader(t *testing.T) {
	r := &recorder{}
	d := NewDecoder(r, Options{})
	feed(d, capture.LinkEthernet, udp4(40000, vxlanPort, make([]byte, 40)))
	if len(r.datagrams) != 1 || d.Stats().VXLAN != 0 {
		t.Errorf("datagrams %d, VXLAN %d", len(r.datagrams), d.Stats().VXLAN)
	}
}

// fragments splits an IP payload into pieces of size bytes (a multiple of 8).
func fragments(payload []byte, size int) [][]byte {
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		out = append(out, payload[off:min(off+size, len(payload))])
	}
	return out
}

type fragPiece struct {
	off  int
	more bool
	data []byte
}

// TestIPv4FragmentReassembly reassembles a SIP message sent in three IPv4
// fragments, in and out of order, with duplicates and overlaps, and gives
// up on one whose fragments never all arrive.
func TestIPv4FragmentReassembly(t *testing.T) {
	msg := []byte(sipMsg("INVITE", "frag-v4", 3000))
	payload := udp(5060, 5060, msg)
	p := fragments(payload, 1480)
	if len(p) != 3 {
		t.Fatalf("%d fragments", len(p))
	}
	f1, f2, f3 := fragPiece{0, true, p[0]}, fragPiece{1480, true, p[1]}, fragPiece{2960, false, p[2]}
	bad := bytes.Clone(payload)
	for i := 1400; i < 1480; i++ {
		bad[i] = '!'
	}
	overlapping := fragPiece{1400, true, bad[1400:2960]}
	sameOverlap := fragPiece{1400, true, payload[1400:2960]}
	tests := []struct {
		name        string
		pieces      []fragPiece
		gaps        []time.Duration // time before each piece
		wantFrame   int             // frame completing the message, 0 for none
		wantFirst   int
		wantOverlap uint64
		wantWarn    string
	}{
		{name: "in order", pieces: []fragPiece{f1, f2, f3}, wantFrame: 3, wantFirst: 1},
		{name: "out of order", pieces: []fragPiece{f3, f1, f2}, wantFrame: 3, wantFirst: 1},
		{name: "last first then reversed", pieces: []fragPiece{f3, f2, f1}, wantFrame: 3, wantFirst: 1},
		{name: "duplicate fragment", pieces: []fragPiece{f1, f1, f2, f3}, wantFrame: 4, wantFirst: 1, wantOverlap: 1},
		{name: "overlap with the same data", pieces: []fragPiece{f1, sameOverlap, f3}, wantFrame: 3, wantFirst: 1, wantOverlap: 1},
		{name: "overlap with other data keeps the first", pieces: []fragPiece{f1, overlapping, f3}, wantFrame: 3, wantFirst: 1, wantOverlap: 1},
		{name: "missing fragment expires on packet time", pieces: []fragPiece{f1, f3, {0, false, nil}},
			gaps: []time.Duration{0, time.Second, 31 * time.Second}, wantWarn: "incomplete after 30s"},
		{name: "missing fragment reported at the end", pieces: []fragPiece{f2, f3}, wantWarn: "incomplete at the end of the capture"},
		{name: "fragment beyond 64 KiB", pieces: []fragPiece{{65528, false, p[0]}}, wantWarn: "over 65535 bytes"},
		{name: "last fragments disagree", pieces: []fragPiece{f3, {2968, false, p[2]}}, wantWarn: "disagree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			d := NewDecoder(r, Options{})
			now := t0
			for i, pc := range tt.pieces {
				if tt.gaps != nil {
					now = now.Add(tt.gaps[i])
				}
				var frame []byte
				if pc.data == nil {
					frame = udp4(1, 2, []byte("later packet"))
				} else {
					frame = eth(etherIPv4, ipv4(ipA, ipB, protoUDP, 0x1c46, pc.off, pc.more, pc.data))
				}
				d.Decode(&capture.Packet{Frame: i + 1, Time: now, LinkType: capture.LinkEthernet, OrigLen: len(frame), Data: frame})
			}
			d.Flush()
			st := d.Stats()
			if tt.wantFrame == 0 {
				if len(r.sips) != 0 {
					t.Fatalf("got %d SIP messages, want none", len(r.sips))
				}
				if len(r.warns) != 1 || !strings.Contains(r.warns[0].Text, tt.wantWarn) || r.warns[0].Frame != 1 || !r.warns[0].Damaged {
					t.Errorf("warnings %+v, want one at frame 1 containing %q", r.warns, tt.wantWarn)
				}
				return
			}
			if len(r.sips) != 1 {
				t.Fatalf("got %d SIP messages (warnings %v)", len(r.sips), r.warns)
			}
			m := r.sips[0]
			if m.data != string(msg) {
				t.Errorf("reassembled message differs")
			}
			if m.meta.Frame != tt.wantFrame || m.meta.FirstFrame != tt.wantFirst || m.meta.Carrier != CarrierFragmented {
				t.Errorf("meta %+v", m.meta)
			}
			if st.Reassembled != 1 || st.FragmentOverlaps != tt.wantOverlap || len(r.warns) != 0 {
				t.Errorf("Reassembled %d, overlaps %d, warnings %v", st.Reassembled, st.FragmentOverlaps, r.warns)
			}
		})
	}
}

// TestIPv6FragmentReassembly reassembles SIP carried in IPv6 fragments,
// behind and before other extension headers, and drops a datagram whose
// fragments overlap with different data (RFC 5722).
func TestIPv6FragmentReassembly(t *testing.T) {
	msg := []byte(sipMsg("INVITE", "frag-v6", 2000))
	payload := udp(5060, 5080, msg)
	destOpts := []byte{protoUDP, 0, 1, 4, 0, 0, 0, 0} // PadN option
	withOpts := cat(destOpts, payload)
	hop := func(next byte) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }
	build := func(next byte, pieces [][]byte, id uint32, prefix func([]byte) []byte) [][]byte {
		var out [][]byte
		off := 0
		for i, pc := range pieces {
			fh := frag6(next, off, i < len(pieces)-1, id, pc)
			out = append(out, eth(etherIPv6, ipv6(ip6A, ip6B, 0, prefix(fh))))
			off += len(pc)
		}
		return out
	}
	plain := func(fh []byte) []byte { return cat(hop(ext6Fragment), fh) }
	tests := []struct {
		name   string
		frames [][]byte
		want   string
		warn   string
	}{
		{"after hop-by-hop", build(protoUDP, fragments(payload, 1232), 1, plain), string(msg), ""},
		{"destination options inside", build(ext6DestOpts, fragments(withOpts, 1232), 2, plain), string(msg), ""},
		{"out of order", func() [][]byte {
			f := build(protoUDP, fragments(payload, 1232), 3, plain)
			return [][]byte{f[1], f[0]}
		}(), string(msg), ""},
		{"conflicting overlap", func() [][]byte {
			f := build(protoUDP, fragments(payload, 1232), 4, plain)
			evil := bytes.Clone(payload[1224:])
			evil[0] ^= 0xff
			return [][]byte{f[0], eth(etherIPv6, ipv6(ip6A, ip6B, 0, plain(frag6(protoUDP, 1224, false, 4, evil))))}
		}(), "", "RFC 5722"},
		{"atomic fragment", [][]byte{eth(etherIPv6, ipv6(ip6A, ip6B, ext6Fragment, frag6(protoUDP, 0, false, 5, payload)))},
			string(msg), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := decodeFrames(Options{}, tt.frames...)
			if tt.want == "" {
				if len(r.sips) != 0 || len(r.warns) != 1 || !strings.Contains(r.warns[0].Text, tt.warn) {
					t.Errorf("SIP %d, warnings %+v", len(r.sips), r.warns)
				}
				return
			}
			if len(r.sips) != 1 || r.sips[0].data != tt.want {
				t.Fatalf("got %d SIP messages, warnings %v", len(r.sips), r.warns)
			}
			m := r.sips[0].meta
			if m.Src != netip.AddrPortFrom(ip6A, 5060) || m.Dst != netip.AddrPortFrom(ip6B, 5080) ||
				m.FirstFrame != 1 || m.Frame != len(tt.frames) {
				t.Errorf("meta %+v", m)
			}
		})
	}
}

// TestFragmentLimits checks that reassembly state stays within its bounds.
func TestFragmentLimits(t *testing.T) {
	r := &recorder{}
	d := NewDecoder(r, Options{MaxFragDatagrams: 2})
	for id := range uint16(5) {
		feed(d, capture.LinkEthernet, eth(etherIPv4, ipv4(ipA, ipB, protoUDP, id, 0, true, make([]byte, 64))))
	}
	if n := len(d.frags.pending); n != 2 {
		t.Errorf("%d datagrams pending, want 2", n)
	}
	if st := d.Stats(); st.FragmentsDropped != 3 {
		t.Errorf("FragmentsDropped %d, want 3", st.FragmentsDropped)
	}
}

// TestUDPClassification checks what becomes SIP and what a datagram.
func TestUDPClassification(t *testing.T) {
	m1, m2 := sipMsg("MESSAGE", "u-1", 5), sipMsg("MESSAGE", "u-2", 3)
	stun := cat(be16(0x0001), be16(0), be32(0x2112a442), make([]byte, 12))
	tests := []struct {
		name      string
		payload   string
		port      uint16
		sips      []string
		datagrams int
	}{
		{"SIP on 5060", m1, 5060, []string{m1}, 0},
		{"SIP on any port", m1, 40123, []string{m1}, 0},
		{"response", "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n", 5060, []string{"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n"}, 0},
		{"two messages framed by Content-Length", m1 + m2, 5060, []string{m1, m2}, 0},
		{"trailing bytes stay with the message", m1 + "junk", 5060, []string{m1 + "junk"}, 0},
		{"STUN on 5060 is not SIP", string(stun), 5060, nil, 1},
		{"HTTP on 5060 is not SIP", "HTTP/1.1 200 OK\r\n\r\n", 5060, nil, 1},
		{"junk on 5060", "\x00\x00\x00\x00", 5060, nil, 1},
		{"RTP", "\x80\x00\x00\x01" + strings.Repeat("\x00", 168), 16384, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			d := NewDecoder(r, Options{})
			feed(d, capture.LinkEthernet, udp4(5062, tt.port, []byte(tt.payload)))
			var got []string
			for _, s := range r.sips {
				got = append(got, s.data)
			}
			if strings.Join(got, "|") != strings.Join(tt.sips, "|") || len(r.datagrams) != tt.datagrams {
				t.Errorf("SIP %q, datagrams %d", got, len(r.datagrams))
			}
		})
	}
}

// TestTruncatedSIPIsFlagged checks that a SIP datagram cut by the snapshot
// length is still delivered, with a warning that says so.
func TestTruncatedSIPIsFlagged(t *testing.T) {
	frame := udp4(5060, 5060, []byte(sipMsg("INVITE", "cut", 500)))
	r := &recorder{}
	d := NewDecoder(r, Options{})
	d.Decode(&capture.Packet{Frame: 1, Time: t0, LinkType: capture.LinkEthernet, OrigLen: len(frame), Data: frame[:200]})
	if len(r.sips) != 1 || d.Stats().Truncated != 1 {
		t.Fatalf("SIP %d, Truncated %d", len(r.sips), d.Stats().Truncated)
	}
	var cut bool
	for _, w := range r.warns {
		cut = cut || strings.Contains(w.Text, "snapshot length") && w.Damaged && w.Frame == 1
	}
	if !cut {
		t.Errorf("warnings %+v", r.warns)
	}
}
