package sdp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// ErrNotSDP is returned, wrapped with the start of the input, by Parse for
// input that does not start with a v= line. Test for it with errors.Is.
var ErrNotSDP = errors.New("sdp: not a session description")

// maxProblems bounds Session.Problems.
const maxProblems = 16

// maxMedia bounds the m= sections read from one description.
const maxMedia = 64

// Parse parses a session description (RFC 8866, formerly RFC 4566).
//
// pion/sdp parses it first. pion is strict about line order and a few
// values that real peers get wrong or that it does not know (a missing
// final line end after a short Content-Length, c= after t=, m=image); when
// it refuses, a lenient line scanner reads the description instead, marks
// the Session Lenient and lists what it found wrong in Problems. Parse
// fails only when b does not start with a v= line (leading blank lines
// allowed).
func Parse(b []byte) (*Session, error) {
	if first := bytes.TrimLeft(b, " \t\r\n"); !bytes.HasPrefix(first, []byte("v=")) {
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		return nil, fmt.Errorf("%w: starts %s", ErrNotSDP, quote(string(bytes.TrimSuffix(first, []byte("\r")))))
	}
	var d psdp.SessionDescription
	if err := d.Unmarshal(b); err == nil {
		s := fromPion(&d)
		return s, nil
	}
	d = psdp.SessionDescription{}
	problems := scan(b, &d)
	s := fromPion(&d)
	s.Lenient = true
	s.Problems = append(problems, s.Problems...)
	if len(s.Problems) > maxProblems {
		s.Problems = append(s.Problems[:maxProblems], "further problems not listed")
	}
	return s, nil
}

func (s *Session) problem(p string) {
	if len(s.Problems) <= maxProblems {
		s.Problems = append(s.Problems, p)
	}
}

// fromPion reduces a parsed description to a Session.
func fromPion(d *psdp.SessionDescription) *Session {
	s := &Session{
		OriginUser: d.Origin.Username,
		SessionID:  strconv.FormatUint(d.Origin.SessionID, 10),
		Version:    d.Origin.SessionVersion,
		Name:       string(d.SessionName),
	}
	if d.Origin.UnicastAddress != "" {
		s.Origin, _ = netip.ParseAddr(d.Origin.UnicastAddress)
	}
	var sessAddr netip.Addr
	sessConn := d.ConnectionInformation != nil && d.ConnectionInformation.Address != nil
	if sessConn {
		sessAddr = s.connAddr(d.ConnectionInformation.Address.Address, "session")
	}
	sessDir, _ := directionOf(d.Attributes)
	var sessDTLS, sessICE bool
	for _, a := range d.Attributes {
		switch a.Key {
		case "fingerprint":
			sessDTLS = true
		case "ice-ufrag", "ice-lite":
			sessICE = true
		}
	}
	for i, md := range d.MediaDescriptions {
		if i == maxMedia {
			s.problem("more than " + strconv.Itoa(maxMedia) + " m= sections; the rest ignored")
			break
		}
		m := Media{
			Type:      md.MediaName.Media,
			Port:      md.MediaName.Port.Value,
			Proto:     strings.Join(md.MediaName.Protos, "/"),
			Addr:      sessAddr,
			Direction: sessDir,
			DTLS:      sessDTLS,
			ICE:       sessICE,
		}
		label := "m=" + m.Type + " " + strconv.Itoa(m.Port)
		if md.ConnectionInformation != nil && md.ConnectionInformation.Address != nil {
			m.Addr = s.connAddr(md.ConnectionInformation.Address.Address, label)
		} else if !sessConn && m.Port != 0 {
			s.problem(label + " has no c= line, nor has the session (RFC 8866 §5.7)")
		}
		for _, f := range md.MediaName.Formats {
			if n, err := strconv.Atoi(f); err == nil && n >= 0 && n < 128 {
				m.Formats = append(m.Formats, uint8(n))
			} else {
				m.FormatNames = append(m.FormatNames, f)
			}
		}
		if dir, ok := directionOf(md.Attributes); ok {
			m.Direction = dir
		}
		m.attributes(md.Attributes, s, label)
		if m.RTCPPort == 0 && m.Port != 0 {
			if m.RTCPMux {
				m.RTCPPort = m.Port
			} else {
				m.RTCPPort = m.Port + 1
			}
		}
		s.Media = append(s.Media, m)
	}
	return s
}

