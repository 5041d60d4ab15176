package sdp

import (
	"net/netip"
	"strconv"
	"strings"
)

// Marshal writes the session as an offer or answer (RFC 3264) with CRLF
// line ends: v=, o=, s=, c= (at session level when every stream shares
// one address), t=0 0, and per stream m=, c=, a=rtpmap and a=fmtp for
// every codec in Codecs order (skipping names that are not one field),
// a=ptime, a=rtcp when RTCP does not go to
// the default port, a=rtcp-mux and the direction. Keys for SRTP and ICE are
// not part of a Session and are not written. Empty fields take
// placeholders: user and name "-", type "audio", proto "RTP/AVP", origin
// 0.0.0.0. Parse reads the result back to the same Session.
func (s *Session) Marshal() []byte {
	b := make([]byte, 0, 256+160*len(s.Media))
	b = append(b, "v=0\r\no="...)
	b = appendToken(b, s.OriginUser, "-")
	b = append(b, ' ')
	if _, err := strconv.ParseUint(s.SessionID, 10, 64); err == nil {
		b = append(b, s.SessionID...)
	} else {
		b = append(b, '0')
	}
	b = append(b, ' ')
	b = strconv.AppendUint(b, s.Version, 10)
	b = append(b, ' ')
	b = appendAddr(b, s.Origin)
	b = append(b, "\r\ns="...)
	if name := text(s.Name); name != "" {
		b = append(b, name...)
	} else {
		b = append(b, '-')
	}
	b = append(b, "\r\n"...)
	sessAddr, shared := s.sharedAddr()
	if shared {
		b = append(b, "c="...)
		b = appendAddr(b, sessAddr)
		b = append(b, "\r\n"...)
	}
	b = append(b, "t=0 0\r\n"...)
	for i := range s.Media {
		b = s.Media[i].appendTo(b, !shared)
	}
	return b
}

// sharedAddr returns the connection address every stream has, if they
// have one and the same.
func (s *Session) sharedAddr() (netip.Addr, bool) {
	if len(s.Media) == 0 {
		return netip.Addr{}, false
	}
	a := s.Media[0].Addr
	for _, m := range s.Media[1:] {
		if m.Addr != a {
			return netip.Addr{}, false
		}
	}
	return a, a.IsValid()
}

func (m *Media) appendTo(b []byte, conn bool) []byte {
	b = append(b, "m="...)
	b = appendToken(b, m.Type, "audio")
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(min(max(m.Port, 0), 65535)), 10)
	b = append(b, ' ')
	b = appendToken(b, m.Proto, "RTP/AVP")
	for _, pt := range m.Formats {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(pt), 10)
	}
	for _, f := range m.FormatNames {
		if f != "" && isField(f) {
			b = append(b, ' ')
			b = append(b, f...)
		}
	}
	b = append(b, "\r\n"...)
	if conn && m.Addr.IsValid() {
		b = append(b, "c="...)
		b = appendAddr(b, m.Addr)
		b = append(b, "\r\n"...)
	}
	for _, c := range m.Codecs {
		if c.Name == "" || !isField(c.Name) {
			continue
		}
		b = append(b, "a=rtpmap:"...)
		b = strconv.AppendUint(b, uint64(c.PT), 10)
		b = append(b, ' ')
		b = append(b, c.Name...)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(max(c.Rate, 0)), 10)
		if c.Channels > 1 {
			b = append(b, '/')
			b = strconv.AppendInt(b, int64(c.Channels), 10)
		}
		b = append(b, "\r\n"...)
	}
	for _, c := range m.Codecs {
		if fmtp := text(c.Fmtp); c.Name != "" && isField(c.Name) && fmtp != "" {
			b = append(b, "a=fmtp:"...)
			b = strconv.AppendUint(b, uint64(c.PT), 10)
			b = append(b, ' ')
			b = append(b, fmtp...)
			b = append(b, "\r\n"...)
		}
	}
	if m.Ptime > 0 {
		b = append(b, "a=ptime:"...)
		b = strconv.AppendInt(b, int64(m.Ptime), 10)
		b = append(b, "\r\n"...)
	}
	defaultRTCP := m.Port + 1
	if m.RTCPMux {
		defaultRTCP = m.Port
	}
	if m.Port != 0 && m.RTCPPort > 0 && m.RTCPPort <= 65535 && (m.RTCPPort != defaultRTCP || m.RTCPAddr.IsValid()) {
		b = append(b, "a=rtcp:"...)
		b = strconv.AppendInt(b, int64(m.RTCPPort), 10)
		if m.RTCPAddr.IsValid() {
			b = append(b, ' ')
			b = appendAddr(b, m.RTCPAddr)
		}
		b = append(b, "\r\n"...)
	}
	if m.RTCPMux {
		b = append(b, "a=rtcp-mux\r\n"...)
	}
	b = append(b, "a="...)
	b = append(b, m.Direction.String()...)
	return append(b, "\r\n"...)
}

// appendAddr writes "IN IP4 <addr>" or "IN IP6 <addr>" (RFC 8866 §5.7);
// an invalid address becomes 0.0.0.0.
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "IN IP4 0.0.0.0"...)
	}
	if a.Is4() {
		b = append(b, "IN IP4 "...)
	} else {
		b = append(b, "IN IP6 "...)
	}
	return a.AppendTo(b)
}

// text returns s without line breaks and NULs, so that no value can add
// a line, and without surrounding space, which Parse would not keep.
func text(s string) string {
	if strings.ContainsAny(s, "\r\n\x00") {
		s = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return -1
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

// appendToken writes a value that must be one field: whitespace, line
// breaks and NULs are dropped; "" becomes def.
func appendToken(b []byte, s, def string) []byte {
	n := len(b)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c > ' ' && c != 0x7f {
			b = append(b, c)
		}
	}
	if len(b) == n {
		b = append(b, def...)
	}
	return b
}
