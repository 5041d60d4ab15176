package filter

import (
	"net/netip"

	"golang.org/x/net/bpf"
)

// Jump conditions of classic BPF; the others are spelled with not.
const (
	jeq  = bpf.JumpEqual
	jgt  = bpf.JumpGreaterThan
	jge  = bpf.JumpGreaterOrEqual
	jset = bpf.JumpBitsSet
)

// EtherTypes (IEEE 802 numbers) and IP protocol numbers (IANA) the
// primitives test.
const (
	etherIPv4   = 0x0800
	etherARP    = 0x0806
	etherRARP   = 0x8035
	etherIPv6   = 0x86dd
	ether8021Q  = 0x8100 // IEEE 802.1Q customer VLAN tag
	ether8021AD = 0x88a8 // IEEE 802.1ad service VLAN tag (QinQ)
	ether9100   = 0x9100 // pre-standard QinQ tag, accepted by libpcap

	protoICMP     = 1
	protoTCP      = 6
	protoUDP      = 17
	protoFragment = 44 // IPv6 Fragment extension header (RFC 8200 §4.5)
	protoICMPv6   = 58
	protoSCTP     = 132
)

// linkKind is the link-layer header in front of the network layer.
type linkKind uint8

const (
	linkEthernet linkKind = iota // DIX Ethernet, in-band 802.1Q/802.1ad tags
	linkSLL                      // Linux cooked v1: protocol at 14, network layer at 16
	linkSLL2                     // Linux cooked v2: protocol at 0, network layer at 20
	linkRaw                      // no header; IP version from the first nibble
	linkIPv4                     // no header; always IPv4
	linkIPv6                     // no header; always IPv6
)

func (l linkKind) String() string {
	switch l {
	case linkEthernet:
		return "Ethernet"
	case linkSLL:
		return "Linux cooked v1"
	case linkSLL2:
		return "Linux cooked v2"
	case linkRaw:
		return "raw IP"
	case linkIPv4:
		return "raw IPv4"
	}
	return "raw IPv6"
}

// LINKTYPE_ values (pcap file format registry) this package compiles for.
const (
	linktypeEthernet uint16 = 1
	linktypeRaw      uint16 = 101
	linktypeSLL      uint16 = 113
	linktypeIPv4     uint16 = 228
	linktypeIPv6     uint16 = 229
	linktypeSLL2     uint16 = 276
)

func linkKindOf(linktype uint16) (linkKind, bool) {
	switch linktype {
	case linktypeEthernet:
		return linkEthernet, true
	case linktypeSLL:
		return linkSLL, true
	case linktypeSLL2:
		return linkSLL2, true
	case linktypeRaw:
		return linkRaw, true
	case linktypeIPv4:
		return linkIPv4, true
	case linktypeIPv6:
		return linkIPv6, true
	}
	return 0, false
}

// gen builds the conditions of primitives for one link type. It carries
// the one piece of state tcpdump's language has: every "vlan" keyword
// moves the headers of all primitives written after it by one tag,
// whatever the boolean structure (libpcap does the same).
type gen struct {
	link linkKind
	// socket selects Linux socket filter semantics: the kernel has taken
	// the outermost VLAN tag out of the frame and keeps it as metadata
	// (SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TAG).
	socket bool
	vlans  int
}

// view builds the condition of a primitive whose headers sit behind the
// vlan keywords written so far. build gets the number of VLAN tags that
// are in the frame's bytes before the network layer.
//
// On a socket, the outer tag may be in metadata instead of the frame, so
// both readings are compiled and the metadata picks one at run time. A
// primitive before any vlan keyword looks at the frame as the kernel
// shows it, which is past a metadata tag: like libpcap on Linux,
// "udp port 5060" then also matches that traffic on a VLAN trunk.
func (g *gen) view(build func(k int) *node) *node {
	if !g.socket || g.vlans == 0 {
		return build(g.vlans)
	}
	meta := g.metaTag()
	return or(and(meta, build(g.vlans-1)), and(not(meta), build(g.vlans)))
}

func (g *gen) metaTag() *node {
	return cmp(jeq, 1, ldExt(bpf.ExtVLANTagPresent))
}

