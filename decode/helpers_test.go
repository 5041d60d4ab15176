package decode

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// recorder is a Handler that keeps copies of what it is given.
type recorder struct {
	sips      []delivery
	datagrams []delivery
	warns     []capture.Warning
}

type delivery struct {
	meta Meta
	data string
}

func (r *recorder) SIP(m *Meta, msg []byte) {
	r.sips = append(r.sips, delivery{*m, string(msg)})
}

func (r *recorder) Datagram(m *Meta, p []byte) {
	r.datagrams = append(r.datagrams, delivery{*m, string(p)})
}

func (r *recorder) Warn(w capture.Warning) { r.warns = append(r.warns, w) }

// nopHandler discards everything, for benchmarks and fuzzing.
type nopHandler struct{}

func (nopHandler) SIP(*Meta, []byte)      {}
func (nopHandler) Datagram(*Meta, []byte) {}
func (nopHandler) Warn(w capture.Warning) {}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// feed decodes frames as consecutive packets of one link type, 10 ms apart.
func feed(d *Decoder, lt capture.LinkType, frames ...[]byte) {
	for i, f := range frames {
		d.Decode(&capture.Packet{Frame: i + 1, Time: t0.Add(time.Duration(i) * 10 * time.Millisecond),
			LinkType: lt, OrigLen: len(f), Data: f})
	}
}

// decodeFrames decodes frames as consecutive Ethernet packets and flushes
// the decoder: what it delivered, and the decoder for its Stats.
func decodeFrames(opt Options, frames ...[]byte) (*recorder, *Decoder) {
	r := &recorder{}
	d := NewDecoder(r, opt)
	feed(d, capture.LinkEthernet, frames...)
	d.Flush()
	return r, d
}

// sipMsg builds a SIP request with a body of n bytes and the given Call-ID.
func sipMsg(method, callID string, n int) string {
	body := string(bytes.Repeat([]byte("x"), n))
	return method + " sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK" + callID + "\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Content-Length: " + itoa(n) + "\r\n\r\n" + body
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

var (
	ipA  = netip.MustParseAddr("192.0.2.1")
	ipB  = netip.MustParseAddr("198.51.100.2")
	ip6A = netip.MustParseAddr("2001:db8::1")
	ip6B = netip.MustParseAddr("2001:db8::2")
)

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ipv4 builds an IPv4 header around payload; fragOff is in bytes.
func ipv4(src, dst netip.Addr, proto byte, id uint16, fragOff int, more bool, payload []byte) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], id)
	ff := uint16(fragOff / 8)
	if more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], ff)
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return append(h, payload...)
}

// ipv6 builds an IPv6 header; next is the first next-header value.
func ipv6(src, dst netip.Addr, next byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

// frag6 builds an IPv6 fragment header.
func frag6(next byte, off int, more bool, id uint32, payload []byte) []byte {
	v := uint16(off)
	if more {
		v |= 1
	}
	return cat([]byte{next, 0}, be16(v), be32(id), payload)
}

func udp(sp, dp uint16, payload []byte) []byte {
	return cat(be16(sp), be16(dp), be16(uint16(8+len(payload))), be16(0), payload)
}

func tcp(sp, dp uint16, seq, ack uint32, flags byte, payload []byte) []byte {
	return cat(be16(sp), be16(dp), be32(seq), be32(ack), []byte{5 << 4, flags}, be16(65535), be16(0), be16(0), payload)
}

var macA = []byte{0x02, 0, 0, 0, 0, 1}
var macB = []byte{0x02, 0, 0, 0, 0, 2}

func eth(et uint16, payload []byte) []byte { return cat(macB, macA, be16(et), payload) }

// ethIP wraps an IPv4 or IPv6 packet in Ethernet by its version.
func ethIP(ip []byte) []byte {
	if ip[0]>>4 == 6 {
		return eth(etherIPv6, ip)
	}
	return eth(etherIPv4, ip)
}

// udp4 is an Ethernet frame with an IPv4 UDP datagram from A to B.
func udp4(sp, dp uint16, payload []byte) []byte {
	return ethIP(ipv4(ipA, ipB, protoUDP, 1, 0, false, udp(sp, dp, payload)))
}

// tcp4 is an Ethernet frame with an IPv4 TCP segment.
func tcp4(src, dst netip.Addr, sp, dp uint16, seq, ack uint32, flags byte, payload string) []byte {
	return ethIP(ipv4(src, dst, protoTCP, 1, 0, false, tcp(sp, dp, seq, ack, flags, []byte(payload))))
}
