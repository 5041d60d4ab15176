package media

import (
	"errors"
	"fmt"
)

// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
const (
	TypeSR    = 200
	TypeRR    = 201
	TypeSDES  = 202
	TypeBYE   = 203
	TypeAPP   = 204
	TypeRTPFB = 205
	TypePSFB  = 206
	TypeXR    = 207
)

// maxRTCPPackets bounds the packets read from one compound datagram; a
// 64 KiB datagram of 4-byte packets would otherwise mean 16384 of them.
const maxRTCPPackets = 64

// SenderInfo is the sender information of a sender report (RFC 3550 §6.4.1).
type SenderInfo struct {
	NTPTime      uint64 // 32.32 fixed point seconds since 1900
	RTPTime      uint32
	PacketCount  uint32
	OctetCount   uint32
	PacketsValid bool
}

// ReceptionReport is one report block of an SR or RR (RFC 3550 §6.4.1):
// what the reporter received from the source SSRC.
type ReceptionReport struct {
	SSRC uint32 // the source this block reports on
	// FractionLost is the fraction of packets lost since the previous
	// report, as a fixed point number with the binary point at the left.
	FractionLost uint8
	// CumulativeLost is signed: duplicates can make it negative.
	CumulativeLost   int32
	HighestSequence  uint32 // extended highest sequence number received
	Jitter           uint32 // interarrival jitter in timestamp units
	LastSR           uint32
	DelaySinceLastSR uint32 // in units of 1/65536 s
}

// RTCPPacket is one packet of a compound RTCP datagram.
type RTCPPacket struct {
	Type  uint8
	Count uint8 // RC, SC or the APP/feedback subtype
	// SSRC is the sender's SSRC for SR, RR, APP, feedback and XR, and the
	// first chunk's or source's SSRC for SDES and BYE.
	SSRC    uint32
	Sender  SenderInfo        // SR only
	Reports []ReceptionReport // SR and RR
	CNAME   string            // SDES: the CNAME item of the first chunk
	Sources []uint32          // BYE: every SSRC leaving
	Reason  string            // BYE
	Name    string            // APP: four ASCII characters
}

// Compound is a parsed RTCP datagram (RFC 3550 §6.1).
type Compound struct {
	Packets []RTCPPacket
	// Truncated is set when the datagram ends inside a packet or holds
	// bytes after the last whole packet, as SRTCP's trailer does
	// (RFC 3711 §3.4); the packets before that point are kept.
	Truncated bool
}

var errNotRTCP = errors.New("media: not RTCP")

// Unmarshal parses b as a compound RTCP packet. It applies the checks of
// RFC 3550 Appendix A.2 (version 2 in every packet, padding only in the
// last, lengths that add up to the datagram) except that the first
// packet may be of any type, as reduced-size RTCP allows (RFC 5506).
// A datagram that is RTCP up to some point yields the packets before it
// with Truncated set; one that does not even start as RTCP is an error.
func (c *Compound) Unmarshal(b []byte) error {
	c.Packets = c.Packets[:0]
	c.Truncated = false
	off := 0
	for off < len(b) && len(c.Packets) < maxRTCPPackets {
		rest := b[off:]
		if len(rest) < 4 || rest[0]>>6 != 2 || rest[1] < 192 || rest[1] > 223 {
			break
		}
		n := 4 * (int(rest[2])<<8 | int(rest[3]) + 1)
		if n > len(rest) {
			break
		}
		body := rest[4:n]
		if rest[0]&0x20 != 0 {
			// Padding is allowed only in the last packet of the compound.
			if off+n != len(b) || len(body) == 0 {
				break
			}
			pad := int(body[len(body)-1])
			if pad == 0 || pad > len(body) {
				break
			}
			body = body[:len(body)-pad]
		}
		c.Packets = append(c.Packets, RTCPPacket{Type: rest[1], Count: rest[0] & 0x1f})
		c.Packets[len(c.Packets)-1].parseBody(body)
		off += n
	}
	if len(c.Packets) == 0 {
		return fmt.Errorf("%w: datagram of %d bytes has no valid RTCP header", errNotRTCP, len(b))
	}
	c.Truncated = off != len(b)
	return nil
}

// parseBody reads what follows the common header; fields that do not fit
// are left empty, since a block cut short says nothing reliable.
func (p *RTCPPacket) parseBody(b []byte) {
	switch p.Type {
	case TypeSR:
		if len(b) < 24 {
			return
		}
		p.SSRC = be32(b)
		p.Sender = SenderInfo{
			NTPTime:      uint64(be32(b[4:]))<<32 | uint64(be32(b[8:])),
			RTPTime:      be32(b[12:]),
			PacketCount:  be32(b[16:]),
			OctetCount:   be32(b[20:]),
			PacketsValid: true,
		}
		p.Reports = reportBlocks(b[24:], int(p.Count))
	case TypeRR:
		if len(b) < 4 {
			return
		}
		p.SSRC = be32(b)
		p.Reports = reportBlocks(b[4:], int(p.Count))
	case TypeSDES:
		p.parseSDES(b)
	case TypeBYE:
		n := int(p.Count)
		if 4*n > len(b) {
			n = len(b) / 4
		}
		if n > 0 {
			p.SSRC = be32(b)
			p.Sources = make([]uint32, n)
			for i := range n {
				p.Sources[i] = be32(b[4*i:])
			}
		}
		if r := b[4*n:]; len(r) > 0 && 1+int(r[0]) <= len(r) {
			p.Reason = string(r[1 : 1+int(r[0])])
		}
	case TypeAPP:
		if len(b) >= 8 {
			p.SSRC = be32(b)
			p.Name = string(b[4:8])
		}
	default:
		if len(b) >= 4 {
			p.SSRC = be32(b)
		}
	}
}

func reportBlocks(b []byte, count int) []ReceptionReport {
	if count > len(b)/24 {
		count = len(b) / 24
	}
	if count == 0 {
		return nil
	}
	out := make([]ReceptionReport, count)
	for i := range out {
		r := b[24*i:]
		lost := int32(uint32(r[5])<<16 | uint32(r[6])<<8 | uint32(r[7]))
		if lost&0x800000 != 0 {
			lost -= 1 << 24
		}
		out[i] = ReceptionReport{
			SSRC:             be32(r),
			FractionLost:     r[4],
			CumulativeLost:   lost,
			HighestSequence:  be32(r[8:]),
			Jitter:           be32(r[12:]),
			LastSR:           be32(r[16:]),
			DelaySinceLastSR: be32(r[20:]),
		}
	}
	return out
}

// parseSDES keeps the SSRC and CNAME of the first chunk (RFC 3550 §6.5):
// the one a sender describes itself with in an ordinary compound packet.
func (p *RTCPPacket) parseSDES(b []byte) {
	if p.Count == 0 || len(b) < 4 {
		return
	}
	p.SSRC = be32(b)
	items := b[4:]
	for len(items) >= 2 && items[0] != 0 {
		typ, n := items[0], int(items[1])
		if 2+n > len(items) {
			return
		}
		if typ == 1 {
			p.CNAME = string(items[2 : 2+n])
			return
		}
		items = items[2+n:]
	}
}
