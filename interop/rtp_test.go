package interop

import (
	"encoding/binary"
	"math"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// talkspurt is a run of G.711 µ-law RTP packets, 20 ms apart, that SIPp
// plays with play_pcap_audio. SIPp rewrites only the addresses and ports, so
// the RTP header written here (SSRC, sequence numbers, timestamps) is what
// the capture holds: that is what lets a loss rule drop chosen sequence
// numbers and the test expect exact counts.
type talkspurt struct {
	SSRC    uint32
	Seq     uint16 // first sequence number
	TS      uint32 // first RTP timestamp
	Packets int
	Marker  bool // marker bit on the first packet (start of a talkspurt)
}

const (
	ptime         = 20 * time.Millisecond
	samplesPerPkt = 160 // 20 ms at 8 kHz
	rtpHeaderLen  = 12
)

// after returns the talkspurt that continues s with n packets, as a phone
// keeps numbering across a hold.
func (s talkspurt) after(n int, gap time.Duration) talkspurt {
	return talkspurt{
		SSRC:    s.SSRC,
		Seq:     s.Seq + uint16(s.Packets),
		TS:      s.TS + uint32(s.Packets*samplesPerPkt) + uint32(gap*8000/time.Second),
		Packets: n,
		Marker:  true,
	}
}

// writeTalkspurt writes s as an Ethernet/IPv4/UDP capture. The addresses
// are placeholders: SIPp sends from its media address to the one the peer's
// SDP gave, shifting ports by the capture's offset from its lowest
// destination port, so one fixed destination port keeps RTP on the SDP port.
func writeTalkspurt(t testing.TB, path string, s talkspurt) {
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
	payload := make([]byte, rtpHeaderLen+samplesPerPkt)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range s.Packets {
		payload[0] = 0x80
		payload[1] = 0 // PCMU
		if i == 0 && s.Marker {
			payload[1] |= 0x80
		}
		binary.BigEndian.PutUint16(payload[2:], s.Seq+uint16(i))
		binary.BigEndian.PutUint32(payload[4:], s.TS+uint32(i*samplesPerPkt))
		binary.BigEndian.PutUint32(payload[8:], s.SSRC)
		tone(payload[rtpHeaderLen:], i*samplesPerPkt)

		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
		udp := &layers.UDP{SrcPort: 6000, DstPort: 6000}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		at := start.Add(time.Duration(i) * ptime)
		ci := gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// tone fills b with a 440 Hz µ-law tone starting at sample n, so the
// captures play as audio in Wireshark's RTP player.
func tone(b []byte, n int) {
	for i := range b {
		v := 8000 * math.Sin(2*math.Pi*440*float64(n+i)/8000)
		b[i] = ulaw(int16(v))
	}
}

// ulaw encodes one linear sample as G.711 µ-law (ITU-T G.711 table 2).
func ulaw(x int16) byte {
	const bias, clip = 0x84, 32635
	s := int(x)
	sign := 0
	if s < 0 {
		s, sign = -s, 0x80
	}
	if s > clip {
		s = clip
	}
	s += bias
	exp := 7
	for mask := 0x4000; s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (s >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}
