package explain

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

// bridge is one B2BUA of the call and the two legs it joined: up is the
// leg it answered (toward the caller), down the leg it originated.
type bridge struct {
	server netip.Addr
	// addrs are all the server's addresses: server first, then the other
	// address it relayed the call from (call.Link.Alias), then the
	// addresses NAT gave it at other capture points.
	addrs          []netip.Addr
	agent          call.Agent
	upIdx, downIdx int
	legs           [2]*legFacts // [0] up, [1] down
	// start is when the bridge could first move media: both legs answered.
	start      time.Time
	startFrame int
	// early is set when the B2BUA's first SDP on a leg already pointed at
	// the far side (chan_sip directrtpsetup): the frames that show it.
	early []int
	// releases are requests of this server that pointed a leg's media
	// away from itself and were accepted; anchors pointed it back (before
	// the call began to hang up); refused are releases that failed.
	releases, anchors, refused []action
}

// action is one mid-dialog request of a bridge's server. Its req.Offer is
// never nil: a bridge keeps only requests whose offer the capture holds,
// since where the offer points the media is what makes the request a
// release or a re-anchor.
type action struct {
	req *call.Request
	leg int // 0 up, 1 down
}

// legFacts is what the initial offer/answer of one leg showed about the
// end across from the bridge's server ("far": a phone or another server).
type legFacts struct {
	leg     *call.Leg
	farSide call.Side
	far     netip.AddrPort // the far end's signalling address
	// offer and answer are the leg's initial exchange; farSDP the one the
	// far end sent.
	offer, answer, farSDP *call.SDPRef
	codecs                []string // negotiated: the answer's, in the offer's terms
	te                    bool     // telephone-event in both offer and answer
	srtp                  bool
	nat                   []natSign
}

// natSign is one observation that the far end of a leg is behind NAT.
type natSign struct {
	kind   string // via, contact, sdp, rtp-port
	text   string
	frames []int
	strong bool
}

// facts gathers what the analysis of one call needs, once.
type facts struct {
	in      Input
	c       *call.Call
	owner   map[netip.AddrPort]netip.Addr // host that first announced each media address
	byeAt   time.Time                     // first BYE of any leg; zero when none
	byeMsg  *call.Msg
	bridges []*bridge
}

func gather(in Input) *facts {
	legs := map[string]bool{}
	for _, l := range in.Call.Legs {
		legs[l.CallID] = true
	}
	in.Streams = slices.DeleteFunc(slices.Clone(in.Streams), func(s *media.Stream) bool {
		return s == nil || !((s.Announced != nil && legs[s.Announced.Leg]) || (s.SourceAnnounced != nil && legs[s.SourceAnnounced.Leg]))
	})
	f := &facts{in: in, c: in.Call, owner: map[netip.AddrPort]netip.Addr{}}
	f.announcers()
	f.firstBye()
	for _, k := range f.c.Links {
		if k.Upstream < 0 || k.Downstream < 0 || k.Upstream >= len(f.c.Legs) || k.Downstream >= len(f.c.Legs) || !k.Server.IsValid() {
			continue
		}
		f.bridges = append(f.bridges, f.bridge(k))
	}
	return f
}

// announcers records which host first put each media address into an
// SDP: a B2BUA that releases media writes an address someone else
// announced before it.
func (f *facts) announcers() {
	type ann struct {
		frame int
		addr  netip.AddrPort
		host  netip.Addr
	}
	var all []ann
	for _, l := range f.c.Legs {
		for _, d := range l.Dialogs {
			for _, n := range d.Negotiations {
				for _, r := range []*call.SDPRef{n.Offer, n.Answer, n.Preview} {
					if r != nil && usable(r.Media.Addr) {
						all = append(all, ann{r.Frame, r.Media.Addr, host(r.Src)})
					}
				}
			}
		}
	}
	slices.SortStableFunc(all, func(a, b ann) int { return a.frame - b.frame })
	for _, a := range all {
		if _, ok := f.owner[a.addr]; !ok {
			f.owner[a.addr] = a.host
		}
	}
}

