package scenario

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Virtual time. In fast mode the hosts' timers do not wait: the network
// runs as a discrete-event simulation whose clock jumps to the next timer
// once every datagram in flight has been received and handled. Datagrams
// still travel over real sockets; the clock only decides the timestamps.
const (
	// wireDelay is the virtual time a datagram takes from send to receipt:
	// a loopback hop plus the receiver's scheduling, as on an idle host.
	wireDelay = 60 * time.Microsecond
	// stampStep keeps the timestamps of a capture strictly increasing.
	stampStep = time.Microsecond
	// stallTimeout is how long fast mode waits for a datagram the kernel
	// dropped before it gives it up as lost.
	stallTimeout = 2 * time.Second
	// readBuffer is the largest datagram a socket takes.
	readBuffer = 65535
	// eventQueue bounds the datagrams waiting for the loop.
	eventQueue = 4096
)

// errRefused is what send returns for a destination outside loopback that
// the user did not allow.
var errRefused = errors.New("destination outside 127.0.0.0/8 refused")

// network is the hosts' shared world: their sockets, their timers, the
// clock, and the record of every datagram, which becomes the capture. All
// host code runs on the goroutine of run; sockets' readers only queue.
type network struct {
	fast  bool
	vnow  time.Time // virtual clock (fast mode)
	last  time.Time // latest timestamp given to a datagram
	allow netip.AddrPort
	// allowAny accepts any port of allow's address.
	allowAny bool

	events chan event
	done   chan struct{}
	wg     sync.WaitGroup

	socks  map[netip.AddrPort]*socket
	timers timerHeap
	seq    uint64
	flight []*flight

	records []record
	refused int
	lost    int
	stopped bool
	logf    func(format string, args ...any)
}

// event is a datagram a socket received, or a real timer that fired.
type event struct {
	sock  *socket
	src   netip.AddrPort
	data  []byte
	timer *timer
}

// flight is a datagram sent to one of the network's own sockets and not
// yet handled (fast mode), kept in send order so that receipt order, and
// so the run, does not depend on the kernel's scheduling.
type flight struct {
	sock    *socket
	src     netip.AddrPort
	data    []byte
	sent    time.Time
	arrived bool
}

// record is one datagram of the capture.
type record struct {
	t        time.Time
	src, dst netip.AddrPort
	data     []byte
}

// socket is one bound UDP port of a host.
type socket struct {
	n    *network
	addr netip.AddrPort
	conn *net.UDPConn
	recv func(src netip.AddrPort, data []byte)
}

func newNetwork(fast bool, start time.Time, logf func(string, ...any)) *network {
	return &network{
		fast: fast, vnow: start,
		events: make(chan event, eventQueue),
		done:   make(chan struct{}),
		socks:  map[netip.AddrPort]*socket{},
		logf:   logf,
	}
}

// bind opens a UDP socket on a loopback address; recv handles what it
// receives.
func (n *network) bind(addr netip.AddrPort, recv func(src netip.AddrPort, data []byte)) (*socket, error) {
	if !addr.Addr().IsLoopback() {
		return nil, fmt.Errorf("bind %s: not a loopback address", addr)
	}
	if _, dup := n.socks[addr]; dup {
		return nil, fmt.Errorf("bind %s: already bound by another host of the scenario", addr)
	}
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	s := &socket{n: n, addr: addr, conn: conn, recv: recv}
	n.socks[addr] = s
	n.wg.Add(1)
	go n.read(s)
	return s, nil
}

func (n *network) read(s *socket) {
	defer n.wg.Done()
	buf := make([]byte, readBuffer)
	for {
		k, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		ev := event{sock: s, src: netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), data: bytes.Clone(buf[:k])}
		select {
		case n.events <- ev:
		case <-n.done:
			return
		}
	}
}

// close shuts every socket and waits for the readers.
func (n *network) close() {
	close(n.done)
	for _, s := range n.socks {
		s.conn.Close()
	}
	n.wg.Wait()
}

// now is the network's clock: virtual in fast mode, the wall clock else.
func (n *network) now() time.Time {
	if n.fast {
		return n.vnow
	}
	return time.Now()
}

// stamp returns the timestamp of a datagram sent or received now.
func (n *network) stamp() time.Time {
	t := n.now()
	if !t.After(n.last) {
		t = n.last.Add(stampStep)
	}
	n.last = t
	if n.fast {
		n.vnow = t
	}
	return t
}

// allowed reports whether a datagram may go to dst: loopback always,
// elsewhere only the one target the user allowed.
func (n *network) allowed(dst netip.AddrPort) bool {
	a := dst.Addr().Unmap()
	if a.Is4() && a.IsLoopback() {
		return true
	}
	if !n.allow.IsValid() || a != n.allow.Addr() {
		return false
	}
	return n.allowAny || dst.Port() == n.allow.Port()
}

