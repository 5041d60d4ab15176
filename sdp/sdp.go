// Package sdp reduces a session description (RFC 4566/8866) to what the
// analyzer needs to follow media: where each side wants to receive RTP, with
// which payload types, codecs, DTMF, direction and encryption. For the
// active mode, Session.Marshal writes offers and answers.
package sdp

import (
	"net/netip"
	"strconv"
	"strings"
)

// Direction is the media direction attribute (RFC 3264 §5.1).
type Direction uint8

// Directions; SendRecv is the default when no attribute is given.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

// String returns the attribute name: "sendrecv", "sendonly", ...
func (d Direction) String() string {
	switch d {
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "sendrecv"
}

// Codec is one rtpmap entry, or a static payload type (RFC 3551).
type Codec struct {
	PT       uint8  `json:"pt"`
	Name     string `json:"name"`
	Rate     int    `json:"rate"`
	Channels int    `json:"channels,omitempty"`
	Fmtp     string `json:"fmtp,omitempty"`
}

// Media is one m= section.
type Media struct {
	Type    string  `json:"type"` // audio, video, image, ...
	Port    int     `json:"port"` // 0: stream rejected or disabled (RFC 3264 §6)
	Proto   string  `json:"proto"`
	Formats []uint8 `json:"formats"` // payload types in preference order
	// FormatNames are the m= line's formats that are not RTP payload
	// types, such as "t38" for fax over UDPTL.
	FormatNames []string   `json:"format_names,omitempty"`
	Addr        netip.Addr `json:"addr"` // effective connection address: media c=, else session c=
	Codecs      []Codec    `json:"codecs"`
	Direction   Direction  `json:"-"`                   // media attribute, else session attribute, else sendrecv
	RTCPPort    int        `json:"rtcp_port,omitempty"` // a=rtcp (RFC 3605), else Port with rtcp-mux, else Port+1
	// RTCPAddr is the address of a=rtcp when it names one; RTCP then goes
	// there rather than to Addr.
	RTCPAddr netip.Addr `json:"rtcp_addr,omitzero"`
	RTCPMux  bool       `json:"rtcp_mux,omitempty"` // a=rtcp-mux (RFC 5761)
	Crypto   bool       `json:"crypto,omitempty"`   // SDES a=crypto (RFC 4568)
	DTLS     bool       `json:"dtls,omitempty"`     // a=fingerprint (DTLS-SRTP, RFC 5763)
	ICE      bool       `json:"ice,omitempty"`      // a=ice-ufrag or candidates (RFC 8839)
	Ptime    int        `json:"ptime,omitempty"`    // a=ptime in milliseconds
}

// Session is a parsed session description.
type Session struct {
	Origin     netip.Addr `json:"origin"` // o= address
	OriginUser string     `json:"origin_user"`
	SessionID  string     `json:"session_id"`
	Version    uint64     `json:"version"`
	Name       string     `json:"name"` // s=
	Media      []Media    `json:"media"`
	// Lenient marks a description that the strict parser (pion/sdp)
	// refused and the fallback line scanner read.
	Lenient bool `json:"lenient,omitempty"`
	// Problems found in the description, each naming the line it concerns.
	Problems []string `json:"problems,omitempty"`
}

// Audio returns the first audio m= section, if any.
func (s *Session) Audio() (*Media, bool) {
	for i := range s.Media {
		if s.Media[i].Type == "audio" {
			return &s.Media[i], true
		}
	}
	return nil, false
}

// Endpoint is the address:port where this side wants to receive RTP.
func (m *Media) Endpoint() netip.AddrPort { return netip.AddrPortFrom(m.Addr, uint16(m.Port)) }

// Rejected reports whether the answerer rejected the stream, or the
// offerer disabled it, with port 0 (RFC 3264 §6, §8.2).
func (m *Media) Rejected() bool { return m.Port == 0 }

// Secure reports whether the media is SRTP (SDES or DTLS, or a SAVP profile).
func (m *Media) Secure() bool {
	return m.Crypto || m.DTLS || strings.Contains(m.Proto, "SAVP")
}

// Hold reports whether this SDP puts the stream on hold: a direction other
// than sendrecv, or the RFC 2543 c=0.0.0.0 convention.
func (m *Media) Hold() bool {
	return m.Direction != SendRecv || (m.Addr.Is4() && m.Addr.IsUnspecified())
}

// Codec returns the codec for a payload type from this section's rtpmap or
// the static table.
func (m *Media) Codec(pt uint8) (Codec, bool) {
	for _, c := range m.Codecs {
		if c.PT == pt {
			return c, true
		}
	}
	return StaticCodec(pt)
}

// TelephoneEvent returns the payload type of RFC 4733 telephone-event.
func (m *Media) TelephoneEvent() (uint8, bool) {
	for _, c := range m.Codecs {
		if strings.EqualFold(c.Name, "telephone-event") {
			return c.PT, true
		}
	}
	return 0, false
}

// AudioCodecs returns the names of the offered audio codecs, in preference
// order, excluding telephone-event and comfort noise.
func (m *Media) AudioCodecs() []string {
	var out []string
	for _, pt := range m.Formats {
		c, ok := m.Codec(pt)
		if !ok {
			out = append(out, strconv.Itoa(int(pt)))
			continue
		}
		n := strings.ToLower(c.Name)
		if n == "telephone-event" || n == "cn" {
			continue
		}
		out = append(out, c.Name)
	}
	return out
}

var static = map[uint8]Codec{
	0: {0, "PCMU", 8000, 1, ""}, 3: {3, "GSM", 8000, 1, ""}, 4: {4, "G723", 8000, 1, ""},
	5: {5, "DVI4", 8000, 1, ""}, 6: {6, "DVI4", 16000, 1, ""}, 7: {7, "LPC", 8000, 1, ""},
	8: {8, "PCMA", 8000, 1, ""}, 9: {9, "G722", 8000, 1, ""}, 10: {10, "L16", 44100, 2, ""},
	11: {11, "L16", 44100, 1, ""}, 12: {12, "QCELP", 8000, 1, ""}, 13: {13, "CN", 8000, 1, ""},
	14: {14, "MPA", 90000, 0, ""}, 15: {15, "G728", 8000, 1, ""}, 16: {16, "DVI4", 11025, 1, ""},
	17: {17, "DVI4", 22050, 1, ""}, 18: {18, "G729", 8000, 1, ""}, 25: {25, "CelB", 90000, 0, ""},
	26: {26, "JPEG", 90000, 0, ""}, 28: {28, "nv", 90000, 0, ""}, 31: {31, "H261", 90000, 0, ""},
	32: {32, "MPV", 90000, 0, ""}, 33: {33, "MP2T", 90000, 0, ""}, 34: {34, "H263", 90000, 0, ""},
}

// StaticCodec returns the RFC 3551 static payload type assignment.
func StaticCodec(pt uint8) (Codec, bool) {
	c, ok := static[pt]
	return c, ok
}
