package decode

import (
	"container/list"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/sipscope/sipscope/sip"
)

// TCP header flags (RFC 9293 §3.1).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

const (
	// maxHeld bounds the out-of-order segments one direction may hold.
	maxHeld = 256
	// maxPerSegment bounds the messages taken from a segment read on its own.
	maxPerSegment = 64
)

// flowKey names one direction of a transport flow.
type flowKey struct{ src, dst netip.AddrPort }

func (k flowKey) reverse() flowKey { return flowKey{src: k.dst, dst: k.src} }

// streamMode is what a TCP direction was found to carry.
type streamMode uint8

const (
	modeUnknown streamMode = iota // no payload examined yet
	modeSIP                       // SIP framed by Content-Length (RFC 3261 §18.3)
	modeWS                        // WebSocket frames after an HTTP upgrade (RFC 6455)
	modeHEP                       // HEP3 packets framed by their length field
	modeTLS                       // TLS records: counted only
	modeIgnore                    // something else: not buffered
)

// segment is a TCP segment held until the hole before it fills.
type segment struct {
	seq  uint32
	data []byte
	fin  bool
	o    origin
}

// mark records the first frame of the bytes of buf up to end.
type mark struct{ end, first int }

// stream is the state of one direction of a TCP connection.
type stream struct {
	key       flowKey
	elem      *list.Element
	lastSeen  time.Time
	lastFrame int // last frame that brought in-order data
	next      uint32
	closed    bool
	mode      streamMode
	// A stream first seen without its SYN starts at the first segment
	// captured; anchored tells the two apart, base is that first sequence
	// number (lowered by earlier data arriving late).
	anchored bool
	base     uint32

	buf   []byte // in-order bytes not yet consumed
	marks []mark
	held  []segment // sorted by sequence number
	heldN int       // bytes in held

	// SIP framing: after a gap (or when the stream was joined midway) the
	// bytes up to the next start line are skipped.
	resync  bool
	probing bool // no start line met yet on this stream
	probed  int
	warned  bool // non-SIP bytes reported once

	ws wsState
}

// tcpTable holds the TCP streams, most recently active first.
type tcpTable struct {
	streams  map[flowKey]*stream
	lru      list.List
	buffered int // bytes held in buf, held and WebSocket messages of all streams
	holes    int // streams holding out-of-order segments
	pool     [][]byte
	evictMsg bool
}

func (t *tcpTable) init() { t.streams = map[flowKey]*stream{} }

func seqBefore(a, b uint32) bool { return int32(a-b) < 0 }

// tcpSegment reads a TCP header and feeds the segment to its stream.
func (d *Decoder) tcpSegment(srcIP, dstIP netip.Addr, b []byte) {
	if len(b) < 20 {
		d.malformed()
		return
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) {
		d.malformed()
		return
	}
	d.stats.TCPSegments++
	key := flowKey{
		src: netip.AddrPortFrom(srcIP, binary.BigEndian.Uint16(b[0:2])),
		dst: netip.AddrPortFrom(dstIP, binary.BigEndian.Uint16(b[2:4])),
	}
	seq := binary.BigEndian.Uint32(b[4:8])
	ack := binary.BigEndian.Uint32(b[8:12])
	flags := b[13]
	payload := b[off:]
	t := &d.tcp

	// The peer acknowledging bytes the capture never showed proves that a
	// hole will not fill: the capture lost them.
	if flags&tcpACK != 0 && t.holes > 0 {
		if r := t.streams[key.reverse()]; r != nil && len(r.held) > 0 && seqBefore(r.next, ack) {
			d.tcpGap(r, "acknowledged by the peer but not in the capture")
		}
	}

	syn, fin, rst := flags&tcpSYN != 0, flags&tcpFIN != 0, flags&tcpRST != 0
	s := t.streams[key]
	if rst {
		// A reset aborts both directions (RFC 9293 §3.10.7).
		if s != nil && !s.closed {
			d.tcpClose(s, "reset")
		}
		if r := t.streams[key.reverse()]; r != nil && !r.closed {
			d.tcpClose(r, "reset by the peer")
		}
		return
	}
	if syn {
		seq++ // the SYN occupies one sequence number
	}
	switch {
	case s == nil:
		if len(payload) == 0 && !syn {
			return
		}
		s = d.tcpOpen(key)
		s.start(seq, syn)
	case syn && (s.closed || !s.anchored || seq != s.base):
		// A new connection on the same ports; a repeated SYN of this one
		// changes nothing.
		d.tcpReset(s)
		s.start(seq, true)
	case s.closed && len(payload) > 0 && !seqBefore(seq, s.next):
		// Data past the end of a closed connection: a new connection whose
		// handshake the capture missed.
		d.tcpReset(s)
		s.start(seq, false)
	}
	s.lastSeen = d.cur.time
	t.lru.MoveToFront(s.elem)
	if s.closed {
		if len(payload) > 0 {
			d.stats.TCPRetransmissions++
		}
		return
	}
	if len(payload) > 0 || fin {
		d.tcpData(s, seq, payload, fin, d.cur)
	}
	if s.mode == modeTLS && len(payload) > 0 {
		d.stats.TLSPackets++
	}
}

