package interop

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/analysis"
)

// oracle is what tshark counts in a capture: the numbers sipscope must
// match. They are stored beside each committed capture so the capture test
// runs without tshark, and recomputed when tshark is installed.
type oracle struct {
	SIPMessages int            `json:"sip_messages"`
	RTPPackets  int            `json:"rtp_packets"`
	Streams     []oracleStream `json:"rtp_streams"`
}

// oracleStream is one line of tshark's "-z rtp,streams".
type oracleStream struct {
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	SSRC    string `json:"ssrc"`
	Packets int    `json:"packets"`
	Lost    int    `json:"lost"`
}

func (s oracleStream) String() string {
	return fmt.Sprintf("%s -> %s ssrc %s: %d packets, %d lost", s.Src, s.Dst, s.SSRC, s.Packets, s.Lost)
}

// tsharkTimeout bounds one tshark run.
const tsharkTimeout = 60 * time.Second

// tshark runs tshark on path with args and returns its standard output.
// RTP is found by the heuristic dissector as well as through SDP, so a
// stream the SDP did not announce is still counted.
func tshark(t testing.TB, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tsharkTimeout)
	defer cancel()
	argv := append([]string{"-r", path, "-n", "--enable-heuristic", "rtp_udp"}, args...)
	cmd := exec.CommandContext(ctx, "tshark", argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(argv, " "), err, errb.String())
	}
	return out.String()
}

// streamLineRe matches a stream line of "-z rtp,streams": start, end,
// source address and port, destination address and port, SSRC, payload
// name(s), packets, lost.
var streamLineRe = regexp.MustCompile(`^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]+)\s+.+?\s+(\d+)\s+(-?\d+) \(`)

// tsharkCounts computes the oracle for a capture in one pass of tshark:
// a line per frame with the CSeq methods of the SIP messages it carries (a
// TCP segment may carry several) and its RTP SSRC, if any; then the table
// of "-z rtp,streams", which starts with a line of "=".
func tsharkCounts(t testing.TB, path string) oracle {
	t.Helper()
	o := oracle{Streams: []oracleStream{}}
	out := tshark(t, path, "-T", "fields", "-e", "sip.CSeq.method", "-e", "rtp.ssrc",
		"-E", "occurrence=a", "-E", "aggregator=,", "-z", "rtp,streams")
	frames := true
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "=") {
			frames = false
			continue
		}
		if frames {
			f := strings.Split(strings.TrimRight(line, "\n"), "\t")
			if len(f) != 2 {
				t.Fatalf("tshark fields: unexpected line %q", line)
			}
			if f[0] != "" {
				o.SIPMessages += len(strings.Split(f[0], ","))
			}
			if f[1] != "" {
				o.RTPPackets++
			}
			continue
		}
		m := streamLineRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pk, _ := strconv.Atoi(m[6])
		lost, _ := strconv.Atoi(m[7])
		ssrc, _ := strconv.ParseUint(m[5], 0, 32)
		o.Streams = append(o.Streams, oracleStream{
			Src:     m[1] + ":" + m[2],
			Dst:     m[3] + ":" + m[4],
			SSRC:    fmt.Sprintf("0x%08x", ssrc),
			Packets: pk,
			Lost:    lost,
		})
	}
	if frames {
		t.Fatalf("tshark printed no RTP stream table for %s", path)
	}
	sortStreams(o.Streams)
	return o
}

func sortStreams(s []oracleStream) {
	slices.SortFunc(s, func(a, b oracleStream) int {
		return strings.Compare(a.Src+" "+a.Dst+" "+a.SSRC, b.Src+" "+b.Dst+" "+b.SSRC)
	})
}

// ourCounts is the same view of sipscope's report: every RTP stream,
// whether a call claimed it or not.
func ourCounts(rep *analysis.Report) oracle {
	o := oracle{SIPMessages: rep.Summary.SIPMessages, RTPPackets: rep.Summary.RTPPackets, Streams: []oracleStream{}}
	for _, c := range rep.Calls {
		for _, s := range c.Media.Streams {
			o.Streams = append(o.Streams, oracleStream{Src: s.Src.String(), Dst: s.Dst.String(),
				SSRC: fmt.Sprintf("0x%08x", s.SSRC), Packets: s.Packets, Lost: s.Lost})
		}
	}
	for _, s := range rep.Streams {
		o.Streams = append(o.Streams, oracleStream{Src: s.Src.String(), Dst: s.Dst.String(),
			SSRC: fmt.Sprintf("0x%08x", s.SSRC), Packets: s.Packets, Lost: s.Lost})
	}
	sortStreams(o.Streams)
	return o
}

// agree fails the test where two counts of a capture differ: sipscope's
// and tshark's, or tshark's now and as stored.
func agree(t testing.TB, aName string, a oracle, bName string, b oracle) {
	t.Helper()
	if a.SIPMessages != b.SIPMessages {
		t.Errorf("SIP messages: %s %d, %s %d", aName, a.SIPMessages, bName, b.SIPMessages)
	}
	if a.RTPPackets != b.RTPPackets {
		t.Errorf("RTP packets: %s %d, %s %d", aName, a.RTPPackets, bName, b.RTPPackets)
	}
	if !slices.Equal(a.Streams, b.Streams) {
		t.Errorf("RTP streams differ\n%s:\n%s%s:\n%s", aName, listStreams(a.Streams), bName, listStreams(b.Streams))
	}
}

func listStreams(s []oracleStream) string {
	var b strings.Builder
	for _, x := range s {
		fmt.Fprintf(&b, "  %s\n", x)
	}
	return b.String()
}
