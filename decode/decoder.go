package decode

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/sip"
)

// Options bound the state a Decoder keeps. The zero value of each field
// selects its default.
type Options struct {
	// MaxFlows caps the TCP stream directions tracked at once (SCTP
	// association directions: the same, at most 4096); the least recently
	// active is evicted, and counted, to make room. Default 65536.
	MaxFlows int
	// FlowIdle is how long, in packet time, a flow may stay silent before
	// its state is dropped. Default 5 minutes.
	FlowIdle time.Duration
	// MaxMessage is the largest SIP message (or WebSocket message, or
	// fragmented SCTP message) accepted from a stream. Default 256 KiB.
	MaxMessage int
	// MaxOutOfOrder caps the bytes one TCP direction may hold waiting for a
	// missing segment before the hole is declared a gap. Default 256 KiB.
	MaxOutOfOrder int
	// MaxBuffered caps the bytes held by all streams together. Default 64 MiB.
	MaxBuffered int
	// MaxFragDatagrams caps the IP datagrams being reassembled at once.
	// Default 1024.
	MaxFragDatagrams int
	// MaxFragBytes caps the bytes held by IP reassembly. Default 8 MiB.
	MaxFragBytes int
	// FragTimeout is how long, in packet time, the fragments of a datagram
	// wait for the rest. Default 30 seconds.
	FragTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxFlows <= 0 {
		o.MaxFlows = 65536
	}
	if o.FlowIdle <= 0 {
		o.FlowIdle = 5 * time.Minute
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 256 << 10
	}
	if o.MaxOutOfOrder <= 0 {
		o.MaxOutOfOrder = 256 << 10
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 64 << 20
	}
	if o.MaxFragDatagrams <= 0 {
		o.MaxFragDatagrams = 1024
	}
	if o.MaxFragBytes <= 0 {
		o.MaxFragBytes = 8 << 20
	}
	if o.FragTimeout <= 0 {
		o.FragTimeout = 30 * time.Second
	}
	return o
}

// maxDepth bounds tunnel nesting (IP in GRE in IP ...), so that a crafted
// packet cannot recurse without end.
const maxDepth = 8

// origin is where a piece of payload came from: the frame that brought it,
// the first frame that contributed to it, its time and its wrappers.
type origin struct {
	frame, first int
	time         time.Time
	carrier      Carrier
}

// Decoder turns frames into SIP messages and datagrams for a Handler. It
// keeps the state that spans packets (IP fragments, TCP streams, SCTP
// fragments) with bounds, and expires it on packet time. A Decoder is not
// safe for concurrent use.
type Decoder struct {
	h   Handler
	opt Options

	stats Stats

	// The frame being decoded.
	cur       origin
	depth     int
	truncated bool
	now       time.Time // latest packet time seen; drives expiry

	meta    Meta
	frags   fragTable
	tcp     tcpTable
	sctp    sctpTable
	hep     HEPPacket
	scratch []byte // unmasked WebSocket payloads

	warnedLink  map[capture.LinkType]bool
	warnedTrunc bool

	// collect gathers the warnings of Flush, to be sorted by frame.
	collect func(capture.Warning)
}

// NewDecoder returns a Decoder that reports to h.
func NewDecoder(h Handler, opt Options) *Decoder {
	d := &Decoder{h: h, opt: opt.withDefaults(), warnedLink: map[capture.LinkType]bool{}}
	d.frags.init()
	d.tcp.init()
	d.sctp.init()
	return d
}

// Stats returns the counters so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Decode decodes one frame. The Handler is called, zero or more times,
// before Decode returns; p.Data is not kept.
func (d *Decoder) Decode(p *capture.Packet) {
	d.stats.Packets++
	d.stats.Bytes += uint64(len(p.Data))
	d.cur = origin{frame: p.Frame, first: p.Frame, time: p.Time}
	d.depth = 0
	d.truncated = p.Truncated()
	if d.truncated {
		d.stats.Truncated++
		if !d.warnedTrunc {
			d.warnedTrunc = true
			d.warn(p.Frame, true, fmt.Sprintf("frame cut to %d of %d bytes by the capture's snapshot length; "+
				"later cut frames are only counted", len(p.Data), p.OrigLen))
		}
	}
	if p.Time.After(d.now) {
		d.now = p.Time
	}
	d.expire()
	d.link(p.LinkType, p.Data)
}

// Flush ends the input: whatever is still waiting for more data (a SIP
// message cut by the end of the capture, fragments without their rest,
// bytes after a hole in a TCP stream) is reported as warnings, and all
// state is dropped.
func (d *Decoder) Flush() {
	var pending []capture.Warning
	d.collect = func(w capture.Warning) { pending = append(pending, w) }
	d.tcp.flush(d)
	d.frags.flush(d)
	d.sctp.flush(d)
	d.collect = nil
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].Frame < pending[j].Frame })
	for _, w := range pending {
		d.h.Warn(w)
	}
}

// expire drops state that has been idle too long in packet time.
func (d *Decoder) expire() {
	d.frags.expire(d)
	d.tcp.expire(d)
	d.sctp.expire(d)
}

func (d *Decoder) warn(frame int, damaged bool, text string) {
	w := capture.Warning{Frame: frame, Text: text, Damaged: damaged}
	if d.collect != nil {
		d.collect(w)
		return
	}
	d.h.Warn(w)
}

// malformed counts a header that cannot be right. It is not reported one
// by one: on a busy capture a broken sender would drown every other warning.
func (d *Decoder) malformed() { d.stats.Malformed++ }

// deliverSIP hands one framed SIP message to the Handler.
func (d *Decoder) deliverSIP(m *Meta, msg []byte) {
	d.stats.SIP++
	switch m.Transport {
	case UDP:
		d.stats.SIPUDP++
	case TCP:
		d.stats.SIPTCP++
	case SCTP:
		d.stats.SIPSCTP++
	case WS:
		d.stats.SIPWS++
	}
	if m.Carrier&CarrierHEP != 0 {
		d.stats.SIPHEP++
	}
	d.h.SIP(m, msg)
}

// setMeta fills the reused Meta for a payload from o.
func (d *Decoder) setMeta(o *origin, src, dst netip.AddrPort, t Transport) *Meta {
	d.meta = Meta{
		Frame:      o.frame,
		Time:       o.time,
		Src:        src,
		Dst:        dst,
		Transport:  t,
		Carrier:    o.carrier,
		FirstFrame: o.first,
	}
	return &d.meta
}

// splitSIP delivers the SIP messages of one datagram. A datagram normally
// holds one message (RFC 3261 §18.1.1); it is split only when the first
// message's Content-Length ends it early and another start line follows, so
// that a wrong Content-Length never costs part of a message.
func (d *Decoder) splitSIP(m *Meta, b []byte) {
	const maxPerDatagram = 16
	for i := 0; i < maxPerDatagram; i++ {
		skip, n, ok := sip.FrameLength(b)
		if !ok || skip+n >= len(b) {
			break
		}
		rest := b[skip+n:]
		for len(rest) > 0 && (rest[0] == '\r' || rest[0] == '\n') {
			rest = rest[1:]
		}
		if !sip.LooksLike(rest) {
			break
		}
		d.deliverSIP(m, b[skip:skip+n])
		b = rest
	}
	d.deliverSIP(m, b)
}
