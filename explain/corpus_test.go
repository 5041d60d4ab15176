package explain

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/internal/corpustest"
)

// corpusTruth is the part of an asterisk corpus *.truth.json the
// explanations answer for (see the corpus README for the schema).
type corpusTruth struct {
	Name  string `json:"name"`
	Conf  string `json:"conf"`
	Cause struct {
		Cause string `json:"cause"`
	} `json:"config_cause"`
	Legs []struct {
		ByeFrame int `json:"bye_frame"`
	} `json:"legs"`
	Requests []struct {
		Frame   int    `json:"frame"`
		From    string `json:"from"`
		Purpose string `json:"purpose"`
		Final   int    `json:"final_response"`
	} `json:"media_changing_requests"`
	Pending491 []struct {
		Frame int `json:"frame"`
	} `json:"request_pending_491"`
	Glare *struct {
		Retries []struct {
			Frame int     `json:"frame"`
			From  string  `json:"from"`
			Delay float64 `json:"delay_after_its_491_s"`
		} `json:"retries"`
	} `json:"glare"`
	Final struct {
		Type string `json:"type"`
	} `json:"final_media_path"`
}

func (tr corpusTruth) firstBye() int {
	first := 0
	for _, l := range tr.Legs {
		if l.ByeFrame != 0 && (first == 0 || l.ByeFrame < first) {
			first = l.ByeFrame
		}
	}
	return first
}

// confLine finds the line of the bundle where section [peer] of the
// server's sip.conf part sets key, by reading the file itself.
func confLine(t *testing.T, bundle, server, peer, key string) (int, string) {
	t.Helper()
	f, err := os.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inPart, inPeer := false, false
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(l, "##########"):
			inPart = strings.Contains(l, server) && strings.HasSuffix(l, ": sip.conf")
			inPeer = false
		case strings.HasPrefix(l, "["):
			inPeer = inPart && l == "["+peer+"]"
		case inPeer:
			if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
				return n, strings.TrimSpace(v)
			}
		}
	}
	t.Fatalf("%s: no %s in [%s] of %s", bundle, key, peer, server)
	return 0, ""
}

// hasCite reports whether a reason cites the line.
func hasCite(r *Reason, line int, key, value string) bool {
	return slices.ContainsFunc(r.Options, func(c Citation) bool { return c.Line == line && c.Key == key && c.Value == value })
}

func mustReason(t *testing.T, e Explanation, code string) *Reason {
	t.Helper()
	r := e.Reason(code)
	if r == nil {
		t.Fatalf("no %s reason; got %v\n%s", code, codesOf(e), e.Narrative)
	}
	return r
}

func hasFrames(t *testing.T, r *Reason, frames ...int) {
	t.Helper()
	for _, f := range frames {
		if !slices.Contains(r.Frames, f) {
			t.Errorf("%s cites %v, not f%d", r.Code, r.Frames, f)
		}
	}
}

// TestCorpusTruth explains every capture of the Asterisk corpus, without
// and with its configuration, and checks that the reasons name the cause
// the truth file states and, with the configuration, the option, section
// and line behind it.
func TestCorpusTruth(t *testing.T) {
	dir := filepath.Join(corpustest.Dir(t), "asterisk")
	names, _ := filepath.Glob(filepath.Join(dir, "*.truth.json"))
	if len(names) == 0 {
		t.Skip("no truth files")
	}
	for _, name := range names {
		var tr corpusTruth
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(tr.Name, func(t *testing.T) {
			ins := analyzeFile(t, filepath.Join(dir, tr.Name+".pcap"))
			if len(ins) != 1 {
				t.Fatalf("%d calls", len(ins))
			}
			bundle := filepath.Join(dir, tr.Conf)
			cfgs, plans, err := LoadConfig(bundle)
			if err != nil {
				t.Fatal(err)
			}
			plain := Explain(ins[0])
			in := ins[0]
			in.Configs, in.Dialplans = cfgs, plans
			conf := Explain(in)
			for _, e := range []Explanation{plain, conf} {
				checkReasons(t, e)
				checkTruth(t, tr, e)
			}
			checkConfig(t, tr, bundle, conf)
			t.Logf("%s\n%s", conf.Headline, conf.Narrative)
		})
	}
}

