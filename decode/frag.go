package decode

import (
	"bytes"
	"container/list"
	"fmt"
	"net/netip"
	"time"
)

const (
	// maxDatagram is the largest reassembled IP payload: the 16-bit
	// length fields of IPv4 and IPv6 allow no more.
	maxDatagram = 0xffff
	// maxSpans bounds the separate pieces of one datagram held at once.
	maxSpans = 64
	// maxFragments bounds the fragments of one datagram, so that tiny
	// overlapping fragments cannot make reassembly quadratic.
	maxFragments = 1024
	// maxFreeDatagrams bounds the reassembly buffers kept for reuse.
	maxFreeDatagrams = 16
)

// fragKey identifies the fragments of one datagram: source, destination,
// identification and, for IPv4, protocol (RFC 791 §3.2); IPv6 leaves the
// protocol out (RFC 8200 §4.5).
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

// span is a received byte range [start, end) of a datagram.
type span struct{ start, end int }

// datagram is an IP datagram being reassembled.
type datagram struct {
	key    fragKey
	elem   *list.Element
	start  time.Time // packet time of the first fragment
	first  int       // first frame that contributed
	last   int       // latest frame that contributed
	buf    []byte
	have   []span // sorted, merged
	total  int    // payload length, known from the last fragment; -1 before
	proto  uint8  // upper-layer protocol (for IPv6, from the first fragment)
	nfrags int
}

// fragTable holds the datagrams being reassembled, oldest at the back.
type fragTable struct {
	pending map[fragKey]*datagram
	lru     list.List
	bytes   int
	free    []*datagram
}

func (t *fragTable) init() { t.pending = map[fragKey]*datagram{} }

// add adds a fragment at byte offset off (more: more fragments follow) and
// returns the datagram when it is complete. The caller reads dg.buf[:dg.total]
// and then calls release.
func (t *fragTable) add(d *Decoder, key fragKey, off int, more bool, data []byte, proto uint8) *datagram {
	end := off + len(data)
	dg := t.pending[key]
	if dg == nil {
		dg = t.open(d, key)
	}
	dg.nfrags++
	dg.last = d.cur.frame
	dg.first = min(dg.first, d.cur.first)
	if off == 0 {
		dg.proto = proto
	}
	switch {
	case end > maxDatagram:
		t.drop(d, dg, fmt.Sprintf("reassembled size over %d bytes", maxDatagram))
		return nil
	case !more && dg.total >= 0 && dg.total != end:
		t.drop(d, dg, "two last fragments disagree on the length")
		return nil
	case !more && len(dg.have) > 0 && dg.have[len(dg.have)-1].end > end:
		t.drop(d, dg, "data beyond the last fragment")
		return nil
	case dg.total >= 0 && end > dg.total:
		t.drop(d, dg, "data beyond the last fragment")
		return nil
	case dg.nfrags > maxFragments:
		t.drop(d, dg, fmt.Sprintf("more than %d fragments", maxFragments))
		return nil
	}
	if !more {
		dg.total = end
	}
	if end > len(dg.buf) {
		t.bytes += end - len(dg.buf)
		dg.buf = append(dg.buf, make([]byte, end-len(dg.buf))...)
	}
	// Overlaps keep the data received first. Different data in an overlap
	// is an attack or a broken stack: IPv6 forbids it outright (RFC 5722 §4).
	pos := off
	overlap := false
	for _, s := range dg.have {
		if s.end <= pos || s.start >= end {
			continue
		}
		overlap = true
		lo, hi := max(s.start, off), min(s.end, end)
		if !bytes.Equal(dg.buf[lo:hi], data[lo-off:hi-off]) && key.v6 {
			t.drop(d, dg, "overlapping fragments with different data (RFC 5722)")
			return nil
		}
		if s.start > pos {
			copy(dg.buf[pos:s.start], data[pos-off:s.start-off])
		}
		pos = max(pos, s.end)
	}
	if pos < end {
		copy(dg.buf[pos:end], data[pos-off:])
	}
	if overlap {
		d.stats.FragmentOverlaps++
	}
	dg.have = mergeSpan(dg.have, span{off, end})
	if len(dg.have) > maxSpans {
		t.drop(d, dg, fmt.Sprintf("more than %d separate pieces", maxSpans))
		return nil
	}
	if dg.total >= 0 && len(dg.have) == 1 && dg.have[0] == (span{0, dg.total}) {
		d.stats.Reassembled++
		return dg
	}
	for t.bytes > d.opt.MaxFragBytes && t.lru.Len() > 1 {
		old := t.lru.Back().Value.(*datagram)
		if old == dg {
			break
		}
		t.drop(d, old, "reassembly memory limit reached")
	}
	return nil
}

