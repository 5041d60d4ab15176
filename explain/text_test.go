package explain

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sipscope/sipscope/internal/goldentest"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/internal/corpustest"
)

// goldenCases are the synthetic calls rendered into the golden files.
var goldenCases = []string{
	"release by re-INVITE goes direct",
	"release by UPDATE",
	"remote address in the first INVITE",
	"codec mismatch between the legs",
	"telephone-event on one leg only",
	"NAT: Via sent-by differs from the source",
	"SRTP on one leg only",
	"IPv6 media on one leg, IPv4 on the other",
	"release refused with 488",
	"release never answered",
	"glare with the owner's retry outside its window",
	"hold with music on hold re-anchors, resume releases again",
	"one-way audio: the answer says recvonly",
	"no RTP captured",
	"media relay in the SDP",
	"call not answered",
	"no SDP at all",
	"config: directmedia=yes yet nothing released",
	"config: Dial options keep the core in the path",
}

func explainNamed(t *testing.T, name string) Explanation {
	t.Helper()
	for _, tc := range explainCases {
		if tc.name != name {
			continue
		}
		return Explain(tc.input(t))
	}
	t.Fatalf("no case %q", name)
	return Explanation{}
}

// TestGoldenSynthetic renders the synthetic calls as text and JSON.
func TestGoldenSynthetic(t *testing.T) {
	var exps []Explanation
	for _, name := range goldenCases {
		exps = append(exps, explainNamed(t, name))
	}
	var text bytes.Buffer
	if err := WriteText(&text, exps, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	goldentest.Check(t, "synthetic.txt.golden", text.Bytes())
	js, err := json.MarshalIndent(exps, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	goldentest.Check(t, "synthetic.json.golden", append(js, '\n'))
}

// loadCorpusConf reads a corpus bundle by its base name, so citations name
// the file as a user would give it.
func loadCorpusConf(t *testing.T, dir, base string) ([]*astconf.Config, []*astconf.File) {
	t.Helper()
	files, err := (&astconf.Reader{FS: os.DirFS(dir)}).Load(base)
	if err != nil {
		t.Fatal(err)
	}
	return configsAndDialplans(files)
}

// TestGoldenCorpus renders the Asterisk corpus with its configurations.
func TestGoldenCorpus(t *testing.T) {
	dir := filepath.Join(corpustest.Dir(t), "asterisk")
	names, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if len(names) == 0 {
		t.Skip("no Asterisk captures")
	}
	var exps []Explanation
	for _, n := range names {
		base := strings.TrimSuffix(filepath.Base(n), ".pcap")
		cs, ds := loadCorpusConf(t, dir, base+".conf.txt")
		for _, in := range analyzeFile(t, n) {
			in.Configs, in.Dialplans = cs, ds
			exps = append(exps, Explain(in))
		}
	}
	var text bytes.Buffer
	if err := WriteText(&text, exps, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	goldentest.Check(t, "corpus.txt.golden", text.Bytes())
}

// TestWriteTextWraps keeps every line within the width.
func TestWriteTextWraps(t *testing.T) {
	exps := []Explanation{explainNamed(t, "glare with the owner's retry outside its window"), explainNamed(t, "config: Dial options keep the core in the path")}
	for _, w := range []int{40, 60, 100, 200} {
		var b bytes.Buffer
		if err := WriteText(&b, exps, TextOptions{Width: w}); err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(b.String(), "\n") {
			if n := utf8.RuneCountInString(l); n > w {
				t.Errorf("width %d, line %d has %d columns: %q", w, i+1, n, l)
			}
		}
	}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestWriteTextColour writes escapes only when asked, and only colours.
func TestWriteTextColour(t *testing.T) {
	exps := []Explanation{explainNamed(t, "config: directmedia=yes yet nothing released")}
	var plain, colour bytes.Buffer
	WriteText(&plain, exps, TextOptions{Width: 80})
	WriteText(&colour, exps, TextOptions{Width: 80, Color: true})
	if bytes.ContainsRune(plain.Bytes(), 0x1b) {
		t.Error("escape without colour")
	}
	if !bytes.ContainsRune(colour.Bytes(), 0x1b) {
		t.Error("no colour")
	}
	if got := sgr.ReplaceAll(colour.Bytes(), nil); bytes.ContainsRune(got, 0x1b) {
		t.Errorf("escape other than a colour: %q", got)
	}
	if string(sgr.ReplaceAll(colour.Bytes(), nil)) != plain.String() {
		t.Error("colour changes the text")
	}
}

// TestWriteTextStripsControls keeps escape sequences from packets off the
// terminal, in colour or not.
func TestWriteTextStripsControls(t *testing.T) {
	e := Explanation{
		Call: "evil\x1b]0;owned\x07id", Headline: "direct \x1b[2J", Narrative: "bob\x1b[31m",
		Reasons: []Reason{{Code: "x\x1b", Text: "user \x1b]52;c;cGF5bG9hZA==\x07 \u202ecall", Level: High, Confidence: 0.9, Frames: []int{1},
			Options: []Citation{{File: "s\x1b.conf", Line: 1, Section: "a\x07", Key: "k", Value: "v\x1b"}}}},
		Predictions: []Prediction{{Server: "1.2.3.4", Config: "c\x1b", Observed: "o\x1b", Contradiction: "c\x1b[1m",
			Legs: []PeerMatch{{Leg: 1, Peer: "p\x1b", Match: "name"}}, Dialplan: "d\x1b"}},
	}
	for _, colour := range []bool{false, true} {
		var b bytes.Buffer
		WriteText(&b, []Explanation{e}, TextOptions{Width: 80, Color: colour})
		out := sgr.ReplaceAll(b.Bytes(), nil)
		if bytes.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("colour %v: control characters reach the terminal: %q", colour, out)
		}
	}
}

// TestExplainDeterministic explains the same capture twice.
func TestExplainDeterministic(t *testing.T) {
	a, _ := json.Marshal(explainNamed(t, "glare with retries inside their windows"))
	b, _ := json.Marshal(explainNamed(t, "glare with retries inside their windows"))
	if !bytes.Equal(a, b) {
		t.Error("two runs differ")
	}
}

// TestExplainEmpty copes with calls without legs.
func TestExplainEmpty(t *testing.T) {
	if e := Explain(Input{}); e.Headline != "" || len(e.Reasons) != 0 {
		t.Errorf("%+v", e)
	}
	var b bytes.Buffer
	if err := WriteText(&b, []Explanation{{}}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
}