func (f *facts) firstBye() {
	for _, l := range f.c.Legs {
		for _, m := range l.Messages {
			if m.IsRequest() && m.Method == "BYE" && (f.byeMsg == nil || m.Frame < f.byeMsg.Frame) {
				f.byeMsg = m
				f.byeAt = m.Time
				break
			}
		}
	}
}

func usable(a netip.AddrPort) bool {
	return a.IsValid() && a.Port() != 0 && !a.Addr().IsUnspecified()
}

func host(a netip.AddrPort) netip.Addr { return a.Addr().Unmap() }

func (f *facts) bridge(k call.Link) *bridge {
	up, down := f.c.Legs[k.Upstream], f.c.Legs[k.Downstream]
	b := &bridge{server: k.Server, addrs: serverAddrs(k, up, down), upIdx: k.Upstream, downIdx: k.Downstream, agent: up.UASAgent}
	if b.agent.Product == "" {
		b.agent = down.UACAgent
	}
	b.legs[0] = f.legFacts(up, call.UAC)
	b.legs[1] = f.legFacts(down, call.UAS)
	if up.Answered() && down.Answered() {
		b.start, b.startFrame = up.Answer, up.AnswerFrame
		if down.Answer.After(up.Answer) {
			b.start, b.startFrame = down.Answer, down.AnswerFrame
		}
	}
	f.earlyDirect(b)
	for i, lf := range b.legs {
		mine := lf.farSide.Other()
		for _, r := range lf.leg.MidDialog {
			if r.Sender != mine || r.Offer == nil || !usable(r.Offer.Media.Addr) {
				continue
			}
			a := action{req: r, leg: i}
			away := !b.own(f.owner[r.Offer.Media.Addr]) && !b.own(host(r.Offer.Media.Addr))
			switch {
			case r.Status == 491 || !f.beforeBye(r):
				// Glare is reported with the call's glare, and the retry
				// is a request of its own. After the first BYE the
				// bridge is coming down: a B2BUA takes the media back
				// before its own BYE.
			case away && (r.Status >= 300 || r.TimedOut):
				b.refused = append(b.refused, a)
			case away && r.Status >= 200:
				b.releases = append(b.releases, a)
			case !away && r.Status >= 200 && r.Status < 300:
				b.anchors = append(b.anchors, a)
			}
		}
	}
	byFrame := func(x, y action) int { return x.req.Frame - y.req.Frame }
	slices.SortStableFunc(b.releases, byFrame)
	slices.SortStableFunc(b.anchors, byFrame)
	slices.SortStableFunc(b.refused, byFrame)
	// A re-anchor only counts once media had been released before it.
	b.anchors = slices.DeleteFunc(b.anchors, func(a action) bool {
		return len(b.releases) == 0 || a.req.Frame < b.releases[0].req.Frame
	})
	return b
}

// beforeBye reports whether a request came before the call began to hang
// up: a B2BUA takes the media back from the surviving leg before its BYE,
// which is teardown, not a change of path.
func (f *facts) beforeBye(r *call.Request) bool {
	return f.byeMsg == nil || r.Frame < f.byeMsg.Frame
}

