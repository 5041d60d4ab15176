package hep

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipscope/sipscope/decode"
)

// DefaultSendQueue is the default of SenderOptions.Queue.
const DefaultSendQueue = 4096

// SenderOptions configure a Sender.
type SenderOptions struct {
	// NodeID is the capture agent ID (chunk 0x000c), which HOMER shows as
	// the node that captured a message.
	NodeID uint32
	// Password is sent as the authentication key (chunk 0x000e) when set;
	// collectors that require one drop packets without it.
	Password string
	// Queue is how many packets may wait to be sent (default
	// DefaultSendQueue); a message that finds it full is dropped and
	// counted, so a slow collector never holds up the analysis.
	Queue int
}

// SenderStats counts what a Sender did.
type SenderStats struct {
	Sent uint64 // packets written to the connection
	// Dropped are messages not sent: the queue was full, or the message
	// was too long for one HEP3 packet (64 KiB).
	Dropped uint64
	// Errors are failed writes (the collector refused or the connection
	// broke) and failed reconnections; the packet written is lost.
	Errors uint64
}

// Sender wraps SIP messages into HEPv3 and sends them to one collector
// over UDP or TCP. Over TCP it reconnects when the connection breaks, at
// most once a second, dropping what it cannot send meanwhile.
type Sender struct {
	network, addr string
	opt           SenderOptions

	queue chan []byte
	free  chan []byte
	done  chan struct{} // closed when the writing goroutine has returned
	stop  chan struct{} // closed by Close to end waiting and redialling

	connMu sync.Mutex // guards conn, so Close can break a stuck write
	conn   net.Conn

	// Used by SIP only.
	pkt decode.HEPPacket

	closeOnce             sync.Once
	sent, dropped, failed atomic.Uint64
}

// Dial connects to the collector at addr ("host:port") over network "udp"
// or "tcp". Sending starts at once; over UDP nothing is known of the
// collector until a write fails.
func Dial(network, addr string, opt SenderOptions) (*Sender, error) {
	if network != "udp" && network != "tcp" {
		return nil, fmt.Errorf("hep: network %q: want udp or tcp", network)
	}
	if opt.Queue <= 0 {
		opt.Queue = DefaultSendQueue
	}
	conn, err := net.DialTimeout(network, addr, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("hep: collector %s %s: %w", network, addr, err)
	}
	s := &Sender{
		network: network,
		addr:    addr,
		opt:     opt,
		queue:   make(chan []byte, opt.Queue),
		free:    make(chan []byte, opt.Queue),
		done:    make(chan struct{}),
		stop:    make(chan struct{}),
		conn:    conn,
	}
	s.pkt = decode.HEPPacket{Version: 3, ProtoType: decode.HEPProtoSIP, CaptureID: opt.NodeID}
	if opt.Password != "" {
		s.pkt.AuthKey = []byte(opt.Password)
	}
	go s.run()
	return s, nil
}

const (
	dialTimeout  = 5 * time.Second
	writeTimeout = 5 * time.Second
	redialEvery  = time.Second
	// closeWait bounds how long Close waits for the queue to drain.
	closeWait = 2 * time.Second
)

// IP protocol numbers of the HEP protocol chunk (0x0002).
const (
	ipProtoTCP  = 6
	ipProtoUDP  = 17
	ipProtoSCTP = 132
)

// SIP queues one SIP message for the collector: msg is its text, meta
// where and when it was captured, callID its Call-ID, sent as the
// correlation ID (chunk 0x0011) that ties other HEP records of the call to
// it. It does not block and keeps nothing of its arguments. SIP is meant
// for one goroutine; Stats and Close may run in others.
func (s *Sender) SIP(meta *decode.Meta, callID string, msg []byte) {
	p := &s.pkt
	p.Src, p.Dst, p.Time = meta.Src, meta.Dst, meta.Time
	switch meta.Transport {
	case decode.UDP:
		p.Protocol = ipProtoUDP
	case decode.SCTP:
		p.Protocol = ipProtoSCTP
	default: // TCP, and TLS and WebSocket over it
		p.Protocol = ipProtoTCP
	}
	p.CorrelationID = append(p.CorrelationID[:0], callID...)
	p.Payload = msg
	var buf []byte
	select {
	case buf = <-s.free:
	default:
	}
	buf = decode.AppendHEP3(buf[:0], p)
	p.Payload = nil
	if len(buf) == 0 {
		s.dropped.Add(1)
		s.recycle(buf)
		return
	}
	select {
	case s.queue <- buf:
	default:
		s.dropped.Add(1)
		s.recycle(buf)
	}
}

func (s *Sender) recycle(buf []byte) {
	select {
	case s.free <- buf:
	default:
	}
}

// run writes the queued packets until Close.
func (s *Sender) run() {
	defer close(s.done)
	var lastDial time.Time
	for buf := range s.queue {
		conn := s.current()
		if conn == nil && time.Since(lastDial) >= redialEvery {
			lastDial = time.Now()
			conn = s.redial()
		}
		if conn == nil {
			s.failed.Add(1)
			s.recycle(buf)
			continue
		}
		if s.network == "tcp" {
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		}
		if _, err := conn.Write(buf); err != nil {
			s.failed.Add(1)
			if s.network == "tcp" {
				s.drop(conn)
			}
		} else {
			s.sent.Add(1)
		}
		s.recycle(buf)
	}
	s.connMu.Lock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.connMu.Unlock()
}

func (s *Sender) current() net.Conn {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return s.conn
}

// drop closes a broken connection; the next packet redials.
func (s *Sender) drop(conn net.Conn) {
	conn.Close()
	s.connMu.Lock()
	if s.conn == conn {
		s.conn = nil
	}
	s.connMu.Unlock()
}

func (s *Sender) redial() net.Conn {
	select {
	case <-s.stop:
		return nil
	default:
	}
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.Dial(s.network, s.addr)
	if err != nil {
		s.failed.Add(1)
		return nil
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	select {
	case <-s.stop:
		conn.Close()
		return nil
	default:
	}
	s.conn = conn
	return conn
}

// Stats reports the counters so far.
func (s *Sender) Stats() SenderStats {
	return SenderStats{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Errors: s.failed.Load()}
}

// Close sends what is queued, waiting at most two seconds for a slow
// collector (what is left then is counted in Errors), and closes the
// connection. SIP must not be called during or
// after Close.
func (s *Sender) Close() error {
	s.closeOnce.Do(func() {
		close(s.queue)
		select {
		case <-s.done:
			return
		case <-time.After(closeWait):
		}
		close(s.stop)
		s.connMu.Lock()
		if s.conn != nil {
			s.conn.Close()
		}
		s.connMu.Unlock()
		<-s.done
	})
	return nil
}
