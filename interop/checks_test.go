package interop

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/media"
)

// scenarios are checked on every kept capture by TestInteropCaptures, and
// each on its fresh capture by its live test.
var scenarios = []*scenario{direct, proxied, relayed, overTCP, hold, glare, register, loss, nat}

// The addresses of the namespaced scenarios.
var (
	lossCaller = netip.MustParseAddr("10.77.1.2")
	lossCallee = netip.MustParseAddr("10.77.2.2")

	natPhone   = netip.MustParseAddr("192.168.77.2")
	natPublic  = netip.MustParseAddr("203.0.113.1") // the router's masquerading address
	natProxy   = netip.MustParseAddr("203.0.113.10")
	natCallee  = netip.MustParseAddr("203.0.113.11")
	natPrivate = netip.MustParsePrefix("192.168.77.0/24")
)

// rtpAddr names a peer's RTP address.
func rtpAddr(a netip.Addr) string { return netip.AddrPortFrom(a, rtpPort).String() }

// talkingBothWays are the two streams of the basic call between caller
// and callee, each a whole talkspurt.
func talkingBothWays(caller, callee netip.Addr) []wantStream {
	return []wantStream{
		{rtpAddr(caller), rtpAddr(callee), callerTalk.SSRC, callerTalk.Packets, 0},
		{rtpAddr(callee), rtpAddr(caller), calleeTalk.SSRC, calleeTalk.Packets, 0},
	}
}

// direct: one call of one leg seen at one point, both streams whole,
// media direct, no sign of NAT.
var direct = &scenario{name: "direct", check: func(t *testing.T, rep *analysis.Report) {
	caller, callee := lo(1, 1), lo(1, 2)
	wantSummary(t, rep, 6, 100, 1)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	wantLeg(t, l, sipAddr(caller), sipAddr(callee), "UDP")
	wantHops(t, l)
	wantVerdict(t, c, media.Direct)
	wantStreams(t, c, talkingBothWays(caller, callee)...)
	wantNoNAT(t, c)
}}

// proxied: one Call-ID seen at two hops is one leg, not two calls; the
// media still goes phone to phone.
var proxied = &scenario{name: "proxy", check: func(t *testing.T, rep *analysis.Report) {
	caller, callee, proxy := lo(2, 1), lo(2, 2), lo(2, 10)
	// Each message twice: caller to proxy, proxy to callee, and back;
	// Kamailio's 100 Trying once.
	wantSummary(t, rep, 13, 100, 1)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	wantLeg(t, l, sipAddr(caller), sipAddr(callee), "UDP")
	wantHops(t, l, sipAddr(caller)+" > "+sipAddr(proxy), sipAddr(proxy)+" > "+sipAddr(callee))
	wantVerdict(t, c, media.Direct)
	wantStreams(t, c, talkingBothWays(caller, callee)...)
}}

// relayed: the SDP rewritten by rtpengine sends each phone's RTP to the
// relay, which sipscope calls relayed, and each stream is counted on both
// sides of the relay.
var relayed = &scenario{name: "relay", check: func(t *testing.T, rep *analysis.Report) {
	caller, callee, proxy, relay := lo(3, 1), lo(3, 2), lo(3, 10), lo(3, 20)
	wantSummary(t, rep, 13, 200, 1)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	wantLeg(t, l, sipAddr(caller), sipAddr(callee), "UDP")
	wantHops(t, l, sipAddr(caller)+" > "+sipAddr(proxy), sipAddr(proxy)+" > "+sipAddr(callee))
	wantVerdict(t, c, media.Relayed)
	wantTimeline(t, c, media.Relayed)
	// rtpengine picks its ports; each stream reaches it or leaves it
	// whole, with the SSRC unchanged.
	r := relay.String()
	wantStreams(t, c,
		wantStream{rtpAddr(caller), r, callerTalk.SSRC, 50, 0},
		wantStream{r, rtpAddr(callee), callerTalk.SSRC, 50, 0},
		wantStream{rtpAddr(callee), r, calleeTalk.SSRC, 50, 0},
		wantStream{r, rtpAddr(caller), calleeTalk.SSRC, 50, 0},
	)
}}

