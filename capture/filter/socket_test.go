package filter

import (
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// Linux device types (ARPHRD_*, <linux/if_arp.h>).
const (
	arphrdEther             = 1
	arphrdLoopback          = 772
	arphrdNone              = 0xfffe
	arphrdIEEE80211Radiotap = 803
)

func kernelAccepts(t *testing.T, prog []bpf.RawInstruction, data []byte, m meta) bool {
	t.Helper()
	n, err := kernelRun(prog, data, m)
	if err != nil {
		t.Fatalf("kernel would refuse the program: %v", err)
	}
	return n > 0
}

// socketExprs returns expressions for the socket tests: the primitive
// table's and random ones.
func socketExprs(r *rand.Rand, n int, vlanFirst bool) []string {
	var out []string
	for _, c := range primitiveCases {
		if strings.HasPrefix(c.expr, "vlan") == vlanFirst && (vlanFirst || !hasVLAN(c.expr)) {
			out = append(out, c.expr)
		}
	}
	g := &exprGen{r: r, vlan: true, noLength: true}
	for len(out) < n {
		e := g.expr(3)
		switch {
		case vlanFirst:
			out = append(out, "vlan and "+e, "vlan "+pick(r, []string{"10", "100", "200"})+" and ("+e+")")
		case !hasVLAN(e):
			out = append(out, e)
		}
	}
	return out
}

func socketPackets(t *testing.T, r *rand.Rand) []pkt {
	var ps []pkt
	for _, n := range corpus {
		ps = append(ps, n.p)
	}
	for i := 0; i < 200; i++ {
		ps = append(ps, randomPacket(r, true))
	}
	return ps
}

// ethernetPrograms compiles expr for a socket on an Ethernet device and
// for a capture file of Ethernet frames.
func ethernetPrograms(t *testing.T, expr string) (sock, file []bpf.RawInstruction) {
	t.Helper()
	sock, err := CompileSocket(expr, Socket{Link: linktypeEthernet})
	if err != nil {
		t.Fatalf("CompileSocket(%q): %v", expr, err)
	}
	file, err = Compile(expr, linktypeEthernet, 0)
	if err != nil {
		t.Fatalf("Compile(%q): %v", expr, err)
	}
	return sock, file
}

// Without vlan keywords, a socket program judges the frame the kernel
// shows it exactly as Compile's program judges that frame in a file, with
// or without a tag in metadata: like libpcap on Linux, "udp" also catches
// UDP on a trunk whose tags the kernel took out.
func TestCompileSocketWithoutVLANJudgesTheVisibleFrame(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	packets := socketPackets(t, r)
	for _, expr := range socketExprs(r, 150, false) {
		sock, file := ethernetPrograms(t, expr)
		for _, p := range packets {
			frame := p.ethernet(t)
			stripped, m := stripOuterTag(frame)
			for _, v := range []struct {
				data []byte
				m    meta
			}{{frame, meta{}}, {stripped, m}} {
				if got, want := kernelAccepts(t, sock, v.data, v.m), vmAccepts(t, file, v.data); got != want {
					t.Errorf("%q on %v (metadata tag %v): socket %v, file %v", expr, p, v.m.vlanPresent, got, want)
				}
			}
		}
	}
}

// With a vlan keyword first, a socket program judges a frame whose outer
// tag the kernel moved to metadata as Compile's program judges the frame
// as it was on the wire, and a frame that kept its tag the same way too.
func TestCompileSocketVLANSeesTheMetadataTag(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	packets := socketPackets(t, r)
	for _, expr := range socketExprs(r, 150, true) {
		sock, file := ethernetPrograms(t, expr)
		for _, p := range packets {
			frame := p.ethernet(t)
			want := vmAccepts(t, file, frame)
			if got := kernelAccepts(t, sock, frame, meta{}); got != want {
				t.Errorf("%q on %v with the tag in the frame: socket %v, file %v", expr, p, got, want)
			}
			stripped, m := stripOuterTag(frame)
			if got := kernelAccepts(t, sock, stripped, m); got != want {
				t.Errorf("%q on %v with the tag in metadata: socket %v, file %v", expr, p, got, want)
			}
		}
	}
}

func TestCompileSocketSkipsOutgoingLoopbackCopies(t *testing.T) {
	const lo, eth = 1, 2
	frame := corpus[0].p.ethernet(t)
	for _, expr := range []string{"", "udp port 5060"} {
		prog, err := CompileSocket(expr, Socket{Link: linktypeEthernet, SkipOutgoing: []int{lo}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			ifIndex, pktType uint32
			want             bool
		}{
			{lo, PacketOutgoing, false},
			{lo, 0, true}, // PACKET_HOST: the arriving copy
			{eth, PacketOutgoing, true},
			{eth, 0, true},
		} {
			m := meta{ifIndex: c.ifIndex, pktType: c.pktType}
			if got := kernelAccepts(t, prog, frame, m); got != c.want {
				t.Errorf("%q: ifindex %d packet type %d: %v, want %v", expr, c.ifIndex, c.pktType, got, c.want)
			}
		}
	}
}

// A socket bound to no device sees Ethernet frames from Ethernet and
// loopback devices and bare IP packets from tunnels: the program judges
// each by its device's link type and rejects devices it was not told of.
func TestCompileSocketAnyDeviceDispatchesOnDeviceType(t *testing.T) {
	devices := []Device{{arphrdEther, linktypeEthernet}, {arphrdLoopback, linktypeEthernet}, {arphrdNone, linktypeRaw}}
	r := rand.New(rand.NewPCG(7, 8))
	g := &exprGen{r: r}
	exprs := []string{"", "udp port 5060", "host 10.0.0.1 or 2001:db8::1"}
	for i := 0; i < 60; i++ {
		exprs = append(exprs, g.expr(3))
	}
	for _, expr := range exprs {
		sock, err := CompileSocket(expr, Socket{Devices: devices})
		if err != nil {
			t.Fatalf("CompileSocket(%q): %v", expr, err)
		}
		eth, err := Compile(expr, linktypeEthernet, 0)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := Compile(expr, linktypeRaw, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range corpus {
			if len(n.p.tags) > 0 || n.p.cut > 0 {
				continue
			}
			frame := n.p.ethernet(t)
			for _, hatype := range []uint32{arphrdEther, arphrdLoopback} {
				if got, want := kernelAccepts(t, sock, frame, meta{hatype: hatype}), vmAccepts(t, eth, frame); got != want {
					t.Errorf("%q on %s from device type %d: %v, want %v", expr, n.name, hatype, got, want)
				}
			}
			if body, ok := inLink(frame, linktypeRaw); ok {
				if got, want := kernelAccepts(t, sock, body, meta{hatype: arphrdNone}), vmAccepts(t, raw, body); got != want {
					t.Errorf("%q on %s from a tunnel: %v, want %v", expr, n.name, got, want)
				}
			}
			if kernelAccepts(t, sock, frame, meta{hatype: arphrdIEEE80211Radiotap}) {
				t.Errorf("%q accepts a frame from a device type it does not know", expr)
			}
		}
	}
}

// On a device without link-layer header a VLAN can only be metadata.
func TestCompileSocketRawVLANIsMetadata(t *testing.T) {
	prog, err := CompileSocket("vlan 5 and udp", Socket{Link: linktypeRaw})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := inLink(corpus[0].p.ethernet(t), linktypeRaw)
	for _, c := range []struct {
		m    meta
		want bool
	}{
		{meta{vlanPresent: true, vlanTCI: 5}, true},
		{meta{vlanPresent: true, vlanTCI: 0x2000 | 5}, true},
		{meta{vlanPresent: true, vlanTCI: 6}, false},
		{meta{}, false},
	} {
		if got := kernelAccepts(t, prog, body, c.m); got != c.want {
			t.Errorf("metadata %+v: %v, want %v", c.m, got, c.want)
		}
	}
}

func TestCompileSocketRejectsCookedLinkTypes(t *testing.T) {
	for _, s := range []Socket{{Link: linktypeSLL}, {Devices: []Device{{arphrdEther, linktypeSLL2}}}, {Link: 999}} {
		if _, err := CompileSocket("udp", s); err == nil {
			t.Errorf("CompileSocket for %+v = nil error", s)
		}
	}
}
