package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sipscope/sipscope/call"
)

// Timing of a run around its script.
const (
	// lead is the time between the start of the run and the dial.
	lead = 20 * time.Millisecond
	// linger is how long a run goes on after every host is idle, for
	// retransmissions and the last RTP in flight.
	linger = 500 * time.Millisecond
	// overtime is how long after the scripted hang-up a run may last
	// before it is stopped: Timer F and a glare retry or two.
	overtime = 40 * time.Second
	// maxLogLines bounds Result.Log.
	maxLogLines = 10000
)

// RunOptions configure Run.
type RunOptions struct {
	// Fast runs the hosts on virtual time: no timer waits, the capture's
	// timestamps are those a real-time run would have (see the package
	// documentation).
	Fast bool
	// Seed decides every random choice: identifiers, SSRCs, sequence
	// numbers and the RFC 3261 §14.1 retry delays.
	Seed uint64
	// PBX, when valid, is a PBX the user runs: the phones call it instead
	// of the scenario's Asterisk hosts, which are not started.
	PBX netip.AddrPort
	// AllowNonlocal is the one destination outside 127.0.0.0/8 that
	// datagrams may go to (port 0: any port of that address). Without it
	// nothing leaves loopback.
	AllowNonlocal netip.AddrPort
	// Only, when not empty, names the hosts to run; the others run
	// elsewhere (another process or another Run). A run without the
	// caller has no script: it serves until the context ends.
	Only []string
	// Start is the time of the run's first moment in fast mode; zero
	// means now.
	Start time.Time
	// Out receives the capture as a pcap file.
	Out io.Writer
	// Log receives a line for each step the hosts take.
	Log func(string)
}

// Result is what a run produced.
type Result struct {
	Scenario *Scenario
	// Capture is the pcap of every datagram the hosts sent, and of those
	// they received from outside the run.
	Capture []byte
	Packets int
	// Refused counts datagrams not sent because their destination was
	// outside loopback; Lost those the kernel dropped (fast mode).
	Refused, Lost int
	// Decisions are each B2BUA's policy decisions, one per call bridged.
	Decisions []Decision
	Phones    []PhoneStats
	// Views are each host's own call engine's account of its calls.
	Views []HostView
	Log   []string
	// Wall is how long the run took; Span the time the capture covers.
	Wall, Span time.Duration
}

// HostView is the calls one host's engine followed.
type HostView struct {
	Host  string
	Calls []*call.Call
}

// runner holds one run's hosts.
type runner struct {
	s      *Scenario
	opt    RunOptions
	n      *network
	phones []*phone
	pbxs   []*pbx
	hungUp bool
	ending *timer
	log    []string
}

// Run plays the scenario: it binds every host's sockets on its loopback
// address, runs the script, and returns the capture of what was sent.
func Run(ctx context.Context, s *Scenario, opt RunOptions) (*Result, error) {
	if s == nil {
		return nil, errors.New("run: no scenario")
	}
	if opt.Fast && (opt.PBX.IsValid() || len(opt.Only) > 0) {
		return nil, errors.New("run: a real PBX or hosts run elsewhere need real time; leave out fast mode")
	}
	if a := opt.PBX.Addr(); opt.PBX.IsValid() && !a.IsLoopback() && (!opt.AllowNonlocal.IsValid() || opt.AllowNonlocal.Addr() != a) {
		return nil, fmt.Errorf("run: PBX %s is outside 127.0.0.0/8; allow it explicitly as the nonlocal target", opt.PBX)
	}
	for _, name := range opt.Only {
		if s.Host(name) == nil {
			return nil, fmt.Errorf("run: no host %q in scenario %s", name, s.Name)
		}
	}
	start := opt.Start
	if start.IsZero() {
		start = time.Now()
	}
	r := &runner{s: s, opt: opt}
	r.n = newNetwork(opt.Fast, start.Truncate(time.Microsecond), r.logf)
	r.n.allow = opt.AllowNonlocal
	r.n.allowAny = opt.AllowNonlocal.Port() == 0
	wall := time.Now()
	err := r.setup()
	if err == nil {
		r.script()
		err = r.n.run(ctx)
		if err != nil && !r.scripted() && errors.Is(err, ctx.Err()) {
			err = nil
		}
	}
	r.n.close()
	res := r.result()
	res.Wall = time.Since(wall)
	if err != nil {
		return res, err
	}
	if opt.Out != nil {
		if _, werr := opt.Out.Write(res.Capture); werr != nil {
			return res, werr
		}
	}
	return res, nil
}