// overTCP: SIP reassembled from TCP gives the same call as over UDP.
var overTCP = &scenario{name: "tcp", check: func(t *testing.T, rep *analysis.Report) {
	caller, callee := lo(4, 1), lo(4, 2)
	wantSummary(t, rep, 6, 100, 1)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	wantLeg(t, l, sipAddr(caller), sipAddr(callee), "TCP")
	wantVerdict(t, c, media.Direct)
	wantStreams(t, c, talkingBothWays(caller, callee)...)
}}

// hold: the re-INVITEs read as hold and resume, the media path as direct,
// one-way while held, direct again.
var hold = &scenario{name: "hold", check: func(t *testing.T, rep *analysis.Report) {
	caller, callee := lo(5, 1), lo(5, 2)
	wantSummary(t, rep, 12, 225, 1)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	wantLeg(t, l, sipAddr(caller), sipAddr(callee), "UDP")
	if got := reinvites(l); !slices.Equal(got, []string{
		sipAddr(caller) + " hold sendonly 200",
		sipAddr(caller) + " resume sendrecv 200",
	}) {
		t.Errorf("re-INVITEs: got %q, want hold then resume, both by the caller and accepted", got)
	}
	wantNoGlare(t, c)
	// The caller's talkspurts before, during and after the hold are one
	// stream with consecutive numbers; the callee's two talkspurts are one
	// stream too, with a silence where it was held.
	wantStreams(t, c,
		wantStream{rtpAddr(caller), rtpAddr(callee), callerTalk.SSRC, 125, 0},
		wantStream{rtpAddr(callee), rtpAddr(caller), calleeTalk.SSRC, 100, 0},
	)
	wantVerdict(t, c, media.Direct)
	if len(l.Reinvites) == 2 {
		held, resumed := l.Reinvites[0].Frame, l.Reinvites[1].Frame
		wantOneWayWhileHeld(t, c, held, resumed)
		for _, s := range c.Media.Streams {
			if s.SSRC != calleeTalk.SSRC {
				continue
			}
			for _, sp := range s.Spans {
				if sp.LastFrame > held && sp.FirstFrame < resumed {
					t.Errorf("the held callee sent RTP in frames %d-%d, between the hold (frame %d) and the resume (frame %d)",
						sp.FirstFrame, sp.LastFrame, held, resumed)
				}
			}
		}
	}
}}

// glare: the crossing re-INVITEs, their 491s, and both retries with their
// delays checked against the RFC 3261 §14.1 windows.
var glare = &scenario{name: "glare", check: func(t *testing.T, rep *analysis.Report) {
	caller, callee := lo(6, 1), lo(6, 2)
	// INVITE, 180, 200, ACK; the two crossing re-INVITEs, their 491s and
	// ACKs; two retries with 200 and ACK; BYE and 200.
	wantSummary(t, rep, 18, 100, 1)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	wantLeg(t, l, sipAddr(caller), sipAddr(callee), "UDP")
	if got := reinvites(l); !slices.Equal(got, []string{
		sipAddr(caller) + " hold sendonly 491",
		sipAddr(callee) + " hold sendonly 491",
		sipAddr(callee) + " hold sendonly 200",
		sipAddr(caller) + " refresh inactive 200",
	}) {
		t.Errorf("re-INVITEs: got %q, want the two crossing holds refused with 491, then the callee's retry and the caller's", got)
	}
	if len(c.Glare) != 1 {
		t.Fatalf("got %d glare records, want 1", len(c.Glare))
	}
	g := c.Glare[0]
	if len(g.Frames) != 4 {
		t.Errorf("glare frames %v: want the two re-INVITEs and the two 491s", g.Frames)
	}
	if !g.RFC3261WindowOK {
		t.Error("glare: the retries are in their RFC 3261 §14.1 windows, but rfc3261_window_ok is false")
	}
	// RFC 3261 §14.1: the side that owns the Call-ID (the caller) waits
	// 2.1 to 4 s, the other 0 to 2 s; the scripts wait 2.5 s and 1 s.
	want := []struct {
		by       string
		owner    bool
		min, max time.Duration
	}{
		{"uas", false, 900 * time.Millisecond, 2 * time.Second},
		{"uac", true, 2100 * time.Millisecond, 4 * time.Second},
	}
	if len(g.Retries) != len(want) {
		t.Fatalf("glare retries %+v: want the callee's, then the caller's", g.Retries)
	}
	for i, w := range want {
		r := g.Retries[i]
		d := time.Duration(r.RetryDelayMs * float64(time.Millisecond))
		if r.By != w.by || r.CallIDOwner != w.owner || d < w.min || d > w.max || !r.RFC3261WindowOK || r.Status != 200 {
			t.Errorf("retry %d: %+v; want by %s, Call-ID owner %v, delay in [%v, %v], in its window, answered 200",
				i, r, w.by, w.owner, w.min, w.max)
		}
	}
	if got := time.Duration(g.RetryDelayMs * float64(time.Millisecond)); got < 2100*time.Millisecond || got > 4*time.Second {
		t.Errorf("glare delay %v: want the longer retry's, 2.1 to 4 s", got)
	}
	wantVerdict(t, c, media.Direct)
	wantStreams(t, c, talkingBothWays(caller, callee)...)
}}

