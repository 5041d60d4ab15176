package filter

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// pkt describes a test packet. Build serialises it with gopacket layers
// as an Ethernet frame; inLink re-frames it for another link type.
type pkt struct {
	tags    []uint32 // VLAN tags, outermost first: TPID<<16 | TCI
	arp     uint16   // EtherType of an ARP-format frame (ARP or RARP); 0 for IP
	src     string   // IP addresses (IPv4 or IPv6), or ARP sender and target
	dst     string
	proto   uint8 // IP protocol of the transport header
	sport   uint16
	dport   uint16
	fragOff uint16 // fragment offset in 8-byte units: the transport header is then absent
	more    bool   // More Fragments
	v6frag  bool   // IPv6: put a Fragment header before the transport header
	options int    // IPv4 option bytes (multiple of 4), moving the transport header
	payload int
	cut     int // keep only this many bytes of the frame when > 0
}

func (p pkt) String() string {
	var b strings.Builder
	for _, t := range p.tags {
		fmt.Fprintf(&b, "tag(%#x,%d) ", t>>16, t&0xfff)
	}
	switch p.arp {
	case etherARP:
		b.WriteString("arp ")
	case etherRARP:
		b.WriteString("rarp ")
	}
	fmt.Fprintf(&b, "%s:%d > %s:%d proto %d", p.src, p.sport, p.dst, p.dport, p.proto)
	if p.fragOff > 0 || p.more || p.v6frag {
		fmt.Fprintf(&b, " frag(off %d, mf %v, v6hdr %v)", p.fragOff, p.more, p.v6frag)
	}
	if p.options > 0 {
		fmt.Fprintf(&b, " options %d", p.options)
	}
	if p.payload > 0 {
		fmt.Fprintf(&b, " payload %d", p.payload)
	}
	if p.cut > 0 {
		fmt.Fprintf(&b, " cut %d", p.cut)
	}
	return b.String()
}

func (p pkt) isV6() bool { return strings.Contains(p.src, ":") }

// ethernet serialises the packet as an Ethernet frame.
func (p pkt) ethernet(t testing.TB) []byte {
	t.Helper()
	src, dst := netip.MustParseAddr(p.src), netip.MustParseAddr(p.dst)
	var ls []gopacket.SerializableLayer
	next := layers.EthernetTypeIPv4
	switch {
	case p.arp != 0:
		next = layers.EthernetType(p.arp)
	case p.isV6():
		next = layers.EthernetTypeIPv6
	}
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0, 1},
		DstMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0, 2},
		EthernetType: next,
	}
	ls = append(ls, eth)
	for i, tag := range p.tags {
		tpid := layers.EthernetType(tag >> 16)
		if i == 0 {
			eth.EthernetType = tpid
		} else {
			ls[len(ls)-1].(*layers.Dot1Q).Type = tpid
		}
		ls = append(ls, &layers.Dot1Q{
			Priority:       uint8(tag>>13) & 7,
			DropEligible:   tag&0x1000 != 0,
			VLANIdentifier: uint16(tag & 0xfff),
			Type:           next,
		})
	}
	if p.arp != 0 {
		ls = append(ls, &layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: 1,
			SourceHwAddress: eth.SrcMAC, SourceProtAddress: src.AsSlice(),
			DstHwAddress: eth.DstMAC, DstProtAddress: dst.AsSlice(),
		})
		return serialise(t, p.cut, ls...)
	}
	var ip gopacket.NetworkLayer
	proto := layers.IPProtocol(p.proto)
	if p.isV6() {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ls = append(ls, ip6)
		ip = ip6
		if p.v6frag {
			ip6.NextHeader = layers.IPProtocolIPv6Fragment
			ls = append(ls, &layers.IPv6Fragment{NextHeader: proto, FragmentOffset: p.fragOff, MoreFragments: p.more, Identification: 7})
		}
	} else {
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), FragOffset: p.fragOff, Id: 7}
		if p.more {
			ip4.Flags = layers.IPv4MoreFragments
		}
		if p.options > 0 {
			// Router Alert (RFC 2113) then NOPs: options that only move the
			// transport header.
			ip4.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
			for n := 4; n < p.options; n++ {
				ip4.Options = append(ip4.Options, layers.IPv4Option{OptionType: 1, OptionLength: 1})
			}
		}
		ls = append(ls, ip4)
		ip = ip4
	}
	body := make([]byte, p.payload)
	for i := range body {
		body[i] = byte(i)
	}
	if p.fragOff > 0 {
		// A later fragment: its first bytes are data that happens to look
		// like the ports, which a filter must not read as ports.
		b := make([]byte, 8+len(body))
		binary.BigEndian.PutUint16(b, p.sport)
		binary.BigEndian.PutUint16(b[2:], p.dport)
		ls = append(ls, gopacket.Payload(append(b[:8], body...)))
		return serialise(t, p.cut, ls...)
	}
	switch proto {
	case layers.IPProtocolUDP:
		u := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
		_ = u.SetNetworkLayerForChecksum(ip)
		ls = append(ls, u)
	case layers.IPProtocolTCP:
		tc := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), Seq: 1, Window: 1024, SYN: true}
		_ = tc.SetNetworkLayerForChecksum(ip)
		ls = append(ls, tc)
	case layers.IPProtocolSCTP:
		ls = append(ls, &layers.SCTP{SrcPort: layers.SCTPPort(p.sport), DstPort: layers.SCTPPort(p.dport), VerificationTag: 1})
	case layers.IPProtocolICMPv4:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)})
	case layers.IPProtocolICMPv6:
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		_ = ic.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ic)
	}
	ls = append(ls, gopacket.Payload(body))
	return serialise(t, p.cut, ls...)
}

