package media

import (
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
)

var update = flag.Bool("update", false, "rewrite the tshark golden files by running tshark")

// tsharkStream is one line of `tshark -q -z rtp,streams` (Wireshark 4.0).
type tsharkStream struct {
	src, dst   netip.AddrPort
	ssrc       uint32
	payload    string
	packets    int
	lost       int
	maxDelta   float64
	meanJitter float64
	maxJitter  float64
}

func (s tsharkStream) key() string {
	return fmt.Sprintf("%s -> %s 0x%08X", s.src, s.dst, s.ssrc)
}

var tsharkLine = regexp.MustCompile(`^\s*\S+\s+\S+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-F]+)\s+(.*?)\s+(\d+)\s+(-?\d+) \(-?[\d.]+%\)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*X?\s*$`)

func parseTshark(t testing.TB, out string) []tsharkStream {
	t.Helper()
	var ss []tsharkStream
	for _, line := range strings.Split(out, "\n") {
		m := tsharkLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ap := func(ip, port string) netip.AddrPort {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				t.Fatalf("tshark line %q: %v", line, err)
			}
			p, _ := strconv.Atoi(port)
			return netip.AddrPortFrom(a, uint16(p))
		}
		num := func(s string) float64 {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("tshark line %q: %v", line, err)
			}
			return f
		}
		ssrc, _ := strconv.ParseUint(m[5], 16, 32)
		pk, _ := strconv.Atoi(m[7])
		lost, _ := strconv.Atoi(m[8])
		ss = append(ss, tsharkStream{
			src: ap(m[1], m[2]), dst: ap(m[3], m[4]), ssrc: uint32(ssrc), payload: m[6],
			packets: pk, lost: lost,
			maxDelta: num(m[11]), meanJitter: num(m[13]), maxJitter: num(m[14]),
		})
	}
	return ss
}

func haveTshark() bool {
	_, err := exec.LookPath("tshark")
	return err == nil
}

func runTshark(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-o", "rtp.heuristic_rtp:TRUE", "-q", "-z", "rtp,streams").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	return string(out)
}

// goldenName maps a capture's path below the corpus (or a generated
// capture's name) to its golden file.
func goldenName(rel string) string {
	return filepath.Join("testdata", "tshark", strings.ReplaceAll(filepath.ToSlash(rel), "/", "__")+".txt")
}

