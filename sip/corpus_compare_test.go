package sip

import (
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/pcaptest"
)

// knownMalformed lists the corpus messages that are broken, on purpose or
// by a buggy sender, with the problems Parse must find in them.
var knownMalformed = map[string][]string{
	"public/zeek/invalid-content-length.pcap frame 1":  {`Content-Length "bad" is not a number`},
	"public/zeek/invalid-content-length.pcap frame 2":  {`Content-Length "xyz" is not a number`},
	"public/zeek/sip-junk-before-request.pcap frame 2": {"no Call-ID", "no CSeq", "no From", "no To", "no Via"},
	// A 200 OK with SDP but no Content-Type.
	"public/heplify/sip_ipv6_udp.pcap frame 3": {"body of 179 bytes without Content-Type"},
	// A PBX that leaks memory into its To tag.
	"public/heplify/erspan_sip_ipv4_udp.pcapng frame 22": {`header "To" has control characters`},
	"public/heplify/erspan_sip_ipv4_udp.pcapng frame 23": {`header "To" has control characters`},
	"public/heplify/erspan_sip_ipv4_udp.pcapng frame 40": {`header "To" has control characters`},
	"public/heplify/erspan_sip_ipv4_udp.pcapng frame 41": {`header "To" has control characters`},
	"public/heplify/erspan_sip_ipv4_udp.pcapng frame 91": {`header "To" has control characters`},
	"public/heplify/erspan_sip_ipv4_udp.pcapng frame 93": {`header "To" has control characters`},
}

// TestCorpusMessagesParse parses every SIP datagram and TCP segment of the
// corpus: all are SIP, and the datagrams are clean unless known broken.
func TestCorpusMessagesParse(t *testing.T) {
	udp, seen := 0, 0
	for _, p := range corpusMessages(t) {
		m, err := Parse(p.Data, Options{})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if p.TCP {
			continue
		}
		udp++
		if want, ok := knownMalformed[p.String()]; ok {
			seen++
			t.Run(p.String(), func(t *testing.T) { wantProblems(t, m, want...) })
		} else if m.Malformed() {
			t.Errorf("%s: problems %q", p, m.Problems)
		}
	}
	if seen != len(knownMalformed) {
		t.Errorf("found %d of %d known-malformed messages", seen, len(knownMalformed))
	}
	t.Logf("%d UDP messages, %d known to be malformed", udp, seen)
}

// TestCorpusRoundTrip serialises every clean corpus message and parses it
// back: the result equals the original once its Content-Length is stated.
func TestCorpusRoundTrip(t *testing.T) {
	for _, p := range corpusMessages(t) {
		m, err := Parse(p.Data, Options{})
		if err != nil || m.Malformed() {
			continue
		}
		m.Set("Content-Length", strconv.Itoa(len(m.Body)))
		got, err := Parse(m.Bytes(), Options{})
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%s: round trip differs (%v):\n got %+v\nwant %+v", p, err, got, m)
		}
	}
}

// TestCorpusAgreesWithTshark compares what Parse reads from every corpus
// SIP datagram with what tshark dissects from the same frame.
func TestCorpusAgreesWithTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every capture")
	}
	root := corpustest.Dir(t)
	byFile := map[string][]pcaptest.Payload{}
	for _, p := range corpusMessages(t) {
		if !p.TCP {
			byFile[p.File] = append(byFile[p.File], p)
		}
	}
	compared := 0
	for file, payloads := range byFile {
		want := pcaptest.TsharkFields(t, filepath.Join(root, filepath.FromSlash(file)), "sip && udp", []string{"occurrence=f"},
			"sip.Method", "sip.Status-Code", "sip.Call-ID", "sip.CSeq.seq", "sip.CSeq.method", "sip.from.tag", "sip.to.tag")
		for _, p := range payloads {
			w, ok := want[p.Frame]
			if !ok {
				continue // an IP fragment: tshark shows the message at the last one
			}
			m := mustParse(t, string(p.Data))
			status := ""
			if m.StatusCode != 0 {
				status = strconv.Itoa(m.StatusCode)
			}
			cseq := ""
			if m.CSeqMethod != "" {
				cseq = strconv.Itoa(m.CSeq)
			}
			got := []string{m.Method, status, m.CallID, cseq, m.CSeqMethod, m.From.Tag, m.To.Tag}
			for i := range got {
				got[i], w[i] = printablePrefix(got[i]), printablePrefix(w[i])
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s: got %q, tshark %q", p, got, w)
			}
			compared++
		}
	}
	t.Logf("%d messages compared with tshark", compared)
	if compared == 0 {
		t.Error("nothing compared")
	}
}

// printablePrefix cuts s at its first byte outside printable ASCII, where
// tshark's escaping starts to differ from the raw value.
func printablePrefix(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f || s[i] == '\\' {
			return s[:i]
		}
	}
	return s
}
