package decode

import (
	"container/list"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/sipscope/sipscope/sip"
)

// SCTP chunk types carrying user data: DATA (RFC 9260 §3.3.1) and I-DATA
// (RFC 8260 §2.1).
const (
	sctpDATA  = 0
	sctpIDATA = 64
)

// DATA chunk flags.
const (
	sctpEnd   = 0x01
	sctpBegin = 0x02
)

const (
	// maxChunks bounds the chunks read from one SCTP packet.
	maxChunks = 256
	// maxPartials bounds the fragmented messages one direction assembles at once.
	maxPartials = 4
	// maxSCTPAssocs bounds the association directions tracked; SIP over
	// SCTP runs between few servers.
	maxSCTPAssocs = 4096
	// tsnWindow is how far back duplicate TSNs are recognised.
	tsnWindow = 64
)

// sctpKey names one direction of an SCTP association.
type sctpKey struct {
	flow flowKey
	vtag uint32
}

// sctpPartial is a user message arriving in several DATA chunks.
type sctpPartial struct {
	sid   uint16
	mid   uint32 // I-DATA message identifier
	idata bool
	next  uint32 // TSN (DATA) or fragment sequence number (I-DATA) expected next
	buf   []byte
	o     origin
}

// sctpAssoc is the state of one direction of an association: recently
// seen TSNs, to drop retransmitted chunks, and fragmented messages.
type sctpAssoc struct {
	key      sctpKey
	elem     *list.Element
	lastSeen time.Time
	started  bool
	high     uint32 // highest TSN seen
	seen     uint64 // bit i: TSN high-1-i seen
	partials []sctpPartial
}

type sctpTable struct {
	assocs map[sctpKey]*sctpAssoc
	lru    list.List
}

func (t *sctpTable) init() { t.assocs = map[sctpKey]*sctpAssoc{} }

// duplicate records tsn and reports whether it was seen before.
func (a *sctpAssoc) duplicate(tsn uint32) bool {
	if !a.started {
		a.started, a.high, a.seen = true, tsn, 0
		return false
	}
	diff := int32(tsn - a.high)
	switch {
	case diff > 0:
		if diff >= tsnWindow {
			a.seen = 0
		} else {
			a.seen = a.seen<<uint(diff) | 1<<uint(diff-1)
		}
		a.high = tsn
		return false
	case diff == 0:
		return true
	case -diff > tsnWindow:
		return true
	}
	bit := uint64(1) << uint(-diff-1)
	if a.seen&bit != 0 {
		return true
	}
	a.seen |= bit
	return false
}

// sctpPacket reads the common header and the DATA and I-DATA chunks of an
// SCTP packet; other chunks are control and are skipped.
func (d *Decoder) sctpPacket(srcIP, dstIP netip.Addr, b []byte) {
	if len(b) < 12 {
		d.malformed()
		return
	}
	d.stats.SCTP++
	key := sctpKey{
		flow: flowKey{
			src: netip.AddrPortFrom(srcIP, binary.BigEndian.Uint16(b[0:2])),
			dst: netip.AddrPortFrom(dstIP, binary.BigEndian.Uint16(b[2:4])),
		},
		vtag: binary.BigEndian.Uint32(b[4:8]),
	}
	chunks := b[12:]
	for range maxChunks {
		if len(chunks) < 4 {
			return
		}
		typ, flags := chunks[0], chunks[1]
		n := int(binary.BigEndian.Uint16(chunks[2:4]))
		if n < 4 || n > len(chunks) {
			d.malformed()
			return
		}
		v := chunks[4:n]
		switch {
		case typ == sctpDATA && len(v) >= 12:
			d.sctpData(key, flags, binary.BigEndian.Uint32(v[0:4]), binary.BigEndian.Uint16(v[4:6]), 0, 0, false, v[12:])
		case typ == sctpIDATA && len(v) >= 16:
			fsn := binary.BigEndian.Uint32(v[12:16])
			if flags&sctpBegin != 0 {
				fsn = 0 // the field holds the PPID in a first fragment
			}
			d.sctpData(key, flags, binary.BigEndian.Uint32(v[0:4]), binary.BigEndian.Uint16(v[4:6]),
				binary.BigEndian.Uint32(v[8:12]), fsn, true, v[16:])
		}
		n = (n + 3) &^ 3
		if n >= len(chunks) {
			return
		}
		chunks = chunks[n:]
	}
}