func (s *stream) start(seq uint32, syn bool) {
	s.next, s.base, s.anchored = seq, seq, syn
}

// tcpOpen starts tracking a stream direction, evicting the least recently
// active one when the table is full.
func (d *Decoder) tcpOpen(key flowKey) *stream {
	t := &d.tcp
	if len(t.streams) >= d.opt.MaxFlows {
		if e := t.lru.Back(); e != nil {
			old := e.Value.(*stream)
			if !old.closed {
				d.stats.TCPFlowsEvicted++
				if !t.evictMsg {
					t.evictMsg = true
					d.warn(d.cur.frame, false, fmt.Sprintf("more than %d TCP streams at once: the least recently active "+
						"are dropped (counted as evicted)", d.opt.MaxFlows))
				}
			}
			d.tcpRemove(old, "evicted")
		}
	}
	s := &stream{key: key}
	s.elem = t.lru.PushFront(s)
	t.streams[key] = s
	d.stats.TCPFlows++
	return s
}

// tcpReset forgets everything a stream held, for a new connection.
func (d *Decoder) tcpReset(s *stream) {
	d.tcpLeftover(s, "replaced by a new connection")
	d.tcpRelease(s)
	elem, key := s.elem, s.key
	*s = stream{key: key, elem: elem}
	d.stats.TCPFlows++
}

// tcpData places a segment's data in sequence.
func (d *Decoder) tcpData(s *stream, seq uint32, payload []byte, fin bool, o origin) {
	if s.mode == modeTLS || s.mode == modeIgnore {
		// Nothing is read from these streams; only the end is followed.
		if end := seq + uint32(len(payload)); seqBefore(s.next, end) {
			s.next = end
		}
		if fin {
			d.tcpClose(s, "closed")
		}
		return
	}
	if !s.anchored && seqBefore(seq, s.base) {
		d.tcpEarly(s, seq, payload, fin, o)
		return
	}
	if diff := int32(seq - s.next); diff < 0 {
		over := int(uint32(-diff))
		if over >= len(payload) {
			if len(payload) > 0 {
				d.stats.TCPRetransmissions++
			}
			if fin && over == len(payload) {
				d.tcpClose(s, "closed")
			}
			return
		}
		d.stats.TCPRetransmissions++
		payload = payload[over:]
	} else if diff > 0 {
		d.tcpHold(s, seq, payload, fin, o)
		return
	}
	d.tcpInOrder(s, payload, fin, &o)
	d.tcpDrain(s, &o)
}

