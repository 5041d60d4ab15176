package analysis

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/gencap"
)

// benchCapture is the RTP-heavy capture of the benchmarks: 200 concurrent
// G.711 calls for 60 s with 0.5% loss, 1.16 million packets, the default
// of scripts/bench, which times tshark on the same. It is generated once
// per test binary run, into a temporary file.
var benchCapture = struct {
	once  sync.Once
	path  string
	stats gencap.Stats
	err   error
	dir   string
}{}

func benchFile(b *testing.B) (string, gencap.Stats) {
	b.Helper()
	c := &benchCapture
	c.once.Do(func() {
		c.dir, c.err = os.MkdirTemp("", "sipscope-bench")
		if c.err != nil {
			return
		}
		c.path = filepath.Join(c.dir, "calls.pcap")
		c.stats, c.err = gencap.WriteFile(c.path, gencap.Config{Calls: 200, Duration: time.Minute, Loss: 0.5})
	})
	if c.err != nil {
		b.Fatal(c.err)
	}
	return c.path, c.stats
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchCapture.dir != "" {
		os.RemoveAll(benchCapture.dir)
	}
	os.Exit(code)
}

// reportRate adds packets/s, MB/s (of the file) and allocations per packet
// to a benchmark whose op is one whole capture.
func reportRate(b *testing.B, st gencap.Stats, mallocs uint64) {
	sec := b.Elapsed().Seconds()
	n := float64(b.N)
	b.ReportMetric(float64(st.Packets)*n/sec, "packets/s")
	b.ReportMetric(float64(st.Bytes+16*int64(st.Packets)+24)*n/sec/1e6, "MB/s")
	b.ReportMetric(float64(mallocs)/(float64(st.Packets)*n), "allocs/packet")
}

// BenchmarkAnalyzeCapture is the full analysis (SIP, RTP statistics,
// verdicts) of the generated capture, read from its file; one op is the
// whole capture. It runs the pipeline on one goroutine, and with reading
// and decoding on a second one, as Files does when it has two cores.
func BenchmarkAnalyzeCapture(b *testing.B) {
	path, st := benchFile(b)
	names := []string{path}
	b.Run("one-goroutine", func(b *testing.B) {
		benchAnalyze(b, st, func() *Report { return analyzeSequential(b, names, Options{}) })
	})
	b.Run("reading-apart", func(b *testing.B) {
		benchAnalyze(b, st, func() *Report { return analyzeApart(b, names, Options{}, batchEvents, batchBytes) })
	})
}

func benchAnalyze(b *testing.B, st gencap.Stats, run func() *Report) {
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r := run()
		if r.Summary.Packets != st.Packets || r.Summary.RTPPackets != st.RTP || len(r.Calls) != st.Calls {
			b.Fatalf("read %d packets, %d RTP, %d calls; generated %d, %d, %d",
				r.Summary.Packets, r.Summary.RTPPackets, len(r.Calls), st.Packets, st.RTP, st.Calls)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	reportRate(b, st, ms1.Mallocs-ms0.Mallocs)
}

// steadyAnalyzer returns an Analyzer in the middle of a generated call,
// an RTP packet of one of its streams, and a function that makes the
// packet the stream's i-th next one.
func steadyAnalyzer(b testing.TB) (*Analyzer, *capture.Packet, func(i int)) {
	b.Helper()
	var frames [][]byte
	var times []time.Time
	_, err := gencap.Generate(gencap.Config{Calls: 1, Duration: 10 * time.Second, Jitter: -1}, func(t time.Time, f []byte) error {
		frames = append(frames, append([]byte(nil), f...))
		times = append(times, t)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	a := New(Options{})
	var p capture.Packet
	// Feed the first half: the call is set up and its streams are live.
	half := len(frames) / 2
	for i := range half {
		p = capture.Packet{Frame: i + 1, Time: times[i], LinkType: capture.LinkEthernet, Data: frames[i], OrigLen: len(frames[i])}
		a.Packet(&p)
	}
	// An RTP frame late in the call, replayed with its sequence number,
	// timestamp and arrival moving on as a live stream's do.
	var rtp []byte
	var at time.Time
	for i := half; i < len(frames); i++ {
		if f := frames[i]; len(f) == 14+20+8+12+160 {
			rtp, at = f, times[i]
			break
		}
	}
	if rtp == nil {
		b.Fatal("no RTP frame in the second half")
	}
	seq0 := uint16(rtp[44])<<8 | uint16(rtp[45])
	ts0 := uint32(rtp[46])<<24 | uint32(rtp[47])<<16 | uint32(rtp[48])<<8 | uint32(rtp[49])
	p = capture.Packet{LinkType: capture.LinkEthernet, Data: rtp, OrigLen: len(rtp)}
	next := func(i int) {
		seq := seq0 + uint16(i)
		ts := ts0 + uint32(i)*160
		rtp[44], rtp[45] = byte(seq>>8), byte(seq)
		rtp[46], rtp[47], rtp[48], rtp[49] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		p.Frame = len(frames) + i + 1
		// Small steps keep the engine's and tracker's sweeps from
		// running on every packet, as on a busy capture.
		p.Time = at.Add(time.Duration(i) * 20 * time.Microsecond)
	}
	return a, &p, next
}

// BenchmarkPacketRTP is one RTP packet of a live stream through the whole
// pipeline: link, IP and UDP decoding, the SIP check, and the stream's
// statistics.
func BenchmarkPacketRTP(b *testing.B) {
	a, p, next := steadyAnalyzer(b)
	b.SetBytes(int64(len(p.Data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		next(i)
		a.Packet(p)
	}
}

// TestRTPPacketDoesNotAllocate holds the pipeline's hot path to zero
// allocations: an RTP packet of a known stream, from frame to statistics.
func TestRTPPacketDoesNotAllocate(t *testing.T) {
	a, p, next := steadyAnalyzer(t)
	i := 0
	if n := testing.AllocsPerRun(2000, func() { next(i); a.Packet(p); i++ }); n != 0 {
		t.Errorf("%v allocations per RTP packet", n)
	}
	if got := a.trk.Counters().RTP; got < 2000 {
		t.Errorf("only %d RTP packets counted", got)
	}
}
