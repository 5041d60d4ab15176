package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/sipscope/sipscope/sip"
)

// HEP payload types (the "protocol type" chunk 0x000b of HEP3), as the
// HEP3 specification and HOMER number them.
const (
	HEPProtoSIP  = 1
	HEPProtoRTP  = 4
	HEPProtoRTCP = 5 // RTCP report, as JSON
	HEPProtoLog  = 100
)

// maxHEPInflated bounds a decompressed HEP payload: a compressed chunk is
// at most 64 KiB and SIP compresses well, but a crafted chunk must not
// inflate without end.
const maxHEPInflated = 256 << 10

// HEPPacket is one HEP (Homer Encapsulation Protocol, also EEP) packet: a
// payload captured elsewhere, with the addresses, ports and time of the
// packet that carried it there.
type HEPPacket struct {
	Version   int   // 1, 2 or 3
	Protocol  uint8 // IP protocol of the original packet: 17 UDP, 6 TCP, 132 SCTP
	Src, Dst  netip.AddrPort
	Time      time.Time // capture time at the agent; zero when not sent
	ProtoType uint8     // what Payload is: HEPProtoSIP, HEPProtoRTCP, HEPProtoLog, ...
	CaptureID uint32    // the capture agent's node ID
	// AuthKey, CorrelationID and Payload alias the parsed bytes, except a
	// Payload inflated from a compressed chunk, which lives in the
	// HEPPacket's own buffer until the next ParseHEP into it.
	AuthKey       []byte
	CorrelationID []byte
	Payload       []byte
	Compressed    bool // Payload came from a compressed chunk (0x0010)

	inflated []byte
	src      bytes.Reader
	zr       io.ReadCloser
	fr       io.ReadCloser
	gr       *gzip.Reader
}

// HEP3 chunk types of vendor 0 (generic chunks).
const (
	hepFamily      = 0x0001
	hepProtocol    = 0x0002
	hepSrcIPv4     = 0x0003
	hepDstIPv4     = 0x0004
	hepSrcIPv6     = 0x0005
	hepDstIPv6     = 0x0006
	hepSrcPort     = 0x0007
	hepDstPort     = 0x0008
	hepTimeSec     = 0x0009
	hepTimeUsec    = 0x000a
	hepProtoType   = 0x000b
	hepCaptureID   = 0x000c
	hepAuthKey     = 0x000e
	hepPayload     = 0x000f
	hepCompressed  = 0x0010
	hepCorrelation = 0x0011
)

var hep3Magic = []byte("HEP3")

// ErrNotHEP is returned by ParseHEP for bytes that are no HEP packet.
var ErrNotHEP = errors.New("hep: not a HEP packet")

// ParseHEP parses a HEPv3 packet, or a HEPv1/HEPv2 one (fixed header with
// the addresses, ports and, in version 2, the time). b must hold the whole
// packet; bytes after a HEP3 packet's length are ignored. out is reused:
// its byte slices alias b (see HEPPacket).
func ParseHEP(b []byte, out *HEPPacket) error {
	out.Version, out.Protocol, out.ProtoType, out.CaptureID = 0, 0, 0, 0
	out.Src, out.Dst, out.Time = netip.AddrPort{}, netip.AddrPort{}, time.Time{}
	out.AuthKey, out.CorrelationID, out.Payload, out.Compressed = nil, nil, nil, false
	if bytes.HasPrefix(b, hep3Magic) {
		return out.parse3(b)
	}
	if len(b) > 0 && (b[0] == 1 || b[0] == 2) {
		return out.parse2(b)
	}
	return ErrNotHEP
}