// register: a challenged and an accepted REGISTER, and no call.
var register = &scenario{name: "register", check: func(t *testing.T, rep *analysis.Report) {
	wantSummary(t, rep, 4, 0, 1)
	if len(rep.Calls) != 0 {
		t.Errorf("got %d calls, want none: a registration is not a call", len(rep.Calls))
	}
	wantRegister(t, rep)
}}

// loss: exactly the packets the router dropped are lost, and only from
// the caller's stream.
var loss = &scenario{name: "loss", check: func(t *testing.T, rep *analysis.Report) {
	wantSummary(t, rep, 6, 100-len(lossDropped), 1)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	wantLeg(t, l, sipAddr(lossCaller), sipAddr(lossCallee), "UDP")
	wantVerdict(t, c, media.Direct)
	wantStreams(t, c,
		wantStream{rtpAddr(lossCaller), rtpAddr(lossCallee), callerTalk.SSRC, callerTalk.Packets - len(lossDropped), len(lossDropped)},
		wantStream{rtpAddr(lossCallee), rtpAddr(lossCaller), calleeTalk.SSRC, calleeTalk.Packets, 0},
	)
	for _, s := range c.Media.Streams {
		if s.SSRC == callerTalk.SSRC && s.Expected != callerTalk.Packets {
			t.Errorf("caller's stream: expected %d packets, want %d", s.Expected, callerTalk.Packets)
		}
	}
}}

// nat: the phone seen as the router's address, the received and rport
// Kamailio wrote, and the private SDP address with the RTP sent to it.
var nat = &scenario{name: "nat", check: func(t *testing.T, rep *analysis.Report) {
	// REGISTER, 401, REGISTER, 200, then the call through the proxy.
	wantSummary(t, rep, 4+13, 100, 2)
	wantRegister(t, rep)
	c := oneCall(t, rep)
	l := oneLeg(t, c)
	// Seen from the public side, the phone is the router's address.
	wantLeg(t, l, sipAddr(natPublic), sipAddr(natCallee), "UDP")
	wantHops(t, l, sipAddr(natPublic)+" > "+sipAddr(natProxy), sipAddr(natProxy)+" > "+sipAddr(natCallee))
	if c.Engine != nil { // the command's JSON holds no messages
		wantNATVia(t, c)
	}
	// The phone's RTP arrives from the router; the callee's goes to the
	// private address the phone's SDP gave, and the router drops it.
	wantStreams(t, c,
		wantStream{rtpAddr(natPublic), rtpAddr(natCallee), callerTalk.SSRC, 50, 0},
		wantStream{rtpAddr(natCallee), rtpAddr(natPhone), calleeTalk.SSRC, 50, 0},
	)
	wantVerdict(t, c, media.Direct)
	kinds := map[string]string{}
	for _, e := range c.Media.NAT {
		kinds[e.Kind] = e.Text
	}
	for _, k := range []string{"private-sdp", "rtp-to-private"} {
		if !strings.Contains(kinds[k], natPhone.String()) {
			t.Errorf("no %s NAT evidence naming %s; got %+v", k, natPhone, c.Media.NAT)
		}
	}
}}

