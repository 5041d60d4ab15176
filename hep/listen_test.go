package hep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
)

func TestListenerUDPDeliversSIPWithAgentAddressesAndTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		packet  []byte
		version int
	}{
		{"HEPv3", nil, 3},
		{"HEPv2", hep2(invite), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.packet == nil {
				tc.packet = hep3(t, invite, 17)
			}
			l := listen(t, "127.0.0.1:0", ListenOptions{})
			before := time.Now().UTC()
			from := sendUDP(t, l.Addr(), tc.packet)
			pkts := nextPackets(t, l, 1)
			p := pkts[0]
			if p.Frame != 1 || p.LinkType != capture.LinkRaw || p.OrigLen != len(p.Data) {
				t.Errorf("packet frame %d, link %v, orig %d of %d bytes; want frame 1, raw, whole", p.Frame, p.LinkType, p.OrigLen, len(p.Data))
			}
			if p.Time.Before(before.Add(-time.Second)) || p.Time.After(time.Now().Add(time.Second)) {
				t.Errorf("packet time %v is not the arrival time (about %v)", p.Time, before)
			}
			src, dst, proto, udp := ipHeader(t, p.Data)
			if src != from.Addr() || dst != l.Addr().Addr() || proto != 17 {
				t.Errorf("outer packet %v > %v proto %d; want %v > %v UDP", src, dst, proto, from.Addr(), l.Addr().Addr())
			}
			if sp, dp := binary.BigEndian.Uint16(udp), binary.BigEndian.Uint16(udp[2:]); sp != from.Port() || dp != l.Addr().Port() {
				t.Errorf("outer ports %d > %d; want %d > %d", sp, dp, from.Port(), l.Addr().Port())
			}
			if !bytes.Equal(udp[8:], tc.packet) {
				t.Error("the UDP payload is not the HEP packet as sent")
			}

			got := decodeAll(t, pkts)
			if len(got.sip) != 1 || len(got.warnings) != 0 {
				t.Fatalf("decoder gave %d SIP messages and warnings %v; want 1 and none", len(got.sip), got.warnings)
			}
			m := got.sip[0]
			if m.meta.Src != agentSrc || m.meta.Dst != agentDst || !m.meta.Time.Equal(agentTime) ||
				m.meta.Transport != decode.UDP || m.meta.Carrier&decode.CarrierHEP == 0 || m.meta.Frame != 1 {
				t.Errorf("meta %+v; want the agent's %v > %v at %v over UDP, carried in HEP, frame 1", m.meta, agentSrc, agentDst, agentTime)
			}
			if m.text != invite {
				t.Errorf("SIP text differs:\n%q", m.text)
			}
		})
	}
}

func TestListenerTCPFramesPacketsByTheirLength(t *testing.T) {
	l := listen(t, "127.0.0.1:0", ListenOptions{})
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var stream []byte
	var want []string
	for i := range 5 {
		msg := strings.Replace(invite, "CSeq: 314159", "CSeq: "+string(rune('1'+i)), 1)
		want = append(want, msg)
		stream = append(stream, hep3(t, msg, 6)...)
	}
	// Three packets in one write, then the rest a few bytes at a time, so
	// packet boundaries fall inside reads and reads inside packets.
	third := 0
	for range 3 {
		third += int(binary.BigEndian.Uint16(stream[third+4:]))
	}
	if _, err := c.Write(stream[:third]); err != nil {
		t.Fatal(err)
	}
	for rest := stream[third:]; len(rest) > 0; {
		n := min(7, len(rest))
		if _, err := c.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
		time.Sleep(time.Millisecond)
	}
	pkts := nextPackets(t, l, 5)
	for i, p := range pkts {
		src, dst, _, _ := ipHeader(t, p.Data)
		if src != netip.MustParseAddr("127.0.0.1") || dst != l.Addr().Addr() || p.Frame != i+1 {
			t.Errorf("packet %d: %v > %v frame %d", i, src, dst, p.Frame)
		}
	}
	got := decodeAll(t, pkts)
	if len(got.sip) != 5 {
		t.Fatalf("decoded %d SIP messages, want 5 (warnings %v)", len(got.sip), got.warnings)
	}
	for i, m := range got.sip {
		if m.text != want[i] || m.meta.Transport != decode.TCP {
			t.Errorf("message %d over %v: %q", i, m.meta.Transport, m.text)
		}
	}
	if st := l.Stats(); st.Connections != 1 || st.Packets != 5 || st.NotHEP != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestListenerGivesUpATCPStreamThatIsNotHEP3(t *testing.T) {
	l := listen(t, "127.0.0.1:0", ListenOptions{})
	bad, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	// HEPv2 has no total length, so it cannot be framed on a stream.
	if _, err := bad.Write(hep2(invite)); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, func(s ListenerStats) bool { return s.NotHEP == 1 })
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("the listener did not close the connection: read gave %v", err)
	}

	good, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if _, err := good.Write(hep3(t, invite, 6)); err != nil {
		t.Fatal(err)
	}
	nextPackets(t, l, 1)
}

