// Package gencap writes synthetic VoIP captures for benchmarks and tests:
// many concurrent SIP calls over UDP (INVITE, 100, 180, 200, ACK, then BYE
// and its 200) with G.711 RTP in both directions, 20 ms packets of 160
// bytes, RTCP sender reports every 5 seconds, optional packet loss, and
// optionally each call as two legs through an anchoring B2BUA.
//
// Generation streams: packets are produced in time order from a heap of
// per-call sources, so a capture of any length costs memory in proportion
// to the concurrent calls only. The same Config and Seed give the same
// bytes.
package gencap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// Config describes a generated capture. Zero values take the defaults.
type Config struct {
	// Calls is how many calls run at once (default 1). Each runs in a
	// slot of its own addresses; with Hold set, a slot starts its next
	// call a moment after the previous one ended.
	Calls int
	// Duration is the length of the capture (default 60 s).
	Duration time.Duration
	// Hold is how long a call talks once answered, varied by ±50%
	// between calls. Zero keeps every call up until just before the
	// capture ends.
	Hold time.Duration
	// Loss is the percentage of RTP packets lost before the capture
	// point: their sequence numbers are skipped.
	Loss float64
	// Jitter is the largest delay added to an RTP packet's arrival
	// (default 1 ms; negative for none). Below 20 ms packets stay in
	// order.
	Jitter time.Duration
	// B2BUA makes each call two legs (two Call-IDs) through a PBX that
	// anchors the media: each phone sends its RTP to the PBX.
	B2BUA bool
	// PBXOutside, with B2BUA, makes the PBX place its outgoing legs, and
	// send their RTP, from a second address, as a PBX or SBC with a LAN
	// and a WAN side does.
	PBXOutside bool
	// OneCallee sends every call to one callee, which answers them all
	// from the same SIP and RTP address, as a media server, an IVR or
	// SIPp's uas does: each answer announces the address the previous
	// call announced.
	OneCallee bool
	// Seed makes a different but equally reproducible capture.
	Seed uint64
	// Start is the time of the capture's first moment (default
	// 2024-01-02 03:04:05 UTC).
	Start time.Time
}

func (c Config) withDefaults() Config {
	if c.Calls <= 0 {
		c.Calls = 1
	}
	if c.Duration <= 0 {
		c.Duration = time.Minute
	}
	if c.Jitter == 0 {
		c.Jitter = time.Millisecond
	}
	if c.Jitter < 0 {
		c.Jitter = 0
	}
	c.Loss = min(max(c.Loss, 0), 100)
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	return c
}

// Limits keep a slot's addresses distinct and its calls inside the
// capture.
const (
	// MaxCalls is the most concurrent calls a Config may ask for: each
	// slot owns one address in 10.1.0.0/16 and one in 10.2.0.0/16.
	MaxCalls = 65535
	// setupRoom is the time a call needs before the end of the capture
	// to be started at all: its longest ring plus a second of talk.
	setupRoom = 4 * time.Second
)

// Stats counts what was generated.
type Stats struct {
	Packets int   // frames written
	Bytes   int64 // frame bytes, without the pcap record headers
	SIP     int   // SIP messages
	RTP     int   // RTP packets written
	Lost    int   // RTP packets left out by Config.Loss
	RTCP    int   // RTCP datagrams
	Calls   int   // calls started, B2BUA legs counting once
	Legs    int   // SIP dialogs
}

// Emit receives each frame (Ethernet, IPv4, UDP) in time order. The
// frame is reused after Emit returns.
type Emit func(t time.Time, frame []byte) error

// Generate produces the capture that cfg describes, frame by frame.
func Generate(cfg Config, emit Emit) (Stats, error) {
	cfg = cfg.withDefaults()
	if cfg.Calls > MaxCalls {
		return Stats{}, fmt.Errorf("gencap: %d concurrent calls, at most %d", cfg.Calls, MaxCalls)
	}
	g := &generator{cfg: cfg, emit: emit, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		frame: make([]byte, 0, 2048), pay: make([]byte, 0, 256)}
	g.noise = make([]byte, noiseLen+payloadLen)
	for i := range g.noise {
		g.noise[i] = byte(g.rng.Uint32())
	}
	ramp := min(cfg.Duration/10, time.Second)
	for s := range cfg.Calls {
		at := ramp * time.Duration(s) / time.Duration(cfg.Calls)
		g.startCall(&slot{n: s}, at)
	}
	for len(g.q) > 0 {
		if err := g.q[0].next(g); err != nil {
			return g.stats, err
		}
	}
	return g.stats, nil
}

// Write writes the capture as a pcap stream to w.
func Write(w io.Writer, cfg Config) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	pw, err := capture.NewWriter(bw, capture.LinkEthernet, 0)
	if err != nil {
		return Stats{}, err
	}
	st, err := Generate(cfg, func(t time.Time, f []byte) error { return pw.WritePacket(t, f, 0) })
	if err != nil {
		return st, err
	}
	return st, bw.Flush()
}

// WriteFile writes the capture as a pcap file, created or truncated.
func WriteFile(name string, cfg Config) (Stats, error) {
	f, err := os.Create(name)
	if err != nil {
		return Stats{}, err
	}
	st, err := Write(f, cfg)
	return st, errors.Join(err, f.Close())
}

// WriteRotated writes the capture as tcpdump -w base -C does: files base,
// base1, base2 ... of about fileSize bytes each.
func WriteRotated(base string, fileSize int64, cfg Config) (Stats, error) {
	rw, err := capture.NewRotatingWriter(base, fileSize, 0, capture.LinkEthernet)
	if err != nil {
		return Stats{}, err
	}
	st, err := Generate(cfg, func(t time.Time, f []byte) error { return rw.WritePacket(t, f, 0) })
	return st, errors.Join(err, rw.Close())
}

