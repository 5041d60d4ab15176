package decode

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/pcaptest"
)

// rtp is an RTP packet: version 2, payload type 0, 160 bytes of audio.
func rtp(seq uint16, ssrc uint32) []byte {
	return cat([]byte{0x80, 0x00}, be16(seq), be32(uint32(seq)*160), be32(ssrc), make([]byte, 160))
}

// rtpPool builds n distinct Ethernet/IPv4/UDP/RTP frames (different
// ports, SSRCs and sequence numbers), as a busy media server sends.
func rtpPool(n int, wrap func([]byte) []byte) [][]byte {
	pool := make([][]byte, n)
	for i := range pool {
		port := uint16(10000 + 2*(i%500))
		ip := ipv4(ipA, ipB, protoUDP, uint16(i), 0, false, udp(port, port+2, rtp(uint16(i), uint32(i%500))))
		pool[i] = wrap(ip)
	}
	return pool
}

func plainEth(ip []byte) []byte { return eth(etherIPv4, ip) }

func vlanIPv6(ip []byte) []byte {
	u := ip[20:]
	return eth(etherVLAN, cat(be16(42), be16(etherIPv6), ipv6(ip6A, ip6B, protoUDP, u)))
}

// TestNonSIPDatagramsDoNotAllocate proves the hot path: a UDP datagram
// that is not SIP (RTP, RTCP, STUN) costs no allocation, under any of the
// common link layers.
func TestNonSIPDatagramsDoNotAllocate(t *testing.T) {
	stun := cat(be16(1), be16(0), be32(0x2112a442), make([]byte, 12))
	tests := []struct {
		name  string
		lt    capture.LinkType
		frame []byte
	}{
		{"ethernet ipv4 rtp", capture.LinkEthernet, rtpPool(1, plainEth)[0]},
		{"vlan ipv6 rtp", capture.LinkEthernet, rtpPool(1, vlanIPv6)[0]},
		{"linux sll rtp", capture.LinkLinuxSLL, cat(sllHeader(etherIPv4), ipv4(ipA, ipB, protoUDP, 1, 0, false, udp(1, 2, rtp(1, 1))))},
		{"stun on 5060", capture.LinkEthernet, udp4(5060, 5060, stun)},
		{"rtcp", capture.LinkEthernet, udp4(4001, 4003, cat([]byte{0x81, 200}, be16(6), make([]byte, 24)))},
		{"gre ipv4 rtp", capture.LinkEthernet, eth(etherIPv4, ipv4(ipA, ipB, protoGRE, 1, 0, false,
			cat(be16(0), be16(etherIPv4), ipv4(ipA, ipB, protoUDP, 1, 0, false, udp(1, 2, rtp(1, 1))))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(nopHandler{}, Options{})
			p := &capture.Packet{Frame: 1, Time: t0, LinkType: tt.lt, OrigLen: len(tt.frame), Data: tt.frame}
			if n := testing.AllocsPerRun(1000, func() { p.Frame++; d.Decode(p) }); n != 0 {
				t.Errorf("%v allocations per packet", n)
			}
			if d.Stats().Datagrams == 0 {
				t.Errorf("nothing decoded")
			}
		})
	}
}

// TestSIPHotPathsDoNotAllocate checks that SIP over UDP, and over a TCP
// stream of whole messages, costs the decoder no allocation either.
func TestSIPHotPathsDoNotAllocate(t *testing.T) {
	msg := sipMsg("OPTIONS", "alloc", 0)
	d := NewDecoder(nopHandler{}, Options{})
	p := &capture.Packet{Frame: 1, Time: t0, LinkType: capture.LinkEthernet, Data: udp4(5060, 5060, []byte(msg))}
	if n := testing.AllocsPerRun(1000, func() { d.Decode(p) }); n != 0 {
		t.Errorf("SIP over UDP: %v allocations per packet", n)
	}
	const runs = 1000
	segs := make([][]byte, runs+2)
	for i := range segs {
		segs[i] = defConn.c2s(i*len(msg), 0, msg)
	}
	i := 0
	next := func() {
		p := &capture.Packet{Frame: i + 1, Time: t0, LinkType: capture.LinkEthernet, Data: segs[i]}
		d.Decode(p)
		i++
	}
	next() // the first segment creates the stream
	if n := testing.AllocsPerRun(runs, next); n != 0 {
		t.Errorf("SIP over TCP: %v allocations per segment", n)
	}
	if d.Stats().SIPTCP != runs+2 {
		t.Errorf("SIPTCP %d", d.Stats().SIPTCP)
	}
}

// startBench reports the mean frame size of pool as the bytes of one
// operation, counts allocations and starts the clock.
func startBench(b *testing.B, pool [][]byte) {
	var total int
	for _, f := range pool {
		total += len(f)
	}
	b.SetBytes(int64(total / len(pool)))
	b.ReportAllocs()
	b.ResetTimer()
}

// benchDecode decodes b.N frames taken in turn from pool.
func benchDecode(b *testing.B, lt capture.LinkType, pool [][]byte) {
	d := NewDecoder(nopHandler{}, Options{})
	startBench(b, pool)
	p := &capture.Packet{Time: t0, LinkType: lt}
	for i := range b.N {
		f := pool[i%len(pool)]
		p.Frame, p.Data, p.OrigLen = i+1, f, len(f)
		d.Decode(p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkDecodeRTP measures the hot path: RTP over UDP/IPv4/Ethernet.
// Run with -benchtime=1000000x (or more) to cover a million packets.
func BenchmarkDecodeRTP(b *testing.B) {
	benchDecode(b, capture.LinkEthernet, rtpPool(4096, plainEth))
}

// BenchmarkDecodeRTPVLANIPv6 measures RTP over UDP/IPv6 behind a VLAN tag.
func BenchmarkDecodeRTPVLANIPv6(b *testing.B) {
	benchDecode(b, capture.LinkEthernet, rtpPool(4096, vlanIPv6))
}

// BenchmarkDecodeSIPUDP measures SIP over UDP, delivered to a Handler.
func BenchmarkDecodeSIPUDP(b *testing.B) {
	msg := []byte(sipMsg("INVITE", "bench", 300))
	benchDecode(b, capture.LinkEthernet, [][]byte{udp4(5060, 5060, msg)})
}

// BenchmarkDecodeSIPTCP measures a TCP stream of SIP messages, each
// message split over two segments so that reassembly does work.
func BenchmarkDecodeSIPTCP(b *testing.B) {
	msg := sipMsg("INVITE", "bench", 300)
	half := len(msg) / 2
	const n = 1 << 16
	pool := make([][]byte, 0, n)
	for i := range n / 2 {
		off := i * len(msg)
		pool = append(pool, defConn.c2s(off, 0, msg[:half]), defConn.c2s(off+half, 0, msg[half:]))
	}
	benchDecode(b, capture.LinkEthernet, pool)
}

// BenchmarkGopacketParser is the same RTP hot path through gopacket's
// DecodingLayerParser (Ethernet, IPv4, UDP), for comparison with the
// hand-written decoder.
func BenchmarkGopacketParser(b *testing.B) {
	pool := rtpPool(4096, plainEth)
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		u       layers.UDP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &u, &payload)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	startBench(b, pool)
	var sink int
	for i := range b.N {
		if err := parser.DecodeLayers(pool[i%len(pool)], &decoded); err != nil {
			b.Fatal(err)
		}
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip4.SrcIP.To4())), uint16(u.SrcPort))
		sink += len(u.Payload) + int(src.Port())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	if sink == 0 {
		b.Fatal("nothing parsed")
	}
}

// BenchmarkDecodeCorpus decodes every packet of the public corpus, held in
// memory, as one mixed workload.
func BenchmarkDecodeCorpus(b *testing.B) {
	root := corpustest.Dir(b)
	var pkts []capture.Packet
	for _, rel := range corpustest.Captures(b, "public") {
		pcaptest.Each(b, filepath.Join(root, rel), func(p *capture.Packet) {
			q := *p
			q.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, q)
		})
	}
	var total int
	for _, p := range pkts {
		total += len(p.Data)
	}
	b.SetBytes(int64(total / len(pkts)))
	b.ReportAllocs()
	b.ResetTimer()
	d := NewDecoder(nopHandler{}, Options{})
	for i := range b.N {
		p := pkts[i%len(pkts)]
		if i%len(pkts) == 0 {
			d.Flush()
			d = NewDecoder(nopHandler{}, Options{})
		}
		d.Decode(&p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