func (r *runner) runs(h *Host) bool {
	if r.opt.PBX.IsValid() && h.Role == Asterisk {
		return false
	}
	return len(r.opt.Only) == 0 || slices.ContainsFunc(r.opt.Only, func(n string) bool { return strings.EqualFold(n, h.Name) })
}

func (r *runner) setup() error {
	for _, h := range r.s.Hosts {
		if !r.runs(h) {
			continue
		}
		switch h.Role {
		case Phone:
			p, err := newPhone(r, h)
			if err != nil {
				return err
			}
			r.phones = append(r.phones, p)
		case Asterisk:
			p, err := newPBX(r, h)
			if err != nil {
				return err
			}
			r.pbxs = append(r.pbxs, p)
		}
	}
	return nil
}

func (r *runner) phone(name string) *phone {
	for _, p := range r.phones {
		if strings.EqualFold(p.h.Name, name) {
			return p
		}
	}
	return nil
}

// scripted reports whether this run plays the script (it runs the caller).
func (r *runner) scripted() bool { return r.phone(r.s.Script.Caller) != nil }

// script schedules the script's steps from the dial.
func (r *runner) script() {
	sc := r.s.Script
	caller := r.phone(sc.Caller)
	if caller == nil {
		return
	}
	dst := r.opt.PBX
	if !dst.IsValid() {
		dst = r.s.Host(caller.conf.PBX).SIP()
	}
	t0 := r.n.now().Add(lead)
	at := func(d time.Duration, fn func()) { r.n.at(t0.Add(d), fn) }
	at(0, func() { caller.dial(sc.Number, dst) })
	if sc.HoldAt > 0 {
		if p := r.phone(sc.Holder); p != nil {
			at(sc.HoldAt, func() { p.hold(true) })
			if sc.ResumeAt > 0 {
				at(sc.ResumeAt, func() { p.hold(false) })
			}
		}
	}
	if sc.Digits != "" {
		if p := r.phone(sc.Presser); p != nil {
			at(sc.DTMFAt, func() { p.press(sc.Digits) })
		}
	}
	at(sc.HangupAt, func() {
		if p := r.phone(sc.Hanger); p != nil {
			p.hangup()
		}
		r.hungUp = true
		r.changed()
	})
	at(sc.HangupAt+overtime, func() {
		r.logf("stopped %s after the hang-up with calls still up", overtime)
		r.n.stop()
	})
}

// changed is called when a call ends somewhere: once the script has hung
// up and every host is idle, the run ends after a moment.
func (r *runner) changed() {
	if !r.hungUp || r.ending != nil {
		return
	}
	for _, p := range r.phones {
		if !p.idle() {
			return
		}
	}
	for _, p := range r.pbxs {
		if !p.idle() {
			return
		}
	}
	r.ending = r.n.after(linger, r.n.stop)
}

// rng is a host's source of randomness, from the seed and its name.
func (r *runner) rng(host string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(host)))
	return rand.New(rand.NewPCG(r.opt.Seed, h.Sum64()))
}

func (r *runner) logf(format string, args ...any) {
	at := r.n.now()
	line := fmt.Sprintf(format, args...)
	if len(r.log) < maxLogLines {
		r.log = append(r.log, fmt.Sprintf("%s %s", at.Format("15:04:05.000"), line))
	}
	if r.opt.Log != nil {
		r.opt.Log(line)
	}
}

func (r *runner) result() *Result {
	res := &Result{Scenario: r.s, Refused: r.n.refused, Lost: r.n.lost, Log: r.log, Packets: len(r.n.records)}
	for _, p := range r.phones {
		st := p.stats
		if c := p.c; c != nil && c.out != nil && !c.ended {
			st.Sent += int(c.out.packets)
		}
		res.Phones = append(res.Phones, st)
	}
	for _, p := range r.pbxs {
		for _, b := range p.bridges {
			if b.dec.Host != "" {
				res.Decisions = append(res.Decisions, b.dec)
			}
		}
	}
	var eps []*endpoint
	for _, p := range r.phones {
		eps = append(eps, p.ep)
	}
	for _, p := range r.pbxs {
		eps = append(eps, p.ep)
	}
	for _, ep := range eps {
		ep.engine.Finish()
		res.Views = append(res.Views, HostView{Host: ep.host, Calls: ep.views})
	}
	if n := len(r.n.records); n > 0 {
		first, last := r.n.records[0].t, r.n.records[0].t
		for _, rec := range r.n.records {
			first = minTime(first, rec.t)
			last = maxTime(last, rec.t)
		}
		res.Span = last.Sub(first)
	}
	var buf bytes.Buffer
	if err := writeCapture(&buf, r.n.records); err == nil {
		res.Capture = buf.Bytes()
	}
	return res
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
