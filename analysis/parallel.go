package analysis

import (
	"runtime"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
)

// With a second core, reading and decoding run on a goroutine of their
// own, overlapping with what follows them (SIP parsing, the call engine,
// the RTP statistics): on an RTP-heavy capture they are a third to a half
// of the work per packet. The decoder's output crosses in batches of events that keep
// the order in which the sequential pipeline would have seen them (packet
// arrivals, SIP messages, datagrams, warnings), and everything after the
// decoder still runs on one goroutine, so the report is the same, byte
// for byte. Batches and their payload buffers are recycled: once they
// have grown to fit the traffic, a packet costs no allocation.

// Batch bounds: a batch is handed over when it holds this many events or
// payload bytes. Large batches make the handovers, each a possible
// wake-up of the other goroutine, rare; a few in flight absorb the jitter
// between the stages.
const (
	batchEvents     = 2048
	batchBytes      = 512 << 10
	batchesInFlight = 4
)

type eventKind uint8

const (
	// evPacket is a captured frame arriving: meta.Frame and meta.Time are
	// the frame's, end its captured length.
	evPacket   eventKind = iota
	evSIP                // data[off:end] is one SIP message
	evDatagram           // data[off:end] is a UDP payload
	evWarn               // warns[off] is a warning
)

type event struct {
	kind     eventKind
	meta     decode.Meta
	off, end int
}

// batch is a run of events and the bytes they carry.
type batch struct {
	events []event
	data   []byte
	warns  []capture.Warning
}

func (b *batch) full(maxEvents, maxBytes int) bool {
	return len(b.events) >= maxEvents || len(b.data) >= maxBytes
}

func (b *batch) reset() {
	b.events = b.events[:0]
	b.data = b.data[:0]
	clear(b.warns)
	b.warns = b.warns[:0]
}

// input feeds one capture to an Analyzer. Files opens the capture with
// its warn method, so that the reader's warnings take their place among
// the packets whichever goroutine reads them.
type input struct {
	a *Analyzer
	// cur is the batch the reading goroutine fills; nil when nothing is
	// read apart, and events go straight to the Analyzer.
	cur *batch
	// Batch bounds, smaller in tests to cross many batch boundaries.
	maxEvents, maxBytes int
}

func newInput(a *Analyzer) *input {
	return &input{a: a, maxEvents: batchEvents, maxBytes: batchBytes}
}

// read analyzes every packet of src, reading and decoding apart when
// there is more than one core to run on.
func (in *input) read(src capture.Source) {
	if runtime.GOMAXPROCS(0) < 2 {
		in.a.Read(src)
		return
	}
	in.readApart(src)
}

// readApart reads and decodes src on a goroutine of its own and analyzes
// the decoded events on this one.
func (in *input) readApart(src capture.Source) {
	a := in.a
	full := make(chan *batch, batchesInFlight)
	free := make(chan *batch, batchesInFlight)
	for range batchesInFlight {
		free <- &batch{events: make([]event, 0, in.maxEvents+16), data: make([]byte, 0, in.maxBytes+2048)}
	}
	dec := decode.NewDecoder(in, a.opt.Decode)
	go func() {
		defer close(full)
		in.cur = <-free
		drain(src, in.Warn, func(p *capture.Packet) {
			in.cur.events = append(in.cur.events, event{kind: evPacket, meta: decode.Meta{Frame: p.Frame, Time: p.Time}, end: len(p.Data)})
			dec.Decode(p)
			if in.cur.full(in.maxEvents, in.maxBytes) {
				full <- in.cur
				in.cur = <-free
			}
		})
		b := in.cur
		in.cur = nil
		full <- b
	}()
	s := (*sink)(a)
	arrived := false
	for b := range full {
		for i := range b.events {
			e := &b.events[i]
			switch e.kind {
			case evPacket:
				if arrived {
					a.progress()
				}
				a.arrive(e.meta.Time, e.end)
				arrived = true
			case evSIP:
				s.SIP(&e.meta, b.data[e.off:e.end])
			case evDatagram:
				s.Datagram(&e.meta, b.data[e.off:e.end])
			case evWarn:
				a.Warn(b.warns[e.off])
			}
		}
		b.reset()
		free <- b
	}
	if arrived {
		a.progress()
	}
	// The decoder that did the work holds the counters and whatever is
	// still waiting for more data; Finish flushes it, straight to the
	// Analyzer now that cur is nil.
	a.dec = dec
	a.readDone(src)
}

// record adds a decoded payload to the current batch, or hands it to the
// Analyzer when nothing is read apart.
func (in *input) record(kind eventKind, m *decode.Meta, payload []byte) {
	b := in.cur
	if b == nil {
		s := (*sink)(in.a)
		if kind == evSIP {
			s.SIP(m, payload)
		} else {
			s.Datagram(m, payload)
		}
		return
	}
	off := len(b.data)
	b.data = append(b.data, payload...)
	b.events = append(b.events, event{kind: kind, meta: *m, off: off, end: len(b.data)})
}

// SIP implements decode.Handler.
func (in *input) SIP(m *decode.Meta, msg []byte) { in.record(evSIP, m, msg) }

// Datagram implements decode.Handler.
func (in *input) Datagram(m *decode.Meta, payload []byte) { in.record(evDatagram, m, payload) }

// Warn implements decode.Handler, and receives the capture reader's
// warnings.
func (in *input) Warn(w capture.Warning) {
	b := in.cur
	if b == nil {
		in.a.Warn(w)
		return
	}
	b.warns = append(b.warns, w)
	b.events = append(b.events, event{kind: evWarn, off: len(b.warns) - 1})
}
