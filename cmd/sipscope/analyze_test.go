package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/goldentest"
)

func TestAnalyzeTableGolden(t *testing.T) {
	for _, name := range []string{"asterisk-direct-media", "asterisk-two-pbx-glare"} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := runCLI(t, "analyze", "../../testdata/"+name+".pcap")
			if code != exitOK {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			goldentest.Check(t, "analyze/"+name+".txt", []byte(out))
		})
	}
}

// TestAnalyzeJSONContract checks the field names that other tools read.
func TestAnalyzeJSONContract(t *testing.T) {
	out, _, code := runCLI(t, "analyze", "--json", "../../testdata/asterisk-two-pbx-glare.pcap")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	summary := doc["summary"].(map[string]any)
	for _, k := range []string{"packets", "sip_messages", "malformed_sip", "warnings"} {
		if _, ok := summary[k]; !ok {
			t.Errorf("summary.%s missing", k)
		}
	}
	calls := doc["calls"].([]any)
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	c := calls[0].(map[string]any)
	for _, k := range []string{"id", "legs", "pairing", "glare", "media"} {
		if _, ok := c[k]; !ok {
			t.Errorf("calls[0].%s missing", k)
		}
	}
	legs := c["legs"].([]any)
	if len(legs) != 3 {
		t.Fatalf("%d legs, want 3", len(legs))
	}
	for _, k := range []string{"call_id", "from", "to", "first_frame", "status", "messages", "src", "dst", "server", "reinvites", "end_reason"} {
		if _, ok := legs[0].(map[string]any)[k]; !ok {
			t.Errorf("legs[0].%s missing", k)
		}
	}
	for _, k := range []string{"basis", "confidence"} {
		if _, ok := c["pairing"].(map[string]any)[k]; !ok {
			t.Errorf("pairing.%s missing", k)
		}
	}
	glare := c["glare"].([]any)
	if len(glare) == 0 {
		t.Fatal("no glare in the two-PBX glare capture")
	}
	for _, k := range []string{"frames", "retry_delay_ms", "rfc3261_window_ok"} {
		if _, ok := glare[0].(map[string]any)[k]; !ok {
			t.Errorf("glare[0].%s missing", k)
		}
	}
	m := c["media"].(map[string]any)
	if m["verdict"] != "direct" {
		t.Errorf("verdict %v, want direct", m["verdict"])
	}
	for _, k := range []string{"verdict", "timeline", "streams"} {
		if _, ok := m[k]; !ok {
			t.Errorf("media.%s missing", k)
		}
	}
	s := m["streams"].([]any)[0].(map[string]any)
	for _, k := range []string{"src", "dst", "ssrc", "payload_type", "codec", "packets", "lost", "lost_pct", "max_jitter_ms", "mean_jitter_ms", "max_delta_ms", "first_frame", "last_frame", "announced_by_frame", "dtmf"} {
		if _, ok := s[k]; !ok {
			t.Errorf("streams[0].%s missing", k)
		}
	}
}

func TestAnalyzeExitStatus(t *testing.T) {
	full, err := os.ReadFile("../../testdata/asterisk-direct-media.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, full[:len(full)/2+7], 0o644); err != nil {
		t.Fatal(err)
	}
	notCapture := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"clean capture exits 0", []string{"analyze", "../../testdata/asterisk-direct-media.pcap"}, exitOK},
		{"truncated capture is analyzed and exits 2", []string{"analyze", cut}, exitDamaged},
		{"missing file exits 1", []string{"analyze", filepath.Join(t.TempDir(), "none.pcap")}, exitUsage},
		{"file that is not a capture exits 1", []string{"analyze", notCapture}, exitUsage},
		{"unknown flag exits 1", []string{"analyze", "--bogus", "x.pcap"}, exitUsage},
		{"no file exits 1", []string{"analyze"}, exitUsage},
		{"unknown call exits 1", []string{"analyze", "--call", "nobody", "../../testdata/asterisk-direct-media.pcap"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, out, errOut)
			}
			if tt.want == exitDamaged && !strings.Contains(out, "damaged") {
				t.Errorf("damaged capture not reported:\n%s", out)
			}
		})
	}
}

func TestAnalyzeCallSelection(t *testing.T) {
	const file = "../../testdata/asterisk-two-pbx-glare.pcap"
	for _, q := range []string{"1", "#1", "69dd15454cd26928", "493cbeb55d366a0122e28bd47c55b613@127.0.0.13:5060", "2001", "alice"} {
		t.Run(q, func(t *testing.T) {
			out, errOut, code := runCLI(t, "analyze", "--csv", "--call", q, file)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if n := strings.Count(out, "\n"); n != 2 {
				t.Errorf("%d CSV lines, want header and one call:\n%s", n, out)
			}
		})
	}
}