func serialise(t testing.TB, cut int, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialise: %v", err)
	}
	b := append([]byte(nil), buf.Bytes()...)
	if cut > 0 && cut < len(b) {
		b = b[:cut]
	}
	return b
}

// inLink re-frames an Ethernet frame for another link type. ok is false
// when that link type cannot carry it (tags or ARP without a link
// header, the other IP version on a version-specific link type).
func inLink(frame []byte, link uint16) (b []byte, ok bool) {
	if len(frame) < 14 {
		return nil, false
	}
	et := binary.BigEndian.Uint16(frame[12:])
	body := frame[14:]
	switch link {
	case linktypeEthernet:
		return frame, true
	case linktypeSLL:
		h := make([]byte, 16, 16+len(body))
		binary.BigEndian.PutUint16(h[0:], 0) // PACKET_HOST
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], frame[6:12])
		binary.BigEndian.PutUint16(h[14:], et)
		return append(h, body...), true
	case linktypeSLL2:
		h := make([]byte, 20, 20+len(body))
		binary.BigEndian.PutUint16(h[0:], et)
		binary.BigEndian.PutUint32(h[4:], 2) // interface index
		binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
		h[10] = 0                            // PACKET_HOST
		h[11] = 6
		copy(h[12:], frame[6:12])
		return append(h, body...), true
	case linktypeRaw:
		return body, et == etherIPv4 || et == etherIPv6
	case linktypeIPv4:
		return body, et == etherIPv4
	case linktypeIPv6:
		return body, et == etherIPv6
	}
	return nil, false
}

// vmAccepts runs a program the way libpcap runs one over a capture file,
// with golang.org/x/net/bpf's VM, and reports whether it kept the packet.
func vmAccepts(t testing.TB, prog []bpf.RawInstruction, data []byte) bool {
	t.Helper()
	return newVMProg(t, prog).accepts(t, data)
}

// vmProg is a program loaded into golang.org/x/net/bpf's VM, to run over
// many packets.
type vmProg struct {
	vm *bpf.VM
}

func newVMProg(t testing.TB, prog []bpf.RawInstruction) vmProg {
	t.Helper()
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("program does not disassemble: %v", prog)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("VM rejects program: %v\n%v", err, ins)
	}
	return vmProg{vm}
}

// accepts reports whether the program keeps the packet.
func (p vmProg) accepts(t testing.TB, data []byte) bool {
	t.Helper()
	n, err := p.vm.Run(data)
	if err != nil {
		t.Fatalf("VM run: %v", err)
	}
	return n > 0
}

// meta is what the Linux kernel tells a socket filter besides the bytes.
type meta struct {
	vlanPresent bool
	vlanTCI     uint16
	pktType     uint32
	ifIndex     uint32
	hatype      uint32
}

// Ancillary data offsets (SKF_AD_*, <linux/filter.h>).
const (
	skfAdOff            = 0xfffff000
	skfAdPktType        = 4
	skfAdIfIndex        = 8
	skfAdHatype         = 28
	skfAdVLANTag        = 44
	skfAdVLANTagPresent = 48
)

