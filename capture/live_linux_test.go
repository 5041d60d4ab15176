//go:build linux

package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

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
	l := openLiveForTest(t, "lo", LiveOptions{Filter: fmt.Sprintf("udp port %d", port)})
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
