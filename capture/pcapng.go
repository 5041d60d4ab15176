package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// pcapng block types (draft-ietf-opsawg-pcapng §10.1).
const (
	blockIDB     = 0x00000001
	blockPB      = 0x00000002 // obsolete Packet Block (Appendix A)
	blockSPB     = 0x00000003
	blockNRB     = 0x00000004
	blockISB     = 0x00000005
	blockEPB     = 0x00000006
	blockJournal = 0x00000009
	blockDSB     = 0x0000000a
	blockCustom  = 0x00000bad
	blockCustom2 = 0x40000bad
	blockSHB     = 0x0a0d0d0a
)

const (
	byteOrderMagic = 0x1a2b3c4d
	blockOverhead  = 12 // type, length, trailing length
	// maxParsedBlock bounds the blocks read whole: a packet no larger than
	// maxRecord plus generous options.
	maxParsedBlock = 1 << 20
	// maxSkippedBlock bounds blocks passed over unread; a longer length
	// field is taken for damage rather than trusted.
	maxSkippedBlock = 16 << 20
	// maxIfaces bounds the interfaces of one section; packet blocks of the
	// obsolete format address only 16 bits of them.
	maxIfaces   = 1 << 16
	optEnd      = 0
	optTSResol  = 9  // if_tsresol (§4.2)
	optTSOffset = 14 // if_tsoffset (§4.2)
)

// iface is what an Interface Description Block says about the packets that
// refer to it.
type iface struct {
	link    LinkType
	snaplen uint32
	pow2    bool   // resolution is 2^-shift seconds
	shift   uint8  //
	units   uint64 // ticks per second when !pow2, a power of ten
	offset  int64  // if_tsoffset, seconds added to every timestamp
}

// time converts a 64-bit timestamp in the interface's resolution.
func (f *iface) time(ts uint64) time.Time {
	var sec, nsec uint64
	if f.pow2 {
		sec = ts >> f.shift
		hi, lo := bits.Mul64(ts&(1<<f.shift-1), 1e9)
		nsec = hi<<(64-f.shift) | lo>>f.shift
	} else {
		sec = ts / f.units
		rem := ts % f.units
		if f.units <= 1e9 {
			nsec = rem * (1e9 / f.units)
		} else {
			nsec = rem / (f.units / 1e9)
		}
	}
	return time.Unix(int64(sec)+f.offset, int64(nsec)).UTC()
}

func (r *reader) openPcapng() error {
	h, err := r.in.peek(blockOverhead)
	if len(h) < blockOverhead {
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		return fmt.Errorf("%s: pcapng section header cut short", r.name)
	}
	if _, ok := sectionOrder(h); !ok {
		return fmt.Errorf("%s: pcapng section header has no byte-order magic", r.name)
	}
	r.isNg = true
	return nil
}

// sectionOrder reads the byte order of the section whose header starts b.
func sectionOrder(b []byte) (bigEndian, ok bool) {
	switch {
	case binary.BigEndian.Uint32(b[8:]) == byteOrderMagic:
		return true, true
	case binary.LittleEndian.Uint32(b[8:]) == byteOrderMagic:
		return false, true
	}
	return false, false
}

func (r *reader) nextNg(p *Packet) error {
	for {
		h, err := r.in.peek(blockOverhead)
		if len(h) < blockOverhead {
			if len(h) == 0 && err == io.EOF {
				r.done, r.err = true, io.EOF
				return io.EOF
			}
			return r.cut(err, len(h), blockOverhead, "a block header")
		}
		typ, blen, be, ok := r.blockHeader(h)
		if !ok {
			if err := r.resyncNg(fmt.Sprintf("block type %#x with length %d", typ, blen)); err != nil {
				return err
			}
			continue
		}
		n := int(blen)
		if n > maxParsedBlock {
			if err := r.skipLargeBlock(blen); err != nil {
				return err
			}
			continue
		}
		b, err := r.in.peek(n)
		if len(b) < n {
			return r.cut(err, len(b), n, "a block")
		}
		if order32(be, b[n-4:]) != blen {
			if err := r.resyncNg(fmt.Sprintf("block type %#x: length %d at its start but %d at its end", typ, blen, order32(be, b[n-4:]))); err != nil {
				return err
			}
			continue
		}
		r.in.discard(int64(n))
		switch typ {
		case blockSHB:
			r.section(b, be)
		case blockIDB:
			r.interfaceDescription(b)
		case blockEPB, blockPB, blockSPB:
			if r.packet(p, typ, b) {
				return nil
			}
		}
	}
}

