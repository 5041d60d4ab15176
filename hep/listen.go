package hep

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// Defaults for ListenOptions fields left zero.
const (
	DefaultQueue    = 1024
	DefaultMaxConns = 256
)

// ListenOptions bound what a Listener holds.
type ListenOptions struct {
	// Queue is how many received HEP packets may wait for Next (default
	// DefaultQueue). A UDP packet that finds the queue full is dropped
	// and counted; a TCP connection waits, and TCP flow control slows its
	// sender. With HEP3's 64 KiB limit the queue holds at most Queue×64 KiB.
	Queue int
	// MaxConns caps the TCP connections served at once (default
	// DefaultMaxConns); more are closed on arrival and counted.
	MaxConns int
}

// ListenerStats counts what a Listener has received.
type ListenerStats struct {
	Packets uint64 // HEP packets queued for Next
	// Dropped are UDP HEP packets lost because the queue was full: the
	// reader of the Listener fell behind.
	Dropped uint64
	// NotHEP counts UDP datagrams that are no HEP packet, and TCP
	// connections closed because their bytes were not a stream of HEP3
	// packets.
	NotHEP uint64
	// TooLong counts HEP packets too long to fit an IP datagram of the
	// sender's family (IPv4 caps its payload near 64 KiB).
	TooLong     uint64
	Connections uint64 // TCP connections accepted
	Refused     uint64 // TCP connections closed because MaxConns were open
}

// Listener receives HEP over UDP and TCP on one address and port. It is a
// capture.Source: Next hands out each HEP packet as a raw IP datagram
// (capture.LinkRaw) from the agent's address to the listener's, stamped
// with the time it arrived and numbered from 1 in arrival order. The
// decoder unwraps the HEP inside, so its SIP is analyzed with the
// addresses and time the agent recorded, as HEP read from a capture file
// is, and a pcap written from these packets opens in Wireshark as HEP.
//
// Over UDP each datagram is one packet of HEP version 1, 2 or 3. Over TCP
// the connection carries HEP3 packets back to back, each framed by its
// length field; older versions have no total length and cannot be framed.
type Listener struct {
	opt   ListenOptions
	udp   *net.UDPConn
	tcp   *net.TCPListener
	local netip.AddrPort

	queue chan *item
	free  chan *item
	done  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex // guards conns and closed
	conns  map[net.Conn]struct{}
	closed bool
	once   sync.Once

	// Used by Next only.
	cur   *item
	frame int

	packets, dropped, notHEP, tooLong, accepted, refused atomic.Uint64
}

// item is one received HEP packet behind the IP and UDP header made for
// it, with the buffer that holds them.
type item struct {
	buf  []byte
	data []byte
	time time.Time
}

// Listen binds UDP and TCP to addr ("host:port", a port of 0 picks one,
// the same for both) and starts receiving.
func Listen(addr string, opt ListenOptions) (*Listener, error) {
	if opt.Queue <= 0 {
		opt.Queue = DefaultQueue
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = DefaultMaxConns
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("hep: listen address %q: %w", addr, err)
	}
	udp, tcp, err := bindBoth(ua)
	if err != nil {
		return nil, fmt.Errorf("hep: listening on %q: %w", addr, err)
	}
	l := &Listener{
		opt:   opt,
		udp:   udp,
		tcp:   tcp,
		local: udp.LocalAddr().(*net.UDPAddr).AddrPort(),
		queue: make(chan *item, opt.Queue),
		free:  make(chan *item, opt.Queue+2),
		done:  make(chan struct{}),
		conns: map[net.Conn]struct{}{},
	}
	l.wg.Add(2)
	go l.serveUDP()
	go l.serveTCP()
	return l, nil
}

// bindBoth binds UDP, then TCP to the same port. When the port was left to
// the system, the one UDP got may be taken for TCP; another is tried.
func bindBoth(ua *net.UDPAddr) (*net.UDPConn, *net.TCPListener, error) {
	const tries = 8
	var lastErr error
	for range tries {
		udp, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, nil, err
		}
		got := udp.LocalAddr().(*net.UDPAddr)
		tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ua.IP, Port: got.Port, Zone: ua.Zone})
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		lastErr = err
		if ua.Port != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, nil, lastErr
}

// Addr is the address and port the Listener receives on.
func (l *Listener) Addr() netip.AddrPort { return l.local }

// LinkType is the link type of every packet Next returns.
func (l *Listener) LinkType() capture.LinkType { return capture.LinkRaw }

// Stats reports the counters so far. It may be called from any goroutine.
func (l *Listener) Stats() ListenerStats {
	return ListenerStats{
		Packets:     l.packets.Load(),
		Dropped:     l.dropped.Load(),
		NotHEP:      l.notHEP.Load(),
		TooLong:     l.tooLong.Load(),
		Connections: l.accepted.Load(),
		Refused:     l.refused.Load(),
	}
}