// wantNATVia checks that sipscope read the received and rport parameters
// (RFC 3261 §18.2.1, RFC 3581) that Kamailio wrote into the phone's Via
// when it forwarded the INVITE: the address and port the INVITE came from,
// the router's, not the private one the phone wrote.
func wantNATVia(t *testing.T, c *analysis.Call) {
	t.Helper()
	var fromPhone netip.AddrPort
	for _, m := range c.Engine.Legs[0].Messages {
		if m.IsRequest() && m.Method == "INVITE" && m.Direction == call.UAC {
			if !fromPhone.IsValid() {
				fromPhone = m.Src
				continue
			}
			if len(m.Via) < 2 {
				continue
			}
			v := m.Via[len(m.Via)-1]
			if v.Host != natPhone.String() || v.Received != fromPhone.Addr().String() || int(fromPhone.Port()) != v.RPort {
				t.Errorf("forwarded INVITE (frame %d): the phone's Via is sent-by %s received=%s rport=%d; want sent-by %s received=%s rport=%d",
					m.Frame, v.SentBy(), v.Received, v.RPort, natPhone, fromPhone.Addr(), fromPhone.Port())
			}
			if !natPrivate.Contains(netip.MustParseAddr(v.Host)) || fromPhone.Addr() != natPublic {
				t.Errorf("frame %d: want a private sent-by received from %s", m.Frame, natPublic)
			}
			return
		}
	}
	t.Error("no INVITE forwarded by the proxy")
}

// wantSummary checks the capture-wide counts, and that nothing in it was
// malformed, damaged or retransmitted (loopback and veth lose nothing).
func wantSummary(t *testing.T, rep *analysis.Report, sipMessages, rtpPackets, callIDs int) {
	t.Helper()
	s := rep.Summary
	if s.SIPMessages != sipMessages || s.RTPPackets != rtpPackets || s.CallIDs != callIDs {
		t.Errorf("summary: %d SIP messages, %d RTP packets, %d Call-IDs; want %d, %d, %d",
			s.SIPMessages, s.RTPPackets, s.CallIDs, sipMessages, rtpPackets, callIDs)
	}
	if s.MalformedSIP != 0 || s.Retransmission != 0 || s.Damaged || len(s.Warnings) != 0 {
		t.Errorf("summary: %d malformed, %d retransmissions, damaged %v, warnings %+v; want none",
			s.MalformedSIP, s.Retransmission, s.Damaged, s.Warnings)
	}
	if len(rep.Streams) != 0 {
		t.Errorf("%d RTP streams belong to no call: %+v", len(rep.Streams), rep.Streams)
	}
}

func wantRegister(t *testing.T, rep *analysis.Report) {
	t.Helper()
	want := analysis.RegisterCounts{Total: 2, OK: 1, Challenged: 1}
	if got := rep.Traffic.Register; got != want {
		t.Errorf("REGISTER transactions %+v; want %+v (one challenged with 401, one accepted)", got, want)
	}
}

func oneCall(t *testing.T, rep *analysis.Report) *analysis.Call {
	t.Helper()
	if len(rep.Calls) != 1 {
		t.Fatalf("got %d calls, want 1", len(rep.Calls))
	}
	c := rep.Calls[0]
	if c.Status != 200 {
		t.Errorf("call status %d, want 200", c.Status)
	}
	return c
}

func oneLeg(t *testing.T, c *analysis.Call) *analysis.Leg {
	t.Helper()
	if len(c.Legs) != 1 {
		t.Fatalf("got %d legs, want 1 (a proxy's hops are one leg)", len(c.Legs))
	}
	return &c.Legs[0]
}

// wantLeg checks a leg's ends, transport, answer and who hung up (the
// caller, in every scenario).
func wantLeg(t *testing.T, l *analysis.Leg, src, dst, transport string) {
	t.Helper()
	if l.Src != src || l.Dst != dst || l.Transport != transport || l.Status != 200 || l.EndReason != "caller-hangup" {
		t.Errorf("leg %s -> %s over %s, status %d, %s; want %s -> %s over %s, 200, caller-hangup",
			l.Src, l.Dst, l.Transport, l.Status, l.EndReason, src, dst, transport)
	}
}

// wantHops checks where a leg's messages were seen, caller side first:
// none listed for a leg seen at one point.
func wantHops(t *testing.T, l *analysis.Leg, hops ...string) {
	t.Helper()
	if len(hops) == 0 && len(l.Hops) <= 1 {
		return
	}
	if !slices.Equal(l.Hops, hops) {
		t.Errorf("hops %q, want %q", l.Hops, hops)
	}
}

// reinvites summarises a leg's re-INVITEs as "sender change direction
// outcome".
func reinvites(l *analysis.Leg) []string {
	var out []string
	for _, r := range l.Reinvites {
		out = append(out, fmt.Sprintf("%s %s %s %s", r.From, r.Change, r.Direction, r.Outcome))
	}
	return out
}