// kernelRun interprets a classic BPF program as the Linux kernel does for
// a socket filter, ancillary loads included, straight from the opcodes
// (independently of x/net/bpf's decoder). It fails on what the kernel's
// checker would refuse: jumps out of the program, falling off its end.
func kernelRun(prog []bpf.RawInstruction, data []byte, m meta) (uint32, error) {
	var a, x uint32
	var mem [16]uint32
	load := func(off uint32, size int) (uint32, bool) {
		if off >= skfAdOff {
			switch off - skfAdOff {
			case skfAdPktType:
				return m.pktType, true
			case skfAdIfIndex:
				return m.ifIndex, true
			case skfAdHatype:
				return m.hatype, true
			case skfAdVLANTag:
				return uint32(m.vlanTCI), true
			case skfAdVLANTagPresent:
				if m.vlanPresent {
					return 1, true
				}
				return 0, true
			}
			return 0, false
		}
		if uint64(off)+uint64(size) > uint64(len(data)) {
			return 0, false
		}
		switch size {
		case 1:
			return uint32(data[off]), true
		case 2:
			return uint32(binary.BigEndian.Uint16(data[off:])), true
		}
		return binary.BigEndian.Uint32(data[off:]), true
	}
	sizeOf := func(code uint16) int {
		switch code & 0x18 {
		case 0x08:
			return 2
		case 0x10:
			return 1
		}
		return 4
	}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		k := in.K
		switch in.Op & 0x07 {
		case 0x00, 0x01: // LD, LDX
			var v uint32
			ok := true
			switch in.Op & 0xe0 {
			case 0x00:
				v = k
			case 0x20:
				v, ok = load(k, sizeOf(in.Op))
			case 0x40:
				v, ok = load(x+k, sizeOf(in.Op))
			case 0x60:
				if k >= 16 {
					return 0, fmt.Errorf("pc %d: scratch %d", pc, k)
				}
				v = mem[k]
			case 0x80:
				v = uint32(len(data))
			case 0xa0:
				v, ok = load(k, 1)
				v = 4 * (v & 0xf)
			default:
				return 0, fmt.Errorf("pc %d: bad load mode %#x", pc, in.Op)
			}
			if !ok {
				return 0, nil
			}
			if in.Op&0x07 == 0x00 {
				a = v
			} else {
				x = v
			}
		case 0x02, 0x03: // ST, STX
			if k >= 16 {
				return 0, fmt.Errorf("pc %d: scratch %d", pc, k)
			}
			if in.Op&0x07 == 0x02 {
				mem[k] = a
			} else {
				mem[k] = x
			}
		case 0x04: // ALU
			v := k
			if in.Op&0x08 != 0 {
				v = x
			}
			switch in.Op & 0xf0 {
			case 0x00:
				a += v
			case 0x10:
				a -= v
			case 0x20:
				a *= v
			case 0x30:
				if v == 0 {
					return 0, nil
				}
				a /= v
			case 0x40:
				a |= v
			case 0x50:
				a &= v
			case 0x60:
				a <<= v & 31
			case 0x70:
				a >>= v & 31
			case 0x80:
				a = -a
			case 0x90:
				if v == 0 {
					return 0, nil
				}
				a %= v
			case 0xa0:
				a ^= v
			}
		case 0x05: // JMP
			v := k
			if in.Op&0x08 != 0 {
				v = x
			}
			var taken bool
			switch in.Op & 0xf0 {
			case 0x00:
				if pc+1+int(k) >= len(prog) {
					return 0, fmt.Errorf("pc %d: ja out of program", pc)
				}
				pc += int(k)
				continue
			case 0x10:
				taken = a == v
			case 0x20:
				taken = a > v
			case 0x30:
				taken = a >= v
			case 0x40:
				taken = a&v != 0
			default:
				return 0, fmt.Errorf("pc %d: bad jump %#x", pc, in.Op)
			}
			off := int(in.Jf)
			if taken {
				off = int(in.Jt)
			}
			if pc+1+int(in.Jt) >= len(prog) || pc+1+int(in.Jf) >= len(prog) {
				return 0, fmt.Errorf("pc %d: jump out of program", pc)
			}
			pc += off
		case 0x06: // RET
			switch in.Op & 0x18 {
			case 0x00:
				return k, nil
			case 0x10:
				return a, nil
			}
			return x, nil
		case 0x07: // MISC
			if in.Op&0xf8 == 0x80 {
				a = x
			} else {
				x = a
			}
		}
	}
	return 0, fmt.Errorf("fell off the end of the program")
}

// stripOuterTag is what the Linux receive path does to a tagged Ethernet
// frame before packet sockets see it: the outer 802.1Q or 802.1ad tag
// moves into metadata.
func stripOuterTag(frame []byte) ([]byte, meta) {
	if len(frame) < 18 {
		return frame, meta{}
	}
	switch binary.BigEndian.Uint16(frame[12:]) {
	case ether8021Q, ether8021AD:
	default:
		return frame, meta{}
	}
	m := meta{vlanPresent: true, vlanTCI: binary.BigEndian.Uint16(frame[14:])}
	out := append(append([]byte(nil), frame[:12]...), frame[16:]...)
	return out, m
}
