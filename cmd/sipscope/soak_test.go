package main

import (
	"bufio"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/gencap"
	"github.com/sipscope/sipscope/internal/longtest"
)

// TestLiveMemoryStaysFlatOverAnHour feeds an hour of steady call traffic
// (packet time) through the analysis exactly as live sets it up, and
// checks that the heap after the first minutes no longer grows with the
// calls that come and go. The real-time soak (scripts/soak-live) adds the
// capture ring and the clock; this is the part that could grow.
func TestLiveMemoryStaysFlatOverAnHour(t *testing.T) {
	calls := 30
	if longtest.Enabled() {
		calls = 300
	}
	for _, tc := range []struct {
		name string
		cfg  gencap.Config
	}{
		{"phones calling one media server", gencap.Config{OneCallee: true}},
		{"calls through an anchoring B2BUA", gencap.Config{B2BUA: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Calls, cfg.Duration, cfg.Hold = calls, time.Hour, 7*time.Second
			f := liveFlags{idle: call.DefaultIdleTimeout, dialogs: call.DefaultMaxDialogs}
			opt, err := f.analysisOptions()
			if err != nil {
				t.Fatal(err)
			}
			out := &livePrinter{w: bufio.NewWriter(io.Discard), quiet: true}
			opt.OnCall = out.call
			a := analysis.New(opt)

			const warmup, every = 10 * time.Minute, 5 * time.Minute
			var start time.Time
			var base, most uint64
			next := warmup
			p := capture.Packet{LinkType: capture.LinkEthernet}
			st, err := gencap.Generate(cfg, func(at time.Time, frame []byte) error {
				if start.IsZero() {
					start = at
				}
				p.Frame++
				p.Time, p.Data, p.OrigLen = at, frame, len(frame)
				a.Packet(&p)
				if el := at.Sub(start); el >= next {
					heap := liveHeap()
					t.Logf("%3.0f min: %5.1f MiB heap, %d calls ended", el.Minutes(), float64(heap)/(1<<20), out.calls)
					if base == 0 {
						base = heap
					}
					most = max(most, heap)
					next += every
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			a.Finish()
			if out.calls < st.Calls*9/10 {
				t.Fatalf("%d calls summarized of %d generated", out.calls, st.Calls)
			}
			// Garbage collection timing and map growth steps leave some
			// noise; a leak of even a hundred bytes per call is far above it.
			if limit := base + base/4 + 1<<20; most > limit {
				t.Errorf("heap grew from %d to %d bytes after the first %v (%d calls): more than the limit %d",
					base, most, warmup, st.Calls, limit)
			}
		})
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