// mergeSpan inserts s into the sorted spans, merging touching ones.
func mergeSpan(have []span, s span) []span {
	var tail [maxSpans + 1]span
	rest := tail[:0]
	out := have[:0] // rewrites have in place: never ahead of the reading
	for _, h := range have {
		switch {
		case h.end < s.start:
			out = append(out, h)
		case h.start > s.end:
			rest = append(rest, h)
		default:
			s.start, s.end = min(s.start, h.start), max(s.end, h.end)
		}
	}
	out = append(out, s)
	return append(out, rest...)
}

// open starts a datagram, making room under the limits first.
func (t *fragTable) open(d *Decoder, key fragKey) *datagram {
	if len(t.pending) >= d.opt.MaxFragDatagrams {
		t.drop(d, t.lru.Back().Value.(*datagram), "too many datagrams in reassembly")
	}
	var dg *datagram
	if n := len(t.free); n > 0 {
		dg, t.free = t.free[n-1], t.free[:n-1]
	} else {
		dg = &datagram{}
	}
	*dg = datagram{key: key, start: d.cur.time, first: d.cur.first, total: -1, buf: dg.buf[:0], have: dg.have[:0]}
	dg.elem = t.lru.PushFront(dg)
	t.pending[key] = dg
	return dg
}

// release forgets a datagram, keeping its buffers for reuse.
func (t *fragTable) release(dg *datagram) {
	t.bytes -= len(dg.buf)
	t.lru.Remove(dg.elem)
	delete(t.pending, dg.key)
	dg.elem = nil
	if len(t.free) < maxFreeDatagrams && cap(dg.buf) <= maxDatagram {
		t.free = append(t.free, dg)
	}
}

// drop gives up a datagram, saying why.
func (t *fragTable) drop(d *Decoder, dg *datagram, why string) {
	d.stats.FragmentsDropped++
	d.warn(dg.first, true, fmt.Sprintf("%s: dropped (%s)", dg.describe(), why))
	t.release(dg)
}

func (dg *datagram) describe() string {
	v := "IPv4"
	if dg.key.v6 {
		v = "IPv6"
	}
	got := 0
	for _, s := range dg.have {
		got += s.end - s.start
	}
	size := "?"
	if dg.total >= 0 {
		size = fmt.Sprint(dg.total)
	}
	return fmt.Sprintf("%s fragments of datagram %#x from %s to %s (frames %d to %d, %d of %s bytes)",
		v, dg.key.id, dg.key.src, dg.key.dst, dg.first, dg.last, got, size)
}

// expire drops datagrams whose first fragment is older than FragTimeout.
func (t *fragTable) expire(d *Decoder) {
	for e := t.lru.Back(); e != nil; e = t.lru.Back() {
		dg := e.Value.(*datagram)
		if d.now.Sub(dg.start) <= d.opt.FragTimeout {
			return
		}
		d.stats.FragmentsExpired++
		d.warn(dg.first, true, fmt.Sprintf("%s: incomplete after %s, dropped", dg.describe(), d.opt.FragTimeout))
		t.release(dg)
	}
}

// flush reports the datagrams still incomplete at the end of the input.
func (t *fragTable) flush(d *Decoder) {
	for e := t.lru.Back(); e != nil; e = t.lru.Back() {
		dg := e.Value.(*datagram)
		d.stats.FragmentsExpired++
		d.warn(dg.first, true, fmt.Sprintf("%s: incomplete at the end of the capture", dg.describe()))
		t.release(dg)
	}
}
