package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/gencap"
)

func analyzed(t *testing.T, name string) *analysis.Report {
	t.Helper()
	r, err := analysis.Files([]string{"../testdata/" + name}, analysis.Options{KeepRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFromAnalysisDescribesEachCall(t *testing.T) {
	r := analyzed(t, "asterisk-two-pbx-glare.pcap")
	m := FromAnalysis(r)
	if len(m.Calls) != 1 {
		t.Fatalf("%d calls, want 1", len(m.Calls))
	}
	c := m.Calls[0]
	a := r.Calls[0]
	if c.Row != 1 || c.ID != a.ID || c.FirstFrame != 1 || c.Legs != 3 || c.Streams != len(a.Streams) || c.Verdict != "direct" {
		t.Errorf("call row %+v", c)
	}
	if !strings.HasPrefix(c.Status, "200") || c.Headline == "" || c.Headline != a.Explanation.Headline {
		t.Errorf("status %q, headline %q", c.Status, c.Headline)
	}
	if c.Ladder == nil || len(c.Ladder.Messages) != a.Messages || len(c.Ladder.Reasons) != len(a.Explanation.Reasons) {
		t.Fatalf("ladder %+v", c.Ladder)
	}
	if c.Ladder.Messages[0].Raw == "" {
		t.Error("the ladder lacks the messages' text")
	}
	if !strings.Contains(m.Title, "asterisk-two-pbx-glare.pcap") {
		t.Errorf("title %q", m.Title)
	}
}

func TestFromAnalysisPlotsEveryStreamFromFirstToLastPacket(t *testing.T) {
	r := analyzed(t, "asterisk-direct-media.pcap")
	m := FromAnalysis(r)
	c := m.Calls[0]
	streams := r.Calls[0].Streams
	if len(c.Plots) != len(streams) {
		t.Fatalf("%d plots for %d streams", len(c.Plots), len(streams))
	}
	for i, p := range c.Plots {
		s := streams[i]
		if len(p.Points) < 2 && s.Packets > 1 {
			t.Errorf("stream %d: %d points", i, len(p.Points))
			continue
		}
		first, last := p.Points[0], p.Points[len(p.Points)-1]
		if !first.Time.Equal(s.First) || s.Last.Sub(last.Time) < 0 || s.Last.Sub(last.Time) >= time.Millisecond {
			t.Errorf("stream %d plotted %v to %v, ran %v to %v", i, first.Time, last.Time, s.First, s.Last)
		}
		for j, pt := range p.Points {
			if pt.Lost < 0 || pt.Lost > max(s.Lost, 0) || pt.JitterMS > s.MaxJitterMs {
				t.Errorf("stream %d point %d %+v beyond the stream's figures (lost %d, max jitter %.2f)", i, j, pt, s.Lost, s.MaxJitterMs)
			}
			if j > 0 && pt.Time.Before(p.Points[j-1].Time) {
				t.Errorf("stream %d point %d goes back in time", i, j)
			}
		}
		if p.From != s.Src.String() || p.To != s.Dst.String() || p.SSRC != s.SSRC || !strings.HasPrefix(p.Label, s.Codec) {
			t.Errorf("stream %d plot %q %s -> %s", i, p.Label, p.From, p.To)
		}
	}
}

func TestFromAnalysisListsTheCapturesWarnings(t *testing.T) {
	r := &analysis.Report{}
	r.Summary.Warnings = []capture.Warning{{Frame: 7, Text: "malformed SIP"}}
	r.Summary.WarningsOmitted = 3
	r.Summary.TruncatedPackets = 2
	r.Summary.LooseOmitted = 1
	m := FromAnalysis(r)
	want := []Warning{
		{7, "malformed SIP"},
		{0, "3 more warnings were counted but not kept"},
		{0, "2 packets were cut short by the capture's snap length"},
		{0, "1 RTP streams belong to no call in the capture (signalling not captured, or encrypted)"},
	}
	if len(m.Warnings) != len(want) {
		t.Fatalf("warnings %+v", m.Warnings)
	}
	for i := range want {
		if m.Warnings[i] != want[i] {
			t.Errorf("warning %d = %+v, want %+v", i, m.Warnings[i], want[i])
		}
	}
	if m.Title != "sipscope report" || len(m.Calls) != 0 {
		t.Errorf("empty report: title %q, %d calls", m.Title, len(m.Calls))
	}
}

// TestPackedCallsWriteTheSamePage checks that packing each call (what the
// report command does as calls end) changes nothing on the page, and that
// a Builder numbers calls as the analysis does.
func TestPackedCallsWriteTheSamePage(t *testing.T) {
	for _, name := range []string{"asterisk-two-pbx-glare.pcap", "asterisk-direct-media.pcap"} {
		r := analyzed(t, name)
		m := FromAnalysis(r)
		var want bytes.Buffer
		if err := Write(&want, m); err != nil {
			t.Fatal(err)
		}
		for i := range m.Calls {
			if err := m.Calls[i].Pack(); err != nil {
				t.Fatal(err)
			}
			if m.Calls[i].Ladder != nil || m.Calls[i].Plots != nil || m.Calls[i].packed == nil {
				t.Fatalf("%s: call %d not packed", name, i)
			}
		}
		var got bytes.Buffer
		if err := Write(&got, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: the page of packed calls differs (%d bytes, want %d)", name, got.Len(), want.Len())
		}
	}
}

// TestBuilderNumbersCallsAsTheAnalysisDoes adds calls in the reverse of
// their order (calls end in another order than they begin) and expects
// the rows of analysis.Report.
func TestBuilderNumbersCallsAsTheAnalysisDoes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "calls.pcap")
	if _, err := gencap.WriteFile(p, gencap.Config{Calls: 4, Duration: 12 * time.Second, Hold: 2 * time.Second, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	r, err := analysis.Files([]string{p}, analysis.Options{KeepRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	var b Builder
	for i := len(r.Calls) - 1; i >= 0; i-- {
		if err := b.Add(r.Calls[i]); err != nil {
			t.Fatal(err)
		}
	}
	m := b.Model(r)
	if len(r.Calls) < 8 || len(m.Calls) != len(r.Calls) {
		t.Fatalf("%d calls built of %d", len(m.Calls), len(r.Calls))
	}
	for i, c := range m.Calls {
		if c.Row != r.Calls[i].Row || c.ID != r.Calls[i].ID || !c.hasDetail() {
			t.Errorf("built call %d is row %d %s, want row %d %s", i, c.Row, c.ID, r.Calls[i].Row, r.Calls[i].ID)
		}
	}
}
