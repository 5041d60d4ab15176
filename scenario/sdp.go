package scenario

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/sdp"
)

// offerer is a host's session description state (RFC 3264 §8: the origin
// stays, the version grows with every change).
type offerer struct {
	origin  netip.Addr
	id      string
	version uint64
	name    string
}

// describe writes an SDP with one audio stream: the G.711 codecs given,
// telephone-event when te, ptime 20 and the direction.
func (o *offerer) describe(addr netip.AddrPort, codecs []string, te bool, dir sdp.Direction) []byte {
	o.version++
	m := sdp.Media{Type: "audio", Port: int(addr.Port()), Proto: "RTP/AVP", Addr: addr.Addr(), Direction: dir, Ptime: int(frameTime.Milliseconds())}
	for _, c := range codecs {
		g, ok := g711[c]
		if !ok {
			continue
		}
		m.Formats = append(m.Formats, g.pt)
		m.Codecs = append(m.Codecs, sdp.Codec{PT: g.pt, Name: g.name, Rate: sampleRate})
	}
	if te {
		m.Formats = append(m.Formats, tePT)
		m.Codecs = append(m.Codecs, sdp.Codec{PT: tePT, Name: "telephone-event", Rate: sampleRate, Fmtp: "0-16"})
	}
	s := sdp.Session{Origin: o.origin, OriginUser: "-", SessionID: o.id, Version: o.version, Name: o.name, Media: []sdp.Media{m}}
	return s.Marshal()
}

// remoteMedia is what a received session description asks for.
type remoteMedia struct {
	addr netip.AddrPort
	dir  sdp.Direction
	// codecs are the G.711 codecs offered or answered, in order.
	codecs []string
	// te is the telephone-event payload type, -1 without.
	te int
}

// readMedia reads the first audio stream of an SDP body.
func readMedia(body []byte) (remoteMedia, bool) {
	rm := remoteMedia{te: -1}
	if len(body) == 0 {
		return rm, false
	}
	s, err := sdp.Parse(body)
	if err != nil || s == nil {
		return rm, false
	}
	a, ok := s.Audio()
	if !ok {
		return rm, false
	}
	rm.addr, rm.dir = a.Endpoint(), a.Direction
	if a.Addr.Is4() && a.Addr.IsUnspecified() && rm.dir == sdp.SendRecv {
		rm.dir = sdp.Inactive
	}
	for _, pt := range a.Formats {
		c, ok := a.Codec(pt)
		if !ok {
			continue
		}
		if strings.EqualFold(c.Name, "telephone-event") {
			rm.te = int(pt)
			continue
		}
		if name, ok := astconf.CodecFromSDP(c.Name, c.Rate); ok {
			if _, g := g711[name]; g && !slices.Contains(rm.codecs, name) {
				rm.codecs = append(rm.codecs, name)
			}
		}
	}
	return rm, true
}

// answerDir is the direction that answers an offered one (RFC 3264 §6.1),
// given whether this side holds.
func answerDir(offered sdp.Direction, holding bool) sdp.Direction {
	switch offered {
	case sdp.SendOnly:
		if holding {
			return sdp.Inactive
		}
		return sdp.RecvOnly
	case sdp.RecvOnly:
		return sdp.SendOnly
	case sdp.Inactive:
		return sdp.Inactive
	}
	if holding {
		return sdp.SendOnly
	}
	return sdp.SendRecv
}

// receives reports whether a side whose SDP says dir wants RTP.
func receives(dir sdp.Direction) bool { return dir == sdp.SendRecv || dir == sdp.RecvOnly }

// pick returns the first of the offered codecs that allowed accepts.
func pick(offered []string, allowed func(string) bool) (string, bool) {
	for _, c := range offered {
		if allowed(c) {
			return c, true
		}
	}
	return "", false
}