// checkTruth compares the reasons with the truth, configuration aside.
func checkTruth(t *testing.T, tr corpusTruth, e Explanation) {
	t.Helper()
	bye := tr.firstBye()
	var releases, anchors []int
	for _, r := range tr.Requests {
		if r.Frame > bye || r.Final != 200 || !strings.HasPrefix(r.From, "ast") {
			continue
		}
		switch {
		case strings.Contains(r.Purpose, "= direct media"):
			releases = append(releases, r.Frame)
		case strings.HasPrefix(r.Purpose, "anchor"):
			anchors = append(anchors, r.Frame)
		}
	}
	switch {
	case tr.Final.Type == "anchored (transcoding)":
		r := mustReason(t, e, policy.CodeCodecMismatch)
		for _, w := range []string{"PCMU (ulaw)", "PCMA (alaw)", "transcode"} {
			if !strings.Contains(r.Text, w) {
				t.Errorf("codec-mismatch lacks %q: %s", w, r.Text)
			}
		}
	case tr.Final.Type == "anchored":
		mustReason(t, e, CodeNoReleaseAttempted)
		if e.Has(CodeDirectReinvite) || e.Has(policy.CodeCodecMismatch) {
			t.Errorf("anchored call with %v", codesOf(e))
		}
	case tr.Glare != nil:
		r := mustReason(t, e, CodeGlare)
		for _, p := range tr.Pending491 {
			hasFrames(t, r, p.Frame)
		}
		for _, rt := range tr.Glare.Retries {
			hasFrames(t, r, rt.Frame)
			delay := strconv.FormatFloat(rt.Delay, 'f', 2, 64) + " s"
			if !strings.Contains(r.Text, "f"+strconv.Itoa(rt.Frame)+" after "+delay+", inside its window") {
				t.Errorf("glare does not give retry f%d after %s inside its window: %s", rt.Frame, delay, r.Text)
			}
		}
		for _, w := range []string{"caller waited for the direct path", "no end-to-end audio", "directmedia=outgoing", "direct_media_glare_mitigation"} {
			if !strings.Contains(r.Text, w) {
				t.Errorf("glare lacks %q: %s", w, r.Text)
			}
		}
		if !strings.HasPrefix(e.Headline, "direct after glare") {
			t.Errorf("headline %q", e.Headline)
		}
	case len(anchors) > 0:
		r := mustReason(t, e, CodeReanchored)
		hasFrames(t, r, anchors...)
		for _, f := range releases {
			if f > anchors[0] {
				hasFrames(t, r, f)
			}
		}
		if !strings.Contains(r.Text, "hold") || !strings.Contains(r.Text, "released the media again") {
			t.Errorf("reanchored: %s", r.Text)
		}
	default:
		r := mustReason(t, e, CodeDirectReinvite)
		hasFrames(t, r, releases...)
		if !strings.HasPrefix(e.Headline, "direct after re-INVITE release") {
			t.Errorf("headline %q", e.Headline)
		}
	}
	if tr.Final.Type == "direct" && !e.Has(CodeDirectReinvite) {
		t.Errorf("direct call without a release reason: %v", codesOf(e))
	}
	for _, r := range e.Reasons {
		if r.Code == CodeNoEvidence || r.Code == CodeConfigContradiction {
			t.Errorf("%s: %s", r.Code, r.Text)
		}
	}
}

// checkConfig checks that the configuration names the option and the
// section behind the truth's cause, with its line.
func checkConfig(t *testing.T, tr corpusTruth, bundle string, e Explanation) {
	t.Helper()
	if len(e.Predictions) == 0 {
		t.Fatal("no prediction")
	}
	for _, p := range e.Predictions {
		if p.Contradiction != "" {
			t.Errorf("%s: %s", p.Server, p.Contradiction)
		}
		if !p.DialplanKnown {
			t.Errorf("%s: dialplan %s", p.Server, p.Dialplan)
		}
	}
	switch {
	case tr.Final.Type == "anchored (transcoding)":
		r := mustReason(t, e, policy.CodeCodecMismatch)
		for _, peer := range []string{"alice", "bob"} {
			line, value := confLine(t, bundle, "ast1", peer, "allow")
			if !hasCite(r, line, "allow", value) {
				t.Errorf("codec-mismatch does not cite [%s] allow=%s at line %d: %+v", peer, value, line, r.Options)
			}
		}
	case tr.Final.Type == "anchored":
		r := mustReason(t, e, policy.CodeDirectMediaNo)
		line, value := confLine(t, bundle, "ast1", "alice", "directmedia")
		if value != "no" || !hasCite(r, line, "directmedia", "no") || r.Options[0].Peer != "alice" || r.Options[0].Section != "alice" {
			t.Errorf("directmedia-no does not cite [alice] directmedia=no at line %d: %+v", line, r.Options)
		}
		if !strings.Contains(e.Headline, "directmedia=no on peer alice") {
			t.Errorf("headline %q", e.Headline)
		}
	case tr.Glare != nil:
		r := mustReason(t, e, CodeGlare)
		line, _ := confLine(t, bundle, "ast2", "pbx1", "directmedia")
		if !strings.Contains(r.Text, "[pbx1], now directmedia=yes at "+filepath.Base(bundle)) && !strings.Contains(r.Text, ":"+strconv.Itoa(line)+" [pbx1]") {
			t.Errorf("glare remedy does not name [pbx1] line %d: %s", line, r.Text)
		}
		fallthrough
	default:
		r := mustReason(t, e, CodeDirectReinvite)
		line, _ := confLine(t, bundle, "ast1", "alice", "directmedia")
		if !hasCite(r, line, "directmedia", "yes") {
			t.Errorf("direct-reinvite does not cite [alice] directmedia=yes at line %d: %+v", line, r.Options)
		}
	}
}
