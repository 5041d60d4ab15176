package decode

import (
	"encoding/binary"
	"fmt"

	"github.com/sipscope/sipscope/capture"
)

// Link types read here beyond those capture names (LINKTYPE_ values).
const (
	linkPPP     capture.LinkType = 9  // PPP, RFC 1661 framing with optional HDLC address/control
	linkPPPHDLC capture.LinkType = 50 // PPP in HDLC-like framing, RFC 1662
)

// EtherTypes (IEEE registry) met under the link layers sipscope reads.
const (
	etherIPv4      = 0x0800
	etherIPv6      = 0x86dd
	etherVLAN      = 0x8100 // 802.1Q
	etherQinQ      = 0x88a8 // 802.1ad service tag
	etherQinQOld   = 0x9100 // pre-standard QinQ
	etherQinQOld2  = 0x9200
	etherPPPoE     = 0x8864 // PPPoE session stage
	etherMPLS      = 0x8847
	etherMPLSMulti = 0x8848
	etherTEB       = 0x6558 // transparent Ethernet bridging (GRE)
	etherPPP       = 0x880b // PPP (GRE, as used by PPTP)
	etherERSPAN2   = 0x88be // ERSPAN type I and II (GRE)
	etherERSPAN3   = 0x22eb // ERSPAN type III (GRE)
)

// maxTags bounds stacked VLAN tags and MPLS labels.
const maxTags = 16

func (d *Decoder) link(lt capture.LinkType, b []byte) {
	switch lt {
	case capture.LinkEthernet:
		d.ethernet(b)
	case capture.LinkNull, capture.LinkLoop:
		d.loopback(b)
	case capture.LinkRaw:
		d.rawIP(b)
	case capture.LinkIPv4:
		d.ipv4(b)
	case capture.LinkIPv6:
		d.ipv6(b)
	case capture.LinkLinuxSLL:
		d.sll(b)
	case capture.LinkLinuxSLL2:
		d.sll2(b)
	case linkPPP, linkPPPHDLC:
		d.ppp(b)
	default:
		d.stats.UnknownLinkType++
		if !d.warnedLink[lt] {
			d.warnedLink[lt] = true
			d.warn(d.cur.frame, false, fmt.Sprintf("link type %d (%s) is not supported; its frames are counted, not decoded",
				uint16(lt), lt))
		}
	}
}

func (d *Decoder) ethernet(b []byte) {
	if len(b) < 14 {
		d.malformed()
		return
	}
	d.etherType(binary.BigEndian.Uint16(b[12:14]), b[14:])
}

// etherType dispatches on an EtherType, first peeling VLAN tags (802.1Q,
// 802.1ad QinQ) and an 802.2 LLC/SNAP header.
func (d *Decoder) etherType(et uint16, b []byte) {
	for i := 0; ; i++ {
		if i > maxTags {
			d.malformed()
			return
		}
		switch et {
		case etherVLAN, etherQinQ, etherQinQOld, etherQinQOld2:
			if len(b) < 4 {
				d.malformed()
				return
			}
			d.stats.VLAN++
			d.cur.carrier |= CarrierVLAN
			et, b = binary.BigEndian.Uint16(b[2:4]), b[4:]
			continue
		}
		// Below 0x0600 the field is an 802.3 length; SNAP carries the
		// EtherType after the LLC header (RFC 1042).
		if et < 0x0600 {
			if len(b) >= 8 && b[0] == 0xaa && b[1] == 0xaa && b[2] == 0x03 {
				et, b = binary.BigEndian.Uint16(b[6:8]), b[8:]
				continue
			}
			d.stats.NonIP++
			return
		}
		break
	}
	switch et {
	case etherIPv4:
		d.ipv4(b)
	case etherIPv6:
		d.ipv6(b)
	case etherPPPoE:
		d.pppoe(b)
	case etherMPLS, etherMPLSMulti:
		d.mpls(b)
	default:
		d.stats.NonIP++
	}
}

