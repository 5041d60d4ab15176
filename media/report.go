package media

import (
	"net/netip"

	"github.com/sipscope/sipscope/decode"
)

// rtcp reads one RTCP datagram and ties what it says to streams: sender
// reports, CNAMEs and BYEs to the stream the RTCP sender sends, report
// blocks to the stream it receives from the reported SSRC.
func (t *Tracker) rtcp(m *decode.Meta, b []byte) {
	ann := t.rtcpEnds[m.Dst]
	if ann == nil {
		ann = t.rtcpEnds[m.Src]
	}
	c := &t.compound
	if err := c.Unmarshal(b); err != nil {
		t.count.NotMedia++
		return
	}
	if ann == nil {
		// Without SDP, insist on a full RFC 3550 A.2 compound: first
		// packet SR or RR, lengths adding up to the datagram.
		if c.Truncated || (c.Packets[0].Type != TypeSR && c.Packets[0].Type != TypeRR) {
			t.count.NotMedia++
			return
		}
	}
	t.count.RTCP++
	pkts := c.Packets
	if ann != nil && ann.Media.Secure() {
		// SRTCP encrypts everything after the first header and SSRC
		// (RFC 3711 §3.4): only that much can be read.
		pkts = pkts[:1]
		pkts[0].Reports, pkts[0].Sender.PacketsValid, pkts[0].CNAME = nil, false, ""
	}
	for i := range pkts {
		p := &pkts[i]
		switch p.Type {
		case TypeSR, TypeRR:
			if p.Type == TypeSR && p.Sender.PacketsValid {
				if s := t.sender(p.SSRC, m.Src); s != nil {
					s.RTCP.SenderReports++
					s.RTCP.LastSenderFrame = m.Frame
					s.RTCP.SenderPackets = p.Sender.PacketCount
				} else {
					t.count.RTCPUnmatched++
				}
			}
			for _, r := range p.Reports {
				if s := t.receiver(r.SSRC, m.Src); s != nil {
					s.report(&r, m.Frame)
				} else {
					t.count.RTCPUnmatched++
				}
			}
		case TypeSDES:
			if s := t.sender(p.SSRC, m.Src); s != nil && p.CNAME != "" {
				s.RTCP.CNAME = p.CNAME
			}
		case TypeBYE:
			for _, ssrc := range p.Sources {
				if s := t.sender(ssrc, m.Src); s != nil {
					s.RTCP.ByeFrame = m.Frame
				}
			}
		}
	}
}

// sender finds the stream of ssrc that the RTCP source from sends: from
// the RTP port paired with from's port (one below, or the same with
// rtcp-mux) by preference, else from the same address.
func (t *Tracker) sender(ssrc uint32, from netip.AddrPort) *Stream {
	return pick(t.bySSRC[ssrc], from, func(s *Stream) netip.AddrPort { return s.Src })
}

// receiver finds the stream of ssrc that the RTCP source from receives.
func (t *Tracker) receiver(ssrc uint32, from netip.AddrPort) *Stream {
	return pick(t.bySSRC[ssrc], from, func(s *Stream) netip.AddrPort { return s.Dst })
}

func pick(ss []*Stream, from netip.AddrPort, end func(*Stream) netip.AddrPort) *Stream {
	var best *Stream
	bestScore := 0
	for _, s := range ss {
		e := end(s)
		if e.Addr() != from.Addr() {
			continue
		}
		score := 1
		if e.Port() == from.Port() || e.Port()+1 == from.Port() {
			score = 2
		}
		if score > bestScore || (score == bestScore && s.LastFrame > best.LastFrame) {
			best, bestScore = s, score
		}
	}
	return best
}

// report records one RTCP report block about the stream. Jitter arrives
// in timestamp units (RFC 3550 §6.4.1) and is converted with the clock
// rate of the stream's main payload.
func (s *Stream) report(r *ReceptionReport, frame int) {
	st := &s.RTCP
	st.Reports++
	st.LastReportFrame = frame
	st.FractionLostPct = float64(r.FractionLost) * 100 / 256
	st.CumulativeLost = int(r.CumulativeLost)
	if hz := s.mainClock(); hz > 0 {
		st.JitterMs = float64(r.Jitter) * 1000 / float64(hz)
		st.MaxJitterMs = max(st.MaxJitterMs, st.JitterMs)
	}
}

// mainClock is the clock rate of the stream's main payload type.
func (s *Stream) mainClock() int {
	i := s.mainPT()
	if i < 0 {
		return 0
	}
	if u := s.PayloadTypes[i]; u.ClockRate > 0 {
		return u.ClockRate
	}
	return staticClock(s.PayloadTypes[i].PT)
}