// etherType tests the protocol of the network layer behind k tags.
func (g *gen) etherType(k int, et uint16) *node {
	if k > 0 && g.link != linkEthernet {
		return nodeFalse
	}
	switch g.link {
	case linkEthernet:
		return cmp(jeq, uint32(et), ldh(12+4*uint32(k)))
	case linkSLL:
		return cmp(jeq, uint32(et), ldh(14))
	case linkSLL2:
		return cmp(jeq, uint32(et), ldh(0))
	case linkRaw:
		switch et {
		case etherIPv4:
			return cmp(jeq, 0x40, ldb(0), andK(0xf0))
		case etherIPv6:
			return cmp(jeq, 0x60, ldb(0), andK(0xf0))
		}
		return nodeFalse
	case linkIPv4:
		return boolNode(et == etherIPv4)
	}
	return boolNode(et == etherIPv6)
}

// nh is the offset of the network-layer header behind k tags.
func (g *gen) nh(k int) uint32 {
	switch g.link {
	case linkEthernet:
		return 14 + 4*uint32(k)
	case linkSLL:
		return 16
	case linkSLL2:
		return 20
	}
	return 0
}

func (g *gen) etherProto(et uint16) *node {
	return g.view(func(k int) *node { return g.etherType(k, et) })
}

// ipProto matches IPv4 packets carrying protocol p (the first fragment
// and the others alike, as libpcap does).
func (g *gen) ipProto(k int, p uint8) *node {
	return and(g.etherType(k, etherIPv4), cmp(jeq, uint32(p), ldb(g.nh(k)+9)))
}

// ip6Proto matches IPv6 packets whose next header is p, directly or
// behind one Fragment header (RFC 8200 §4.5), as libpcap does. Other
// extension headers are not walked.
func (g *gen) ip6Proto(k int, p uint8) *node {
	nh := g.nh(k)
	direct := cmp(jeq, uint32(p), ldb(nh+6))
	fragmented := and(cmp(jeq, protoFragment, ldb(nh+6)), cmp(jeq, uint32(p), ldb(nh+40)))
	return and(g.etherType(k, etherIPv6), or(direct, fragmented))
}

// transport is the primitive "tcp", "udp", "sctp", "icmp", "icmp6", or
// "[ip|ip6] proto N": in IPv4, IPv6 or both.
func (g *gen) transport(p uint8, v4, v6 bool) *node {
	return g.view(func(k int) *node {
		n := nodeFalse
		if v4 {
			n = or(n, g.ipProto(k, p))
		}
		if v6 {
			n = or(n, g.ip6Proto(k, p))
		}
		return n
	})
}

// dirOp combines the source and destination tests as the direction
// qualifier says.
func dirOp(d dir, src, dst *node) *node {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirSrcAndDst:
		return and(src, dst)
	}
	return or(src, dst)
}

// host4 matches IPv4 addresses under mask in IPv4 headers and, unless the
// protocol qualifier narrows it, in the sender and target protocol
// addresses of ARP and RARP (RFC 826), as libpcap's host and net do.
func (g *gen) host4(q qual, addr, mask uint32) *node {
	return g.view(func(k int) *node {
		nh := g.nh(k)
		word := func(off uint32) *node {
			if mask == 0xffffffff {
				return cmp(jeq, addr, ldw(off))
			}
			return cmp(jeq, addr, ldw(off), andK(mask))
		}
		n := nodeFalse
		if q.proto == "" || q.proto == "ip" {
			n = or(n, and(g.etherType(k, etherIPv4), dirOp(q.dir, word(nh+12), word(nh+16))))
		}
		if q.proto == "" || q.proto == "arp" {
			n = or(n, and(g.etherType(k, etherARP), dirOp(q.dir, word(nh+14), word(nh+24))))
		}
		if q.proto == "" || q.proto == "rarp" {
			n = or(n, and(g.etherType(k, etherRARP), dirOp(q.dir, word(nh+14), word(nh+24))))
		}
		return n
	})
}

