// Package interop tests sipscope against real SIP peers: SIPp, Kamailio and
// rtpengine from their Debian packages place calls on loopback or between
// network namespaces the test creates, tcpdump captures them, and the test
// checks sipscope's report of each capture against what the scenario did
// and against tshark's counts.
//
// The live tests (TestInteropDirect and the others) need root and the
// peers, and skip with the package to install otherwise. Each writes a
// fresh capture; with -update it replaces the one kept in
// ../testdata/interop with its tshark counts (scripts/interop-captures does
// that). TestInteropCaptures checks the kept captures everywhere, tshark
// or not, and TestInteropCLI checks the sipscope command's JSON of them.
package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sipscope/sipscope/analysis"
)

var update = flag.Bool("update", false, "replace the captures in ../testdata/interop with the live tests' ones and their tshark counts")

// captureDir holds the kept captures, relative to this package.
const captureDir = "../testdata/interop"

// maxCapture is the largest capture kept in the repository.
const maxCapture = 1 << 20

// scenarioTimeout bounds one live scenario, from its first process to the
// end of the capture; every wait in it runs against this deadline.
const scenarioTimeout = 60 * time.Second

// run is one live scenario: its private directory, where the peers run and
// the capture is written, and its deadline.
type run struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// newRun skips the test unless it runs as root with the programs it needs.
func newRun(t *testing.T, bins ...string) *run {
	t.Helper()
	need(t, append([]string{"tcpdump"}, bins...)...)
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	t.Cleanup(cancel)
	return &run{t: t, ctx: ctx, dir: t.TempDir()}
}

// need skips the test unless it runs as root with the given programs
// installed, naming the Debian package that provides a missing one. With
// -update the captures are being regenerated on purpose, so a missing
// prerequisite is an error.
func need(t testing.TB, bins ...string) {
	t.Helper()
	skip := t.Skipf
	if *update {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("needs root: SIPp sends RTP from raw sockets, tcpdump captures, namespaces need CAP_SYS_ADMIN")
	}
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			skip("%s not found; install the Debian package %s", b, packages[b])
		}
	}
}

// packages names the Debian package of each program the suite runs.
var packages = map[string]string{
	"sipp":      "sip-tester",
	"kamailio":  "kamailio",
	"rtpengine": "rtpengine-daemon",
	"tcpdump":   "tcpdump",
	"tshark":    "tshark",
	"nft":       "nftables",
	"ip":        "iproute2",
}

// Ports every peer uses on its own address.
const (
	sipPort = 5060
	rtpPort = 6000
	ngPort  = 2223 // rtpengine's control protocol
)

// sippTimeout is SIPp's own global timeout (-timeout with -timeout_error):
// a peer that waits for a message that never comes fails instead of
// hanging. Every scenario completes in well under it. The peers do not
// retransmit over UDP (-nr): nothing is lost on the way, so a late answer
// only means a busy machine, and a retransmission would make the capture
// differ from run to run.
const sippTimeout = "20s"

// peer is one SIPp instance running a scenario file from testdata.
type peer struct {
	name     string // for logs
	ns       string // network namespace, or "" for the machine's own
	scenario string
	addr     netip.Addr
	// remote is where a caller sends its first request (host:port);
	// empty for a callee, which waits for it.
	remote string
	// transport is SIPp's -t: "u1" (UDP, the default) or "t1" (TCP).
	transport string
	args      []string
}

// sipp starts a SIPp peer for one call. A callee is listening when sipp
// returns.
func (r *run) sipp(p peer) *proc {
	r.t.Helper()
	r.copyTestdata(p.scenario)
	if p.transport == "" {
		p.transport = "u1"
	}
	argv := []string{"sipp"}
	if p.remote != "" {
		argv = append(argv, p.remote)
	}
	argv = append(argv, "-sf", p.scenario, "-t", p.transport,
		"-i", p.addr.String(), "-p", fmt.Sprint(sipPort),
		"-mi", p.addr.String(), "-mp", fmt.Sprint(rtpPort),
		"-m", "1", "-timeout", sippTimeout, "-timeout_error", "-nostdin", "-nr",
		"-trace_err", "-error_file", p.name+".errors")
	argv = append(argv, p.args...)
	proc := r.start(p.name, p.ns, argv...)
	proc.diag = append(proc.diag, filepath.Join(r.dir, p.name+".errors"))
	if p.remote == "" {
		network := "udp"
		if p.transport == "t1" {
			network = "tcp"
		}
		waitBound(r.ctx, r.t, proc, network, netip.AddrPortFrom(p.addr, sipPort))
	}
	return proc
}

