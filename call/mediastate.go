package call

import (
	"net/netip"
	"slices"

	"github.com/sipscope/sipscope/sdp"
)

// mediaStateOf reduces a session description to its audio stream (the first
// audio m= line, or the first m= line when there is no audio).
func mediaStateOf(s *sdp.Session) MediaState {
	st := MediaState{DTMF: -1}
	if s == nil || len(s.Media) == 0 {
		return st
	}
	m, ok := s.Audio()
	if !ok {
		m = &s.Media[0]
	}
	if m.Port >= 0 && m.Port <= 65535 {
		st.Addr = netip.AddrPortFrom(m.Addr, uint16(m.Port))
	}
	st.Type, st.Proto = m.Type, m.Proto
	st.PTs = m.Formats
	st.Codecs = m.AudioCodecs()
	if pt, ok := m.TelephoneEvent(); ok {
		st.DTMF = int(pt)
	}
	st.Crypto = m.Secure()
	st.Direction = m.Direction
	st.Hold = m.Hold()
	return st
}

// changeBetween classifies an offer against the SDP its sender had
// established before: hold and resume by direction (RFC 3264 §8.4, and the
// RFC 2543 c=0.0.0.0 form), redirect by address or port (§8.3.1), codec
// change by the audio codec list (§8.3.2), other changes by DTMF,
// encryption and the number of streams.
func changeBetween(prev, next *SDPRef) Change {
	var c Change
	p, n := prev.Media, next.Media
	switch {
	case n.Hold && !p.Hold:
		c |= Hold
	case !n.Hold && p.Hold:
		c |= Resume
	}
	// A c=0.0.0.0 hold changes the address without moving the media.
	if p.Addr != n.Addr && !unspecified(n.Addr) && !unspecified(p.Addr) {
		c |= Redirect
	}
	// A switch to another media type (audio to T.38 fax) changes the codec.
	if p.Type != n.Type || !slices.Equal(p.Codecs, n.Codecs) {
		c |= CodecChange
	}
	if p.DTMF != n.DTMF || p.Crypto != n.Crypto || streams(prev) != streams(next) {
		c |= OtherChange
	}
	return c
}

func unspecified(a netip.AddrPort) bool { return a.Addr().IsUnspecified() }

func streams(r *SDPRef) int {
	if r.Session == nil {
		return 0
	}
	return len(r.Session.Media)
}