// attributes reads the media-level attributes that matter to media
// analysis.
func (m *Media) attributes(attrs []psdp.Attribute, s *Session, label string) {
	var fmtp []psdp.Attribute
	for _, a := range attrs {
		switch a.Key {
		case "rtpmap":
			if c, ok := parseRtpmap(a.Value); ok {
				m.Codecs = append(m.Codecs, c)
			} else {
				s.problem(label + ": bad a=rtpmap:" + quote(a.Value))
			}
		case "fmtp":
			fmtp = append(fmtp, a)
		case "rtcp":
			// a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605)
			f := strings.Fields(a.Value)
			port := 0
			if len(f) > 0 {
				port, _ = strconv.Atoi(f[0])
			}
			if port <= 0 || port > 65535 {
				s.problem(label + ": bad a=rtcp:" + quote(a.Value))
				continue
			}
			m.RTCPPort = port
			if len(f) >= 4 {
				m.RTCPAddr = s.connAddr(f[3], label+" a=rtcp")
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
			v, _, _ := strings.Cut(strings.TrimSpace(a.Value), ".")
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 10000 {
				m.Ptime = n
			} else {
				s.problem(label + ": bad a=ptime:" + quote(a.Value))
			}
		}
	}
	for _, a := range fmtp {
		pt, v, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
		n, err := strconv.Atoi(pt)
		if err != nil || n < 0 || n > 127 {
			continue
		}
		for i := range m.Codecs {
			if m.Codecs[i].PT == uint8(n) && m.Codecs[i].Fmtp == "" {
				m.Codecs[i].Fmtp = strings.TrimSpace(v)
			}
		}
	}
	// Static payload types listed without rtpmap still name codecs.
	for _, pt := range m.Formats {
		if hasCodec(m.Codecs, pt) {
			continue
		}
		if c, ok := StaticCodec(pt); ok {
			m.Codecs = append(m.Codecs, c)
		}
	}
}

func hasCodec(cs []Codec, pt uint8) bool {
	for _, c := range cs {
		if c.PT == pt {
			return true
		}
	}
	return false
}

// connAddr reads a c= connection address; multicast addresses may carry
// /ttl/count suffixes (RFC 8866 §5.7). A host name is recorded as a
// problem: media analysis needs an address.
func (s *Session) connAddr(a, where string) netip.Addr {
	host, _, _ := strings.Cut(a, "/")
	addr, err := netip.ParseAddr(host)
	if err != nil {
		s.problem(where + ": connection address " + quote(a) + " is not an IP address")
		return netip.Addr{}
	}
	return addr.Unmap()
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

// parseRtpmap reads "<payload type> <encoding name>/<clock rate>[/<channels>]"
// (RFC 8866 §6.6).
func parseRtpmap(v string) (Codec, bool) {
	pt, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return Codec{}, false
	}
	n, err := strconv.Atoi(pt)
	if err != nil || n < 0 || n > 127 {
		return Codec{}, false
	}
	f := strings.Split(strings.TrimSpace(rest), "/")
	c := Codec{PT: uint8(n), Name: strings.TrimSpace(f[0])}
	if c.Name == "" || !isField(c.Name) {
		return Codec{}, false
	}
	if len(f) > 1 {
		if c.Rate, err = strconv.Atoi(strings.TrimSpace(f[1])); err != nil || c.Rate < 0 {
			return Codec{}, false
		}
	}
	if len(f) > 2 {
		if c.Channels, err = strconv.Atoi(strings.TrimSpace(f[2])); err != nil || c.Channels < 0 {
			return Codec{}, false
		}
	}
	return c, true
}

// quote quotes text from the description for a problem, escaping control
// characters and cutting it short.
func quote(s string) string {
	const max = 60
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// isField reports whether s is one whitespace-free field of printable
// characters.
func isField(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