func (p *HEPPacket) parse3(b []byte) error {
	if len(b) < 6 {
		return fmt.Errorf("hep: %d bytes, shorter than a HEP3 header", len(b))
	}
	total := int(binary.BigEndian.Uint16(b[4:6]))
	if total < 6 || total > len(b) {
		return fmt.Errorf("hep: HEP3 length %d but %d bytes present", total, len(b))
	}
	b = b[:total]
	p.Version = 3
	var (
		family             uint8
		src4, dst4         netip.Addr
		src6, dst6         netip.Addr
		sport, dport       uint16
		sec, usec          uint32
		haveSec            bool
		compressed, direct []byte
	)
	for off := 6; off < total; {
		if off+6 > total {
			return fmt.Errorf("hep: chunk header at offset %d cut by the packet end (%d)", off, total)
		}
		vendor := binary.BigEndian.Uint16(b[off:])
		typ := binary.BigEndian.Uint16(b[off+2:])
		n := int(binary.BigEndian.Uint16(b[off+4:]))
		if n < 6 || off+n > total {
			return fmt.Errorf("hep: chunk %#04x at offset %d has length %d, packet has %d bytes", typ, off, n, total)
		}
		v := b[off+6 : off+n]
		off += n
		if vendor != 0 {
			continue
		}
		bad := false
		switch typ {
		case hepFamily:
			bad = len(v) != 1
			if !bad {
				family = v[0]
			}
		case hepProtocol:
			bad = len(v) != 1
			if !bad {
				p.Protocol = v[0]
			}
		case hepSrcIPv4, hepDstIPv4:
			bad = len(v) != 4
			if !bad {
				a := netip.AddrFrom4([4]byte(v))
				if typ == hepSrcIPv4 {
					src4 = a
				} else {
					dst4 = a
				}
			}
		case hepSrcIPv6, hepDstIPv6:
			bad = len(v) != 16
			if !bad {
				a := netip.AddrFrom16([16]byte(v))
				if typ == hepSrcIPv6 {
					src6 = a
				} else {
					dst6 = a
				}
			}
		case hepSrcPort, hepDstPort:
			bad = len(v) != 2
			if !bad {
				if typ == hepSrcPort {
					sport = binary.BigEndian.Uint16(v)
				} else {
					dport = binary.BigEndian.Uint16(v)
				}
			}
		case hepTimeSec, hepTimeUsec:
			bad = len(v) != 4
			if !bad {
				if typ == hepTimeSec {
					sec, haveSec = binary.BigEndian.Uint32(v), true
				} else {
					usec = binary.BigEndian.Uint32(v)
				}
			}
		case hepProtoType:
			bad = len(v) != 1
			if !bad {
				p.ProtoType = v[0]
			}
		case hepCaptureID:
			// The specification says 32 bits; old agents send 16.
			switch len(v) {
			case 4:
				p.CaptureID = binary.BigEndian.Uint32(v)
			case 2:
				p.CaptureID = uint32(binary.BigEndian.Uint16(v))
			default:
				bad = true
			}
		case hepAuthKey:
			p.AuthKey = v
		case hepPayload:
			direct = v
		case hepCompressed:
			compressed = v
		case hepCorrelation:
			p.CorrelationID = v
		}
		if bad {
			return fmt.Errorf("hep: chunk %#04x has %d bytes of value, not the size its type fixes", typ, len(v))
		}
	}
	src, dst := src4, dst4
	if family == 10 || (family == 0 && src6.IsValid()) {
		src, dst = src6, dst6
	}
	p.Src = netip.AddrPortFrom(src, sport)
	p.Dst = netip.AddrPortFrom(dst, dport)
	if haveSec {
		p.Time = time.Unix(int64(sec), int64(usec)*1000)
	}
	switch {
	case direct != nil:
		p.Payload = direct
	case compressed != nil:
		out, err := p.inflate(compressed)
		if err != nil {
			return err
		}
		p.Payload, p.Compressed = out, true
	}
	return nil
}

// parse2 reads the fixed HEPv1/HEPv2 header: version, length, family,
// protocol, ports, the two addresses and, in version 2, a time header of
// seconds, microseconds (both in the sender's byte order, little endian on
// every platform that sends it) and a 16-bit capture ID, padded to 12 bytes.
func (p *HEPPacket) parse2(b []byte) error {
	n := hep2HeaderLen(b)
	if n == 0 {
		return fmt.Errorf("hep: %d bytes are no HEPv1/v2 header", len(b))
	}
	p.Version = int(b[0])
	p.Protocol = b[3]
	sport := binary.BigEndian.Uint16(b[4:6])
	dport := binary.BigEndian.Uint16(b[6:8])
	var src, dst netip.Addr
	if b[2] == 2 {
		src, dst = netip.AddrFrom4([4]byte(b[8:12])), netip.AddrFrom4([4]byte(b[12:16]))
	} else {
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	}
	p.Src, p.Dst = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	if p.Version == 2 {
		t := b[n-12:]
		p.Time = time.Unix(int64(binary.LittleEndian.Uint32(t[0:4])), int64(binary.LittleEndian.Uint32(t[4:8]))*1000)
		p.CaptureID = uint32(binary.LittleEndian.Uint16(t[8:10]))
	}
	p.ProtoType = HEPProtoSIP
	p.Payload = b[n:]
	return nil
}

