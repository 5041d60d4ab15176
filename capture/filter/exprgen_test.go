package filter

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Values the generated expressions and packets share, so that a good
// part of the expressions match some packets.
var (
	genHosts4 = []string{"10.0.0.1", "10.0.0.2", "192.168.1.10", "172.16.5.4", "10.0.0.3"}
	genHosts6 = []string{"2001:db8::1", "2001:db8::2", "fe80::1", "2001:db8:1::5"}
	genNets4  = []string{"10.0.0.0/8", "10.0.0.0/24", "192.168", "172.16.0.0/12", "10.0.0.0 mask 255.255.255.0", "0.0.0.0/0", "10"}
	genNets6  = []string{"2001:db8::/32", "2001:db8::/48", "fe80::/10", "::/0", "2001:db8::2"}
	genPorts  = []uint16{5060, 5061, 5062, 5080, 443, 10002, 20000, 40000, 2905, 6000, 5070}
	genRanges = []string{"10000-20000", "5000-5100", "5061-5062", "1-1024", "20000-10000", "5060-5060"}
	genDirs   = []string{"", "src ", "dst ", "src or dst ", "src and dst "}
	genVLANs  = []int{10, 100, 200, 5}
	genProtos = []uint8{protoUDP, protoTCP, protoSCTP, protoICMP, protoICMPv6}
)

// exprGen writes random filter expressions in the supported language.
type exprGen struct {
	r    *rand.Rand
	vlan bool // the link type has VLAN support
	// noLength leaves out less and greater, whose meaning changes when a
	// tag moves out of the frame.
	noLength bool
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (g *exprGen) expr(depth int) string {
	if depth == 0 || g.r.IntN(10) < 4 {
		return g.primitive()
	}
	a := g.expr(depth - 1)
	switch g.r.IntN(8) {
	case 0:
		return a + " and " + g.expr(depth-1)
	case 1:
		return a + " or " + g.expr(depth-1)
	case 2:
		return a + " && " + g.expr(depth-1)
	case 3:
		return a + " || " + g.expr(depth-1)
	case 4:
		return "not " + a
	case 5:
		return "!(" + a + ")"
	case 6:
		return "(" + a + ") and (" + g.expr(depth-1) + ")"
	}
	return "(" + a + " or " + g.expr(depth-1) + ")"
}

func (g *exprGen) primitive() string {
	r := g.r
	switch r.IntN(13) {
	case 0:
		return pick(r, []string{"ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6"})
	case 1, 2:
		pq := pick(r, []string{"", "ip ", "arp ", "rarp "})
		s := pq + pick(r, genDirs) + "host " + pick(r, genHosts4)
		if r.IntN(3) == 0 {
			s += " or " + pick(r, genHosts4)
		}
		return s
	case 3:
		return pick(r, []string{"", "ip6 "}) + pick(r, genDirs) + "host " + pick(r, genHosts6)
	case 4:
		return pick(r, []string{"", "ip ", "arp "}) + pick(r, genDirs) + "net " + pick(r, genNets4)
	case 5:
		return pick(r, []string{"", "ip6 "}) + pick(r, genDirs) + "net " + pick(r, genNets6)
	case 6, 7:
		s := pick(r, []string{"", "tcp ", "udp ", "sctp "}) + pick(r, genDirs) + fmt.Sprintf("port %d", pick(r, genPorts))
		if r.IntN(3) == 0 {
			s += fmt.Sprintf(" or %d", pick(r, genPorts))
		}
		return s
	case 8:
		return pick(r, []string{"", "tcp ", "udp ", "sctp "}) + pick(r, genDirs) + "portrange " + pick(r, genRanges)
	case 9:
		p := pick(r, genProtos)
		return pick(r, []string{"", "ip ", "ip6 "}) + fmt.Sprintf("proto %d", p)
	case 10:
		if !g.noLength {
			return fmt.Sprintf("%s %d", pick(r, []string{"less", "greater"}), 40+r.IntN(160))
		}
		return "udp"
	}
	if !g.vlan {
		return "ip"
	}
	if r.IntN(2) == 0 {
		return "vlan"
	}
	return fmt.Sprintf("vlan %d", pick(r, genVLANs))
}

// randomPacket builds a packet from the same values, with VLAN tags only
// when tagged is set.
func randomPacket(r *rand.Rand, tagged bool) pkt {
	var p pkt
	if tagged {
		for n := r.IntN(3); n > 0; n-- {
			tpid := pick(r, []uint32{ether8021Q, ether8021AD, ether9100})
			p.tags = append(p.tags, tpid<<16|uint32(r.IntN(8))<<13|uint32(pick(r, genVLANs)))
		}
	}
	switch r.IntN(12) {
	case 0:
		p.arp = pick(r, []uint16{etherARP, etherRARP})
		p.src, p.dst = pick(r, genHosts4), pick(r, genHosts4)
		return p
	case 1, 2, 3, 4:
		p.src, p.dst = pick(r, genHosts6), pick(r, genHosts6)
		p.proto = pick(r, []uint8{protoUDP, protoTCP, protoSCTP, protoICMPv6})
		if r.IntN(5) == 0 {
			p.v6frag = true
			p.more = r.IntN(2) == 0
		}
	default:
		p.src, p.dst = pick(r, genHosts4), pick(r, genHosts4)
		p.proto = pick(r, []uint8{protoUDP, protoTCP, protoSCTP, protoICMP})
		switch r.IntN(6) {
		case 0:
			p.more = true
		case 1:
			p.fragOff = uint16(1 + r.IntN(200))
		case 2:
			p.options = 4 * (1 + r.IntN(10))
		}
	}
	p.sport, p.dport = pick(r, genPorts), pick(r, genPorts)
	if r.IntN(4) == 0 {
		p.sport = uint16(r.IntN(65536))
	}
	p.payload = r.IntN(200)
	return p
}

func hasVLAN(expr string) bool { return strings.Contains(expr, "vlan") }
