package hep

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/decode"
)

// chunks splits a HEP3 packet into its generic chunks by type, failing the
// test on anything malformed.
func chunks(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("HEP3")) || int(binary.BigEndian.Uint16(b[4:])) != len(b) {
		t.Fatalf("not one whole HEP3 packet: % x", b[:min(6, len(b))])
	}
	out := map[uint16][]byte{}
	for off := 6; off < len(b); {
		vendor, typ, n := binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:]), int(binary.BigEndian.Uint16(b[off+4:]))
		if vendor != 0 || n < 6 || off+n > len(b) {
			t.Fatalf("chunk at %d: vendor %d type %#x length %d", off, vendor, typ, n)
		}
		if _, dup := out[typ]; dup {
			t.Fatalf("chunk type %#04x twice", typ)
		}
		out[typ] = b[off+6 : off+n]
		off += n
	}
	return out
}

// udpCollector is a UDP socket standing in for HOMER.
func udpCollector(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 70000)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestSenderWritesTheChunksHOMERReads(t *testing.T) {
	for _, tc := range []struct {
		name      string
		collector string
		src, dst  netip.AddrPort
		transport decode.Transport
		password  string
		want      map[uint16][]byte
	}{
		{
			name: "IPv4 UDP with a password", collector: "127.0.0.1:0",
			src: agentSrc, dst: agentDst, transport: decode.UDP, password: "s3cret",
			want: map[uint16][]byte{
				0x0001: {2}, 0x0002: {17},
				0x0003: agentSrc.Addr().AsSlice(), 0x0004: agentDst.Addr().AsSlice(),
				0x000e: []byte("s3cret"),
			},
		},
		{
			name: "IPv6 TCP", collector: "127.0.0.1:0",
			src: netip.MustParseAddrPort("[2001:db8::10]:5061"), dst: netip.MustParseAddrPort("[2001:db8::20]:5060"),
			transport: decode.TCP,
			want: map[uint16][]byte{
				0x0001: {10}, 0x0002: {6},
				0x0005: netip.MustParseAddr("2001:db8::10").AsSlice(), 0x0006: netip.MustParseAddr("2001:db8::20").AsSlice(),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := udpCollector(t, tc.collector)
			s, err := Dial("udp", col.LocalAddr().String(), SenderOptions{NodeID: 2001, Password: tc.password})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			meta := decode.Meta{Src: tc.src, Dst: tc.dst, Time: agentTime, Transport: tc.transport}
			s.SIP(&meta, "a84b4c76e66710@pc33.example.com", []byte(invite))
			got := chunks(t, receive(t, col))

			want := map[uint16][]byte{
				0x0007: u16(tc.src.Port()), 0x0008: u16(tc.dst.Port()),
				0x0009: u32(uint32(agentTime.Unix())), 0x000a: u32(uint32(agentTime.Nanosecond() / 1000)),
				0x000b: {1}, 0x000c: u32(2001),
				0x000f: []byte(invite), 0x0011: []byte("a84b4c76e66710@pc33.example.com"),
			}
			for k, v := range tc.want {
				want[k] = v
			}
			for typ, v := range want {
				if !bytes.Equal(got[typ], v) {
					t.Errorf("chunk %#04x = %q, want %q", typ, got[typ], v)
				}
			}
			for typ := range got {
				if _, ok := want[typ]; !ok {
					t.Errorf("unexpected chunk %#04x = %q", typ, got[typ])
				}
			}
			// The writer counts a packet after its write returns, which may
			// be after the collector has read it.
			st := s.Stats()
			for deadline := time.Now().Add(2 * time.Second); st.Sent == 0 && time.Now().Before(deadline); st = s.Stats() {
				time.Sleep(time.Millisecond)
			}
			if st.Sent != 1 || st.Dropped != 0 || st.Errors != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestSenderToListenerOverTCPRoundTrips(t *testing.T) {
	l := listen(t, "127.0.0.1:0", ListenOptions{})
	s, err := Dial("tcp", l.Addr().String(), SenderOptions{NodeID: 7})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		meta := decode.Meta{Src: agentSrc, Dst: agentDst, Time: agentTime.Add(time.Duration(i) * time.Millisecond), Transport: decode.TCP}
		msg := strings.Replace(invite, "CSeq: 314159", "CSeq: "+strconv.Itoa(i+1), 1)
		s.SIP(&meta, "cid", []byte(msg))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Sent != n {
		t.Fatalf("sent %+v, want %d", st, n)
	}
	got := decodeAll(t, nextPackets(t, l, n))
	if len(got.sip) != n {
		t.Fatalf("collector decoded %d messages, want %d", len(got.sip), n)
	}
	for i, m := range got.sip {
		if !strings.Contains(m.text, "CSeq: "+strconv.Itoa(i+1)+" ") || !m.meta.Time.Equal(agentTime.Add(time.Duration(i)*time.Millisecond)) || m.meta.Transport != decode.TCP {
			t.Fatalf("message %d out of order or altered: %v %q", i, m.meta.Time, m.text[:40])
		}
	}
}

func TestSenderReconnectsWhenTheCollectorDropsTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := Dial("tcp", ln.Addr().String(), SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	first.Close()

	// Writes fail once the close is noticed; later ones go over a new
	// connection, at most a second on.
	meta := decode.Meta{Src: agentSrc, Dst: agentDst, Time: agentTime}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	var second net.Conn
	for second == nil && time.Now().Before(deadline) {
		s.SIP(&meta, "cid", []byte(invite))
		select {
		case second = <-accepted:
		case <-time.After(100 * time.Millisecond):
		}
	}
	if second == nil {
		t.Fatalf("no new connection within 5s: %+v", s.Stats())
	}
	defer second.Close()
	s.SIP(&meta, "cid", []byte(invite))
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 6)
	if _, err := second.Read(hdr); err != nil || string(hdr[:4]) != "HEP3" {
		t.Fatalf("read %q, %v from the new connection", hdr, err)
	}
	if st := s.Stats(); st.Errors == 0 {
		t.Errorf("the broken connection cost no counted error: %+v", st)
	}
}

func TestSenderDropsWhatDoesNotFitHEP3(t *testing.T) {
	col := udpCollector(t, "127.0.0.1:0")
	s, err := Dial("udp", col.LocalAddr().String(), SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	meta := decode.Meta{Src: agentSrc, Dst: agentDst, Time: agentTime}
	s.SIP(&meta, "cid", bytes.Repeat([]byte("x"), 70000))
	s.Close()
	if st := s.Stats(); st.Dropped != 1 || st.Sent != 0 {
		t.Errorf("stats %+v, want one dropped", st)
	}
}

func TestDialRefusesOtherNetworks(t *testing.T) {
	if _, err := Dial("unix", "/x", SenderOptions{}); err == nil {
		t.Error("Dial accepted network unix")
	}
}
