package interop

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long a process has to exit after SIGTERM before it is
// killed.
const stopGrace = 3 * time.Second

// proc is a process the test started. It runs in its own process group so
// that stopping it also stops the children it forked (Kamailio's workers),
// and it is stopped by its PID in t.Cleanup whatever the test's outcome.
// Its PID is that of timeout(1) wrapping the program, in the program's
// network namespace, so /proc/PID/net shows the program's sockets.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // stdout and stderr
	// diag are more files worth showing when the process fails.
	diag []string
	done chan struct{}
	err  error // set when done is closed
}

// processLimit is how long any process may live: coreutils' timeout
// ends it even if the test binary itself dies (go test's -timeout) before
// its cleanups run. It outlasts the scenario, whose cleanups stop the
// processes first.
const processLimit = scenarioTimeout + 30*time.Second

// start runs argv in the run's directory, inside network namespace ns when
// ns is not empty, under timeout(1). The process group it leads holds
// everything it forks.
func (r *run) start(name, ns string, argv ...string) *proc {
	r.t.Helper()
	argv = append([]string{"timeout", "--kill-after=5s", fmt.Sprintf("%ds", int(processLimit/time.Second))}, argv...)
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	p := &proc{name: name, log: filepath.Join(r.dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		r.t.Fatal(err)
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = r.dir
	p.cmd.Stdout = out
	p.cmd.Stderr = out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		out.Close()
		r.t.Fatalf("start %s: %v", name, err)
	}
	r.t.Logf("started %s (pid %d): %s", name, p.cmd.Process.Pid, strings.Join(argv, " "))
	go func() {
		p.err = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	r.t.Cleanup(func() { p.stop(r.t) })
	return p
}

// running reports whether the process has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to the process group of p, which p leads.
func (p *proc) signal(sig syscall.Signal) {
	if p.running() {
		// ESRCH only means it exited meanwhile.
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// stop ends p with SIGTERM, then SIGKILL after stopGrace.
func (p *proc) stop(t testing.TB) {
	if !p.running() {
		return
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopGrace):
	}
	t.Logf("%s (pid %d) ignored SIGTERM; killing it", p.name, p.cmd.Process.Pid)
	p.signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		t.Errorf("%s (pid %d) survived SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// wait waits for p to exit on its own and fails the test unless it exited
// with status 0, showing the end of its output.
func (p *proc) wait(ctx context.Context, t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
	case <-ctx.Done():
		t.Fatalf("%s (pid %d) still running at the deadline\n%s", p.name, p.cmd.Process.Pid, p.tail())
	}
	if p.err != nil {
		t.Fatalf("%s: %v\n%s", p.name, p.err, p.tail())
	}
}

// tail returns the last lines of p's output, for failure messages.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	const max = 4096
	if len(b) > max {
		b = b[len(b)-max:]
	}
	out := string(b)
	for _, f := range p.diag {
		if d, err := os.ReadFile(f); err == nil && len(d) > 0 {
			if len(d) > max {
				d = d[:max]
			}
			out += "\n--- " + filepath.Base(f) + "\n" + string(d)
		}
	}
	return out
}

// waitBound waits until p has a socket bound to addr (UDP) or listening on
// it (TCP), read from /proc/PID/net, which shows the network namespace p
// runs in. Peers are started only once the one they talk to is ready.
func waitBound(ctx context.Context, t testing.TB, p *proc, network string, addr netip.AddrPort) {
	t.Helper()
	want := procNetAddr(addr)
	file := filepath.Join("/proc", fmt.Sprint(p.cmd.Process.Pid), "net", network)
	for {
		if bound(file, network, want) {
			return
		}
		if !p.running() {
			t.Fatalf("%s exited before binding %s %s: %v\n%s", p.name, network, addr, p.err, p.tail())
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not bind %s %s\n%s", p.name, network, addr, p.tail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// procNetAddr formats an IPv4 address and port the way /proc/net/udp and
// /proc/net/tcp print them: the address as a native-endian hex word.
func procNetAddr(a netip.AddrPort) string {
	b := a.Addr().As4()
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(b[:]), a.Port())
}

// bound reports whether the /proc/net table file lists want as a local
// address, in the listening state for TCP.
func bound(file, network, want string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[1] != want {
			continue
		}
		if network == "udp" || fields[3] == "0A" { // TCP_LISTEN
			return true
		}
	}
	return false
}