// sctpData handles one DATA or I-DATA chunk. SIP over SCTP sends each
// message as one user message (RFC 4168 §5); the PPID is not relied upon.
func (d *Decoder) sctpData(key sctpKey, flags byte, tsn uint32, sid uint16, mid, fsn uint32, idata bool, data []byte) {
	d.stats.SCTPDataChunks++
	a := d.sctpAssoc(key)
	if a.duplicate(tsn) {
		d.stats.SCTPDuplicates++
		return
	}
	begin, end := flags&sctpBegin != 0, flags&sctpEnd != 0
	if begin && end {
		d.sctpMessage(key, data, &d.cur)
		return
	}
	if begin {
		if len(a.partials) >= maxPartials {
			d.stats.SCTPPartialsDropped++
			a.partials = a.partials[1:]
		}
		next := tsn + 1
		if idata {
			next = 1
		}
		a.partials = append(a.partials, sctpPartial{sid: sid, mid: mid, idata: idata, next: next,
			buf: append([]byte(nil), data...), o: d.cur})
		return
	}
	for i := range a.partials {
		p := &a.partials[i]
		if p.sid != sid || p.idata != idata || (idata && p.mid != mid) {
			continue
		}
		want := tsn
		if idata {
			want = fsn
		}
		if p.next != want || len(p.buf)+len(data) > d.opt.MaxMessage {
			d.stats.SCTPPartialsDropped++
			a.partials = append(a.partials[:i], a.partials[i+1:]...)
			return
		}
		p.buf = append(p.buf, data...)
		p.next++
		if end {
			o := d.cur
			o.first = p.o.first
			msg := p.buf
			a.partials = append(a.partials[:i], a.partials[i+1:]...)
			d.sctpMessage(key, msg, &o)
		}
		return
	}
	d.stats.SCTPPartialsDropped++
}

// sctpMessage delivers a complete user message if it is SIP.
func (d *Decoder) sctpMessage(key sctpKey, msg []byte, o *origin) {
	if !sip.LooksLike(msg) {
		return
	}
	d.splitSIP(d.setMeta(o, key.flow.src, key.flow.dst, SCTP), msg)
}

// sctpAssoc finds or starts the state of an association direction.
func (d *Decoder) sctpAssoc(key sctpKey) *sctpAssoc {
	t := &d.sctp
	a := t.assocs[key]
	if a == nil {
		if len(t.assocs) >= min(d.opt.MaxFlows, maxSCTPAssocs) {
			d.stats.SCTPFlowsEvicted++
			t.remove(d, t.lru.Back().Value.(*sctpAssoc), "evicted")
		}
		a = &sctpAssoc{key: key}
		a.elem = t.lru.PushFront(a)
		t.assocs[key] = a
	}
	a.lastSeen = d.cur.time
	t.lru.MoveToFront(a.elem)
	return a
}

func (t *sctpTable) remove(d *Decoder, a *sctpAssoc, why string) {
	for _, p := range a.partials {
		d.stats.SCTPPartialsDropped++
		d.warn(p.o.first, false, fmt.Sprintf("SCTP %s -> %s %s with %d bytes of an incomplete message on stream %d",
			a.key.flow.src, a.key.flow.dst, why, len(p.buf), p.sid))
	}
	t.lru.Remove(a.elem)
	delete(t.assocs, a.key)
}

func (t *sctpTable) expire(d *Decoder) {
	for e := t.lru.Back(); e != nil; e = t.lru.Back() {
		a := e.Value.(*sctpAssoc)
		if d.now.Sub(a.lastSeen) <= d.opt.FlowIdle {
			return
		}
		d.stats.SCTPFlowsExpired++
		t.remove(d, a, fmt.Sprintf("idle for more than %s", d.opt.FlowIdle))
	}
}

func (t *sctpTable) flush(d *Decoder) {
	for e := t.lru.Back(); e != nil; e = t.lru.Back() {
		t.remove(d, e.Value.(*sctpAssoc), "ended with the capture")
	}
}