func TestListenerCountsWhatItCannotUse(t *testing.T) {
	l := listen(t, "127.0.0.1:0", ListenOptions{Queue: 2})
	sendUDP(t, l.Addr(), []byte(invite), []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	waitStats(t, l, func(s ListenerStats) bool { return s.NotHEP == 2 })

	pkt := hep3(t, invite, 17)
	for range 6 {
		sendUDP(t, l.Addr(), pkt)
	}
	st := waitStats(t, l, func(s ListenerStats) bool { return s.Packets+s.Dropped == 6 })
	if st.Packets != 2 || st.Dropped != 4 {
		t.Errorf("with a queue of 2 and nobody reading: %d queued, %d dropped; want 2 and 4", st.Packets, st.Dropped)
	}
	nextPackets(t, l, 2)
}

func TestListenerRefusesConnectionsBeyondMaxConns(t *testing.T) {
	l := listen(t, "127.0.0.1:0", ListenOptions{MaxConns: 1})
	first, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	waitStats(t, l, func(s ListenerStats) bool { return s.Connections == 1 })
	second, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	waitStats(t, l, func(s ListenerStats) bool { return s.Refused == 1 })
	if _, err := first.Write(hep3(t, invite, 6)); err != nil {
		t.Fatal(err)
	}
	nextPackets(t, l, 1)
}

func TestListenerCloseLeavesQueuedPacketsThenEOF(t *testing.T) {
	l := listen(t, "127.0.0.1:0", ListenOptions{})
	pkt := hep3(t, invite, 17)
	sendUDP(t, l.Addr(), pkt, pkt, pkt)
	waitStats(t, l, func(s ListenerStats) bool { return s.Packets == 3 })
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitStats(t, l, func(s ListenerStats) bool { return s.Connections == 1 })
	done := make(chan struct{})
	go func() {
		l.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with a connection open")
	}
	var p capture.Packet
	for i := range 3 {
		if err := l.Next(&p); err != nil {
			t.Fatalf("packet %d after Close: %v", i+1, err)
		}
	}
	if err := l.Next(&p); !errors.Is(err, io.EOF) {
		t.Fatalf("after the queued packets Next gave %v, want io.EOF", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestListenerOverIPv6(t *testing.T) {
	l, err := Listen("[::1]:0", ListenOptions{})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer l.Close()
	from := sendUDP(t, l.Addr(), hep3(t, invite, 17))
	pkts := nextPackets(t, l, 1)
	src, dst, proto, _ := ipHeader(t, pkts[0].Data)
	if src != from.Addr() || dst != netip.IPv6Loopback() || proto != 17 {
		t.Errorf("outer packet %v > %v proto %d", src, dst, proto)
	}
	if got := decodeAll(t, pkts); len(got.sip) != 1 || got.sip[0].meta.Src != agentSrc {
		t.Errorf("decoded %+v", got.sip)
	}
}

func TestWrapUDPRefusesPayloadsBeyondTheIPLength(t *testing.T) {
	buf := make([]byte, headroom+maxHEP)
	v4 := netip.MustParseAddrPort("192.0.2.1:9060")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:9060")
	for _, tc := range []struct {
		addr netip.AddrPort
		n    int
		ok   bool
	}{
		{v4, maxPayload4, true},
		{v4, maxPayload4 + 1, false},
		{v6, maxPayload6, true},
		{v6, maxPayload6 + 1, false},
	} {
		got := wrapUDP(buf, tc.addr, tc.addr, tc.n)
		if (got != nil) != tc.ok {
			t.Errorf("%v with %d bytes: wrapped %v, want %v", tc.addr, tc.n, got != nil, tc.ok)
		}
		if got != nil {
			ipHeader(t, got)
		}
	}
}

func TestSameFamilyMatchesTheLocalAddressToTheRemote(t *testing.T) {
	for _, tc := range []struct{ remote, local, wantR, wantL string }{
		{"192.0.2.1:1000", "127.0.0.1:9060", "192.0.2.1:1000", "127.0.0.1:9060"},
		{"[::ffff:192.0.2.1]:1000", "[::]:9060", "192.0.2.1:1000", "0.0.0.0:9060"},
		{"[2001:db8::1]:1000", "0.0.0.0:9060", "[2001:db8::1]:1000", "[::]:9060"},
	} {
		r, l := sameFamily(netip.MustParseAddrPort(tc.remote), netip.MustParseAddrPort(tc.local))
		if r.String() != tc.wantR || l.String() != tc.wantL {
			t.Errorf("sameFamily(%s, %s) = %s, %s; want %s, %s", tc.remote, tc.local, r, l, tc.wantR, tc.wantL)
		}
	}
}

// FuzzReadStream feeds arbitrary bytes to the TCP framing: it must never
// panic, and every packet it queues must be a well-formed IP datagram
// holding a HEP3 packet of the length its header gave.
func FuzzReadStream(f *testing.F) {
	f.Add(hep3(f, invite, 6))
	f.Add(append(hep3(f, invite, 6), hep3(f, "BYE sip:x SIP/2.0\r\n\r\n", 6)...))
	f.Add([]byte("HEP3\x00\x06HEP3\x00\x05"))
	f.Add(hep2(invite))
	f.Fuzz(func(t *testing.T, b []byte) {
		l := &Listener{
			queue: make(chan *item, len(b)/6+1),
			free:  make(chan *item, 1),
			done:  make(chan struct{}),
		}
		remote := netip.MustParseAddrPort("192.0.2.1:40000")
		local := netip.MustParseAddrPort("192.0.2.2:9060")
		l.readStream(bytes.NewReader(b), remote, local)
		close(l.queue)
		off := 0
		for it := range l.queue {
			n := int(binary.BigEndian.Uint16(b[off+4:]))
			if !bytes.Equal(it.data[ipv4HeaderLen+udpHeaderLen:], b[off:off+n]) {
				t.Fatalf("packet at offset %d differs from the stream", off)
			}
			off += n
		}
	})
}
