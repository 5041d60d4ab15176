package scenario

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/media"
)

// Outcome is what the analyzer made of a run's capture, next to what the
// scenario says it demonstrates.
type Outcome struct {
	Expect  Expect
	Verdict media.PathKind
	// Reasons are the codes of the explanation's reasons, in its order.
	Reasons     []string
	Explanation explain.Explanation
	Report      *analysis.Report
	// Call is the call of the capture the scenario is about: the one with
	// the most legs, the first of those.
	Call *analysis.Call
	// Problems say where the analysis and the expectation disagree.
	Problems []string
}

// Agrees reports whether the analysis gave what the scenario expects.
func (o *Outcome) Agrees() bool { return len(o.Problems) == 0 }

// Analyze runs the analyzer over a capture of the scenario and explains
// its call with the scenario's Asterisk configuration, as `sipscope
// explain --config` does, then compares the verdict and the reasons with
// the scenario's expectation: the verdict must be the expected one, every
// expected reason must be given and no reason the scenario rules out.
func Analyze(s *Scenario, pcap []byte) (*Outcome, error) {
	configs, plans := s.Configs()
	a := analysis.New(analysis.Options{Configs: configs, Dialplans: plans})
	src, err := capture.NewReader(bytes.NewReader(pcap), s.Name+".pcap", a.Warn)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	a.Read(src)
	o := &Outcome{Expect: s.Expect, Report: a.Finish()}
	for _, c := range o.Report.Calls {
		if o.Call == nil || len(c.Legs) > len(o.Call.Legs) {
			o.Call = c
		}
	}
	if o.Call == nil {
		o.Problems = append(o.Problems, "the capture holds no call")
		return o, nil
	}
	o.Verdict = o.Call.Media.Verdict
	o.Explanation = o.Call.Explanation
	for _, r := range o.Call.Media.Reasons {
		if !slices.Contains(o.Reasons, r.Code) {
			o.Reasons = append(o.Reasons, r.Code)
		}
	}
	if want := s.Expect.Verdict; want != "" && want != o.Verdict {
		o.Problems = append(o.Problems, fmt.Sprintf("verdict %s, expected %s", orNone(string(o.Verdict)), want))
	}
	for _, code := range s.Expect.Reasons {
		if !slices.Contains(o.Reasons, code) {
			o.Problems = append(o.Problems, "reason "+code+" expected, not given")
		}
	}
	for _, code := range s.Expect.Absent {
		if slices.Contains(o.Reasons, code) {
			o.Problems = append(o.Problems, "reason "+code+" given, ruled out")
		}
	}
	return o, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// WriteComparison prints the expectation and the analysis side by side,
// one row per item, each marked as agreeing or not.
func (o *Outcome) WriteComparison(w io.Writer) error {
	type row struct{ what, want, got, mark string }
	mark := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "DIFFERS"
	}
	rows := []row{{"verdict", orNone(string(o.Expect.Verdict)), orNone(string(o.Verdict)),
		mark(o.Expect.Verdict == "" || o.Expect.Verdict == o.Verdict)}}
	for _, code := range o.Expect.Reasons {
		got := ""
		if slices.Contains(o.Reasons, code) {
			got = code
		}
		rows = append(rows, row{"reason", code, orNone(got), mark(got != "")})
	}
	for _, code := range o.Expect.Absent {
		given := slices.Contains(o.Reasons, code)
		got := "(not given)"
		if given {
			got = code
		}
		rows = append(rows, row{"ruled out", code, got, mark(!given)})
	}
	for _, code := range o.Reasons {
		if !slices.Contains(o.Expect.Reasons, code) && !slices.Contains(o.Expect.Absent, code) {
			rows = append(rows, row{"also", "", code, ""})
		}
	}
	wWhat, wWant := len("ruled out"), len("scenario")
	for _, r := range rows {
		wWant = max(wWant, len(r.want))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-*s  %s\n", wWhat, "", wWant, "scenario", "analyzer")
	for _, r := range rows {
		line := fmt.Sprintf("%-*s  %-*s  %-*s  %s", wWhat, r.what, wWant, r.want, wWant, r.got, r.mark)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
