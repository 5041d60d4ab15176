package hep

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
)

// sipMsg is what the decoder delivered for one SIP message.
type sipMsg struct {
	meta decode.Meta
	text string
}

// collector is a decode.Handler that keeps what it is given.
type collector struct {
	sip       []sipMsg
	datagrams int
	warnings  []capture.Warning
}

func (c *collector) SIP(m *decode.Meta, msg []byte) {
	c.sip = append(c.sip, sipMsg{meta: *m, text: string(msg)})
}
func (c *collector) Datagram(*decode.Meta, []byte) { c.datagrams++ }
func (c *collector) Warn(w capture.Warning)        { c.warnings = append(c.warnings, w) }

// decodeAll runs packets through a decoder, as the analysis does.
func decodeAll(t *testing.T, pkts []capture.Packet) *collector {
	t.Helper()
	c := &collector{}
	d := decode.NewDecoder(c, decode.Options{})
	for i := range pkts {
		d.Decode(&pkts[i])
	}
	d.Flush()
	return c
}

const invite = "INVITE sip:bob@example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n" +
	"Max-Forwards: 70\r\n" +
	"To: Bob <sip:bob@example.com>\r\n" +
	"From: Alice <sip:alice@example.com>;tag=1928301774\r\n" +
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n" +
	"CSeq: 314159 INVITE\r\n" +
	"Contact: <sip:alice@192.0.2.10>\r\n" +
	"Content-Length: 0\r\n\r\n"

var (
	agentSrc = netip.MustParseAddrPort("192.0.2.10:5060")
	agentDst = netip.MustParseAddrPort("198.51.100.20:5060")
	// agentTime is when the agent captured the message: older than the
	// packet's arrival, so a test can tell the two apart.
	// agentTime is an NTP-synchronised agent's clock: close to the arrival
	// time, since the decoder does not trust one that is far off.
	agentTime = time.Now().UTC().Truncate(time.Microsecond).Add(-300 * time.Millisecond)
)

// hep3 encodes a SIP message as the agent saw it.
func hep3(t testing.TB, msg string, proto uint8) []byte {
	t.Helper()
	b := decode.AppendHEP3(nil, &decode.HEPPacket{
		Version: 3, Protocol: proto, Src: agentSrc, Dst: agentDst, Time: agentTime,
		ProtoType: decode.HEPProtoSIP, CaptureID: 2001, Payload: []byte(msg),
	})
	if len(b) == 0 {
		t.Fatal("AppendHEP3 refused the packet")
	}
	return b
}

// hep2 encodes a SIP message in the fixed HEPv2 header that old Kamailio
// and OpenSIPS send: IPv4, time in little-endian, 16-bit capture ID.
func hep2(msg string) []byte {
	b := []byte{2, 28, 2, 17}
	b = binary.BigEndian.AppendUint16(b, agentSrc.Port())
	b = binary.BigEndian.AppendUint16(b, agentDst.Port())
	s, d := agentSrc.Addr().As4(), agentDst.Addr().As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(agentTime.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(agentTime.Nanosecond()/1000))
	b = binary.LittleEndian.AppendUint16(b, 2001)
	b = append(b, 0, 0)
	return append(b, msg...)
}

// listen starts a Listener on loopback, closed when the test ends.
func listen(t *testing.T, addr string, opt ListenOptions) *Listener {
	t.Helper()
	l, err := Listen(addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// nextPackets reads n packets from l, copying them, failing the test if
// they do not come within a few seconds.
func nextPackets(t *testing.T, l *Listener, n int) []capture.Packet {
	t.Helper()
	type result struct {
		pkts []capture.Packet
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		var out []capture.Packet
		for range n {
			var p capture.Packet
			if err := l.Next(&p); err != nil {
				ch <- result{out, err}
				return
			}
			p.Data = append([]byte(nil), p.Data...)
			out = append(out, p)
		}
		ch <- result{out, nil}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("after %d of %d packets: %v", len(r.pkts), n, r.err)
		}
		return r.pkts
	case <-time.After(5 * time.Second):
		t.Fatalf("%d packets did not arrive within 5s (stats %+v)", n, l.Stats())
		return nil
	}
}

// waitStats polls until cond holds for the Listener's counters.
func waitStats(t *testing.T, l *Listener, cond func(ListenerStats) bool) ListenerStats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := l.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("counters did not reach the expected values: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendUDP sends datagrams to addr from a fresh socket and returns the
// socket's address.
func sendUDP(t *testing.T, addr netip.AddrPort, datagrams ...[]byte) netip.AddrPort {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// ipHeader reads the addresses and protocol of a raw IP packet.
func ipHeader(t *testing.T, b []byte) (src, dst netip.Addr, proto byte, payload []byte) {
	t.Helper()
	switch b[0] >> 4 {
	case 4:
		hl := int(b[0]&0x0f) * 4
		if got := int(binary.BigEndian.Uint16(b[2:])); got != len(b) {
			t.Fatalf("IPv4 total length %d, packet has %d bytes", got, len(b))
		}
		if fold(sum(0, b[:hl])) != 0xffff {
			t.Fatal("IPv4 header checksum does not verify")
		}
		return netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20])), b[9], b[hl:]
	case 6:
		if got := int(binary.BigEndian.Uint16(b[4:])); got != len(b)-40 {
			t.Fatalf("IPv6 payload length %d, packet has %d bytes after the header", got, len(b)-40)
		}
		c := sum(0, b[8:40]) + uint32(len(b)-40) + uint32(b[6])
		if fold(sum(c, b[40:])) != 0xffff {
			t.Fatal("UDP checksum over IPv6 does not verify")
		}
		return netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40])), b[6], b[40:]
	}
	t.Fatalf("not an IP packet: first byte %#x", b[0])
	return
}
