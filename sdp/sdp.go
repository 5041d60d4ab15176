// Package sdp reduces a session description (RFC 4566/8866) to what the
// analyzer needs to follow media: where each side wants to receive RTP, with
// which payload types, codecs, DTMF, direction and encryption.
package sdp

import (
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
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
	Type      string     `json:"type"` // audio, video, image, ...
	Port      int        `json:"port"` // 0: stream rejected or disabled
	Proto     string     `json:"proto"`
	Formats   []uint8    `json:"formats"` // payload types in preference order
	Addr      netip.Addr `json:"addr"`    // effective connection address
	Codecs    []Codec    `json:"codecs"`
	Direction Direction  `json:"-"`
	RTCPPort  int        `json:"rtcp_port,omitempty"` // a=rtcp, else Port+1
	RTCPMux   bool       `json:"rtcp_mux,omitempty"`
	Crypto    bool       `json:"crypto,omitempty"` // SDES a=crypto (RFC 4568)
	DTLS      bool       `json:"dtls,omitempty"`   // a=fingerprint (DTLS-SRTP)
	ICE       bool       `json:"ice,omitempty"`    // a=ice-ufrag / candidates
	Ptime     int        `json:"ptime,omitempty"`
}

// Session is a parsed session description.
type Session struct {
	Origin     netip.Addr `json:"origin"` // o= address
	OriginUser string     `json:"origin_user"`
	SessionID  string     `json:"session_id"`
	Version    uint64     `json:"version"`
	Name       string     `json:"name"` // s=
	Media      []Media    `json:"media"`
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

// Parse parses a session description.
func Parse(b []byte) (*Session, error) {
	var d psdp.SessionDescription
	if err := d.UnmarshalString(string(b)); err != nil {
		return nil, err
	}
	s := &Session{
		OriginUser: d.Origin.Username,
		SessionID:  strconv.FormatUint(d.Origin.SessionID, 10),
		Version:    d.Origin.SessionVersion,
		Name:       string(d.SessionName),
	}
	s.Origin, _ = netip.ParseAddr(d.Origin.UnicastAddress)
	var sessAddr netip.Addr
	if d.ConnectionInformation != nil && d.ConnectionInformation.Address != nil {
		sessAddr = parseConnAddr(d.ConnectionInformation.Address.Address)
	}
	sessDir, sessDirSet := directionOf(d.Attributes)
	for _, md := range d.MediaDescriptions {
		m := Media{
			Type:  md.MediaName.Media,
			Port:  md.MediaName.Port.Value,
			Proto: strings.Join(md.MediaName.Protos, "/"),
			Addr:  sessAddr,
		}
		if md.ConnectionInformation != nil && md.ConnectionInformation.Address != nil {
			m.Addr = parseConnAddr(md.ConnectionInformation.Address.Address)
		}
		for _, f := range md.MediaName.Formats {
			if n, err := strconv.Atoi(f); err == nil && n >= 0 && n < 128 {
				m.Formats = append(m.Formats, uint8(n))
			}
		}
		if dir, ok := directionOf(md.Attributes); ok {
			m.Direction = dir
		} else if sessDirSet {
			m.Direction = sessDir
		}
		fmtp := map[uint8]string{}
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtpmap":
				if c, ok := parseRtpmap(a.Value); ok {
					m.Codecs = append(m.Codecs, c)
				}
			case "fmtp":
				pt, v, _ := strings.Cut(a.Value, " ")
				if n, err := strconv.Atoi(pt); err == nil && n >= 0 && n < 128 {
					fmtp[uint8(n)] = strings.TrimSpace(v)
				}
			case "rtcp":
				f := strings.Fields(a.Value)
				if len(f) > 0 {
					m.RTCPPort, _ = strconv.Atoi(f[0])
				}
			case "rtcp-mux":
				m.RTCPMux = true
			case "crypto":
				m.Crypto = true
			case "fingerprint":
				m.DTLS = true
			case "ice-ufrag", "candidate":
				m.ICE = true
			case "ptime":
				m.Ptime, _ = strconv.Atoi(strings.TrimSpace(a.Value))
			}
		}
		for _, a := range d.Attributes {
			switch a.Key {
			case "fingerprint":
				m.DTLS = true
			case "ice-ufrag":
				m.ICE = true
			}
		}
		for i := range m.Codecs {
			m.Codecs[i].Fmtp = fmtp[m.Codecs[i].PT]
		}
		// Static payload types listed without rtpmap still name codecs.
		for _, pt := range m.Formats {
			if _, ok := m.Codec(pt); !ok {
				continue
			}
			found := false
			for _, c := range m.Codecs {
				if c.PT == pt {
					found = true
				}
			}
			if !found {
				if c, ok := StaticCodec(pt); ok {
					m.Codecs = append(m.Codecs, c)
				}
			}
		}
		if m.RTCPPort == 0 && m.Port != 0 {
			if m.RTCPMux {
				m.RTCPPort = m.Port
			} else {
				m.RTCPPort = m.Port + 1
			}
		}
		s.Media = append(s.Media, m)
	}
	return s, nil
}

func parseConnAddr(a string) netip.Addr {
	// Multicast addresses may carry /ttl/count suffixes.
	if i := strings.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	addr, _ := netip.ParseAddr(a)
	return addr
}

func directionOf(attrs []psdp.Attribute) (Direction, bool) {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv":
			return SendRecv, true
		case "sendonly":
			return SendOnly, true
		case "recvonly":
			return RecvOnly, true
		case "inactive":
			return Inactive, true
		}
	}
	return SendRecv, false
}

func parseRtpmap(v string) (Codec, bool) {
	pt, rest, ok := strings.Cut(v, " ")
	if !ok {
		return Codec{}, false
	}
	n, err := strconv.Atoi(pt)
	if err != nil || n < 0 || n > 127 {
		return Codec{}, false
	}
	c := Codec{PT: uint8(n)}
	f := strings.Split(strings.TrimSpace(rest), "/")
	c.Name = f[0]
	if len(f) > 1 {
		c.Rate, _ = strconv.Atoi(f[1])
	}
	if len(f) > 2 {
		c.Channels, _ = strconv.Atoi(f[2])
	}
	return c, true
}
