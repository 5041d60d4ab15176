//go:build linux

package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/sipscope/sipscope/capture/filter"
)

func TestOpenLiveReportsFilterErrorsBeforeOpening(t *testing.T) {
	_, err := OpenLive("lo", LiveOptions{Filter: "udp prot 5060"})
	var fe *filter.Error
	if !errors.As(err, &fe) || fe.Pos != 4 {
		t.Fatalf("OpenLive with a bad filter = %v, want a filter error at column 5", err)
	}
}

func TestOpenLiveRejectsUnknownInterface(t *testing.T) {
	_, err := OpenLive("sipscope-no-such0", LiveOptions{})
	if err == nil || !strings.Contains(err.Error(), "sipscope-no-such0") {
		t.Fatalf("OpenLive on a missing interface = %v, want an error naming it", err)
	}
	if _, err := OpenLive("", LiveOptions{}); err == nil {
		t.Fatal("OpenLive without an interface succeeded")
	}
}

// On "any", the bare IP packets of tunnel devices are delivered behind a
// made-up Ethernet header that gives their IP version.
func TestLiveFramesRawPacketsAsEthernet(t *testing.T) {
	l := &Live{link: LinkEthernet, buf: make([]byte, 100)}
	for _, c := range []struct {
		data      []byte
		etherType []byte
		ok        bool
	}{
		{[]byte{0x45, 0, 0, 20}, []byte{0x08, 0x00}, true},
		{[]byte{0x60, 0, 0, 0}, []byte{0x86, 0xdd}, true},
		{[]byte{0x10, 1, 2}, nil, false},
		{nil, nil, false},
	} {
		for i := range l.buf {
			l.buf[i] = 0xff
		}
		n, grew, ok := l.frameInto(c.data, LinkRaw)
		if ok != c.ok {
			t.Errorf("% x: ok %v, want %v", c.data, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		want := append(append(make([]byte, 12), c.etherType...), c.data...)
		if grew != 14 || !bytes.Equal(l.buf[:n], want) {
			t.Errorf("% x framed as % x (grew %d), want % x", c.data, l.buf[:n], grew, want)
		}
	}
	n, grew, ok := l.frameInto([]byte{1, 2, 3}, LinkEthernet)
	if !ok || grew != 0 || !bytes.Equal(l.buf[:n], []byte{1, 2, 3}) {
		t.Errorf("an Ethernet frame was changed: % x", l.buf[:n])
	}
}

// openLiveForTest opens a live capture, or skips the test when this
// process may not capture.
func openLiveForTest(t *testing.T, iface string, opt LiveOptions) *Live {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (CAP_NET_RAW); run the tests as root to exercise AF_PACKET")
	}
	l, err := OpenLive(iface, opt)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Skipf("live capture is not permitted here: %v", err)
	}
	if err != nil {
		t.Fatalf("OpenLive(%q): %v", iface, err)
	}
	t.Cleanup(func() { l.Close() })
	// Bound the test whatever happens: Close unblocks Next.
	stop := time.AfterFunc(20*time.Second, func() { l.Close() })
	t.Cleanup(func() { stop.Stop() })
	return l
}

// liveUDPListener opens a UDP socket on a free loopback port, so that
// datagrams sent there are consumed instead of drawing ICMP errors.
func liveUDPListener(t *testing.T) (*net.UDPConn, int) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().(*net.UDPAddr).Port
}

func liveSend(t *testing.T, port, k int, tag string) {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < k; i++ {
		if _, err := fmt.Fprintf(c, "%s %d", tag, i); err != nil {
			t.Fatal(err)
		}
	}
}

// liveReadUDP reads until Close, after want packets or after a grace
// period once they are in, and returns the destination ports and payloads.
func liveReadUDP(t *testing.T, l *Live, want int) (ports []int, payloads []string) {
	t.Helper()
	var p Packet
	for {
		err := l.Next(&p)
		if err == io.EOF {
			return ports, payloads
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if p.Frame != len(ports)+1 || p.LinkType != LinkEthernet || p.OrigLen != len(p.Data) || p.Time.IsZero() {
			t.Errorf("packet %d: frame %d, link %v, orig %d of %d bytes, time %v", len(ports)+1, p.Frame, p.LinkType, p.OrigLen, len(p.Data), p.Time)
		}
		pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil {
			t.Fatalf("packet %d is not UDP: %v", p.Frame, pkt)
		}
		ports = append(ports, int(udp.DstPort))
		payloads = append(payloads, string(udp.Payload))
		if len(ports) == want {
			time.AfterFunc(300*time.Millisecond, func() { l.Close() })
		}
	}
}

func TestLiveLoopbackFiltersInTheKernel(t *testing.T) {
	_, port := liveUDPListener(t)
	_, other := liveUDPListener(t)
	// Traffic to the other port while the capture opens: what the socket
	// caught before its filter was attached must not come out.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: other})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			select {
			case <-stop:
				return
			default:
				c.Write([]byte("before"))
			}
		}
	}()
	l := openLiveForTest(t, "lo", LiveOptions{Filter: fmt.Sprintf("udp port %d", port), Timeout: 5 * time.Millisecond})
	close(stop)
	<-stopped
	const k = 50
	liveSend(t, other, k, "other")
	liveSend(t, port, k, "sip")
	liveSend(t, other, k, "other")
	ports, payloads := liveReadUDP(t, l, k)
	if len(ports) != k {
		t.Fatalf("read %d packets, want %d", len(ports), k)
	}
	for i := range ports {
		if want := fmt.Sprintf("sip %d", i); ports[i] != port || payloads[i] != want {
			t.Errorf("packet %d: port %d payload %q, want %d %q", i+1, ports[i], payloads[i], port, want)
		}
	}
	st, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// The kernel counted only what the filter let through: the other
	// port's datagrams never reached the ring.
	if st.Received != k || st.KernelDropped != 0 || st.Delivered != k || st.Skipped != 0 {
		t.Errorf("stats %+v, want %d received and delivered, nothing dropped", st, k)
	}
}