// tcpEarly handles data from before the first segment of a stream joined
// without its handshake: the network reordered it, or it retransmits data
// sent before the capture began. Either way the stream has moved on, so
// only whole SIP messages in it are delivered, on their own.
func (d *Decoder) tcpEarly(s *stream, seq uint32, payload []byte, fin bool, o origin) {
	n := min(int(s.base-seq), len(payload))
	early := payload[:n]
	s.base = seq
	d.stats.TCPOutOfOrder++
	if s.mode == modeSIP || s.mode == modeUnknown {
		for range maxPerSegment {
			skip, k, ok := sip.FrameLength(early)
			if !ok || !clearStart(early[skip:]) {
				break
			}
			d.deliverSIP(d.setMeta(&o, s.key.src, s.key.dst, TCP), early[skip:skip+k])
			early = early[skip+k:]
		}
	}
	if n < len(payload) || fin {
		d.tcpData(s, seq+uint32(n), payload[n:], fin, o)
	}
}

func (d *Decoder) tcpInOrder(s *stream, payload []byte, fin bool, o *origin) {
	if len(payload) > 0 {
		s.next += uint32(len(payload))
		s.lastFrame = o.frame
		d.streamData(s, payload, o)
	}
	if fin && !s.closed {
		s.next++
		d.tcpClose(s, "closed")
	}
}

// tcpHold keeps a segment that arrived ahead of a hole.
func (d *Decoder) tcpHold(s *stream, seq uint32, payload []byte, fin bool, o origin) {
	t := &d.tcp
	i := 0
	for ; i < len(s.held); i++ {
		h := &s.held[i]
		if h.seq == seq && len(h.data) >= len(payload) && (h.fin || !fin) {
			d.stats.TCPRetransmissions++
			return
		}
		if seqBefore(seq, h.seq) {
			break
		}
	}
	d.stats.TCPOutOfOrder++
	if len(s.held) == 0 {
		t.holes++
	}
	s.held = append(s.held, segment{})
	copy(s.held[i+1:], s.held[i:])
	s.held[i] = segment{seq: seq, data: append([]byte(nil), payload...), fin: fin, o: o}
	s.heldN += len(payload)
	t.buffered += len(payload)
	// Over a limit, the oldest hole is given up; each round delivers at
	// least the first held segment, so this ends.
	for len(s.held) > 0 && (len(s.held) > maxHeld || s.heldN > d.opt.MaxOutOfOrder || t.buffered > d.opt.MaxBuffered) {
		d.tcpGap(s, "more data waiting than the out-of-order limit")
	}
}

// tcpDrain delivers held segments that the stream has caught up with.
// When a segment filled the hole, what the held data completes is
// delivered as of that segment (fill); when the hole was given up, as of
// the held segment itself.
func (d *Decoder) tcpDrain(s *stream, fill *origin) {
	t := &d.tcp
	for len(s.held) > 0 && !s.closed {
		h := s.held[0]
		if seqBefore(s.next, h.seq) {
			return
		}
		s.held = s.held[1:]
		s.heldN -= len(h.data)
		t.buffered -= len(h.data)
		if len(s.held) == 0 {
			t.holes--
			s.held = nil
		}
		over := int(s.next - h.seq)
		if over > len(h.data) || (over == len(h.data) && len(h.data) > 0 && !h.fin) {
			d.stats.TCPRetransmissions++
			continue
		}
		o := h.o
		if fill != nil {
			o = *fill
			o.first = h.o.first
		}
		d.tcpInOrder(s, h.data[over:], h.fin, &o)
	}
}

