package explain

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sip"
)

// natTrap is an endpoint behind NAT, seen from the NAT's public side,
// whose private media address the far side sends RTP to. Private
// addresses do not route on the public network (RFC 1918 §3, RFC 6598,
// RFC 4193), so that RTP never arrives: the classic one-way audio of a
// phone that wrote its LAN address into its SDP with nothing on the path
// to fix it (RFC 3261 §18.2.1 and RFC 3581 only repair the signalling).
type natTrap struct {
	// end is the public address the endpoint's signalling came from:
	// the NAT's, as the capture point sees it.
	end netip.Addr
	// sdp announced the private address; priv is that address.
	sdp  *call.SDPRef
	priv netip.AddrPort
	// signs are what shows the endpoint behind NAT; via is set when one
	// of them is a private Via sent-by seen from the public address, the
	// strongest sign that the capture is on the NAT's public side.
	signs []natSign
	via   bool
	// lost is the RTP that public senders address to priv; back is the
	// endpoint's own RTP to those senders, which does arrive.
	lost, back []*media.Stream
	// passed are the frames where another hop forwarded the SDP with the
	// private address unchanged, and proxies those hops.
	passed  []int
	proxies []netip.Addr
}

// natTraps finds every endpoint of the call whose private SDP address
// receives RTP from the public network, in the order of the SDP that
// announced it. The endpoint's own packets must come from a public
// address: a capture on the private side of the NAT sees the phone at its
// private address, and RTP from outside reaches it there legitimately,
// translated by the NAT.
func (x *explainer) natTraps() []*natTrap {
	var out []*natTrap
	for _, l := range x.f.c.Legs {
		for _, n := range l.Negotiations() {
			for _, r := range []*call.SDPRef{n.Offer, n.Preview, n.Answer} {
				if r == nil || slices.ContainsFunc(out, func(t *natTrap) bool { return t.end == host(r.Src) }) {
					continue
				}
				if t := x.natTrap(l, r); t != nil {
					out = append(out, t)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *natTrap) int { return a.sdp.Frame - b.sdp.Frame })
	return out
}

// natTrap checks one SDP: a private media address from an end of the leg
// whose message came from a public address, with public RTP sent to it.
func (x *explainer) natTrap(l *call.Leg, r *call.SDPRef) *natTrap {
	end := host(r.Src)
	if !usable(r.Media.Addr) || !private(host(r.Media.Addr)) || !public(end) || (end != host(l.UAC) && end != host(l.UAS)) {
		return nil
	}
	m := sdpMessage(l, r)
	// A request with more than one Via came through a proxy: its source
	// is the proxy's, not the endpoint's.
	if m == nil || (m.IsRequest() && len(m.Via) != 1) {
		return nil
	}
	t := &natTrap{end: end, sdp: r, priv: r.Media.Addr}
	for _, s := range x.f.in.Streams {
		if s.Packets > 0 && host(s.Dst) == host(t.priv) && public(host(s.Src)) && host(s.Src) != end &&
			s.FirstFrame > r.Frame && !x.sendsTo(s.Src, end) {
			t.lost = append(t.lost, s)
		}
	}
	if len(t.lost) == 0 {
		return nil
	}
	for _, s := range x.f.in.Streams {
		if s.Packets > 0 && host(s.Src) == end && slices.ContainsFunc(t.lost, func(o *media.Stream) bool { return host(o.Src) == host(s.Dst) }) {
			t.back = append(t.back, s)
		}
	}
	t.signs, t.via = x.publicSideSigns(end)
	t.signs = append(t.signs, natSign{kind: "sdp", strong: true, frames: []int{r.Frame},
		text: "its SDP (f" + itoa(r.Frame) + ") announces the private address " + t.priv.String() +
			" while the message came from the public address " + end.String()})
	slices.SortStableFunc(t.signs, func(a, b natSign) int { return signRank(a.kind) - signRank(b.kind) })
	for _, c := range l.Messages {
		if c.Frame <= m.Frame || c.SDP == nil || c.Retransmission || host(c.Src) == end || c.Direction != m.Direction ||
			c.IsRequest() != m.IsRequest() || c.CSeq != m.CSeq || c.CSeqMethod != m.CSeqMethod {
			continue
		}
		if a, ok := c.SDP.Audio(); ok && a.Endpoint() == t.priv {
			t.passed = append(t.passed, c.Frame)
			if h := host(c.Src); !slices.Contains(t.proxies, h) {
				t.proxies = append(t.proxies, h)
			}
		}
	}
	return t
}

// signRank orders NAT signs from the one that best places the capture on
// the NAT's public side.
func signRank(kind string) int {
	return slices.Index([]string{"via", "received", "contact", "sdp"}, kind)
}

// sdpMessage is the message that carried an SDP, as it left its sender.
func sdpMessage(l *call.Leg, r *call.SDPRef) *call.Msg {
	for _, m := range l.Messages {
		if m.Frame == r.Frame && m.Src == r.Src {
			return m
		}
	}
	return nil
}

// sendsTo reports whether a media source also sends RTP to the host: a
// sender that learned the NAT's address from the RTP it received
// (symmetric RTP, RFC 4961; Asterisk's comedia) reaches the endpoint
// after all.
func (x *explainer) sendsTo(src netip.AddrPort, h netip.Addr) bool {
	return slices.ContainsFunc(x.f.in.Streams, func(s *media.Stream) bool {
		return s.Packets > 0 && s.Src == src && host(s.Dst) == h
	})
}

// publicSideSigns reads the signalling of the endpoint at a public
// address for the private network behind it: a Via sent-by or Contact
// naming a private address on a message that came from the public one,
// and the received= and rport= its peer wrote back (RFC 3261 §18.2.1,
// RFC 3581 §4). via reports a Via sign among them.
func (x *explainer) publicSideSigns(end netip.Addr) (signs []natSign, via bool) {
	have := map[string]bool{}
	add := func(s natSign) {
		if !have[s.kind] {
			have[s.kind] = true
			signs = append(signs, s)
		}
	}
	for _, l := range x.f.c.Legs {
		for _, m := range l.Messages {
			if m.Retransmission {
				continue
			}
			if host(m.Src) == end {
				if s, ok := contactSign(m); ok {
					add(s)
				}
			}
			// One Via is the endpoint's own on a request it sent, and on a
			// response its peer sent straight back to it.
			if len(m.Via) != 1 || !privateSentBy(m.Via[0]) {
				continue
			}
			switch {
			case host(m.Src) == end && m.IsRequest():
				if s, ok := viaSign(m); ok {
					add(s)
					via = true
				}
			case host(m.Dst) == end && !m.IsRequest() && receivedFrom(m.Via[0]) == end:
				if s, ok := receivedSign(m, 1); ok && s.strong {
					s.kind = "received"
					add(s)
					via = true
				}
			}
		}
	}
	return signs, via
}

// privateSentBy reports a Via whose sent-by is a private address.
func privateSentBy(v sip.Via) bool {
	a, err := netip.ParseAddr(v.Host)
	return err == nil && private(a)
}

// receivedFrom is the address a Via's received= names, if any.
func receivedFrom(v sip.Via) netip.Addr {
	a, err := netip.ParseAddr(v.Received)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// unroutable reports the endpoints behind NAT whose private SDP address
// receives RTP from the public network: the NAT evidence, then (except
// for a one-way verdict, whose own reason names the cause) one-way audio
// with its cause and remedy. The media verdict is left as it is: the RTP
// flows, it only cannot arrive.
func (x *explainer) unroutable() {
	for _, t := range x.traps {
		if x.natFor[t.end] {
			continue
		}
		x.natFor[t.end] = true
		var texts []string
		var frames []int
		for _, s := range t.signs {
			texts = append(texts, s.text)
			frames = append(frames, s.frames...)
		}
		conf := 0.7
		if t.via {
			conf = 0.9
		}
		x.add(Reason{Code: CodeNAT, Confidence: conf, Frames: frames, head: "NAT on " + x.name(t.end) + "'s side",
			Text: x.name(t.end) + " is behind NAT and the capture was taken on the NAT's public side: its packets come from the public address " +
				t.end.String() + " while its own headers name a private network: " + strings.Join(texts, "; ")})
	}
	switch x.f.in.Verdict.Kind {
	case media.OneWay, media.NoneCaptured, "":
		return
	}
	for _, t := range x.traps {
		conf := 0.65
		if t.via {
			conf = 0.85
		}
		frames := []int{t.sdp.Frame}
		frames = append(frames, t.passed...)
		for _, s := range append(slices.Clone(t.lost), t.back...) {
			frames = append(frames, s.FirstFrame, s.LastFrame)
		}
		senders, sends := x.senders(t)
		head := "one-way audio likely because of NAT: " + senders + " " + sends + " RTP to " + x.name(t.end) + "'s private address " + t.priv.String()
		x.add(Reason{Code: CodeOneWayAudio, Confidence: conf, Frames: frames, explain: true, head: head,
			Text: "One-way audio likely: " + x.trapCause(t)})
		note := "The RTP was captured in both directions, but only one can arrive: "
		if len(t.back) == 0 {
			note = "The RTP was captured, but it cannot arrive: "
		}
		x.notes = append(x.notes, note+senders+" "+sends+" to "+x.name(t.end)+"'s private address "+t.priv.String()+
			", which the public network does not route")
	}
}

// senders names the hosts whose RTP goes to the private address, with
// the verb "sends" agreeing with them.
func (x *explainer) senders(t *natTrap) (string, string) {
	var names []string
	for _, s := range t.lost {
		if n := x.name(host(s.Src)); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return joinAnd(names), plural(len(names), "sends", "send")
}

// trapCause says which RTP cannot arrive, why, and what fixes it.
func (x *explainer) trapCause(t *natTrap) string {
	who := x.name(t.end)
	senders, sends := x.senders(t)
	var lost []string
	for _, s := range t.lost {
		lost = append(lost, s.Src.String()+" -> "+s.Dst.String()+" (f"+itoa(s.FirstFrame)+"-f"+itoa(s.LastFrame)+")")
	}
	text := senders + " " + sends + " RTP to " + t.priv.String() + ", the private address " + who + " announced in its SDP (f" + itoa(t.sdp.Frame) +
		"): " + strings.Join(lost, ", ") + ". The public network does not route a private address, so these packets never reach " + who +
		", who hears nothing"
	if len(t.back) > 0 {
		var back []string
		for _, s := range t.back {
			back = append(back, s.Src.String()+" -> "+s.Dst.String()+" (f"+itoa(s.FirstFrame)+"-f"+itoa(s.LastFrame)+")")
		}
		text += ", while " + who + "'s own RTP does arrive, from the NAT's public address: " + strings.Join(back, ", ")
	}
	text += ". Cause: NAT on " + who + "'s side: the endpoint wrote its private address into the SDP and nothing on the path fixed it"
	var missed []string
	if len(t.proxies) > 0 {
		missed = append(missed, "the "+plural(len(t.proxies), "proxy", "proxies")+" "+hostList(t.proxies)+
			" passed the SDP on unchanged ("+frameList(t.passed)+")")
	}
	missed = append(missed, "no media relay took the media")
	if len(t.back) > 0 {
		does := "does"
		if sends == "send" {
			does = "do"
		}
		missed = append(missed, senders+" "+does+" not send back to where "+who+"'s RTP comes from (symmetric RTP, RFC 4961; Asterisk's comedia)")
	}
	text += ": " + joinAnd(missed) + ". Remedy: "
	asterisk := "nat=force_rport,comedia on the endpoint's peer (pjsip force_rport, rtp_symmetric and rewrite_contact = yes), " +
		"so that it sends RTP to where the endpoint's RTP comes from, and no direct media to it (directmedia=nonat, pjsip disable_direct_media_on_nat)"
	var servers []string
	for _, s := range t.lost {
		if h := host(s.Src); x.f.c.IsB2BUA(h) && !slices.Contains(servers, x.name(h)) {
			servers = append(servers, x.name(h))
		}
	}
	if len(servers) > 0 {
		return text + "on " + joinAnd(servers) + " set " + asterisk + "; or let the endpoint learn its public address (STUN or ICE)"
	}
	return text + "anchor the media at a relay on the proxy (rtpengine or rtpproxy; in Kamailio or OpenSIPS fix_nated_sdp or rtpengine_manage for NATed endpoints), " +
		"or let the endpoint learn its public address (STUN or ICE); an Asterisk in the path needs " + asterisk
}

// trapFor is the trap whose lost RTP goes to one of the destinations.
func (x *explainer) trapFor(dsts []netip.AddrPort) *natTrap {
	for _, t := range x.traps {
		for _, s := range t.lost {
			if slices.Contains(dsts, s.Dst) {
				return t
			}
		}
	}
	return nil
}
