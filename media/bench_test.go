package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/internal/pcaptest"
	"github.com/sipscope/sipscope/sdp"
)

// benchStreams is the number of concurrent G.711 streams of the
// benchmarks: 250 calls, both directions.
const benchStreams = 500

// benchSet is a generated RTP-heavy stream set: benchStreams streams of
// 20 ms PCMU, half of them announced by SDP, interleaved in time as a
// capture of that many concurrent calls would be.
type benchSet struct {
	metas []decode.Meta
	pkts  [][]byte
	anns  []Announcement
}

func newBenchSet() *benchSet {
	b := &benchSet{}
	for i := range benchStreams {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(20000+2*i))
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), uint16(40000+2*i))
		b.metas = append(b.metas, decode.Meta{Src: src, Dst: dst})
		b.pkts = append(b.pkts, pcaptest.RTP(0, 0, uint32(0x5000+i), 0, false, make([]byte, 160)))
		if i%2 == 0 {
			b.anns = append(b.anns, Announcement{Leg: "bench", Side: UAS, Frame: 1, Time: genBase,
				Media: sdp.Media{Type: "audio", Proto: "RTP/AVP", Port: int(dst.Port()), Addr: dst.Addr()}})
		}
	}
	return b
}

// feed sends packet n of the set: stream n%benchStreams, its sequence
// number n/benchStreams, 20 ms of packet time per round of streams.
func (b *benchSet) feed(tr *Tracker, n int) {
	i, k := n%benchStreams, n/benchStreams
	m := &b.metas[i]
	p := b.pkts[i]
	p[2], p[3] = byte(k>>8), byte(k)
	putBE32(p[4:], uint32(160*k))
	m.Frame = n + 2
	m.Time = genBase.Add(time.Duration(k)*20*time.Millisecond + time.Duration(i)*time.Microsecond)
	tr.Datagram(m, p)
}

func (b *benchSet) tracker() *Tracker {
	tr := NewTracker(Options{})
	for _, a := range b.anns {
		tr.Announce(a)
	}
	return tr
}

// BenchmarkRTPPacket measures counting one packet of a known stream among
// benchStreams live ones (run with -benchtime=2000000x or more for a set
// of over a million packets).
func BenchmarkRTPPacket(b *testing.B) {
	set := newBenchSet()
	tr := set.tracker()
	for n := range 3 * benchStreams {
		set.feed(tr, n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for n := range b.N {
		set.feed(tr, 3*benchStreams+n)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "packets/s")
}

// BenchmarkStreamSet replays a whole set of 1,000,000 packets (2000 per
// stream, 40 s of calls) through a fresh tracker per iteration, stream
// creation, probation of the unannounced half and settling included.
func BenchmarkStreamSet(b *testing.B) {
	const packets = 1_000_000
	set := newBenchSet()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		tr := set.tracker()
		for n := range packets {
			set.feed(tr, n)
		}
		if s := tr.Streams(); len(s) != benchStreams || s[0].Packets != packets/benchStreams {
			b.Fatalf("%d streams, first with %d packets", len(s), s[0].Packets)
		}
	}
	b.ReportMetric(float64(b.N*packets)/time.Since(start).Seconds(), "packets/s")
}
