package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/goldentest"
)

// corpusCapture returns the path of a capture in the shared corpus that CI
// checks out beside the repository, walking up from the package
// directory; the test is skipped when the corpus is not there.
func corpusCapture(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		p := filepath.Join(dir, "shared", "corpus", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Skipf("shared/corpus/%s not found beside the repository", rel)
	return ""
}

// ladderCaptures are the calls the golden ladders draw: the repository's
// own Asterisk captures, and from the shared corpus Asterisk with music on
// hold, a proxy in front of a B2BUA, and a media relay.
var ladderCaptures = []struct {
	name string
	file func(t *testing.T) string
	args []string
}{
	{"asterisk-direct-media", func(*testing.T) string { return "../../testdata/asterisk-direct-media.pcap" }, nil},
	{"asterisk-two-pbx-glare", func(*testing.T) string { return "../../testdata/asterisk-two-pbx-glare.pcap" }, nil},
	{"asterisk-hold-moh", func(t *testing.T) string { return corpusCapture(t, "asterisk/asterisk-hold-moh.pcap") }, nil},
	{"proxy-b2bua-websocket", func(t *testing.T) string { return corpusCapture(t, "public/heplify/sip_tcp_websocket.pcap") }, nil},
	{"media-relay", func(t *testing.T) string { return corpusCapture(t, "public/heplify/rtp_rtcp_sip_ipv4_udp.pcap") }, []string{"--call", "1"}},
}

func TestLadderGolden(t *testing.T) {
	for _, c := range ladderCaptures {
		for _, format := range []string{"text", "svg"} {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				args := append([]string{"ladder", c.file(t), "--format", format}, c.args...)
				out, errOut, code := runCLI(t, args...)
				if code != exitOK {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				ext := map[string]string{"text": ".txt", "svg": ".svg"}[format]
				goldentest.Check(t, "ladder/"+c.name+ext, []byte(out))
			})
		}
	}
}

// TestLadderFormatsGolden draws one call in every other format and style.
func TestLadderFormatsGolden(t *testing.T) {
	const file = "../../testdata/asterisk-two-pbx-glare.pcap"
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"glare.ascii-w80.txt", []string{"--ascii", "--width", "80"}},
		{"glare.w60.txt", []string{"--width", "60"}},
		{"glare.color.txt", []string{"--color", "always", "--width", "200"}},
		{"glare.html", []string{"-f", "html"}},
		{"glare.mmd", []string{"--format", "mermaid"}},
		{"glare.puml", []string{"--format", "plantuml"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"ladder", file}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			goldentest.Check(t, "ladder/"+tc.golden, []byte(out))
		})
	}
}

func TestLadderOutputFileTakesItsFormatFromTheExtension(t *testing.T) {
	const file = "../../testdata/asterisk-direct-media.pcap"
	dir := t.TempDir()
	for _, tc := range []struct{ ext, format string }{
		{".svg", "svg"}, {".html", "html"}, {".mmd", "mermaid"}, {".puml", "plantuml"}, {".txt", "text"},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			path := filepath.Join(dir, "call"+tc.ext)
			if _, errOut, code := runCLI(t, "ladder", file, "-o", path, "--color", "auto"); code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, _, _ := runCLI(t, "ladder", file, "--format", tc.format)
			if string(got) != want {
				t.Errorf("-o call%s differs from --format %s", tc.ext, tc.format)
			}
			if strings.Contains(string(got), "\x1b[") {
				t.Error("colour escapes in a file")
			}
		})
	}
}

func TestLadderNeedsACallWhenTheCaptureHoldsSeveral(t *testing.T) {
	file := corpusCapture(t, "public/heplify/rtp_rtcp_sip_ipv4_udp.pcap")
	_, errOut, code := runCLI(t, "ladder", file)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	for _, want := range []string{"2 calls", "--call", "12013223@200.57.7.195", "12015624@200.57.7.195"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error does not mention %q:\n%s", want, errOut)
		}
	}
	_, errOut, code = runCLI(t, "ladder", file, "--call", "francisco")
	if code != exitUsage || !strings.Contains(errOut, `"francisco" matches 2 calls`) {
		t.Errorf("a number that two calls dialled: exit %d\n%s", code, errOut)
	}
	for _, q := range []string{"2", "12015624@200.57.7.195", "5514540002"} {
		out, errOut, code := runCLI(t, "ladder", file, "--call", q)
		if code != exitOK || !strings.HasPrefix(out, "Call 2: ") {
			t.Errorf("--call %s: exit %d, %s\n%s", q, code, errOut, out)
		}
	}
}

func TestLadderExitStatus(t *testing.T) {
	full, err := os.ReadFile("../../testdata/asterisk-direct-media.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, full[:len(full)/2+7], 0o644); err != nil {
		t.Fatal(err)
	}
	const ok = "../../testdata/asterisk-direct-media.pcap"
	tests := []struct {
		name    string
		args    []string
		want    int
		message string
	}{
		{"one call needs no --call", []string{ok}, exitOK, ""},
		{"truncated capture is drawn and exits 2", []string{cut}, exitDamaged, ""},
		{"unknown call lists the calls", []string{ok, "--call", "nobody"}, exitUsage, "c395ed30a3c0eefc"},
		{"unknown format", []string{ok, "--format", "png"}, exitUsage, "png"},
		{"extension without a format", []string{ok, "-o", filepath.Join(t.TempDir(), "call.png")}, exitUsage, "extension"},
		{"bad colour", []string{ok, "--color", "sometimes"}, exitUsage, "sometimes"},
		{"negative width", []string{ok, "--width", "-3"}, exitUsage, "--width"},
		{"no file", nil, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"ladder"}, tt.args...)...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.want, errOut)
			}
			if tt.want == exitDamaged && !strings.Contains(out, "INVITE") {
				t.Errorf("damaged capture not drawn:\n%s", out)
			}
			if !strings.Contains(errOut, tt.message) {
				t.Errorf("stderr does not mention %q:\n%s", tt.message, errOut)
			}
		})
	}
}

// TestDocsLaddersAreCurrent keeps the ladders the README shows in step
// with the code; -update redraws them.
func TestDocsLaddersAreCurrent(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		args []string
	}{
		{"ladder-direct-media.txt", []string{"../../testdata/asterisk-direct-media.pcap"}},
		{"ladder-direct-media.svg", []string{"../../testdata/asterisk-direct-media.pcap", "--format", "svg"}},
		{"ladder-two-pbx-glare.txt", []string{"../../testdata/asterisk-two-pbx-glare.pcap", "--width", "120"}},
		{"ladder-two-pbx-glare.svg", []string{"../../testdata/asterisk-two-pbx-glare.pcap", "--format", "svg"}},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"ladder"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			path := filepath.Join("..", "..", "docs", tc.doc)
			if goldentest.Updating() {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(want) != out {
				t.Errorf("%s is out of date (redraw with go test -update)", path)
			}
		})
	}
}
