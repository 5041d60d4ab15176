package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"
)

// commandTimeout bounds one ip, nft or sysctl command.
const commandTimeout = 10 * time.Second

// nsSeq keeps namespace names unique within the test process; the PID
// keeps them apart from other runs.
var nsSeq atomic.Int32

// netns creates a network namespace for role, with its loopback up, and
// deletes it when the test ends (after the processes in it are stopped:
// cleanups run last-in first-out). A machine that does not allow
// namespaces skips the test, saying why.
func (r *run) netns(role string) string {
	r.t.Helper()
	name, err := r.tryNetns(role)
	if err != nil {
		r.t.Skipf("cannot create network namespaces here (%v); this scenario needs CAP_SYS_ADMIN", err)
	}
	return name
}

// loopback returns where a loopback scenario runs: in a namespace of its
// own, whose lo carries nothing but the scenario's packets, so that other
// tests flooding the machine's lo can neither fill tcpdump's buffer nor
// take the scenario's ports; or, where namespaces cannot be created, on
// the machine's own lo ("").
func (r *run) loopback() string {
	r.t.Helper()
	name, err := r.tryNetns("lo")
	if err != nil {
		r.t.Logf("cannot create a network namespace (%v); using the machine's loopback", err)
		return ""
	}
	return name
}

func (r *run) tryNetns(role string) (string, error) {
	r.t.Helper()
	name := fmt.Sprintf("sipscope-%d-%d-%s", os.Getpid(), nsSeq.Add(1), role)
	if out, err := r.try("ip", "netns", "add", name); err != nil {
		return "", fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	r.t.Cleanup(func() {
		if out, err := r.try("ip", "netns", "delete", name); err != nil {
			r.t.Errorf("ip netns delete %s: %v: %s", name, err, out)
		}
	})
	r.cmd("ip", "-n", name, "link", "set", "lo", "up")
	return name, nil
}

// veth joins two namespaces with a veth pair, names and addresses (CIDR)
// at each end, and brings both ends up. The pair is created inside the
// namespaces, so nothing appears in the machine's own namespace.
func (r *run) veth(nsA, ifA, addrA, nsB, ifB, addrB string) {
	r.t.Helper()
	r.cmd("ip", "link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	for _, end := range [][3]string{{nsA, ifA, addrA}, {nsB, ifB, addrB}} {
		if end[2] != "" {
			r.cmd("ip", "-n", end[0], "addr", "add", end[2], "dev", end[1])
		}
		r.cmd("ip", "-n", end[0], "link", "set", end[1], "up")
	}
}

// forward turns a namespace into a router.
func (r *run) forward(ns string) {
	r.t.Helper()
	r.cmd("ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
}

// nft loads an nftables ruleset into a namespace.
func (r *run) nft(ns, ruleset string) {
	r.t.Helper()
	r.cmdIn(ruleset, "ip", "netns", "exec", ns, "nft", "-f", "-")
}

// cmd runs a short command to completion and fails the test if it fails.
func (r *run) cmd(argv ...string) string {
	r.t.Helper()
	return r.cmdIn("", argv...)
}

// cmdIn is cmd with stdin.
func (r *run) cmdIn(stdin string, argv ...string) string {
	r.t.Helper()
	out, err := r.runCmd(stdin, argv...)
	if err != nil {
		r.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

// try runs a short command and returns its error instead of failing.
func (r *run) try(argv ...string) (string, error) { return r.runCmd("", argv...) }

func (r *run) runCmd(stdin string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return strings.TrimSpace(out.String()), err
}