// Next fills p with the next HEP packet, waiting for one. p.Data is valid
// until the next call. After Close it returns the packets already queued,
// then io.EOF. Next must not be called from several goroutines at once.
func (l *Listener) Next(p *capture.Packet) error {
	if l.cur != nil {
		l.putItem(l.cur)
		l.cur = nil
	}
	it, ok := <-l.queue
	if !ok {
		return io.EOF
	}
	l.cur = it
	l.frame++
	*p = capture.Packet{Frame: l.frame, Time: it.time, LinkType: capture.LinkRaw, OrigLen: len(it.data), Data: it.data}
	return nil
}

// Close stops receiving: the sockets and connections are closed and the
// packets already queued remain for Next. It may be called from any
// goroutine, and more than once.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.mu.Lock()
		l.closed = true
		for c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
		l.udp.Close()
		l.tcp.Close()
		l.wg.Wait()
		close(l.queue)
	})
	return nil
}

func (l *Listener) getItem(n int) *item {
	var it *item
	select {
	case it = <-l.free:
	default:
		it = &item{}
	}
	if need := headroom + n; cap(it.buf) < need {
		it.buf = make([]byte, need)
	}
	it.buf = it.buf[:headroom+n]
	return it
}

func (l *Listener) putItem(it *item) {
	it.data = nil
	select {
	case l.free <- it:
	default:
	}
}

// wrap puts the IP and UDP headers in front of the n HEP bytes in it.
func (l *Listener) wrap(it *item, remote, local netip.AddrPort, n int, at time.Time) bool {
	src, dst := sameFamily(remote, local)
	it.data = wrapUDP(it.buf, src, dst, n)
	it.time = at
	if it.data == nil {
		l.tooLong.Add(1)
		return false
	}
	return true
}

func (l *Listener) serveUDP() {
	defer l.wg.Done()
	scratch := make([]byte, maxHEP+1)
	for {
		n, from, err := l.udp.ReadFromUDPAddrPort(scratch)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP errors and the like are reported on the next read;
			// they end nothing.
			continue
		}
		at := time.Now().UTC()
		b := scratch[:n]
		if !looksLikeHEP(b) {
			l.notHEP.Add(1)
			continue
		}
		it := l.getItem(n)
		copy(it.buf[headroom:], b)
		if !l.wrap(it, from, l.local, n, at) {
			l.putItem(it)
			continue
		}
		select {
		case l.queue <- it:
			l.packets.Add(1)
		default:
			l.dropped.Add(1)
			l.putItem(it)
		}
	}
}

// looksLikeHEP is a quick test of a datagram's first bytes: the HEP3 magic
// or the version, length and address family of a HEPv1/v2 header. The
// decoder checks the rest and warns about what it cannot read.
func looksLikeHEP(b []byte) bool {
	if bytes.HasPrefix(b, hep3Magic) {
		return true
	}
	return len(b) >= 16 && (b[0] == 1 || b[0] == 2) && (b[2] == 2 || b[2] == 10)
}

var hep3Magic = []byte("HEP3")

func (l *Listener) serveTCP() {
	defer l.wg.Done()
	for {
		c, err := l.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or a connection reset before it
			// was accepted: wait a little rather than spin.
			select {
			case <-l.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		l.mu.Lock()
		switch {
		case l.closed:
			l.mu.Unlock()
			c.Close()
			return
		case len(l.conns) >= l.opt.MaxConns:
			l.mu.Unlock()
			l.refused.Add(1)
			c.Close()
			continue
		}
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		l.accepted.Add(1)
		l.wg.Add(1)
		go l.serveConn(c)
	}
}

// serveConn reads HEP3 packets from one TCP connection.
func (l *Listener) serveConn(c net.Conn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		c.Close()
	}()
	remote := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	l.readStream(bufio.NewReaderSize(c, 64<<10), remote, local)
}

// readStream queues the HEP3 packets of one TCP stream until it ends,
// breaks, or carries something else: with no way to find the next packet
// boundary after that, the connection is given up.
func (l *Listener) readStream(r io.Reader, remote, local netip.AddrPort) {
	var hdr [6]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[4:]))
		if !bytes.Equal(hdr[:4], hep3Magic) || n < len(hdr) {
			l.notHEP.Add(1)
			return
		}
		it := l.getItem(n)
		copy(it.buf[headroom:], hdr[:])
		if _, err := io.ReadFull(r, it.buf[headroom+len(hdr):headroom+n]); err != nil {
			l.putItem(it)
			return
		}
		if !l.wrap(it, remote, local, n, time.Now().UTC()) {
			l.putItem(it)
			continue
		}
		select {
		case l.queue <- it:
			l.packets.Add(1)
		case <-l.done:
			l.putItem(it)
			return
		}
	}
}