// loopback reads the BSD loopback header: a 4-byte address family written
// in the capturing host's byte order (LINKTYPE_NULL) or in network order
// (LINKTYPE_LOOP). A family never exceeds 0xffff, so the order shows.
func (d *Decoder) loopback(b []byte) {
	if len(b) < 4 {
		d.malformed()
		return
	}
	af := binary.LittleEndian.Uint32(b)
	if af > 0xffff {
		af = binary.BigEndian.Uint32(b)
	}
	switch af {
	case 2: // AF_INET everywhere
		d.ipv4(b[4:])
	case 24, 28, 30: // AF_INET6 on NetBSD/OpenBSD, FreeBSD, Darwin
		d.ipv6(b[4:])
	default:
		d.stats.NonIP++
	}
}

func (d *Decoder) rawIP(b []byte) {
	if len(b) == 0 {
		d.malformed()
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.ipv4(b)
	case 6:
		d.ipv6(b)
	default:
		d.malformed()
	}
}

// sll reads Linux cooked capture v1: packet type, ARPHRD type, address
// length and address (8 bytes), then the protocol (an EtherType).
func (d *Decoder) sll(b []byte) {
	if len(b) < 16 {
		d.malformed()
		return
	}
	d.cooked(binary.BigEndian.Uint16(b[2:4]), binary.BigEndian.Uint16(b[14:16]), b[16:])
}

// sll2 reads Linux cooked capture v2: protocol first, then reserved bits,
// interface index, ARPHRD type, packet type, address length and address.
func (d *Decoder) sll2(b []byte) {
	if len(b) < 20 {
		d.malformed()
		return
	}
	d.cooked(binary.BigEndian.Uint16(b[8:10]), binary.BigEndian.Uint16(b[0:2]), b[20:])
}

// cooked dispatches a Linux cooked capture by its protocol field, which
// holds an EtherType except on netlink interfaces.
func (d *Decoder) cooked(arphrd, proto uint16, b []byte) {
	const arphrdNetlink = 824
	if arphrd == arphrdNetlink {
		d.stats.NonIP++
		return
	}
	d.etherType(proto, b)
}

// pppoe reads a PPPoE session header (RFC 2516 §4): version/type, code,
// session ID, length, then PPP's protocol field.
func (d *Decoder) pppoe(b []byte) {
	if len(b) < 6 || b[0] != 0x11 || b[1] != 0 {
		d.malformed()
		return
	}
	d.stats.PPPoE++
	n := int(binary.BigEndian.Uint16(b[4:6]))
	b = b[6:]
	if n < len(b) {
		b = b[:n]
	}
	d.ppp(b)
}

// ppp reads a PPP header: the HDLC address and control bytes when present
// (RFC 1662 §3.1) and a protocol field of one byte when compressed (RFC
// 1661 §6.5: protocol values are odd in their low byte).
func (d *Decoder) ppp(b []byte) {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		d.malformed()
		return
	}
	var proto uint16
	if b[0]&1 == 1 {
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			d.malformed()
			return
		}
		proto, b = binary.BigEndian.Uint16(b[:2]), b[2:]
	}
	d.stats.PPP++
	d.cur.carrier |= CarrierPPP
	switch proto {
	case 0x0021:
		d.ipv4(b)
	case 0x0057:
		d.ipv6(b)
	case 0x0281:
		d.mpls(b)
	default:
		d.stats.NonIP++
	}
}

// mpls skips an MPLS label stack (RFC 3032) and reads the IP packet under
// it, telling IPv4 from IPv6 by the version nibble as routers do.
func (d *Decoder) mpls(b []byte) {
	for i := 0; ; i++ {
		if i >= maxTags || len(b) < 4 {
			d.malformed()
			return
		}
		d.stats.MPLS++
		bottom := b[2]&1 == 1
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) == 0 {
		d.malformed()
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.ipv4(b)
	case 6:
		d.ipv6(b)
	default:
		d.stats.NonIP++
	}
}
