package media

import (
	"testing"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/internal/pcaptest"
)

// send feeds n packets of one stream every 20 ms from start, skipping the
// sequence numbers in lost and delaying the packets in late by extra.
func send(tr *Tracker, frame *int, start time.Duration, first, n int, lost map[int]bool, late map[int]time.Duration) {
	src, dst := ap("192.0.2.1:4000"), ap("192.0.2.2:5000")
	for i := first; i < first+n; i++ {
		*frame++
		if lost[i] {
			continue
		}
		at := genBase.Add(start + time.Duration(i-first)*20*time.Millisecond + late[i])
		m := decode.Meta{Frame: *frame, Time: at, Src: src, Dst: dst}
		tr.Datagram(&m, pcaptest.RTP(uint16(i), uint32(160*i), 7, 0, i == 0, make([]byte, 160)))
	}
}

func TestSeriesFollowsLossAndJitterOverTime(t *testing.T) {
	tr := NewTracker(Options{})
	frame := 0
	lost := map[int]bool{}
	for i := 250; i < 260; i++ { // 10 packets lost 5 s in
		lost[i] = true
	}
	late := map[int]time.Duration{400: 60 * time.Millisecond} // one late packet 8 s in
	send(tr, &frame, 0, 0, 500, lost, late)
	s := tr.Streams()[0]
	pts := s.Series()
	if len(pts) == 0 || len(pts) > seriesCap {
		t.Fatalf("%d samples", len(pts))
	}
	for i, p := range pts {
		if i > 0 && !p.Time.After(pts[i-1].Time) {
			t.Fatalf("sample %d at %v is not after %v", i, p.Time, pts[i-1].Time)
		}
		if p.JitterMs > s.MaxJitterMs {
			t.Errorf("sample %d jitter %.3f above the stream's maximum %.3f", i, p.JitterMs, s.MaxJitterMs)
		}
		at := p.Time.Sub(s.First)
		switch {
		case at < 5*time.Second && p.Lost != 0:
			t.Errorf("%v in: %d lost before the gap", at, p.Lost)
		case at > 5300*time.Millisecond && p.Lost != 10:
			t.Errorf("%v in: %d lost after the gap, want 10", at, p.Lost)
		case at < 8*time.Second && p.JitterMs > 1:
			t.Errorf("%v in: jitter %.3f ms before the late packet", at, p.JitterMs)
		}
	}
	last := pts[len(pts)-1]
	if last.Frame != s.LastFrame || !last.Time.Equal(s.First.Add(s.Last.Sub(s.First).Truncate(time.Millisecond))) || last.Lost != s.Lost {
		t.Errorf("last sample %+v, stream ends at frame %d, %v, %d lost", last, s.LastFrame, s.Last, s.Lost)
	}
	peak := 0.0
	for _, p := range pts {
		peak = max(peak, p.JitterMs)
	}
	if peak < s.MaxJitterMs-1e-3 {
		t.Errorf("series peak %.3f ms, stream maximum %.3f ms", peak, s.MaxJitterMs)
	}
}

func TestSeriesStaysBoundedAtAnyLength(t *testing.T) {
	for _, tc := range []struct {
		name    string
		packets int
		gapped  bool
	}{
		{"short", 10, false},
		{"an hour", 180000, false},
		{"with silences", 20000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(Options{Idle: 24 * time.Hour})
			frame := 0
			start := time.Duration(0)
			for done := 0; done < tc.packets; {
				n := min(tc.packets-done, 100)
				send(tr, &frame, start, done, n, nil, nil)
				done += n
				start += time.Duration(n) * 20 * time.Millisecond
				if tc.gapped {
					start += 7 * time.Second
				}
			}
			s := tr.Streams()[0]
			pts := s.Series()
			if len(pts) == 0 || len(pts) > seriesCap {
				t.Fatalf("%d samples", len(pts))
			}
			if tc.packets > 1000 && len(pts) < seriesCap/2 {
				t.Errorf("only %d samples for a long stream", len(pts))
			}
			if d := s.Last.Sub(pts[len(pts)-1].Time); d < 0 || d >= time.Millisecond {
				t.Errorf("series ends at %v, stream at %v", pts[len(pts)-1].Time, s.Last)
			}
		})
	}
}
