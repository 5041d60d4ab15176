package main

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
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
		{"a B2BUA relaying from its second address", gencap.Config{B2BUA: true, PBXOutside: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Calls, cfg.Duration, cfg.Hold = calls, time.Hour, 7*time.Second
			a, out := quietLiveAnalysis(t, call.DefaultIdleTimeout, io.Discard)

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

// TestLiveReportsCallsThatNeverEnd checks that a call whose BYE never
// comes is ended after --idle-timeout of silence, on the wall clock that a
// quiet link still moves, and printed like any other call: live state for
// such calls cannot pile up.
func TestLiveReportsCallsThatNeverEnd(t *testing.T) {
	var out bytes.Buffer
	a, pr := quietLiveAnalysis(t, 30*time.Second, &out)

	phone, pbx := netip.MustParseAddrPort("192.0.2.10:5060"), netip.MustParseAddrPort("192.0.2.1:5060")
	head := "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-never-1\r\nFrom: <sip:100@example.com>;tag=a1\r\n" +
		"Call-ID: never-ends@test\r\nCSeq: 1 INVITE\r\nContact: <sip:100@192.0.2.10:5060>\r\nContent-Length: 0\r\n\r\n"
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var p capture.Packet
	for i, m := range []struct {
		src, dst netip.AddrPort
		text     string
	}{
		{phone, pbx, "INVITE sip:200@example.com SIP/2.0\r\nTo: <sip:200@example.com>\r\n" + head},
		{pbx, phone, "SIP/2.0 200 OK\r\nTo: <sip:200@example.com>;tag=b1\r\n" + head},
		{phone, pbx, "ACK sip:200@192.0.2.1:5060 SIP/2.0\r\nTo: <sip:200@example.com>;tag=b1\r\n" + strings.Replace(strings.Replace(head, "1 INVITE", "1 ACK", 1), "never-1", "never-2", 1)},
	} {
		frame := gencap.AppendUDPFrame(nil, m.src, m.dst, 0, uint16(i), []byte(m.text))
		p = capture.Packet{Frame: i + 1, LinkType: capture.LinkEthernet, Time: start.Add(time.Duration(i) * time.Millisecond), Data: frame, OrigLen: len(frame)}
		a.Packet(&p)
	}
	for s := 1; s <= 120; s++ {
		a.Advance(start.Add(time.Duration(s) * time.Second))
	}
	pr.flush()
	if !regexp.MustCompile(`(?m)^CALL #1 .*never-ends@test .*\| timeout$`).MatchString(out.String()) {
		t.Errorf("no timed-out call line in:\n%s", out.String())
	}
	if rep := a.Finish(); rep.Summary.Expired != 1 || pr.open != 0 {
		t.Errorf("%d dialogs expired, %d calls still open at the end; want 1 and 0", rep.Summary.Expired, pr.open)
	}
}

// quietLiveAnalysis is the analysis `live -q --idle-timeout idle` runs,
// printing its call summaries to w.
func quietLiveAnalysis(t *testing.T, idle time.Duration, w io.Writer) (*analysis.Analyzer, *livePrinter) {
	t.Helper()
	f := liveFlags{idle: idle, dialogs: call.DefaultMaxDialogs}
	opt, err := f.analysisOptions()
	if err != nil {
		t.Fatal(err)
	}
	out := &livePrinter{w: bufio.NewWriter(w), quiet: true}
	opt.OnCall = out.call
	return analysis.New(opt), out
}
