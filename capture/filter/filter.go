package filter

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"
)

// MaxSnaplen is the largest number of bytes a program keeps of a packet,
// and what it keeps when asked for 0 (libpcap's MAXIMUM_SNAPLEN).
const MaxSnaplen = 262144

// Compile compiles a tcpdump filter expression into a classic BPF program
// for frames of one link type, laid out as capture files store them:
// VLAN tags inside the frame. link is a LINKTYPE_ value such as
// capture.LinkEthernet (Ethernet, Linux cooked v1 and v2, raw IP, raw
// IPv4 and raw IPv6 are supported); it is generic so that package
// capture, which imports this one for live capture, can be passed
// without this package importing it.
//
// The program returns snaplen for a packet it accepts and 0 for one it
// rejects; snaplen <= 0 or above MaxSnaplen means MaxSnaplen. An empty
// expression accepts every packet. A syntax error is an *Error naming the
// position.
func Compile[L ~uint16](expr string, link L, snaplen int) ([]bpf.RawInstruction, error) {
	k, ok := linkKindOf(uint16(link))
	if !ok {
		return nil, fmt.Errorf("filter %s: link type %d is not supported", excerpt(expr, 0), uint16(link))
	}
	n, err := parse(expr, &gen{link: k})
	if err != nil {
		return nil, named(expr, err)
	}
	prog, err := assemble(n, clampSnaplen(snaplen))
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", excerpt(expr, 0), err)
	}
	return prog, nil
}

// Socket describes the Linux packet socket (AF_PACKET, SOCK_RAW) a
// program from CompileSocket is attached to. The kernel shows such a
// program each frame with its device's link-layer header, but with the
// outermost VLAN tag taken out and kept as metadata, and it can tell the
// program about the device and the direction.
type Socket struct {
	// Link is the link type of all frames of a socket bound to one
	// device: LINKTYPE_ETHERNET (1) or LINKTYPE_RAW (101).
	Link uint16
	// Devices, for a socket bound to no device (tcpdump's "-i any"),
	// says what frames each kind of device has. The program picks the
	// compiled expression by the device type the kernel reports
	// (SKF_AD_HATYPE) and rejects frames of the types not listed.
	Devices []Device
	// SkipOutgoing lists interface indexes whose outgoing packets are
	// rejected. A packet sent over a loopback device passes the socket
	// twice, leaving and arriving; libpcap drops the leaving copy too.
	SkipOutgoing []int
	// Snaplen is what the program returns for a packet it accepts, which
	// is how many bytes of it the kernel keeps; 0 means MaxSnaplen.
	Snaplen int
}

// Device maps a Linux device type to the link type of its frames.
type Device struct {
	Hatype uint16 // ARPHRD_ value from <linux/if_arp.h>
	Link   uint16 // LINKTYPE_ETHERNET (1) or LINKTYPE_RAW (101)
}

// PacketOutgoing is the packet type (SKF_AD_PKTTYPE, <linux/if_packet.h>)
// of a packet the host sends.
const PacketOutgoing = 4

// CompileSocket compiles a tcpdump filter expression into a classic BPF
// program to attach to the Linux packet socket s describes
// (SO_ATTACH_FILTER).
//
// The vlan keyword there follows libpcap on Linux: the first one matches
// a tag the kernel holds as metadata or, failing that, one in the frame;
// the primitives after it look behind whichever it was. Primitives before
// any vlan keyword look at the frame as the kernel shows it, so that
// "udp port 5060" also matches that traffic arriving on a VLAN trunk.
func CompileSocket(expr string, s Socket) ([]bpf.RawInstruction, error) {
	compile := func(link uint16) (*node, error) {
		k, ok := linkKindOf(link)
		if !ok || (k != linkEthernet && k != linkRaw) {
			return nil, fmt.Errorf("a packet socket does not deliver frames of link type %d", link)
		}
		return parse(expr, &gen{link: k, socket: true})
	}
	var root *node
	if len(s.Devices) == 0 {
		n, err := compile(s.Link)
		if err != nil {
			return nil, named(expr, err)
		}
		root = n
	} else {
		root = nodeFalse
		done := map[uint16]bool{}
		for _, d := range s.Devices {
			if done[d.Link] {
				continue
			}
			done[d.Link] = true
			n, err := compile(d.Link)
			if err != nil {
				return nil, named(expr, err)
			}
			kind := nodeFalse
			for _, o := range s.Devices {
				if o.Link == d.Link {
					kind = or(kind, cmp(jeq, uint32(o.Hatype), ldExt(bpf.ExtLinkLayerType)))
				}
			}
			root = or(root, and(kind, n))
		}
	}
	if len(s.SkipOutgoing) > 0 {
		on := nodeFalse
		for _, idx := range s.SkipOutgoing {
			on = or(on, cmp(jeq, uint32(idx), ldExt(bpf.ExtInterfaceIndex)))
		}
		leaving := and(cmp(jeq, PacketOutgoing, ldExt(bpf.ExtType)), on)
		root = and(not(leaving), root)
	}
	prog, err := assemble(root, clampSnaplen(s.Snaplen))
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", excerpt(expr, 0), err)
	}
	return prog, nil
}

func clampSnaplen(n int) uint32 {
	if n <= 0 || n > MaxSnaplen {
		return MaxSnaplen
	}
	return uint32(n)
}

// named puts the expression into a positional error.
func named(expr string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		e.Expr = expr
		return e
	}
	return fmt.Errorf("filter %s: %w", excerpt(expr, 0), err)
}
