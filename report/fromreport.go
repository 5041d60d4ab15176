package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/internal/textsafe"
	"github.com/sipscope/sipscope/ladder"
	"github.com/sipscope/sipscope/media"
)

// FromAnalysis builds the page of an analyzed capture: a row per call
// with its ladder, its explain reasons and a jitter and loss plot per RTP
// stream, and the capture's warnings. The ladders show the messages' text
// only when the analysis kept it (analysis.Options.KeepRaw).
func FromAnalysis(r *analysis.Report) *Model {
	m := &Model{Title: title(r.Summary.Files)}
	for _, w := range r.Summary.Warnings {
		m.Warnings = append(m.Warnings, Warning{Frame: w.Frame, Text: w.Text})
	}
	if n := r.Summary.WarningsOmitted; n > 0 {
		m.Warnings = append(m.Warnings, Warning{Text: strconv.Itoa(n) + " more warnings were counted but not kept"})
	}
	if n := r.Summary.TruncatedPackets; n > 0 {
		m.Warnings = append(m.Warnings, Warning{Text: strconv.Itoa(n) + " packets were cut short by the capture's snap length"})
	}
	if len(r.Streams) > 0 || r.Summary.LooseOmitted > 0 {
		m.Warnings = append(m.Warnings, Warning{Text: strconv.Itoa(len(r.Streams)+r.Summary.LooseOmitted) +
			" RTP streams belong to no call in the capture (signalling not captured, or encrypted)"})
	}
	m.Calls = make([]Call, len(r.Calls))
	for i, c := range r.Calls {
		m.Calls[i] = callOf(c)
	}
	return m
}

// Builder collects the calls of a report one at a time, as the analysis
// finishes them (analysis.Options.OnCall), keeping each packed (Call.Pack):
// the analysis records behind a call can go as soon as it is added.
type Builder struct {
	calls []Call
}

// Add converts a finished call and packs it.
func (b *Builder) Add(c *analysis.Call) error {
	rc := callOf(c)
	if err := rc.Pack(); err != nil {
		return fmt.Errorf("report: call %s: %w", textsafe.Terminal(c.ID), err)
	}
	b.calls = append(b.calls, rc)
	return nil
}

// Model is the page of the analysis r with the calls added to b (r's own
// Calls are not drawn again): they are numbered by first frame, as
// analysis.Report numbers its calls.
func (b *Builder) Model(r *analysis.Report) *Model {
	head := *r
	head.Calls = nil
	m := FromAnalysis(&head)
	slices.SortStableFunc(b.calls, func(x, y Call) int { return x.FirstFrame - y.FirstFrame })
	for i := range b.calls {
		b.calls[i].Row = i + 1
	}
	m.Calls = b.calls
	return m
}

func title(files []string) string {
	if len(files) == 0 {
		return "sipscope report"
	}
	return "sipscope report: " + strings.Join(files, ", ")
}

func callOf(c *analysis.Call) Call {
	out := Call{
		ID:         c.ID,
		Row:        c.Row,
		FirstFrame: c.FirstFrame,
		Start:      c.Start,
		From:       c.From,
		To:         c.To,
		Status:     strings.TrimSpace(statusText(c.Status) + " " + c.Reason),
		Duration:   time.Duration(c.DurationS * float64(time.Second)).Round(time.Millisecond),
		Legs:       len(c.Legs),
		Streams:    len(c.Streams),
		Verdict:    string(c.Media.Verdict),
		Headline:   c.Explanation.Headline,
		Ladder:     ladder.FromCall(c),
	}
	for _, s := range c.Streams {
		if s == nil {
			continue
		}
		out.WorstLoss = max(out.WorstLoss, s.LostPct)
		out.WorstJitter = max(out.WorstJitter, s.MaxJitterMs)
		if s.Packets > 0 {
			out.Plots = append(out.Plots, plotOf(s))
		}
	}
	return out
}

func statusText(code int) string {
	if code == 0 {
		return ""
	}
	return strconv.Itoa(code)
}

// plotOf is a stream's jitter and cumulative loss from its first packet
// to its last.
func plotOf(s *media.Stream) Stream {
	codec := s.Codec
	if codec == "" {
		codec = "PT " + strconv.Itoa(int(s.PayloadType))
	}
	out := Stream{
		Label: codec + ", " + strconv.Itoa(s.Packets) + " pkts, loss " + strconv.FormatFloat(s.LostPct, 'f', 1, 64) + "%",
		From:  s.Src.String(),
		To:    s.Dst.String(),
		SSRC:  s.SSRC,
	}
	series := s.Series()
	if len(series) == 0 || series[0].Time.After(s.First) {
		out.Points = append(out.Points, Point{Time: s.First})
	}
	for _, p := range series {
		// The series counts by sequence numbers; the stream's final
		// figure discounts packets sent elsewhere, so the plot must not
		// climb above it.
		lost := min(max(p.Lost, 0), max(s.Lost, 0))
		out.Points = append(out.Points, Point{Time: p.Time, JitterMS: p.JitterMs, Lost: lost})
	}
	return out
}
