package pcaptest

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/sipscope/sipscope/capture"
)

var (
	sipA  = netip.MustParseAddrPort("192.0.2.1:5060")
	sipB  = netip.MustParseAddrPort("192.0.2.2:5060")
	rtp6A = netip.MustParseAddrPort("[2001:db8::1]:4000")
	rtp6B = netip.MustParseAddrPort("[2001:db8::2]:5000")
)

// TestWrittenCaptureReadsBack writes datagrams over IPv4 and IPv6 and
// reads them back: the same payloads, times and frame numbers.
func TestWrittenCaptureReadsBack(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	in := []Datagram{
		{Time: t0, Src: sipA, Dst: sipB, Payload: []byte("OPTIONS sip:b@192.0.2.2 SIP/2.0\r\n\r\n")},
		{Time: t0.Add(20 * time.Millisecond), Src: rtp6A, Dst: rtp6B, Payload: RTP(1, 160, 7, 0, true, make([]byte, 160))},
	}
	path := filepath.Join(t.TempDir(), "udp.pcap")
	WriteUDP(t, path, in)
	got := Payloads(t, path)
	if len(got) != len(in) {
		t.Fatalf("read %d payloads, wrote %d", len(got), len(in))
	}
	for i, p := range got {
		if p.Frame != i+1 || p.TCP || !bytes.Equal(p.Data, in[i].Payload) {
			t.Errorf("payload %d: %+v", i, p)
		}
	}
	var times []time.Time
	Each(t, path, func(p *capture.Packet) { times = append(times, p.Time) })
	if len(times) != 2 || !times[0].Equal(in[0].Time) || !times[1].Equal(in[1].Time) {
		t.Errorf("times %v", times)
	}
}

// TestUDPPacketDecodes reads the raw packets UDP builds under every link
// type that holds bare IP.
func TestUDPPacketDecodes(t *testing.T) {
	for _, tc := range []struct {
		link     capture.LinkType
		src, dst netip.AddrPort
	}{
		{capture.LinkRaw, sipA, sipB},
		{capture.LinkIPv4, sipA, sipB},
		{capture.LinkRaw, rtp6A, rtp6B},
		{capture.LinkIPv6, rtp6A, rtp6B},
	} {
		payload := []byte("payload")
		var udp *layers.UDP
		for _, l := range Layers(&capture.Packet{LinkType: tc.link, Data: UDP(tc.src, tc.dst, payload)}) {
			if u, ok := l.(*layers.UDP); ok {
				udp = u
			}
		}
		if udp == nil || uint16(udp.SrcPort) != tc.src.Port() || uint16(udp.DstPort) != tc.dst.Port() || !bytes.Equal(udp.Payload, payload) {
			t.Errorf("%v %v -> %v: UDP %+v", tc.link, tc.src, tc.dst, udp)
		}
	}
}

// TestRTPHeader checks the fixed header RTP writes (RFC 3550 section 5.1).
func TestRTPHeader(t *testing.T) {
	got := RTP(0x0102, 0x03040506, 0x0708090a, 101, true, []byte{0xff})
	want := []byte{0x80, 0x80 | 101, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff}
	if !bytes.Equal(got, want) {
		t.Errorf("RTP % x, want % x", got, want)
	}
}