// hep2HeaderLen returns the length of a HEPv1/v2 header at the start of b,
// or 0 when b does not start with one.
func hep2HeaderLen(b []byte) int {
	if len(b) < 8 || (b[0] != 1 && b[0] != 2) {
		return 0
	}
	n := 8
	switch b[2] {
	case 2: // AF_INET
		n += 8
	case 10, 24, 28, 30: // AF_INET6 on Linux and the BSDs
		n += 32
	default:
		return 0
	}
	switch b[3] {
	case protoUDP, protoTCP, protoSCTP, 22: // 22 stands for TLS in Kamailio's sipcapture
	default:
		return 0
	}
	if b[0] == 2 {
		n += 12
	}
	if len(b) < n {
		return 0
	}
	return n
}

// isHEP reports whether a datagram is a HEP packet: HEP3 by its magic, an
// older HEP by a well-formed fixed header followed by a SIP message (the
// only payload those versions carried).
func isHEP(b []byte) bool {
	if bytes.HasPrefix(b, hep3Magic) {
		return true
	}
	n := hep2HeaderLen(b)
	return n > 0 && sip.LooksLike(b[n:])
}

// inflate decompresses a compressed payload chunk. Agents use zlib; gzip
// and raw deflate are accepted too, told apart by their headers.
func (p *HEPPacket) inflate(c []byte) ([]byte, error) {
	p.src.Reset(c)
	var r io.Reader
	var err error
	switch {
	case len(c) >= 2 && c[0] == 0x1f && c[1] == 0x8b:
		if p.gr == nil {
			p.gr, err = gzip.NewReader(&p.src)
		} else {
			err = p.gr.Reset(&p.src)
		}
		r = p.gr
	case len(c) >= 2 && c[0]&0x0f == 8 && (uint16(c[0])<<8|uint16(c[1]))%31 == 0:
		if p.zr == nil {
			p.zr, err = zlib.NewReader(&p.src)
		} else {
			err = p.zr.(zlib.Resetter).Reset(&p.src, nil)
		}
		r = p.zr
	default:
		if p.fr == nil {
			p.fr = flate.NewReader(&p.src)
		} else {
			err = p.fr.(flate.Resetter).Reset(&p.src, nil)
		}
		r = p.fr
	}
	if err != nil {
		return nil, fmt.Errorf("hep: compressed payload (%d bytes): %w", len(c), err)
	}
	out := p.inflated[:0]
	for {
		if len(out) == cap(out) {
			if cap(out) > maxHEPInflated {
				return nil, fmt.Errorf("hep: compressed payload (%d bytes) inflates beyond %d bytes", len(c), maxHEPInflated)
			}
			out = append(out, make([]byte, max(4096, cap(out)))...)[:len(out)]
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			p.inflated = out
			return nil, fmt.Errorf("hep: compressed payload (%d bytes): %w", len(c), err)
		}
	}
	p.inflated = out
	if len(out) > maxHEPInflated {
		return nil, fmt.Errorf("hep: compressed payload (%d bytes) inflates beyond %d bytes", len(c), maxHEPInflated)
	}
	return out, nil
}