// kamailio starts Kamailio in the foreground with testdata/kamailio.cfg,
// listening on addr over UDP, with the config's optional parts named in
// defines (passed as -A).
func (r *run) kamailio(ns string, addr netip.Addr, defines ...string) *proc {
	r.t.Helper()
	r.copyTestdata("kamailio.cfg")
	rundir := filepath.Join(r.dir, "kamailio")
	if err := os.Mkdir(rundir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	argv := []string{"kamailio", "-DD", "-E", "-f", "kamailio.cfg",
		"-Y", rundir, "-P", filepath.Join(rundir, "kamailio.pid"), "-w", rundir,
		"-l", "udp:" + netip.AddrPortFrom(addr, sipPort).String(), "-m", "32", "-M", "4"}
	for _, d := range defines {
		argv = append(argv, "-A", d)
	}
	p := r.start("kamailio", ns, argv...)
	waitBound(r.ctx, r.t, p, "udp", netip.AddrPortFrom(addr, sipPort))
	return p
}

// rtpengine starts rtpengine in userspace only (no kernel forwarding
// table), relaying on addr and taking commands on addr:ngPort.
func (r *run) rtpengine(ns string, addr netip.Addr) *proc {
	r.t.Helper()
	ng := netip.AddrPortFrom(addr, ngPort)
	p := r.start("rtpengine", ns, "rtpengine", "--config-file=none", "--foreground", "--log-stderr",
		"--table=-1", "--interface="+addr.String(), "--listen-ng="+ng.String(),
		"--port-min=30000", "--port-max=30099", "--pidfile="+filepath.Join(r.dir, "rtpengine.pid"))
	waitBound(r.ctx, r.t, p, "udp", ng)
	return p
}

// talk writes a talkspurt for a peer to play (play_pcap_audio="file").
func (r *run) talk(file string, s talkspurt) {
	writeTalkspurt(r.t, filepath.Join(r.dir, file), s)
}

// copyTestdata copies a file from testdata into the run's directory, where
// the peers run.
func (r *run) copyTestdata(name string) {
	r.t.Helper()
	dst := filepath.Join(r.dir, name)
	if _, err := os.Stat(dst); err == nil {
		return
	}
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// waitAll waits for the peers to finish their calls and requires each to
// exit with status 0.
func (r *run) waitAll(ps ...*proc) {
	r.t.Helper()
	for _, p := range ps {
		p.wait(r.ctx, r.t)
	}
}

// scenario is one interop scenario's capture and what must be true of
// sipscope's report of it, whichever run produced the capture.
type scenario struct {
	name  string // the capture is captureDir/name.pcap
	check func(t *testing.T, rep *analysis.Report)
}

// analyze runs sipscope's analysis on a capture.
func analyze(t testing.TB, path string) *analysis.Report {
	t.Helper()
	rep, err := analysis.Files([]string{path}, analysis.Options{})
	if err != nil {
		t.Fatalf("analyze %s: %v", path, err)
	}
	return rep
}

// verify checks a fresh capture: tcpdump's count, the scenario's checks and
// tshark's counts, then keeps it with -update.
func (r *run) verify(sc *scenario, s *sniffer) {
	pcap, captured := s.finish(r)
	t := r.t
	t.Helper()
	rep := analyze(t, pcap)
	if rep.Summary.Packets != captured {
		t.Errorf("sipscope read %d packets; tcpdump wrote %d", rep.Summary.Packets, captured)
	}
	sc.check(t, rep)
	var o oracle
	t.Run("tshark", func(t *testing.T) {
		need(t, "tshark")
		o = tsharkCounts(t, pcap)
		agree(t, "sipscope", ourCounts(rep), "tshark", o)
	})
	if t.Failed() {
		t.Logf("the capture's SIP messages, by tshark:\n%s", sipLadder(pcap))
		return
	}
	if *update {
		keep(t, sc, pcap, o)
	}
}

// sipLadder lists a capture's SIP messages one a line, to show in a
// failure what the peers did; the capture itself goes with the test's
// directory.
func sipLadder(pcap string) string {
	if _, err := exec.LookPath("tshark"); err != nil {
		return "(tshark not installed)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), tsharkTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tshark", "-r", pcap, "-n", "-Y", "sip").Output()
	if err != nil {
		return err.Error()
	}
	const max = 8192
	if len(out) > max {
		out = append(out[:max], "..."...)
	}
	return string(out)
}

// keep copies a capture and its tshark counts into captureDir.
func keep(t *testing.T, sc *scenario, pcap string, o oracle) {
	b, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxCapture {
		t.Fatalf("capture is %d bytes; kept captures stay under %d", len(b), maxCapture)
	}
	if err := os.MkdirAll(captureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	j, err := json.MarshalIndent(o, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(captureDir, sc.name)
	if err := os.WriteFile(base+".pcap", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".tshark.json", append(j, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("kept %s.pcap (%d bytes)", base, len(b))
}

// TestInteropCaptures checks sipscope against the kept captures: each
// scenario's checks, and tshark's counts as stored when the capture was
// made (recomputed too when tshark is installed, so stale counts fail).
func TestInteropCaptures(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			pcap := filepath.Join(captureDir, sc.name+".pcap")
			info, err := os.Stat(pcap)
			if errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s is missing: run scripts/interop-captures", pcap)
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Size() > maxCapture {
				t.Errorf("%s is %d bytes; kept captures stay under %d", pcap, info.Size(), maxCapture)
			}
			var stored oracle
			j, err := os.ReadFile(filepath.Join(captureDir, sc.name+".tshark.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(j, &stored); err != nil {
				t.Fatalf("%s.tshark.json: %v", sc.name, err)
			}
			rep := analyze(t, pcap)
			sc.check(t, rep)
			agree(t, "sipscope", ourCounts(rep), "stored tshark", stored)
			t.Run("tshark", func(t *testing.T) {
				if _, err := exec.LookPath("tshark"); err != nil {
					t.Skip("tshark not found; install the Debian package tshark")
				}
				now := tsharkCounts(t, pcap)
				agree(t, "tshark now", now, "stored tshark", stored)
			})
		})
	}
}

// cliTimeout bounds building the sipscope command and running it on the
// kept captures; building can take minutes on a busy machine.
const cliTimeout = 5 * time.Minute

// TestInteropCLI runs the sipscope command on every kept capture, as a
// user would, and applies the scenario's checks to its JSON.
func TestInteropCLI(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "sipscope")
	if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/sipscope/sipscope/cmd/sipscope").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			pcap := filepath.Join(captureDir, sc.name+".pcap")
			cmd := exec.CommandContext(ctx, bin, "analyze", "--json", "--no-progress", pcap)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("sipscope analyze --json %s: %v\n%s", pcap, err, stderr.String())
			}
			var rep analysis.Report
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("sipscope analyze --json %s: %v", pcap, err)
			}
			sc.check(t, &rep)
		})
	}
}
