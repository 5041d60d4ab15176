package main

import (
	"github.com/sipscope/sipscope/internal/goldentest"
	"github.com/sipscope/sipscope/internal/longtest"

	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var detailBlock = regexp.MustCompile(`(<script type="application/gzip" id="d-\d+">)([A-Za-z0-9+/=]*)(</script>)`)

// reportParts splits a report page into the page with its compressed
// blocks of call details elided, and those details inflated to text, so
// that golden files neither depend on the compressor's exact output nor
// hide the details from a diff.
func reportParts(t *testing.T, page []byte) (skeleton, details []byte) {
	t.Helper()
	var det bytes.Buffer
	n := 0
	for _, m := range detailBlock.FindAllSubmatch(page, -1) {
		z, err := base64.StdEncoding.DecodeString(string(m[2]))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		var block []*struct {
			HTML     string `json:"h"`
			Messages []struct {
				Head string `json:"h"`
				Text string `json:"t"`
			} `json:"m"`
		}
		if err := json.NewDecoder(zr).Decode(&block); err != nil {
			t.Fatal(err)
		}
		for _, d := range block {
			fmt.Fprintf(&det, "==== call %d\n", n)
			n++
			if d == nil {
				det.WriteString("(no detail)\n")
				continue
			}
			det.WriteString(d.HTML + "\n")
			for _, m := range d.Messages {
				fmt.Fprintf(&det, "---- %s\n%s", m.Head, m.Text)
			}
		}
	}
	skeleton = detailBlock.ReplaceAll(page, []byte("${1}(compressed details)${3}"))
	return skeleton, det.Bytes()
}

func TestReportGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		file func(t *testing.T) string
	}{
		{"asterisk-two-pbx-glare", func(*testing.T) string { return "../../testdata/asterisk-two-pbx-glare.pcap" }},
		{"freepbx-call", func(t *testing.T) string {
			return corpusCapture(t, "public/voipshark/SIP-RTP-Normal_Call_two_parties.pcap")
		}},
		{"many-calls-relay", func(t *testing.T) string { return corpusCapture(t, "public/heplify/rtp_rtcp_sip_ipv4_udp.pcap") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file(t)
			out := filepath.Join(t.TempDir(), "report.html")
			if _, errOut, code := runCLI(t, "report", file, "-o", out); code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			page, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			// The title names the file as given, which differs between
			// the repository's captures and the corpus.
			page = bytes.ReplaceAll(page, []byte(file), []byte(filepath.Base(file)))
			skeleton, details := reportParts(t, page)
			goldentest.Check(t, "report/"+tc.name+".html", skeleton)
			goldentest.Check(t, "report/"+tc.name+".details.txt", details)
		})
	}
}

func TestReportShowsEveryPartOfACall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	if _, errOut, code := runCLI(t, "report", "../../testdata/asterisk-two-pbx-glare.pcap", "-o", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, details := reportParts(t, page)
	d := string(details)
	for _, want := range []string{
		`<svg`,                   // the ladder
		`INVITE (glare)`,         // glare marked on the crossing requests
		`class="reasons"`,        // the explain reasons
		`class="plot"`,           // a plot per stream
		"Asterisk chan_sip",      // hosts labelled with their software
		"127.0.0.13:5060",        // and their address
		"CSeq: 102 INVITE",       // the messages' text, for the viewer
		"sdp: 127.0.0.30:30086 ", // SDP notes
	} {
		if !strings.Contains(d, want) {
			t.Errorf("the call's detail lacks %q", want)
		}
	}
	if n := strings.Count(d, `class="plot"`); n != 7 {
		t.Errorf("%d plots, want one per RTP stream (7)", n)
	}
}

func TestReportToStandardOutput(t *testing.T) {
	out, errOut, code := runCLI(t, "report", "../../testdata/asterisk-direct-media.pcap", "-o", "-")
	if code != exitOK || !strings.HasPrefix(out, "<!DOCTYPE html>") {
		t.Fatalf("exit %d: %s\n%.200s", code, errOut, out)
	}
}

func TestReportExitStatus(t *testing.T) {
	full, err := os.ReadFile("../../testdata/asterisk-direct-media.pcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, full[:len(full)/2+7], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		want  int
		wrote bool
	}{
		{"clean capture", []string{"../../testdata/asterisk-direct-media.pcap"}, exitOK, true},
		{"truncated capture is reported and exits 2", []string{cut}, exitDamaged, true},
		{"missing capture writes nothing", []string{filepath.Join(dir, "none.pcap")}, exitUsage, false},
		{"-o is required", nil, exitUsage, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("r%d.html", i))
			args := append([]string{"report"}, tt.args...)
			if tt.args != nil {
				args = append(args, "-o", out)
			} else {
				args = append(args, "../../testdata/asterisk-direct-media.pcap")
			}
			_, errOut, code := runCLI(t, args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d: %s", code, tt.want, errOut)
			}
			_, err := os.Stat(out)
			if wrote := err == nil; wrote != tt.wrote {
				t.Errorf("report written: %v, want %v", wrote, tt.wrote)
			}
		})
	}
}

// TestReportTenThousandCalls runs the whole pipeline over a capture of
// ten thousand B2BUA calls with RTP and checks that the page stays a
// reasonable size; report's own tests measure how a browser copes with it.
func TestReportTenThousandCalls(t *testing.T) {
	longtest.Require(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	writeManyCalls(t, f, 10000)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.html")
	if _, errOut, code := runCLI(t, "report", pcap, "-o", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`<script type="application/json" id="rows">`).FindIndex(page)
	if rows == nil {
		t.Fatal("no calls table")
	}
	_, details := reportParts(t, page)
	if n := strings.Count(string(details), "==== call "); n != 10000 {
		t.Errorf("%d calls' details, want 10000", n)
	}
	t.Logf("10000 calls: page %.1f MB", float64(len(page))/1e6)
	if len(page) > 150e6 {
		t.Errorf("page of %d bytes", len(page))
	}
}