// blockHeader reads a block's type and length and checks the length is one
// this reader would follow.
func (r *reader) blockHeader(h []byte) (typ, blen uint32, be, ok bool) {
	be = r.be
	typ = r.u32(h)
	if typ == blockSHB {
		if be, ok = sectionOrder(h); !ok {
			return typ, 0, be, false
		}
	}
	blen = order32(be, h[4:])
	if blen < blockOverhead || blen%4 != 0 || blen > maxSkippedBlock {
		return typ, blen, be, false
	}
	switch typ {
	case blockSHB, blockIDB, blockEPB, blockPB, blockSPB:
		if blen > maxParsedBlock {
			return typ, blen, be, false
		}
	}
	return typ, blen, be, true
}

func order32(be bool, b []byte) uint32 {
	if be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// skipLargeBlock passes over a block that is not read whole, then checks
// its trailing length.
func (r *reader) skipLargeBlock(blen uint32) error {
	start := r.in.off
	if got, err := r.in.discard(int64(blen) - 4); err != nil {
		return r.cut(err, int(got), int(blen), "a block")
	}
	t, err := r.in.peek(4)
	if len(t) < 4 {
		return r.cut(err, int(blen)-4+len(t), int(blen), "a block")
	}
	if r.u32(t) != blen {
		return r.resyncNg(fmt.Sprintf("block at byte %d: length %d at its start but %d at its end", start, blen, r.u32(t)))
	}
	r.in.discard(4)
	return nil
}

// section starts a new section: its byte order, and no interfaces yet.
func (r *reader) section(b []byte, be bool) {
	r.be = be
	if len(b) < 28 {
		r.damaged("section header block at byte %d too short (%d bytes)", r.in.off-int64(len(b)), len(b))
		return
	}
	if major := r.u16(b[12:]); major != 1 {
		r.warnf(r.frame+1, false, "pcapng version %d.%d is not 1.x; reading on as 1.0", major, r.u16(b[14:]))
	}
	r.ifaceBase += len(r.ifaces)
	r.ifaces = r.ifaces[:0]
}

func (r *reader) interfaceDescription(b []byte) {
	if len(b) < 20 {
		r.damaged("interface description block at byte %d too short (%d bytes)", r.in.off-int64(len(b)), len(b))
		return
	}
	if len(r.ifaces) >= maxIfaces {
		r.damaged("more than %d interfaces in one section; ignoring the rest", maxIfaces)
		return
	}
	f := iface{link: LinkType(r.u16(b[8:])), snaplen: r.u32(b[12:]), units: 1e6}
	for opts := b[16 : len(b)-4]; len(opts) >= 4; {
		code, l := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEnd || 4+l > len(opts) {
			break
		}
		v := opts[4 : 4+l]
		switch {
		case code == optTSResol && l >= 1:
			r.tsResolution(&f, v[0])
		case code == optTSOffset && l >= 8:
			f.offset = int64(r.u64(v))
		}
		opts = opts[min(len(opts), 4+(l+3)&^3):]
	}
	r.ifaces = append(r.ifaces, f)
}

// tsResolution applies if_tsresol: the low seven bits are a negative
// exponent of ten, or of two when the top bit is set.
func (r *reader) tsResolution(f *iface, v byte) {
	exp := v & 0x7f
	switch {
	case v&0x80 != 0 && exp < 64:
		f.pow2, f.shift = true, exp
	case v&0x80 == 0 && exp <= 19:
		f.units = 1
		for range exp {
			f.units *= 10
		}
	default:
		r.warnf(r.frame+1, false, "interface %d: unsupported timestamp resolution %#x; assuming microseconds", r.ifaceBase+len(r.ifaces), v)
	}
}

// packet hands out an Enhanced, Simple or obsolete Packet Block; it reports
// false when the block was broken and skipped.
func (r *reader) packet(p *Packet, typ uint32, b []byte) bool {
	start := r.in.off - int64(len(b))
	end := len(b) - 4
	if typ == blockSPB {
		return r.simplePacket(p, b, start)
	}
	if len(b) < 32 {
		r.damaged("packet block at byte %d too short (%d bytes)", start, len(b))
		return false
	}
	id := int(r.u32(b[8:]))
	if typ == blockPB {
		id = int(r.u16(b[8:]))
	}
	f := r.iface(id, start)
	if f == nil {
		return false
	}
	caplen, orig := r.u32(b[20:]), r.u32(b[24:])
	if caplen > maxRecord || int(caplen) > end-28 {
		r.damaged("packet block at byte %d: capture length %d does not fit its %d-byte block", start, caplen, len(b))
		return false
	}
	t := f.time(uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:])))
	r.prevTime = t
	r.deliver(p, t, f.link, r.ifaceBase+id, b[28:28+caplen:28+caplen], orig)
	return true
}