// serverAddrs lists the addresses of a link's server: Server, its Alias,
// and the ends of the hops that are the same hop as the server's seen
// through NAT at another capture point (as many Vias, RFC 3261 §16.6).
func serverAddrs(k call.Link, up, down *call.Leg) []netip.Addr {
	out := []netip.Addr{k.Server}
	add := func(a netip.Addr) {
		if a.IsValid() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	add(k.Alias)
	for _, v := range []struct {
		hops []call.Hop
		at   netip.Addr
		dst  bool
	}{{up.Hops, k.Server, true}, {down.Hops, k.Alias, false}} {
		if !v.at.IsValid() {
			v.at = k.Server
		}
		end := func(h call.Hop) netip.Addr {
			if v.dst {
				return host(h.Dst)
			}
			return host(h.Src)
		}
		i := slices.IndexFunc(v.hops, func(h call.Hop) bool { return end(h) == v.at })
		if i < 0 {
			continue
		}
		for _, h := range v.hops {
			if h.Vias == v.hops[i].Vias {
				add(end(h))
			}
		}
	}
	return out
}

// own reports whether an address is one of the bridge's server's.
func (b *bridge) own(a netip.Addr) bool { return a.IsValid() && slices.Contains(b.addrs, a.Unmap()) }

// earlyDirect finds a bridge whose first SDP toward a leg carried the far
// side's media address instead of its own (chan_sip directrtpsetup).
func (f *facts) earlyDirect(b *bridge) {
	for _, lf := range b.legs {
		var mine *call.SDPRef
		switch {
		case lf.offer != nil && lf.offer.Sender != lf.farSide:
			mine = lf.offer
		case lf.answer != nil && lf.answer.Sender != lf.farSide:
			mine = lf.answer
		}
		if mine == nil || !usable(mine.Media.Addr) {
			continue
		}
		if o, ok := f.owner[mine.Media.Addr]; ok && !b.own(o) && !b.own(host(mine.Media.Addr)) {
			b.early = append(b.early, mine.Frame)
		}
	}
}

// legFacts reads the initial exchange of a leg as seen from the bridge,
// whose far end is on farSide.
func (f *facts) legFacts(l *call.Leg, farSide call.Side) *legFacts {
	lf := &legFacts{leg: l, farSide: farSide, far: l.UAC}
	if farSide == call.UAS {
		lf.far = l.UAS
	}
	for _, d := range l.Dialogs {
		if d.ConfirmFrame == 0 && lf.offer != nil {
			continue
		}
		for _, n := range d.Negotiations {
			// An exchange whose offer the capture missed cannot say what
			// the two sides agreed on.
			if n.Offer == nil || completed(n) == nil {
				continue
			}
			lf.offer, lf.answer = n.Offer, n.Answer
			break
		}
		if d.ConfirmFrame != 0 && lf.offer != nil {
			break
		}
	}
	if lf.offer == nil {
		return lf
	}
	lf.farSDP = lf.answer
	if lf.offer.Sender == farSide {
		lf.farSDP = lf.offer
	}
	lf.codecs = negotiated(lf.offer.Media, lf.answer.Media)
	lf.te = lf.offer.Media.DTMF >= 0 && lf.answer.Media.DTMF >= 0
	lf.srtp = lf.offer.Media.Crypto && lf.answer.Media.Crypto
	lf.nat = f.natSigns(lf)
	return lf
}

// negotiated is the answer's audio codecs that the offer also listed, in
// the answer's order (RFC 3264 §6.1): the first is the one in use.
func negotiated(offer, answer call.MediaState) []string {
	var out []string
	for _, c := range answer.Codecs {
		if slices.ContainsFunc(offer.Codecs, func(o string) bool { return strings.EqualFold(o, c) }) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return answer.Codecs
	}
	return out
}

// codecWords lists the negotiated codecs with Asterisk's names for them,
// the names an allow= line uses: "PCMU (ulaw)".
func (lf *legFacts) codecWords() string {
	var rates []sdp.Codec
	if lf.farSDP != nil && lf.farSDP.Session != nil {
		if a, ok := lf.farSDP.Session.Audio(); ok {
			rates = a.Codecs
		}
	}
	parts := make([]string, len(lf.codecs))
	for i, c := range lf.codecs {
		rate := 8000
		for _, r := range rates {
			if strings.EqualFold(r.Name, c) {
				rate = r.Rate
			}
		}
		parts[i] = c
		if n, ok := astconf.CodecFromSDP(c, rate); ok && !strings.EqualFold(n, c) {
			parts[i] += " (" + n + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// family is 4 or 6 for the far end's media address, 0 unknown.
func (lf *legFacts) family() int {
	if lf.farSDP == nil || !lf.farSDP.Media.Addr.IsValid() {
		return 0
	}
	if lf.farSDP.Media.Addr.Addr().Unmap().Is4() {
		return 4
	}
	return 6
}

// frames are the initial offer and answer of the leg.
func (lf *legFacts) frames() []int {
	var out []int
	if lf.offer != nil {
		out = append(out, lf.offer.Frame)
	}
	if lf.answer != nil {
		out = append(out, lf.answer.Frame)
	}
	return out
}

// natSigns looks for the far end of a leg behind NAT: its Via sent-by
// differs from where its requests came from (RFC 3261 §18.2.1, RFC 3581
// received/rport), it writes a private address into Contact or SDP while
// its packets come from a public one, or it sends RTP from another port
// than it announced.
func (f *facts) natSigns(lf *legFacts) []natSign {
	var out []natSign
	have := map[string]bool{}
	add := func(s natSign) {
		if !have[s.kind] {
			have[s.kind] = true
			out = append(out, s)
		}
	}
	for _, m := range lf.leg.Messages {
		if m.Retransmission || len(m.Via) == 0 {
			continue
		}
		switch {
		case m.IsRequest() && m.Direction == lf.farSide:
			if s, ok := viaSign(m); ok {
				add(s)
			}
			if s, ok := contactSign(m); ok {
				add(s)
			}
		case !m.IsRequest() && m.Direction == lf.farSide:
			if s, ok := contactSign(m); ok {
				add(s)
			}
		case !m.IsRequest() && m.Direction != lf.farSide:
			if s, ok := receivedSign(m, len(m.Via)); ok {
				add(s)
			}
		}
	}
	if sd := lf.farSDP; sd != nil && private(host(sd.Media.Addr)) && public(host(sd.Src)) {
		add(natSign{kind: "sdp", strong: true, frames: []int{sd.Frame},
			text: "its SDP (f" + itoa(sd.Frame) + ") announces the private address " + sd.Media.Addr.String() +
				" while the message came from the public address " + host(sd.Src).String()})
	}
	if sd := lf.farSDP; sd != nil && usable(sd.Media.Addr) {
		for _, s := range f.in.Streams {
			if host(s.Src) == host(sd.Media.Addr) && s.Src.Port() != sd.Media.Addr.Port() && s.Packets > 0 && s.FirstFrame > sd.Frame && !f.announced(s.Src) {
				add(natSign{kind: "rtp-port", frames: []int{sd.Frame, s.FirstFrame},
					text: "it sends RTP from " + s.Src.String() + " (f" + itoa(s.FirstFrame) + "), not from the port " +
						itoa(int(sd.Media.Addr.Port())) + " its SDP announced (f" + itoa(sd.Frame) + "): a NAT rewrote the port, or the endpoint does not send from where it receives (no symmetric RTP, RFC 4961)"})
				break
			}
		}
	}
	return out
}

// announced reports whether any SDP of the call announced the address.
func (f *facts) announced(a netip.AddrPort) bool {
	_, ok := f.owner[a]
	return ok
}

// viaSign compares a request's own Via with the address it came from.
// Only the top Via is the sender's when the packet came straight from it;
// a proxy in between adds its own on top, so a request with more than one
// Via is not judged.
func viaSign(m *call.Msg) (natSign, bool) {
	if len(m.Via) != 1 {
		return natSign{}, false
	}
	v := m.Via[0]
	sent, err := netip.ParseAddr(v.Host)
	if err != nil || !m.Src.IsValid() {
		return natSign{}, false
	}
	src := host(m.Src)
	if sent.Unmap() == src {
		return natSign{}, false
	}
	return natSign{kind: "via", strong: true, frames: []int{m.Frame},
		text: "its " + m.Method + " (f" + itoa(m.Frame) + ") says Via " + v.SentBy() + " but came from " + m.Src.String()}, true
}

// receivedSign reads the received= and rport= that the other side wrote
// into the Via of its response (RFC 3261 §18.2.1, RFC 3581 §4): they say
// where the request really came from.
func receivedSign(m *call.Msg, vias int) (natSign, bool) {
	if vias != 1 {
		return natSign{}, false
	}
	v := m.Via[0]
	sent, err := netip.ParseAddr(v.Host)
	if err != nil {
		return natSign{}, false
	}
	port := v.Port
	if port == 0 {
		port = 5060
		if strings.EqualFold(v.Transport, "TLS") {
			port = 5061
		}
	}
	rec, err := netip.ParseAddr(v.Received)
	switch {
	case err == nil && rec.Unmap() != sent.Unmap():
		return natSign{kind: "via", strong: true, frames: []int{m.Frame},
			text: "the Via of the " + itoa(m.StatusCode) + " " + m.CSeqMethod + " (f" + itoa(m.Frame) + ") says its request was sent by " +
				v.SentBy() + " but received from " + v.Received + portSuffix(v.RPort)}, true
	case v.RPort != 0 && v.RPort != port:
		return natSign{kind: "via", frames: []int{m.Frame},
			text: "the Via of the " + itoa(m.StatusCode) + " " + m.CSeqMethod + " (f" + itoa(m.Frame) + ") says its request was sent from port " +
				itoa(port) + " but received from port " + itoa(v.RPort) + " (rport)"}, true
	}
	return natSign{}, false
}

func portSuffix(p int) string {
	if p == 0 {
		return ""
	}
	return " port " + itoa(p) + " (rport)"
}

// contactSign finds a private address in Contact on a message from a
// public one: the device does not know its public address.
func contactSign(m *call.Msg) (natSign, bool) {
	if m.Contact == "" || !m.Src.IsValid() {
		return natSign{}, false
	}
	h, _, ok := sip.SplitHostPort(sip.URIHost(sip.ParseNameAddr(m.Contact).URI))
	if !ok {
		return natSign{}, false
	}
	a, err := netip.ParseAddr(h)
	if err != nil || !private(a) || !public(host(m.Src)) {
		return natSign{}, false
	}
	return natSign{kind: "contact", strong: true, frames: []int{m.Frame},
		text: "its Contact (f" + itoa(m.Frame) + ") names the private address " + a.String() + " while the message came from the public address " + host(m.Src).String()}, true
}

// private reports an address that does not route on the Internet: RFC
// 1918, RFC 6598 shared address space (carrier-grade NAT), IPv6 unique
// local addresses (RFC 4193) and link-local addresses (RFC 3927, RFC
// 4291 §2.5.6). Documentation ranges (RFC 5737, RFC 3849) are not
// private: they name no private network, and test networks use them as
// their public side.
func private(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLinkLocalUnicast() || (a.Is4() && a.As4()[0] == 100 && a.As4()[1]&0xc0 == 64)
}

// public reports a global unicast address that is not private; loopback
// is neither.
func public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !private(a)
}

// latestDirection is the direction of the latest SDP a side of a leg
// sent in a completed exchange at or before a frame, and that SDP.
func latestDirection(l *call.Leg, side call.Side, before int) (sdp.Direction, *call.SDPRef) {
	var dir sdp.Direction
	var ref *call.SDPRef
	for _, d := range l.Dialogs {
		for _, n := range d.Negotiations {
			for _, r := range completed(n) {
				if r.Sender == side && r.Frame <= before && (ref == nil || r.Frame > ref.Frame) {
					ref, dir = r, r.Media.Direction
				}
			}
		}
	}
	return dir, ref
}

// completed returns the SDPs of an exchange that ended in an answer
// rather than a refusal: the offer and the answer, or the answer alone
// when the capture missed the message that carried the offer. It returns
// nil for an exchange still pending or refused.
func completed(n *call.Negotiation) []*call.SDPRef {
	switch {
	case n.Answer == nil || n.Rejected != 0:
		return nil
	case n.Offer == nil:
		return []*call.SDPRef{n.Answer}
	}
	return []*call.SDPRef{n.Offer, n.Answer}
}