const (
	ptime      = 20 * time.Millisecond
	payloadLen = 160 // 20 ms of G.711 at 8000 Hz
	noiseLen   = 1 << 16
	rtcpEvery  = 5 * time.Second
	sipPort    = 5060
	// sharedMediaPort is the RTP port of Config.OneCallee's callee.
	sharedMediaPort = 6000
)

type generator struct {
	cfg   Config
	emit  Emit
	rng   *rand.Rand
	q     queue
	seq   uint64 // orders sources due at the same time
	noise []byte // audio payloads are windows of it
	frame []byte
	pay   []byte // the payload being built
	ipID  uint16
	stats Stats
}

// slot is one line of concurrent calls: its phones keep their addresses
// from call to call.
type slot struct {
	n     int
	calls int
}

func (s *slot) caller() netip.Addr { return hostAddr(1, s.n) }

// callee is the address a slot's calls go to.
func (g *generator) callee(s *slot) netip.Addr {
	if g.cfg.OneCallee {
		return hostAddr(2, 0)
	}
	return hostAddr(2, s.n)
}

// calleeMedia is where the callee of a slot's call receives RTP, given
// the port the call was given.
func (g *generator) calleeMedia(s *slot, port uint16) netip.AddrPort {
	if g.cfg.OneCallee {
		port = sharedMediaPort
	}
	return netip.AddrPortFrom(g.callee(s), port)
}

// hostAddr is host n+1 of 10.net.0.0/16, skipping the network address.
func hostAddr(net byte, n int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, net, byte((n + 1) >> 8), byte(n + 1)})
}

// pbx is the B2BUA's address; pbxOutside its second one (Config.PBXOutside).
var (
	pbx        = netip.AddrFrom4([4]byte{10, 0, 0, 1})
	pbxOutside = netip.AddrFrom4([4]byte{10, 3, 0, 1})
)

// source is something that sends packets at planned times: the SIP
// messages of one call, or one RTP stream.
type source interface {
	// due is the time of the next packet, after the capture's start.
	due() time.Duration
	order() uint64
	// next sends the packet due and reschedules or removes the source.
	next(g *generator) error
}

// queue is a binary min-heap of sources by due time, then by order.
type queue []source

func less(a, b source) bool {
	if a.due() != b.due() {
		return a.due() < b.due()
	}
	return a.order() < b.order()
}

func (g *generator) push(s source) {
	q := append(g.q, s)
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !less(q[i], q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
	g.q = q
}

// fix restores the heap after the head's due time moved later.
func (g *generator) fix() {
	q := g.q
	for i := 0; ; {
		least := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(q) && less(q[c], q[least]) {
				least = c
			}
		}
		if least == i {
			return
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
}

func (g *generator) pop() {
	last := len(g.q) - 1
	g.q[0] = g.q[last]
	g.q[last] = nil
	g.q = g.q[:last]
	g.fix()
}

func (g *generator) nextOrder() uint64 {
	g.seq++
	return g.seq
}

// between returns a random duration in [lo, hi).
func (g *generator) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

// send writes one UDP datagram from src to dst at offset at.
func (g *generator) send(at time.Duration, src, dst netip.AddrPort, dscp byte, payload []byte) error {
	g.frame = AppendUDPFrame(g.frame[:0], src, dst, dscp, g.ipID, payload)
	g.ipID++
	g.stats.Packets++
	g.stats.Bytes += int64(len(g.frame))
	return g.emit(g.cfg.Start.Add(at), g.frame)
}

// DSCP code points, shifted into the TOS byte: EF for voice, CS3 for
// signalling (RFC 4594 §4).
const (
	tosEF  = 46 << 2
	tosCS3 = 24 << 2
)

// AppendUDPFrame appends an Ethernet/IPv4/UDP frame carrying payload, with
// the IPv4 header checksum (RFC 791) and the UDP checksum over the
// pseudo-header (RFC 768) filled in. The MAC addresses are locally
// administered ones made from the IPv4 addresses. The generator and the
// active mode both write their captures with it.
func AppendUDPFrame(b []byte, src, dst netip.AddrPort, tos byte, id uint16, payload []byte) []byte {
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	b = append(b, 0x02, 0, d4[0], d4[1], d4[2], d4[3]) // locally administered MACs
	b = append(b, 0x02, 0, s4[0], s4[1], s4[2], s4[3])
	b = append(b, 0x08, 0x00)
	ip := len(b)
	udpLen := 8 + len(payload)
	b = append(b, 0x45, tos)
	b = binary.BigEndian.AppendUint16(b, uint16(20+udpLen))
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0x40, 0, 64, 17, 0, 0) // don't fragment, TTL, UDP, checksum
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	binary.BigEndian.PutUint16(b[ip+10:], ^fold(sum(b[ip:ip+20], 0)))
	u := len(b)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0)
	b = append(b, payload...)
	// The UDP checksum covers a pseudo-header (RFC 768).
	c := sum(s4[:], 0)
	c = sum(d4[:], c)
	c += 17 + uint32(udpLen)
	c = sum(b[u:], c)
	ck := ^fold(c)
	if ck == 0 {
		ck = 0xffff
	}
	binary.BigEndian.PutUint16(b[u+6:], ck)
	return b
}

// sum adds b to the one's complement sum c, 16 bits at a time.
func sum(b []byte, c uint32) uint32 {
	for len(b) >= 2 {
		c += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		c += uint32(b[0]) << 8
	}
	return c
}

func fold(c uint32) uint16 {
	for c>>16 != 0 {
		c = c&0xffff + c>>16
	}
	return uint16(c)
}
