// Package media follows the audio of SIP calls: it finds RTP streams and
// the RTCP that reports on them in UDP datagrams, ties each stream to the
// SDP that announced its destination, measures it the way RFC 3550 and
// Wireshark do (loss, jitter, sequence errors, largest gap), decodes
// RFC 4733 telephone events into digits, and judges the media path of a
// call (direct, anchored at a B2BUA, relayed, one-way or not captured).
//
// The call engine and this package do not know each other: the caller
// hands a Tracker the SDP it finds (Announce) and every non-SIP UDP
// payload (Datagram), and later asks Path for a call's verdict with a
// plain description of the call's legs.
package media

import "fmt"

// Kind names what a UDP payload carries, judged by its first byte as
// RFC 7983 §7 demultiplexes the protocols that share a media port.
type Kind uint8

// Kinds of media-port payloads.
const (
	KindUnknown Kind = iota
	KindSTUN         // first byte 0-3 (RFC 5389)
	KindZRTP         // 16-19 (RFC 6189)
	KindDTLS         // 20-63 (RFC 6347)
	KindTURN         // 64-79: TURN ChannelData (RFC 8656)
	KindRTP          // 128-191, second byte outside 192-223
	KindRTCP         // 128-191, second byte 192-223 (RFC 5761 §4)
)

func (k Kind) String() string {
	switch k {
	case KindSTUN:
		return "STUN"
	case KindZRTP:
		return "ZRTP"
	case KindDTLS:
		return "DTLS"
	case KindTURN:
		return "TURN"
	case KindRTP:
		return "RTP"
	case KindRTCP:
		return "RTCP"
	}
	return "unknown"
}

// Demux says what a datagram on a media port is. RTP and RTCP share the
// first-byte range 128-191; RFC 5761 §4 separates them by the second byte,
// which holds RTCP packet types 192-223 and RTP's marker plus payload type
// otherwise (payload types 64-95 are kept free for that reason).
func Demux(b []byte) Kind {
	if len(b) == 0 {
		return KindUnknown
	}
	switch c := b[0]; {
	case c <= 3:
		return KindSTUN
	case c >= 16 && c <= 19:
		return KindZRTP
	case c >= 20 && c <= 63:
		return KindDTLS
	case c >= 64 && c <= 79:
		return KindTURN
	case c >= 128 && c <= 191:
		if len(b) > 1 && b[1] >= 192 && b[1] <= 223 {
			return KindRTCP
		}
		return KindRTP
	}
	return KindUnknown
}

// Header is an RTP fixed header (RFC 3550 §5.1) and where its payload lies.
type Header struct {
	Padding        bool
	Extension      bool
	CSRCCount      uint8
	Marker         bool
	PayloadType    uint8
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	// PayloadOffset is where the payload starts, after the CSRC list and
	// the header extension; PayloadLength excludes padding.
	PayloadOffset int
	PayloadLength int
}

// rtpProblem names why a datagram is not a valid RTP packet; the zero
// value means it is. Kept as a number so the hot path never builds an
// error value.
type rtpProblem uint8

const (
	rtpOK rtpProblem = iota
	rtpShort
	rtpVersion
	rtpCSRC
	rtpExtension
	rtpPadding
)

func (p rtpProblem) String() string {
	switch p {
	case rtpShort:
		return "shorter than the 12-byte fixed header"
	case rtpVersion:
		return "version is not 2"
	case rtpCSRC:
		return "CSRC list runs past the end"
	case rtpExtension:
		return "header extension runs past the end"
	case rtpPadding:
		return "padding count runs into the header"
	}
	return "valid"
}

// Unmarshal parses b as an RTP packet, applying the validity checks of
// RFC 3550 Appendix A.1 that need no state: version 2, and CSRC list,
// header extension and padding that fit in the packet.
func (h *Header) Unmarshal(b []byte) error {
	if p := h.parse(b); p != rtpOK {
		return fmt.Errorf("media: RTP packet of %d bytes: %s", len(b), p)
	}
	return nil
}

func (h *Header) parse(b []byte) rtpProblem {
	if len(b) < 12 {
		return rtpShort
	}
	if b[0]>>6 != 2 {
		return rtpVersion
	}
	h.Padding = b[0]&0x20 != 0
	h.Extension = b[0]&0x10 != 0
	h.CSRCCount = b[0] & 0x0f
	h.Marker = b[1]&0x80 != 0
	h.PayloadType = b[1] & 0x7f
	h.SequenceNumber = uint16(b[2])<<8 | uint16(b[3])
	h.Timestamp = be32(b[4:])
	h.SSRC = be32(b[8:])
	off := 12 + 4*int(h.CSRCCount)
	if off > len(b) {
		return rtpCSRC
	}
	if h.Extension {
		// RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in words.
		if off+4 > len(b) {
			return rtpExtension
		}
		off += 4 + 4*(int(b[off+2])<<8|int(b[off+3]))
		if off > len(b) {
			return rtpExtension
		}
	}
	end := len(b)
	if h.Padding {
		// The last octet counts the padding octets, itself included.
		n := int(b[len(b)-1])
		if n == 0 || end-n < off {
			return rtpPadding
		}
		end -= n
	}
	h.PayloadOffset = off
	h.PayloadLength = end - off
	return rtpOK
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