// tsharkGolden returns tshark's rtp,streams output for a capture from its
// golden file, rewriting the file first under -update.
func tsharkGolden(t testing.TB, path, rel string) string {
	t.Helper()
	g := goldenName(rel)
	if *update {
		if !haveTshark() {
			t.Fatal("-update needs tshark")
		}
		if err := os.MkdirAll(filepath.Dir(g), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(g, []byte(runTshark(t, path)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(g)
	if err != nil {
		t.Fatalf("%v (run with -update where tshark is installed)", err)
	}
	return string(b)
}

// difference is a stream that tshark decodes otherwise than we do, with
// the reason, and our own figures when we find the stream.
type difference struct {
	why           string
	packets, lost int // ours; packets 0 when we do not find the stream
}

// tsharkDiffers lists, per capture and stream, where tshark's heuristic
// RTP and we part ways.
var tsharkDiffers = map[string]difference{
	"public/nDPI/stun_dtls_rtp.pcapng 142.250.82.249:3478 -> 192.168.12.182:50221 0x2F696C70": {
		why: "RTP framed in TCP after TURN (RFC 4571); sipscope reads RTP over UDP only",
	},
	"public/nDPI/stun_dtls_rtp.pcapng 142.250.82.249:3478 -> 192.168.12.182:50221 0x321D28BB": {
		why: "RTP framed in TCP after TURN (RFC 4571); sipscope reads RTP over UDP only",
	},
	"public/heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap 10.35.60.100:15580 -> 10.23.1.52:16756 0x0EAF0EAF": {
		why: "the T.38 re-INVITE (frame 3097) was declined with 488, yet tshark's SDP conversations decode the 2010 " +
			"G.711 packets that follow as T.38; they are RTP of this SSRC with unbroken sequence numbers, so we " +
			"count 1838+2010 packets and no loss where tshark sees 6 lost at the cut",
		packets: 3848, lost: 0,
	},
}

// TestAgreesWithTshark replays every corpus capture and checks each
// stream against `tshark -z rtp,streams`: packets and lost exactly, the
// maximum delta and the mean and maximum jitter within 0.1 ms.
func TestAgreesWithTshark(t *testing.T) {
	root, rels := corpustest.Dir(t), corpustest.Captures(t, "")
	for _, rel := range rels {
		t.Run(rel, func(t *testing.T) {
			want := parseTshark(t, tsharkGolden(t, filepath.Join(root, rel), rel))
			tr := NewTracker(Options{})
			replay(t, tr, readCapture(t, filepath.Join(root, rel)))
			compareTshark(t, rel, want, tr.Streams())
		})
	}
}

func compareTshark(t *testing.T, rel string, want []tsharkStream, got []*Stream) {
	t.Helper()
	byKey := map[string]*Stream{}
	for _, s := range got {
		byKey[fmt.Sprintf("%s -> %s 0x%08X", s.Src, s.Dst, s.SSRC)] = s
	}
	seen := map[string]bool{}
	for _, w := range want {
		k := w.key()
		seen[k] = true
		s := byKey[k]
		if d, ok := tsharkDiffers[rel+" "+k]; ok {
			switch {
			case d.packets == 0 && s != nil:
				t.Errorf("%s: expected not to find it (%s), found %d packets", k, d.why, s.Packets)
			case d.packets != 0 && s == nil:
				t.Errorf("%s: not found", k)
			case d.packets != 0 && (s.Packets != d.packets || s.Lost != d.lost):
				t.Errorf("%s: packets %d lost %d, want %d and %d (%s)", k, s.Packets, s.Lost, d.packets, d.lost, d.why)
			}
			continue
		}
		if s == nil {
			t.Errorf("%s (%s, %d packets): tshark finds it, we do not", k, w.payload, w.packets)
			continue
		}
		if s.Packets != w.packets {
			t.Errorf("%s: packets %d, tshark %d", k, s.Packets, w.packets)
		}
		// Our Lost leaves out packets the sender sent to another
		// destination meanwhile (a re-INVITE moved it); tshark counts
		// them as lost. Compare the sequence arithmetic itself, and say
		// when the two differ for that reason.
		if seqLost := s.a.expected() - s.a.total; seqLost != w.lost {
			t.Errorf("%s: lost by sequence %d, tshark %d", k, seqLost, w.lost)
		} else if s.Lost != w.lost && s.Redirected == 0 {
			t.Errorf("%s: lost %d, tshark %d, and nothing was redirected", k, s.Lost, w.lost)
		} else if s.Lost != w.lost {
			t.Logf("%s: lost %d where tshark says %d: %d packets of this SSRC went to another destination meanwhile", k, s.Lost, w.lost, s.Redirected)
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"max delta", s.MaxDeltaMs, w.maxDelta},
			{"max jitter", s.MaxJitterMs, w.maxJitter},
			{"mean jitter", s.MeanJitterMs, w.meanJitter},
		} {
			if math.Abs(c.got-c.want) > 0.1 {
				t.Errorf("%s: %s %.3f ms, tshark %.3f ms", k, c.name, c.got, c.want)
			}
		}
	}
	for k, s := range byKey {
		if seen[k] {
			continue
		}
		if d, ok := tsharkDiffers[rel+" "+k]; ok {
			t.Logf("%s: not in tshark: %s", k, d.why)
			continue
		}
		t.Errorf("%s (%d packets, frames %d-%d): we find it, tshark does not", k, s.Packets, s.FirstFrame, s.LastFrame)
	}
}

// TestTsharkGoldenCurrent re-derives the golden files with the installed
// tshark, so that they cannot silently go stale.
func TestTsharkGoldenCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every capture")
	}
	if !haveTshark() {
		t.Skip("tshark not installed")
	}
	root, rels := corpustest.Dir(t), corpustest.Captures(t, "")
	for _, rel := range rels {
		got := runTshark(t, filepath.Join(root, rel))
		want, err := os.ReadFile(goldenName(rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if got != string(want) {
			t.Errorf("%s: tshark output differs from %s", rel, goldenName(rel))
		}
	}
}

// TestStreamsWithoutSDPAreFlagged checks a call whose SIP ran over TLS:
// its streams are found by their headers alone and say so.
func TestStreamsWithoutSDPAreFlagged(t *testing.T) {
	tr := NewTracker(Options{})
	replay(t, tr, readCorpus(t, "public/voipshark/SIP-over-TLS-RTP-Normal_Call_two_parties.pcap"))
	ss := tr.Streams()
	if len(ss) != 4 {
		t.Fatalf("%d streams, want 4", len(ss))
	}
	for _, s := range ss {
		if !s.Unannounced || s.AnnouncedByFrame != 0 || s.Codec != "PCMU" {
			t.Errorf("%s -> %s: unannounced %v, announced by %d, codec %q", s.Src, s.Dst, s.Unannounced, s.AnnouncedByFrame, s.Codec)
		}
	}
}