// tcpGap gives up on the hole before the first held segment: the stream
// skips to it, drops the partial message the hole broke, and looks for the
// next SIP start line.
func (d *Decoder) tcpGap(s *stream, why string) {
	if len(s.held) == 0 {
		return
	}
	h := &s.held[0]
	d.stats.TCPGaps++
	text := fmt.Sprintf("TCP %s -> %s: %d bytes missing between frame %d and frame %d (%s)",
		s.key.src, s.key.dst, h.seq-s.next, s.lastFrame, h.o.frame, why)
	if n := d.pendingBytes(s); n > 0 {
		text += fmt.Sprintf("; %d bytes of a message cut by the hole dropped", n)
	}
	switch s.mode {
	case modeSIP, modeHEP:
		s.resync = true
		text += "; resuming at the next message"
	case modeWS:
		// WebSocket frames carry no marker to find the next one by.
		s.mode = modeIgnore
		d.stats.TCPIgnored++
		text += "; the WebSocket stream cannot be followed further"
	}
	d.warn(h.o.frame, true, text)
	d.tcpClearBuf(s)
	d.wsDrop(s)
	s.next = h.seq
	d.tcpDrain(s, nil)
}

// tcpClose ends a stream on FIN or RST: an incomplete message is reported,
// the buffers are freed, and the stream stays as a closed record until it
// expires, so that late retransmissions are recognised.
func (d *Decoder) tcpClose(s *stream, why string) {
	d.tcpLeftover(s, why)
	d.tcpRelease(s)
	s.closed = true
}

// tcpRemove drops a stream from the table.
func (d *Decoder) tcpRemove(s *stream, why string) {
	if len(s.held) > 0 {
		d.tcpGap(s, why+" while waiting for missing data")
	}
	if !s.closed {
		d.tcpLeftover(s, why)
	}
	d.tcpRelease(s)
	d.tcp.lru.Remove(s.elem)
	delete(d.tcp.streams, s.key)
}

// pendingBytes is the size of an incomplete message the stream holds, or 0
// when it holds nothing worth reporting (keep-alive CRLFs, bytes being
// skipped to resynchronise).
func (d *Decoder) pendingBytes(s *stream) int {
	n := len(s.ws.msg)
	switch s.mode {
	case modeSIP, modeHEP, modeWS:
		if s.resync {
			return n
		}
		for _, c := range s.buf {
			if c == '\r' || c == '\n' {
				continue
			}
			// Before its first message a stream may start with the tail
			// of one; only what can begin a message is worth reporting.
			if s.probing && (c < 'A' || c > 'Z') {
				return n
			}
			return n + len(s.buf)
		}
	}
	return n
}

// tcpLeftover reports the incomplete message a stream holds at its end.
func (d *Decoder) tcpLeftover(s *stream, why string) {
	n := d.pendingBytes(s)
	if n == 0 {
		return
	}
	first := s.lastFrame
	if len(s.marks) > 0 {
		first = s.marks[0].first
	}
	if s.ws.inMsg {
		first = s.ws.first
	}
	d.warn(first, false, fmt.Sprintf("TCP %s -> %s %s with %d bytes of an incomplete message (frames %d to %d)",
		s.key.src, s.key.dst, why, n, first, s.lastFrame))
}

// tcpRelease frees a stream's buffers.
func (d *Decoder) tcpRelease(s *stream) {
	t := &d.tcp
	d.tcpClearBuf(s)
	d.wsDrop(s)
	if len(s.held) > 0 {
		t.holes--
		t.buffered -= s.heldN
	}
	s.held, s.heldN = nil, 0
}

// expire drops streams idle for longer than FlowIdle.
func (t *tcpTable) expire(d *Decoder) {
	for {
		e := t.lru.Back()
		if e == nil {
			return
		}
		s := e.Value.(*stream)
		if d.now.Sub(s.lastSeen) <= d.opt.FlowIdle {
			return
		}
		if !s.closed {
			d.stats.TCPFlowsExpired++
		}
		d.tcpRemove(s, fmt.Sprintf("idle for more than %s", d.opt.FlowIdle))
	}
}

// flush ends every stream at the end of the input, oldest first.
func (t *tcpTable) flush(d *Decoder) {
	for e := t.lru.Back(); e != nil; e = t.lru.Back() {
		d.tcpRemove(e.Value.(*stream), "ended with the capture")
	}
}