// send sends one datagram from a socket and records it. A destination
// outside loopback that was not allowed is refused and counted, not sent:
// what a real network would do with a packet to an unreachable private
// address, seen from the capture.
func (s *socket) send(dst netip.AddrPort, data []byte) error {
	n := s.n
	if !n.allowed(dst) {
		n.refused++
		return fmt.Errorf("send %s -> %s: %w", s.addr, dst, errRefused)
	}
	t := n.stamp()
	n.records = append(n.records, record{t: t, src: s.addr, dst: dst, data: bytes.Clone(data)})
	if _, err := s.conn.WriteToUDPAddrPort(data, dst); err != nil {
		return fmt.Errorf("send %s -> %s: %w", s.addr, dst, err)
	}
	if to, ok := n.socks[dst]; ok && n.fast {
		n.flight = append(n.flight, &flight{sock: to, src: s.addr, data: data, sent: t})
	}
	return nil
}

// timer is a host's timer; stop cancels it.
type timer struct {
	at   time.Time
	seq  uint64
	fn   func()
	dead bool
	real *time.Timer
}

func (t *timer) stop() {
	if t == nil {
		return
	}
	t.dead = true
	if t.real != nil {
		t.real.Stop()
	}
}

// after runs fn on the loop once d has passed on the network's clock.
func (n *network) after(d time.Duration, fn func()) *timer {
	return n.at(n.now().Add(max(d, 0)), fn)
}

// at runs fn on the loop at time t of the network's clock.
func (n *network) at(t time.Time, fn func()) *timer {
	n.seq++
	tm := &timer{at: t, seq: n.seq, fn: fn}
	if n.fast {
		heap.Push(&n.timers, tm)
		return tm
	}
	tm.real = time.AfterFunc(time.Until(t), func() {
		select {
		case n.events <- event{timer: tm}:
		case <-n.done:
		}
	})
	return tm
}

// stop ends run after the current event.
func (n *network) stop() { n.stopped = true }

// run is the loop: it hands each received datagram to its socket's
// handler and fires timers, until stop, the context's end, or (fast mode)
// nothing is left to happen.
func (n *network) run(ctx context.Context) error {
	if n.fast {
		return n.runFast(ctx)
	}
	for !n.stopped {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-n.events:
			n.handle(ev)
		}
	}
	return nil
}

func (n *network) handle(ev event) {
	if ev.timer != nil {
		if !ev.timer.dead {
			ev.timer.dead = true
			ev.timer.fn()
		}
		return
	}
	if _, ours := n.socks[ev.src]; !ours {
		n.records = append(n.records, record{t: n.stamp(), src: ev.src, dst: ev.sock.addr, data: ev.data})
	}
	ev.sock.recv(ev.src, ev.data)
}

func (n *network) runFast(ctx context.Context) error {
	stall := time.NewTimer(stallTimeout)
	defer stall.Stop()
	for !n.stopped {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(n.flight) > 0 {
			if !n.flight[0].arrived {
				stall.Reset(stallTimeout)
				select {
				case ev := <-n.events:
					n.arrive(ev)
				case <-stall.C:
					n.lost++
					n.logf("a datagram %s -> %s was lost in the kernel", n.flight[0].src, n.flight[0].sock.addr)
					n.flight = n.flight[1:]
				case <-ctx.Done():
					return ctx.Err()
				}
				continue
			}
			f := n.flight[0]
			n.flight[0] = nil
			n.flight = n.flight[1:]
			if at := f.sent.Add(wireDelay); at.After(n.vnow) {
				n.vnow = at
			}
			f.sock.recv(f.src, f.data)
			continue
		}
		select {
		case ev := <-n.events:
			n.arrive(ev)
			continue
		default:
		}
		t := n.nextTimer()
		if t == nil {
			return nil
		}
		if t.at.After(n.vnow) {
			n.vnow = t.at
		}
		t.dead = true
		t.fn()
	}
	return nil
}

// arrive marks the datagram in flight that a received one is; a datagram
// the network did not send (another program's) is handled at once.
func (n *network) arrive(ev event) {
	for _, f := range n.flight {
		if !f.arrived && f.sock == ev.sock && f.src == ev.src && bytes.Equal(f.data, ev.data) {
			f.arrived, f.data = true, ev.data
			return
		}
	}
	n.handle(ev)
}

func (n *network) nextTimer() *timer {
	for n.timers.Len() > 0 {
		t := heap.Pop(&n.timers).(*timer)
		if !t.dead {
			return t
		}
	}
	return nil
}

// timerHeap orders timers by time, then by creation.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(*timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}