// simplePacket hands out a Simple Packet Block, which belongs to interface 0.
// It is cut at that interface's snaplen and padded to 32 bits, so its own
// length does not say where the data ends. It has no timestamp: it gets the
// previous packet's, which keeps time monotonic for merging and timers.
func (r *reader) simplePacket(p *Packet, b []byte, start int64) bool {
	if len(b) < 16 {
		r.damaged("simple packet block at byte %d too short (%d bytes)", start, len(b))
		return false
	}
	f := r.iface(0, start)
	if f == nil {
		return false
	}
	orig := r.u32(b[8:])
	caplen := min(orig, uint32(len(b)-16), maxRecord)
	if f.snaplen > 0 {
		caplen = min(caplen, f.snaplen)
	}
	r.deliver(p, r.prevTime, f.link, r.ifaceBase, b[12:12+caplen:12+caplen], orig)
	return true
}

// iface returns interface id of the section, or nil after reporting a packet
// block that refers to one never described.
func (r *reader) iface(id int, start int64) *iface {
	if id < 0 || id >= len(r.ifaces) {
		r.damaged("packet block at byte %d refers to interface %d, but the section describes %d", start, id, len(r.ifaces))
		return nil
	}
	return &r.ifaces[id]
}

// resyncNg skips a broken block byte by byte until a block of a known type
// whose trailing length matches its leading one.
func (r *reader) resyncNg(why string) error {
	start := r.in.off
	for skipped := int64(1); skipped <= maxResync; skipped++ {
		if _, err := r.in.discard(1); err != nil {
			return r.giveUp(err, start, skipped, why)
		}
		h, err := r.in.peek(blockOverhead)
		if len(h) < blockOverhead {
			return r.giveUp(err, start, skipped, why)
		}
		if r.plausibleBlock(h) {
			r.damaged("damaged block at byte %d (%s); skipped %d bytes to the next block", start, why, skipped)
			return nil
		}
	}
	return r.giveUp(nil, start, maxResync, why)
}

// plausibleBlock reports whether a block that makes sense starts at h.
func (r *reader) plausibleBlock(h []byte) bool {
	typ, blen, be, ok := r.blockHeader(h)
	if !ok || blen > maxParsedBlock {
		return false
	}
	switch typ {
	case blockSHB, blockIDB, blockPB, blockSPB, blockNRB, blockISB, blockEPB, blockJournal, blockDSB, blockCustom, blockCustom2:
	default:
		return false
	}
	n := int(blen)
	b, _ := r.in.peek(n)
	if len(b) < n || order32(be, b[n-4:]) != blen {
		return false
	}
	ifaces := uint32(len(r.ifaces))
	switch typ {
	case blockSHB:
		return n >= 28
	case blockIDB:
		return n >= 20
	case blockEPB:
		return n >= 32 && order32(be, b[8:]) < ifaces && order32(be, b[20:]) <= uint32(n-32)
	case blockPB:
		return n >= 32 && uint32(order16(be, b[8:])) < ifaces && order32(be, b[20:]) <= uint32(n-32)
	case blockSPB:
		return n >= 16 && ifaces > 0
	}
	return true
}

func order16(be bool, b []byte) uint16 {
	if be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}