func TestLiveAnySeesLoopbackOnce(t *testing.T) {
	_, port := liveUDPListener(t)
	l := openLiveForTest(t, "any", LiveOptions{Filter: fmt.Sprintf("udp dst port %d", port), Timeout: 5 * time.Millisecond})
	if l.LinkType() != LinkEthernet {
		t.Fatalf("any delivers %v, want Ethernet", l.LinkType())
	}
	const k = 20
	liveSend(t, port, k, "any")
	ports, payloads := liveReadUDP(t, l, k)
	if len(ports) != k {
		t.Fatalf("read %d packets, want %d (each datagram once)", len(ports), k)
	}
	for i, pl := range payloads {
		if want := fmt.Sprintf("any %d", i); pl != want {
			t.Errorf("packet %d: payload %q, want %q", i+1, pl, want)
		}
	}
}

func TestLiveCloseUnblocksNext(t *testing.T) {
	_, port := liveUDPListener(t)
	l := openLiveForTest(t, "lo", LiveOptions{Filter: fmt.Sprintf("udp port %d", port), Promisc: true})
	done := make(chan error, 1)
	go func() {
		var p Packet
		done <- l.Next(&p)
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != io.EOF {
			t.Fatalf("Next after Close = %v, want io.EOF", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Next still blocked 2s after Close")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	var p Packet
	if err := l.Next(&p); err != io.EOF {
		t.Errorf("Next on a closed capture = %v, want io.EOF", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := l.Stats(); err != nil {
		t.Errorf("Stats after Close: %v", err)
	}
}

func TestLiveNextDoesNotAllocate(t *testing.T) {
	_, port := liveUDPListener(t)
	l := openLiveForTest(t, "lo", LiveOptions{Filter: fmt.Sprintf("udp port %d", port), Timeout: 5 * time.Millisecond})
	const runs = 200
	liveSend(t, port, runs+50, "alloc")
	time.Sleep(100 * time.Millisecond)
	var p Packet
	allocs := testing.AllocsPerRun(runs, func() {
		if err := l.Next(&p); err != nil {
			t.Fatalf("Next: %v", err)
		}
	})
	if allocs != 0 {
		t.Errorf("Next allocates %.1f times per packet", allocs)
	}
}

// BenchmarkLiveLoopback reads RTP-sized datagrams that another goroutine
// sends over loopback as fast as it can, and reports what the kernel
// dropped. The sender's system calls bound the rate.
func BenchmarkLiveLoopback(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("live capture needs root (CAP_NET_RAW)")
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	l, err := OpenLive("lo", LiveOptions{Filter: fmt.Sprintf("udp port %d", port), Timeout: 5 * time.Millisecond})
	if err != nil {
		b.Skipf("OpenLive: %v", err)
	}
	defer l.Close()
	go func() {
		s, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return
		}
		defer s.Close()
		buf := make([]byte, 172)
		for i := 0; i < b.N; i++ {
			s.Write(buf)
		}
		time.AfterFunc(500*time.Millisecond, func() { l.Close() })
	}()
	b.ReportAllocs()
	b.ResetTimer()
	var p Packet
	for n := 0; n < b.N && l.Next(&p) == nil; n++ {
	}
	b.StopTimer()
	st, _ := l.Stats()
	b.ReportMetric(float64(st.KernelDropped), "kernel-drops")
	b.ReportMetric(float64(st.Delivered)/float64(b.N), "delivered/sent")
}

// TestLiveVLANFilterInTheKernel checks the vlan keyword against the real
// kernel, which moves a frame's outer tag into metadata before the filter
// runs. In a network namespace of its own it sends tagged frames into one
// end of a veth pair and captures them at the other.
func TestLiveVLANFilterInTheKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace and capture")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs iproute2's ip to build the test network")
	}
	ns := fmt.Sprintf("sipscope-live-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Skipf("cannot build the test network: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	run("-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	run("-n", ns, "link", "set", "veth0", "up")
	run("-n", ns, "link", "set", "veth1", "up")

	const port = 5060
	kinds := []struct {
		name string
		tags []uint16 // TPID, VID pairs, outermost first
		n    int
	}{
		{"untagged", nil, 5},
		{"vlan100", []uint16{0x8100, 100}, 10},
		{"vlan200", []uint16{0x8100, 200}, 5},
		{"qinq", []uint16{0x88a8, 5, 0x8100, 100}, 3},
	}
	filters := map[string]int{ // expression -> packets it must catch
		"vlan 100 and udp port 5060": 10,
		"vlan 200 and udp port 5060": 5,
		"udp port 5060":              20, // like libpcap on Linux: through a metadata tag
		"udp and not vlan":           5,
		"not vlan and udp":           0, // udp comes after a vlan keyword: behind a tag
		"vlan and vlan and udp":      3,
		"vlan 5 and vlan 100":        3,
		"vlan 100 and vlan":          0,
	}
	lives := map[string]*Live{}
	var sock, ifindex int
	inNamespace(t, "/run/netns/"+ns, func() {
		for f := range filters {
			l, err := OpenLive("veth1", LiveOptions{Filter: f, Timeout: 5 * time.Millisecond, BufferSize: 2})
			if err != nil {
				t.Fatalf("OpenLive(veth1, %q): %v", f, err)
			}
			t.Cleanup(func() { l.Close() })
			lives[f] = l
		}
		iface, err := net.InterfaceByName("veth0")
		if err != nil {
			t.Fatal(err)
		}
		ifindex = iface.Index
		sock, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(sock) })
	})
	for _, k := range kinds {
		for i := 0; i < k.n; i++ {
			frame := liveTaggedUDP(t, k.tags, port, fmt.Sprintf("%s %d", k.name, i))
			if err := unix.Sendto(sock, frame, 0, &unix.SockaddrLinklayer{Ifindex: ifindex, Halen: 6}); err != nil {
				t.Fatalf("sending a frame into veth0: %v", err)
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	for f, want := range filters {
		l := lives[f]
		time.AfterFunc(100*time.Millisecond, func() { l.Close() })
		var p Packet
		got := 0
		for l.Next(&p) == nil {
			got++
			pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
			udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if udp == nil {
				t.Errorf("%q: packet %d is not UDP: %v", f, p.Frame, pkt)
				continue
			}
			// The kernel took the outer tag out; it must be back.
			name, _, _ := strings.Cut(string(udp.Payload), " ")
			var vids []uint16
			for _, l := range pkt.Layers() {
				if d, ok := l.(*layers.Dot1Q); ok {
					vids = append(vids, d.VLANIdentifier)
				}
			}
			for _, k := range kinds {
				if k.name != name {
					continue
				}
				var sent []uint16
				for i := 1; i < len(k.tags); i += 2 {
					sent = append(sent, k.tags[i])
				}
				if fmt.Sprint(vids) != fmt.Sprint(sent) {
					t.Errorf("%q: %s frame captured with VLANs %v, sent with %v", f, name, vids, sent)
				}
			}
		}
		if got != want {
			t.Errorf("%q caught %d packets, want %d", f, got, want)
		}
	}
}

// liveTaggedUDP builds a broadcast Ethernet frame with the given VLAN tags
// carrying a UDP datagram.
func liveTaggedUDP(t *testing.T, tags []uint16, port int, payload string) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0, 1},
		DstMAC:       net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		EthernetType: layers.EthernetTypeIPv4,
	}
	ls := []gopacket.SerializableLayer{eth}
	for i := 0; i+1 < len(tags); i += 2 {
		if i == 0 {
			eth.EthernetType = layers.EthernetType(tags[i])
		} else {
			ls[len(ls)-1].(*layers.Dot1Q).Type = layers.EthernetType(tags[i])
		}
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: tags[i+1], Type: layers.EthernetTypeIPv4})
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 99, 0, 1), DstIP: net.IPv4(10, 99, 0, 2)}
	udp := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(port)}
	udp.SetNetworkLayerForChecksum(ip)
	ls = append(ls, ip, udp, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inNamespace runs fn on an OS thread switched into the network namespace
// at path. Sockets opened there stay in it.
func inNamespace(t *testing.T, path string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Skipf("cannot open this thread's network namespace: %v", err)
	}
	defer orig.Close()
	target, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		t.Skipf("cannot open network namespace %s: %v", path, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Skipf("cannot enter network namespace: %v", err)
	}
	defer func() {
		// A thread that cannot go back stays locked, so the runtime
		// discards it with this goroutine.
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	fn()
}
