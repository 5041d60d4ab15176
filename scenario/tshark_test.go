package scenario

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tsharkStreamLine is one line of `tshark -q -z rtp,streams`: start, end,
// source address and port, destination address and port, SSRC, payload
// names, packets, lost, then the delta and jitter figures.
var tsharkStreamLine = regexp.MustCompile(`^\s*\S+\s+\S+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+(.*?)\s+(\d+)\s+-?\d+ \(`)

func tshark(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestTsharkReadsCaptures: tshark opens every catalogue capture with
// valid IPv4 and UDP checksums, and counts the SIP messages and the RTP
// streams (with their packets) that sipscope reports.
func TestTsharkReadsCaptures(t *testing.T) {
	if !haveTshark() {
		t.Skip("tshark is not installed")
	}
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			res, o := catalogued(t, s.Name)
			path := filepath.Join(t.TempDir(), s.Name+".pcap")
			if err := os.WriteFile(path, res.Capture, 0o644); err != nil {
				t.Fatal(err)
			}
			out := tshark(t, "-n", "-r", path, "-o", "rtp.heuristic_rtp:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
				"-T", "fields", "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "sip.CSeq.method", "-z", "rtp,streams")
			frames, sip := 0, 0
			theirs := map[string]int{}
			for _, line := range strings.Split(out, "\n") {
				if m := tsharkStreamLine.FindStringSubmatch(line); m != nil {
					ssrc, _ := strconv.ParseUint(m[5], 16, 32)
					n, _ := strconv.Atoi(m[7])
					theirs[streamKey(addrPort(t, m[1], m[2]), addrPort(t, m[3], m[4]), uint32(ssrc))] = n
					continue
				}
				f := strings.Split(line, "\t")
				if len(f) != 3 {
					continue
				}
				frames++
				if f[0] != "1" || f[1] != "1" {
					t.Fatalf("frame %d: checksum status %q and %q, want good IPv4 and UDP checksums", frames, f[0], f[1])
				}
				if f[2] != "" {
					sip++
				}
			}
			if frames != res.Packets {
				t.Errorf("tshark read %d packets, the run recorded %d", frames, res.Packets)
			}
			if got := o.Report.Summary.SIPMessages; got != sip {
				t.Errorf("sipscope counts %d SIP messages, tshark %d", got, sip)
			}
			ours := map[string]int{}
			for _, c := range o.Report.Calls {
				for _, st := range c.Streams {
					ours[streamKey(st.Src, st.Dst, st.SSRC)] += st.Packets
				}
			}
			for _, st := range o.Report.Streams {
				ours[streamKey(st.Src, st.Dst, st.SSRC)] += st.Packets
			}
			if len(theirs) == 0 {
				t.Fatal("tshark found no RTP stream")
			}
			for k, n := range theirs {
				if ours[k] != n {
					t.Errorf("stream %s: tshark %d packets, sipscope %d", k, n, ours[k])
				}
			}
			for k, n := range ours {
				if _, ok := theirs[k]; !ok {
					t.Errorf("stream %s (%d packets): sipscope only", k, n)
				}
			}
			t.Logf("%d frames, %d SIP messages, %d RTP streams agree", frames, sip, len(theirs))
		})
	}
}

func streamKey(src, dst netip.AddrPort, ssrc uint32) string {
	return fmt.Sprintf("%s -> %s 0x%08x", src, dst, ssrc)
}

func addrPort(t *testing.T, ip, port string) netip.AddrPort {
	t.Helper()
	a, err := netip.ParseAddr(ip)
	p, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil {
		t.Fatalf("tshark address %s port %s", ip, port)
	}
	return netip.AddrPortFrom(a, uint16(p))
}
