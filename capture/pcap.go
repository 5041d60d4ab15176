package capture

import (
	"fmt"
	"io"
	"time"
)

// Classic pcap magic numbers, read in the file's byte order
// (draft-ietf-opsawg-pcap §4).
const (
	magicMicro = 0xa1b2c3d4
	magicNano  = 0xa1b23c4d
)

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
	// A record header found while resynchronising must be this close in
	// time to the packet before it: captures go back a little when clocks
	// step and forward by idle gaps, but random bytes land anywhere in 136
	// years.
	maxStepBack    = 3600
	maxStepForward = 86400
	// maxOrigLen bounds the wire length of a plausible record; offloads
	// build frames well past 64 KiB, garbage is usually far larger.
	maxOrigLen = 16 << 20
)

func (r *reader) openPcap(be bool) error {
	r.be = be
	h, err := r.in.peek(pcapFileHeaderLen)
	if len(h) < pcapFileHeaderLen {
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		return fmt.Errorf("%s: pcap file header cut short (%d of %d bytes)", r.name, len(h), pcapFileHeaderLen)
	}
	r.nsec = r.u32(h) == magicNano
	r.snaplen = r.u32(h[16:])
	r.snapLimit = r.snaplen
	if r.snapLimit == 0 || r.snapLimit > maxRecord {
		r.snapLimit = maxRecord
	}
	// The upper bits of the link type field carry FCS information
	// (draft-ietf-opsawg-pcap §4, LinkType and additional information).
	r.link = LinkType(r.u32(h[20:]) & 0xffff)
	r.in.discard(pcapFileHeaderLen)
	return nil
}

// pcapHeader is a record header in host order.
type pcapHeader struct {
	sec, frac, caplen, orig uint32
}

func (r *reader) pcapHeader(b []byte) pcapHeader {
	return pcapHeader{sec: r.u32(b), frac: r.u32(b[4:]), caplen: r.u32(b[8:]), orig: r.u32(b[12:])}
}

func (r *reader) nextPcap(p *Packet) error {
	for {
		b, err := r.in.peek(pcapRecordHeaderLen)
		if len(b) < pcapRecordHeaderLen {
			if len(b) == 0 && err == io.EOF {
				r.done, r.err = true, io.EOF
				return io.EOF
			}
			return r.cut(err, len(b), pcapRecordHeaderLen, "a record header")
		}
		h := r.pcapHeader(b)
		if h.caplen > maxRecord || !(r.plausible(h) || r.followedByRecord(h)) {
			if err := r.resyncPcap(h); err != nil {
				return err
			}
			continue
		}
		n := pcapRecordHeaderLen + int(h.caplen)
		rec, err := r.in.peek(n)
		if len(rec) < n {
			return r.cut(err, len(rec), n, "a record")
		}
		r.in.discard(int64(n))
		r.prevSec, r.havePrev = h.sec, true
		nsec := int64(h.frac)
		if !r.nsec {
			nsec *= 1000
		}
		r.deliver(p, time.Unix(int64(h.sec), nsec).UTC(), r.link, 0, rec[pcapRecordHeaderLen:n:n], h.orig)
		return nil
	}
}

// sane reports whether h could be a record header from any writer: its
// lengths are in bounds. An all-zero header, which is what a crash leaves in
// preallocated space, is not sane.
func sane(h pcapHeader) bool {
	return h.caplen <= maxRecord && h.orig > 0 && h.orig <= maxOrigLen
}

// plausible adds to sane what a well-behaved writer guarantees, and a time
// near the previous packet's. Good files pass it on every record, so the
// look-ahead of followedByRecord is only paid for odd ones.
func (r *reader) plausible(h pcapHeader) bool {
	fracLimit := uint32(1e6)
	if r.nsec {
		fracLimit = 1e9
	}
	return sane(h) && h.frac < fracLimit && h.caplen <= r.snapLimit && h.caplen <= h.orig &&
		(!r.havePrev || near(r.prevSec, h.sec))
}

// followedByRecord reports whether the record h frames is whole and
// followed by a sane header or by the end of the input: with that, an odd
// header (longer than the snaplen, a jump in time) is real.
func (r *reader) followedByRecord(h pcapHeader) bool {
	n := pcapRecordHeaderLen + int(h.caplen)
	b, _ := r.in.peek(n + pcapRecordHeaderLen)
	if len(b) < n+pcapRecordHeaderLen {
		return len(b) >= n // the input ends after it, whole or not
	}
	return sane(r.pcapHeader(b[n:]))
}

func near(prev, sec uint32) bool {
	return int64(sec) >= int64(prev)-maxStepBack && int64(sec) <= int64(prev)+maxStepForward
}

// resyncPcap skips the broken header h byte by byte until a header that
// passes every check and is followed by another record.
func (r *reader) resyncPcap(h pcapHeader) error {
	start := r.in.off
	why := r.whyBroken(h)
	for skipped := int64(1); skipped <= maxResync; skipped++ {
		if _, err := r.in.discard(1); err != nil {
			return r.giveUp(err, start, skipped, why)
		}
		b, err := r.in.peek(pcapRecordHeaderLen)
		if len(b) < pcapRecordHeaderLen {
			return r.giveUp(err, start, skipped, why)
		}
		c := r.pcapHeader(b)
		if r.plausible(c) && r.followedByRecord(c) {
			r.damaged("damaged record at byte %d (%s); skipped %d bytes to the next plausible record", start, why, skipped)
			return nil
		}
	}
	return r.giveUp(nil, start, maxResync, why)
}

func (r *reader) whyBroken(h pcapHeader) string {
	switch {
	case h.caplen > maxRecord:
		return fmt.Sprintf("capture length %d is absurd", h.caplen)
	case h.caplen > r.snapLimit:
		return fmt.Sprintf("capture length %d exceeds the snaplen %d", h.caplen, r.snaplen)
	case h.caplen > h.orig:
		return fmt.Sprintf("capture length %d exceeds the wire length %d", h.caplen, h.orig)
	}
	return fmt.Sprintf("implausible header: time %d.%d, lengths %d/%d", h.sec, h.frac, h.caplen, h.orig)
}