// host6 matches an IPv6 prefix in the source or destination address.
func (g *gen) host6(q qual, p netip.Prefix) *node {
	a := p.Addr().As16()
	match := func(off uint32) *node {
		n := nodeTrue
		for i := 0; i < 4; i++ {
			bits := p.Bits() - 32*i
			if bits <= 0 {
				break
			}
			w := uint32(a[4*i])<<24 | uint32(a[4*i+1])<<16 | uint32(a[4*i+2])<<8 | uint32(a[4*i+3])
			at := off + 4*uint32(i)
			if bits >= 32 {
				n = and(n, cmp(jeq, w, ldw(at)))
				continue
			}
			mask := ^uint32(0) << (32 - bits)
			n = and(n, cmp(jeq, w&mask, ldw(at), andK(mask)))
		}
		return n
	}
	return g.view(func(k int) *node {
		nh := g.nh(k)
		return and(g.etherType(k, etherIPv6), dirOp(q.dir, match(nh+8), match(nh+24)))
	})
}

// ports matches TCP, UDP or SCTP ports in lo..hi. In IPv4 only the first
// fragment carries the ports, so the others never match, and the
// transport header is found through the IHL; in IPv6 the transport
// header must follow the fixed header directly. Both as libpcap does.
func (g *gen) ports(q qual, lo, hi uint16) *node {
	var protos []uint8
	switch q.proto {
	case "tcp":
		protos = []uint8{protoTCP}
	case "udp":
		protos = []uint8{protoUDP}
	case "sctp":
		protos = []uint8{protoSCTP}
	default:
		protos = []uint8{protoTCP, protoUDP, protoSCTP}
	}
	oneOf := func(load bpf.Instruction) *node {
		n := nodeFalse
		for _, p := range protos {
			n = or(n, cmp(jeq, uint32(p), load))
		}
		return n
	}
	in := func(load ...bpf.Instruction) *node {
		if lo == hi {
			return cmp(jeq, uint32(lo), load...)
		}
		return and(cmp(jge, uint32(lo), load...), not(cmp(jgt, uint32(hi), load...)))
	}
	return g.view(func(k int) *node {
		nh := g.nh(k)
		v4 := andAll(
			g.etherType(k, etherIPv4),
			oneOf(ldb(nh+9)),
			not(cmp(jset, 0x1fff, ldh(nh+6))),
			dirOp(q.dir, in(ldxIHL(nh), ldhx(nh)), in(ldxIHL(nh), ldhx(nh+2))),
		)
		v6 := andAll(
			g.etherType(k, etherIPv6),
			oneOf(ldb(nh+6)),
			dirOp(q.dir, in(ldh(nh+40)), in(ldh(nh+42))),
		)
		return or(v4, v6)
	})
}

// vlan matches a VLAN tag (802.1Q, 802.1ad, or 0x9100) in the position
// the vlan keywords so far point at, with VLAN ID id when id >= 0, and
// moves the following primitives behind it.
func (g *gen) vlan(id int) *node {
	inband := func(k int) *node {
		if g.link != linkEthernet {
			return nodeFalse
		}
		off := 12 + 4*uint32(k)
		n := orAll(cmp(jeq, ether8021Q, ldh(off)), cmp(jeq, ether8021AD, ldh(off)), cmp(jeq, ether9100, ldh(off)))
		if id >= 0 {
			n = and(n, cmp(jeq, uint32(id), ldh(off+2), andK(0x0fff)))
		}
		return n
	}
	var n *node
	switch {
	case !g.socket:
		n = inband(g.vlans)
	case g.vlans == 0:
		meta := g.metaTag()
		tagged := meta
		if id >= 0 {
			tagged = and(meta, cmp(jeq, uint32(id), ldExt(bpf.ExtVLANTag), andK(0x0fff)))
		}
		n = or(tagged, and(not(meta), inband(0)))
	default:
		n = g.view(inband)
	}
	g.vlans++
	return n
}

// length compares the length of the whole packet.
func length(greater bool, n uint32) *node {
	if greater {
		return cmp(jge, n, ldExt(bpf.ExtLen))
	}
	return not(cmp(jgt, n, ldExt(bpf.ExtLen)))
}
