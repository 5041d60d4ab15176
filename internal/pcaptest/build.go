package pcaptest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Datagram is one UDP datagram of a synthetic capture.
type Datagram struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte
}

// WriteUDP writes datagrams, in the order given, to a new pcap file at
// path as Ethernet frames carrying IPv4 or IPv6 (by the family of Src)
// and UDP, with gopacket: lengths and checksums are those a real stack
// would send, so that tshark reads the file as it reads a real capture.
func WriteUDP(t testing.TB, path string, dgs []Datagram) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for _, d := range dgs {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
		udp := &layers.UDP{SrcPort: layers.UDPPort(d.Src.Port()), DstPort: layers.UDPPort(d.Dst.Port())}
		var ip gopacket.SerializableLayer
		if d.Src.Addr().Is4() {
			eth.EthernetType = layers.EthernetTypeIPv4
			v4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
				SrcIP: d.Src.Addr().AsSlice(), DstIP: d.Dst.Addr().AsSlice()}
			if err := udp.SetNetworkLayerForChecksum(v4); err != nil {
				t.Fatal(err)
			}
			ip = v4
		} else {
			eth.EthernetType = layers.EthernetTypeIPv6
			v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
				SrcIP: d.Src.Addr().AsSlice(), DstIP: d.Dst.Addr().AsSlice()}
			if err := udp.SetNetworkLayerForChecksum(v6); err != nil {
				t.Fatal(err)
			}
			ip = v6
		}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(d.Payload)); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: d.Time, CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// UDP returns a raw IP packet, IPv4 or IPv6 by the family of src, that
// carries payload in a UDP datagram from src to dst: hop limit 64, the
// IPv4 header checksum set, the UDP checksum left zero. Zero means "none"
// on IPv4 (RFC 768); IPv6 wants a checksum (RFC 8200 section 8.1), but
// readers of captures do not verify it.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	udp := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	udp = append(udp, payload...)
	if src.Addr().Is4() {
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(udp)))
		h[8] = 64
		h[9] = 17
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		copy(h[12:], s4[:])
		copy(h[16:], d4[:])
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(h[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
		return append(h, udp...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(udp)))
	h[6] = 17
	h[7] = 64
	s6, d6 := src.Addr().As16(), dst.Addr().As16()
	copy(h[8:], s6[:])
	copy(h[24:], d6[:])
	return append(h, udp...)
}

// RTP returns an RTP packet (RFC 3550 section 5.1): version 2 with no
// padding, header extension or contributing sources.
func RTP(seq uint16, ts, ssrc uint32, pt uint8, marker bool, payload []byte) []byte {
	b := make([]byte, 12, 12+len(payload))
	b[0] = 0x80
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return append(b, payload...)
}
