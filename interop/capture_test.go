package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sniffer is a tcpdump writing the scenario's capture.
type sniffer struct {
	p    *proc
	path string
}

// capture starts tcpdump on iface (in namespace ns when not empty) and
// returns once it is listening, so no peer starts before it. Immediate mode
// and a 16 MiB buffer keep the kernel from dropping packets; finish checks
// that it did not.
func (r *run) capture(ns, iface, filter string) *sniffer {
	r.t.Helper()
	s := &sniffer{path: filepath.Join(r.dir, "capture.pcap")}
	// -Z root: tcpdump would otherwise drop to its own user before opening
	// the file in the test's private directory.
	s.p = r.start("tcpdump", ns, "tcpdump", "-i", iface, "-n", "--immediate-mode",
		"-B", "16384", "-s", "0", "-U", "-Z", "root", "-w", s.path, filter)
	for {
		b, _ := os.ReadFile(s.p.log)
		if strings.Contains(string(b), "listening on") {
			return s
		}
		if !s.p.running() {
			r.t.Fatalf("tcpdump exited: %v\n%s", s.p.err, s.p.tail())
		}
		select {
		case <-r.ctx.Done():
			r.t.Fatalf("tcpdump not listening at the deadline\n%s", s.p.tail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// settle is how long the capture runs on after the last peer is done: the
// packets are already on the wire, but tcpdump may still be reading them
// from its buffer.
const settle = 500 * time.Millisecond

var (
	capturedRe = regexp.MustCompile(`(\d+) packets? captured`)
	droppedRe  = regexp.MustCompile(`(\d+) packets? dropped by kernel`)
)

// finish stops tcpdump with SIGINT, requires that the kernel dropped
// nothing, and returns the capture's path and how many packets tcpdump
// says it wrote.
func (s *sniffer) finish(r *run) (path string, captured int) {
	r.t.Helper()
	time.Sleep(settle)
	s.p.signal(syscall.SIGINT)
	select {
	case <-s.p.done:
	case <-r.ctx.Done():
		r.t.Fatalf("tcpdump did not stop\n%s", s.p.tail())
	}
	out := s.p.tail()
	d := droppedRe.FindStringSubmatch(out)
	c := capturedRe.FindStringSubmatch(out)
	if d == nil || c == nil {
		r.t.Fatalf("tcpdump printed no statistics\n%s", out)
	}
	if d[1] != "0" {
		r.t.Fatalf("tcpdump: %s packets dropped by kernel; the capture is incomplete\n%s", d[1], out)
	}
	captured, _ = strconv.Atoi(c[1])
	return s.path, captured
}