func wantNoGlare(t *testing.T, c *analysis.Call) {
	t.Helper()
	if len(c.Glare) != 0 {
		t.Errorf("glare %+v, want none", c.Glare)
	}
}

// wantVerdict checks the call's media verdict. A wrong one shows when each
// stream was active, since a verdict is about time: the peers start their
// audio on the ACK, so only a machine too busy to run them on time would
// make two streams of a call miss each other.
func wantVerdict(t *testing.T, c *analysis.Call, kind media.PathKind) {
	t.Helper()
	if c.Media.Verdict == kind {
		return
	}
	var b strings.Builder
	for _, s := range c.Media.Streams {
		fmt.Fprintf(&b, "\n  %s -> %s:", s.Src, s.Dst)
		for _, sp := range s.Spans {
			fmt.Fprintf(&b, " [%.3fs-%.3fs %d packets]", sp.First.Sub(c.Start).Seconds(), sp.Last.Sub(c.Start).Seconds(), sp.Packets)
		}
	}
	t.Errorf("media verdict %s (%s), want %s; streams active from the call's start:%s", c.Media.Verdict, c.Media.Basis, kind, b.String())
}

// wantTimeline checks the kinds of the media path's segments in order.
func wantTimeline(t *testing.T, c *analysis.Call, kinds ...media.PathKind) {
	t.Helper()
	var got []media.PathKind
	for _, s := range c.Media.Timeline {
		got = append(got, s.Kind)
	}
	if !slices.Equal(got, kinds) {
		t.Errorf("media timeline %v, want %v", got, kinds)
	}
}

// wantOneWayWhileHeld checks the media timeline where it matters and not
// where peer timing decides: a one-way segment covers part of the hold,
// and the call ends direct. How SIPp's talkspurts line up with
// the re-INVITEs on a loaded machine can add a short segment at either end.
func wantOneWayWhileHeld(t *testing.T, c *analysis.Call, held, resumed int) {
	t.Helper()
	tl := c.Media.Timeline
	if len(tl) == 0 || tl[len(tl)-1].Kind != media.Direct {
		t.Errorf("media timeline %+v does not end direct", tl)
		return
	}
	for _, s := range tl {
		if s.Kind == media.OneWay && s.FromFrame < resumed && s.ToFrame > held {
			return
		}
	}
	t.Errorf("no one-way segment while held (frames %d-%d): %+v", held, resumed, tl)
}

func wantNoNAT(t *testing.T, c *analysis.Call) {
	t.Helper()
	if len(c.Media.NAT) != 0 {
		t.Errorf("NAT evidence %+v in a call without NAT", c.Media.NAT)
	}
}

// wantStream is an RTP stream a call must have. Src and Dst are address
// and port, or an address alone where the port is the peer's choice.
type wantStream struct {
	src, dst      string
	ssrc          uint32
	packets, lost int
}

func (w wantStream) matches(s *media.Stream) bool {
	return s.SSRC == w.ssrc && endpointIs(s.Src, w.src) && endpointIs(s.Dst, w.dst) &&
		s.Packets == w.packets && s.Lost == w.lost
}

func endpointIs(a netip.AddrPort, want string) bool {
	if ap, err := netip.ParseAddrPort(want); err == nil {
		return a == ap
	}
	return a.Addr().String() == want
}

// wantStreams checks that a call's streams are exactly the wanted ones.
func wantStreams(t *testing.T, c *analysis.Call, want ...wantStream) {
	t.Helper()
	got := c.Media.Streams
	ok := len(got) == len(want)
	for _, w := range want {
		if !slices.ContainsFunc(got, w.matches) {
			ok = false
		}
	}
	if ok {
		return
	}
	var b strings.Builder
	for _, s := range got {
		fmt.Fprintf(&b, "\n  %s -> %s ssrc %#08x: %d packets, %d lost", s.Src, s.Dst, s.SSRC, s.Packets, s.Lost)
	}
	b.WriteString("\nwant:")
	for _, w := range want {
		fmt.Fprintf(&b, "\n  %s -> %s ssrc %#08x: %d packets, %d lost", w.src, w.dst, w.ssrc, w.packets, w.lost)
	}
	t.Errorf("RTP streams of the call:%s", b.String())
}