// AppendHEP3 appends p encoded as a HEP3 packet to dst and returns the
// extended slice. It writes the generic chunks (family and addresses from
// Src and Dst, IPv6 if either is IPv6), protocol, ports, time, payload
// type, capture ID, the authentication key and correlation ID when set,
// and the payload uncompressed. A packet that would exceed HEP3's 64 KiB
// length field is not appended: dst is returned unchanged.
func AppendHEP3(dst []byte, p *HEPPacket) []byte {
	start := len(dst)
	dst = append(dst, hep3Magic...)
	dst = append(dst, 0, 0)
	src, dstIP := p.Src.Addr().Unmap(), p.Dst.Addr().Unmap()
	if src.Is6() || dstIP.Is6() {
		dst = appendChunk(dst, hepFamily, 10)
		dst = appendChunk(dst, hepProtocol, p.Protocol)
		a, b := src.As16(), dstIP.As16()
		dst = appendChunk(dst, hepSrcIPv6, a[:]...)
		dst = appendChunk(dst, hepDstIPv6, b[:]...)
	} else {
		dst = appendChunk(dst, hepFamily, 2)
		dst = appendChunk(dst, hepProtocol, p.Protocol)
		var a, b [4]byte
		if src.Is4() {
			a = src.As4()
		}
		if dstIP.Is4() {
			b = dstIP.As4()
		}
		dst = appendChunk(dst, hepSrcIPv4, a[:]...)
		dst = appendChunk(dst, hepDstIPv4, b[:]...)
	}
	dst = appendChunk(dst, hepSrcPort, byte(p.Src.Port()>>8), byte(p.Src.Port()))
	dst = appendChunk(dst, hepDstPort, byte(p.Dst.Port()>>8), byte(p.Dst.Port()))
	if !p.Time.IsZero() {
		dst = appendChunk(dst, hepTimeSec, binary.BigEndian.AppendUint32(nil, uint32(p.Time.Unix()))...)
		dst = appendChunk(dst, hepTimeUsec, binary.BigEndian.AppendUint32(nil, uint32(p.Time.Nanosecond()/1000))...)
	}
	dst = appendChunk(dst, hepProtoType, p.ProtoType)
	dst = appendChunk(dst, hepCaptureID, binary.BigEndian.AppendUint32(nil, p.CaptureID)...)
	if len(p.AuthKey) > 0 {
		dst = appendChunk(dst, hepAuthKey, p.AuthKey...)
	}
	if len(p.CorrelationID) > 0 {
		dst = appendChunk(dst, hepCorrelation, p.CorrelationID...)
	}
	dst = appendChunk(dst, hepPayload, p.Payload...)
	n := len(dst) - start
	if n > 0xffff {
		return dst[:start]
	}
	binary.BigEndian.PutUint16(dst[start+4:], uint16(n))
	return dst
}

func appendChunk(dst []byte, typ uint16, v ...byte) []byte {
	dst = append(dst, 0, 0, byte(typ>>8), byte(typ))
	dst = binary.BigEndian.AppendUint16(dst, uint16(min(6+len(v), 0xffff)))
	return append(dst, v...)
}

// hepPayload unwraps a HEP packet found in a UDP datagram or a TCP stream.
// A SIP payload is delivered with the addresses and time the agent
// recorded; the frame numbers stay those of the capture in hand. The
// agent's time is kept only when it is within hepMaxSkew of the arrival
// time: transaction timers and call expiry run on the capture's clock, and
// an agent whose clock is minutes off would time every call out at once.
func (d *Decoder) hepPayload(o *origin, b []byte) {
	d.stats.HEPPackets++
	p := &d.hep
	if err := ParseHEP(b, p); err != nil {
		d.stats.HEPErrors++
		d.warn(o.frame, true, err.Error())
		return
	}
	switch p.ProtoType {
	case HEPProtoSIP:
		msg := p.Payload
		for len(msg) > 0 && (msg[0] == '\r' || msg[0] == '\n') {
			msg = msg[1:]
		}
		if !sip.LooksLike(msg) {
			d.stats.HEPOther++
			return
		}
		d.stats.HEPSIP++
		inner := *o
		inner.carrier |= CarrierHEP
		if !p.Time.IsZero() {
			if skew := p.Time.Sub(o.time).Abs(); skew <= hepMaxSkew {
				inner.time = p.Time
			} else {
				d.stats.HEPClockSkew++
				if d.stats.HEPClockSkew == 1 {
					d.warn(o.frame, false, fmt.Sprintf("HEP agent %s timestamps differ from the arrival time by %s; using arrival times, since the call engine's timers run on them",
						p.Src.Addr(), skew.Round(time.Millisecond)))
				}
			}
		}
		t := UDP
		switch p.Protocol {
		case protoTCP:
			t = TCP
		case protoSCTP:
			t = SCTP
		}
		d.splitSIP(d.setMeta(&inner, p.Src, p.Dst, t), msg)
	case HEPProtoRTCP:
		d.stats.HEPRTCP++
	case HEPProtoLog:
		d.stats.HEPLog++
	default:
		d.stats.HEPOther++
	}
}

// hepMaxSkew is how far an agent's timestamp may be from the arrival time
// and still be used: network latency plus the drift of NTP-synchronised
// clocks, far below the 32 s of RFC 3261 Timer B.
const hepMaxSkew = 2 * time.Second
