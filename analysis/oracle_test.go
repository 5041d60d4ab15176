package analysis

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
)

var update = flag.Bool("update", false, "rewrite golden files from tshark")

// sipCounts is what tshark and sipscope each count in a capture.
type sipCounts struct {
	Messages int `json:"sip_messages"`
	CallIDs  int `json:"call_ids"`
}

const tsharkGolden = "testdata/tshark_sip.json"

// tsharkArgs are the extra arguments tshark needs to see the SIP that
// sipscope finds by content: tshark only looks for SIP on TCP on known ports.
var tsharkArgs = map[string][]string{
	"public/heplify/sip_ipv4_tcp_fragmented.pcap": {"-d", "tcp.port==6060,sip"},
}

// beyondTshark names the captures where sipscope rightly finds more SIP than
// tshark, and why.
var beyondTshark = map[string]struct {
	want   sipCounts
	reason string
}{
	"public/hep-wireshark/hep.pcap": {sipCounts{6, 1},
		"SIP inside HEPv3: tshark 4.0 has no HEP dissector"},
	"public/hep-wireshark/hep3_compressed.pcap.pcapng": {sipCounts{21, 1},
		"SIP inside zlib-compressed HEPv3 payload chunks: tshark 4.0 has no HEP dissector"},
}

func readGolden(t *testing.T) map[string]sipCounts {
	t.Helper()
	b, err := os.ReadFile(tsharkGolden)
	if err != nil {
		t.Fatalf("reading %s (regenerate with -update): %v", tsharkGolden, err)
	}
	var g map[string]sipCounts
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", tsharkGolden, err)
	}
	return g
}

// TestSIPCountsAgreeWithTshark checks, for every corpus capture, that the
// SIP messages and distinct Call-IDs sipscope finds are the ones tshark
// finds (kept as golden numbers, so the test runs without tshark).
func TestSIPCountsAgreeWithTshark(t *testing.T) {
	root := corpustest.Dir(t)
	files := append(corpustest.Captures(t, "public"), corpustest.Captures(t, "asterisk")...)
	golden := readGolden(t)
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			want, ok := golden[rel]
			if !ok {
				t.Fatalf("no tshark numbers for %s in %s (run with -update)", rel, tsharkGolden)
			}
			if b, ok := beyondTshark[rel]; ok {
				if want != (sipCounts{}) {
					t.Errorf("tshark now finds %+v in %s; the exception (%s) may be obsolete", want, rel, b.reason)
				}
				want = b.want
			}
			rep, err := Files([]string{filepath.Join(root, rel)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := sipCounts{rep.Summary.SIPMessages, rep.Summary.CallIDs}
			if got != want {
				t.Errorf("sipscope %+v, want %+v", got, want)
			}
		})
	}
}

// TestTsharkGoldenIsCurrent re-derives the golden numbers with tshark.
func TestTsharkGoldenIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (Debian package tshark)")
	}
	if testing.Short() {
		t.Skip("runs tshark over the whole corpus")
	}
	root := corpustest.Dir(t)
	files := append(corpustest.Captures(t, "public"), corpustest.Captures(t, "asterisk")...)
	fresh := map[string]sipCounts{}
	for _, rel := range files {
		fresh[rel] = tsharkSIP(t, filepath.Join(root, rel), tsharkArgs[rel])
	}
	if *update {
		b, _ := json.MarshalIndent(fresh, "", "  ")
		if err := os.WriteFile(tsharkGolden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	golden := readGolden(t)
	for _, rel := range files {
		if fresh[rel] != golden[rel] {
			t.Errorf("%s: tshark says %+v, golden has %+v", rel, fresh[rel], golden[rel])
		}
	}
}

// tsharkSIP counts SIP start lines and distinct Call-IDs as tshark decodes
// them.
func tsharkSIP(t *testing.T, file string, extra []string) sipCounts {
	t.Helper()
	args := append([]string{"-r", file, "-n"}, extra...)
	args = append(args, "-Y", "sip", "-T", "fields",
		"-e", "sip.Request-Line", "-e", "sip.Status-Line", "-e", "sip.Call-ID",
		"-E", "occurrence=a", "-E", "aggregator=\x1f", "-E", "separator=\x1e")
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	var c sipCounts
	ids := map[string]bool{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\x1e")
		if len(f) != 3 {
			continue
		}
		for _, v := range f[:2] {
			if v != "" {
				c.Messages += len(strings.Split(v, "\x1f"))
			}
		}
		for _, id := range strings.Split(f[2], "\x1f") {
			if id != "" {
				ids[id] = true
			}
		}
	}
	c.CallIDs = len(ids)
	return c
}
