package decode

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers (IANA) the decoder looks into.
const (
	protoICMP   = 1
	protoIPv4   = 4 // IP in IP (RFC 2003)
	protoTCP    = 6
	protoUDP    = 17
	protoIPv6   = 41 // IPv6 in IP (RFC 4213)
	protoGRE    = 47
	protoICMPv6 = 58
	protoSCTP   = 132
)

// IPv6 extension headers (RFC 8200 §4 and the IANA registry).
const (
	ext6HopByHop = 0
	ext6Routing  = 43
	ext6Fragment = 44
	ext6AH       = 51
	ext6DestOpts = 60
	ext6Mobility = 135
	ext6HIP      = 139
	ext6Shim6    = 140
)

// maxExtHeaders bounds an IPv6 extension header chain.
const maxExtHeaders = 16

// enter accounts one more level of tunnelling, refusing when too deep.
func (d *Decoder) enter() bool {
	d.depth++
	if d.depth > maxDepth {
		d.malformed()
		return false
	}
	return true
}

func (d *Decoder) ipv4(b []byte) {
	if len(b) < 20 || b[0]>>4 != 4 {
		d.malformed()
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || len(b) < ihl {
		d.malformed()
		return
	}
	cut := false
	switch {
	case total == 0:
		// Segmentation offload hands the capture oversized packets with
		// no length; what was captured is the packet.
	case total < ihl:
		d.malformed()
		return
	case total > len(b):
		cut = true
	default:
		b = b[:total]
	}
	d.stats.IPv4++
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	proto := b[9]
	ff := binary.BigEndian.Uint16(b[6:8])
	more, off := ff&0x2000 != 0, int(ff&0x1fff)*8
	payload := b[ihl:]
	if more || off > 0 {
		d.stats.Fragments++
		if cut {
			// A fragment cut by the snapshot length leaves a hole no
			// other fragment fills.
			return
		}
		key := fragKey{src: src, dst: dst, id: uint32(binary.BigEndian.Uint16(b[4:6])), proto: proto}
		dg := d.frags.add(d, key, off, more, payload, proto)
		if dg == nil {
			return
		}
		saved := d.cur
		d.cur.first = min(d.cur.first, dg.first)
		d.cur.carrier |= CarrierFragmented
		d.transport(dg.proto, src, dst, dg.buf[:dg.total], false)
		d.cur = saved
		d.frags.release(dg)
		return
	}
	d.transport(proto, src, dst, payload, cut)
}

func (d *Decoder) ipv6(b []byte) {
	if len(b) < 40 || b[0]>>4 != 6 {
		d.malformed()
		return
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	next := b[6]
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	payload := b[40:]
	cut := false
	switch {
	case plen == 0:
		// Jumbogram (RFC 2675) or segmentation offload: take what was captured.
	case plen > len(payload):
		cut = true
	default:
		payload = payload[:plen]
	}
	d.stats.IPv6++
	d.ipv6Chain(next, src, dst, payload, cut, true)
}

// ipv6Chain walks the extension headers to the upper-layer protocol,
// reassembling at a Fragment header (only once: a reassembled packet may
// not carry another).
func (d *Decoder) ipv6Chain(next uint8, src, dst netip.Addr, b []byte, cut, fragOK bool) {
	for range maxExtHeaders {
		switch next {
		case ext6HopByHop, ext6Routing, ext6DestOpts, ext6Mobility, ext6HIP, ext6Shim6:
			if len(b) < 8 {
				d.malformed()
				return
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				d.malformed()
				return
			}
			next, b = b[0], b[n:]
		case ext6AH:
			if len(b) < 8 {
				d.malformed()
				return
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n {
				d.malformed()
				return
			}
			next, b = b[0], b[n:]
		case ext6Fragment:
			if len(b) < 8 || !fragOK {
				d.malformed()
				return
			}
			fo := binary.BigEndian.Uint16(b[2:4])
			off, more := int(fo&^7), fo&1 == 1
			if off == 0 && !more {
				// Atomic fragment (RFC 6946): a whole packet.
				next, b = b[0], b[8:]
				continue
			}
			d.stats.Fragments++
			if cut {
				return
			}
			key := fragKey{src: src, dst: dst, id: binary.BigEndian.Uint32(b[4:8]), v6: true}
			dg := d.frags.add(d, key, off, more, b[8:], b[0])
			if dg == nil {
				return
			}
			saved := d.cur
			d.cur.first = min(d.cur.first, dg.first)
			d.cur.carrier |= CarrierFragmented
			d.ipv6Chain(dg.proto, src, dst, dg.buf[:dg.total], false, false)
			d.cur = saved
			d.frags.release(dg)
			return
		default:
			d.transport(next, src, dst, b, cut)
			return
		}
	}
	d.malformed()
}

// transport dispatches an IP payload by protocol number.
func (d *Decoder) transport(proto uint8, src, dst netip.Addr, b []byte, cut bool) {
	switch proto {
	case protoUDP:
		d.udp(src, dst, b, cut)
	case protoTCP:
		d.tcpSegment(src, dst, b)
	case protoSCTP:
		d.sctpPacket(src, dst, b)
	case protoGRE:
		d.gre(b)
	case protoIPv4, protoIPv6:
		if !d.enter() {
			return
		}
		d.stats.IPinIP++
		d.cur.carrier |= CarrierIPinIP
		if proto == protoIPv4 {
			d.ipv4(b)
		} else {
			d.ipv6(b)
		}
	case protoICMP, protoICMPv6:
		// ICMP errors quote the packet that caused them; that packet was
		// not delivered, so it is not decoded as if it had been.
		d.stats.ICMP++
	default:
		d.stats.OtherIP++
	}
}

// gre reads a GRE header: RFC 2784/2890 (version 0, optional checksum,
// key and sequence number; RFC 1701 routing) or the enhanced GRE of PPTP
// (RFC 2637 §4.1: version 1, key holding payload length and call ID,
// optional sequence and acknowledgment numbers).
func (d *Decoder) gre(b []byte) {
	if len(b) < 4 {
		d.malformed()
		return
	}
	if !d.enter() {
		return
	}
	flags := binary.BigEndian.Uint16(b[0:2])
	proto := binary.BigEndian.Uint16(b[2:4])
	const (
		flagC = 0x8000
		flagR = 0x4000
		flagK = 0x2000
		flagS = 0x1000
		flagA = 0x0080
	)
	off := 4
	switch flags & 7 {
	case 0:
		if flags&(flagC|flagR) != 0 {
			off += 4
		}
		if flags&flagK != 0 {
			off += 4
		}
		if flags&flagS != 0 {
			off += 4
		}
		if flags&flagR != 0 {
			// Source route entries end with a null entry (RFC 1701 §2.1).
			for i := 0; ; i++ {
				if i > maxTags || off+4 > len(b) {
					d.malformed()
					return
				}
				af, n := binary.BigEndian.Uint16(b[off:off+2]), int(b[off+3])
				off += 4 + n
				if af == 0 && n == 0 {
					break
				}
			}
		}
	case 1:
		off += 4
		if flags&flagS != 0 {
			off += 4
		}
		if flags&flagA != 0 {
			off += 4
		}
	default:
		d.malformed()
		return
	}
	if off > len(b) {
		d.malformed()
		return
	}
	d.stats.GRE++
	d.cur.carrier |= CarrierGRE
	b = b[off:]
	switch proto {
	case etherIPv4:
		d.ipv4(b)
	case etherIPv6:
		d.ipv6(b)
	case etherTEB:
		d.ethernet(b)
	case etherPPP:
		d.ppp(b)
	case etherMPLS, etherMPLSMulti:
		d.mpls(b)
	case etherERSPAN2:
		d.erspan2(b, flags&flagS != 0)
	case etherERSPAN3:
		d.erspan3(b)
	default:
		d.stats.NonIP++
	}
}

// erspan2 reads ERSPAN type I (no header: GRE without a sequence number)
// and type II (8-byte header, version 1), both followed by the mirrored
// Ethernet frame.
func (d *Decoder) erspan2(b []byte, typeII bool) {
	d.stats.ERSPAN++
	d.cur.carrier |= CarrierERSPAN
	if typeII {
		if len(b) < 8 || b[0]>>4 != 1 {
			d.malformed()
			return
		}
		b = b[8:]
	}
	d.ethernet(b)
}

// erspan3 reads ERSPAN type III: a 12-byte header (version 2) whose last
// word holds the frame type (0 Ethernet, 2 IP) and the O bit announcing an
// 8-byte platform-specific subheader.
func (d *Decoder) erspan3(b []byte) {
	if len(b) < 12 || b[0]>>4 != 2 {
		d.malformed()
		return
	}
	d.stats.ERSPAN++
	d.cur.carrier |= CarrierERSPAN
	ft := (b[10] >> 2) & 0x1f
	n := 12
	if b[11]&1 == 1 {
		n += 8
	}
	if len(b) < n {
		d.malformed()
		return
	}
	switch ft {
	case 0:
		d.ethernet(b[n:])
	case 2:
		d.rawIP(b[n:])
	default:
		d.stats.NonIP++
	}
}

// vxlan reads a VXLAN header (RFC 7348 §5): flags with the I bit set,
// reserved bits, VNI, then the inner Ethernet frame.
func (d *Decoder) vxlan(b []byte) bool {
	if len(b) < 8+14 || b[0]&0x08 == 0 {
		return false
	}
	if !d.enter() {
		return true
	}
	d.stats.VXLAN++
	d.cur.carrier |= CarrierVXLAN
	d.ethernet(b[8:])
	return true
}
