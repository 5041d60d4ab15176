package scenario

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Tests run scenarios in their own /24s of loopback, so that they run in
// parallel with each other and with other packages' tests: 127.201.N for
// the catalogue, 127.202.N for generated configurations, 127.203.N for
// real-time runs.
func subnet(group, n int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{127, byte(group), byte(n), 0}), 24)
}

// fixedStart makes fast runs' captures comparable byte for byte.
var fixedStart = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// runFast runs a scenario relocated to a subnet on virtual time.
func runFast(t testing.TB, s *Scenario, where netip.Prefix, seed uint64) *Result {
	t.Helper()
	moved, err := s.Relocate(where)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, moved, RunOptions{Fast: true, Seed: seed, Start: fixedStart})
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return res
}

// analyzed runs a scenario and analyzes its capture.
func analyzed(t testing.TB, s *Scenario, where netip.Prefix, seed uint64) (*Result, *Outcome) {
	t.Helper()
	res := runFast(t, s, where, seed)
	o, err := Analyze(res.Scenario, res.Capture)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return res, o
}

var catalogRuns struct {
	sync.Mutex
	m map[string]*catalogRun
}

type catalogRun struct {
	once sync.Once
	res  *Result
	out  *Outcome
}

// catalogued runs a built-in scenario once per test binary (several tests
// look at the same run), in its own subnet.
func catalogued(t testing.TB, name string) (*Result, *Outcome) {
	t.Helper()
	catalogRuns.Lock()
	if catalogRuns.m == nil {
		catalogRuns.m = map[string]*catalogRun{}
	}
	r := catalogRuns.m[name]
	if r == nil {
		r = &catalogRun{}
		catalogRuns.m[name] = r
	}
	catalogRuns.Unlock()
	r.once.Do(func() {
		s, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		r.res, r.out = analyzed(t, s, subnet(201, catalogIndex(name)), 1)
	})
	if r.res == nil {
		t.Fatalf("%s: an earlier run failed", name)
	}
	return r.res, r.out
}

func catalogIndex(name string) int {
	for i, s := range List() {
		if s.Name == name {
			return i + 1
		}
	}
	panic(fmt.Sprintf("no built-in scenario %s", name))
}

func haveTshark() bool {
	_, err := exec.LookPath("tshark")
	return err == nil
}
