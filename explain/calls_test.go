package explain

import (
	"time"
)

// Addresses of the synthetic calls: phones A and B on a LAN, an Asterisk
// between them; P2 is a second Asterisk for trunk calls.
var (
	phoneA = ua{sig: ap("10.0.0.30:5060"), agent: "baresip 1.0.0", user: "alice"}
	phoneB = ua{sig: ap("10.0.0.31:5060"), agent: "baresip 1.0.0", user: "bob"}
	pbx    = ua{sig: ap("10.0.0.12:5060"), agent: "Asterisk PBX 20.9.3", user: "asterisk"}
	pbx2   = ua{sig: ap("10.0.0.13:5060"), agent: "Asterisk PBX 20.9.3", user: "asterisk"}
)

const ms = time.Millisecond

// b2buaCall is a call A -> P -> B through one B2BUA.
type b2buaCall struct {
	s      *scenario
	la, lb *dialog
	// ma and mb are the phones' media; pa and pb the B2BUA's media toward
	// A and toward B.
	ma, pa, pb, mb sdpSide
	a, p, b        ua
}

func pcmu(addr string) sdpSide { return sdpSide{addr: ap(addr), codecs: []string{"PCMU"}, te: true} }

// newB2BUA prepares the default call: everyone PCMU with telephone-event.
func newB2BUA(s *scenario) *b2buaCall {
	return &b2buaCall{
		s: s, a: phoneA, p: pbx, b: phoneB,
		ma: pcmu("10.0.0.30:30000"), pa: pcmu("10.0.0.12:12000"), pb: pcmu("10.0.0.12:12002"), mb: pcmu("10.0.0.31:31000"),
	}
}

// setup sets both legs up anchored: A's INVITE, the B2BUA's INVITE to B,
// B's answer, the B2BUA's answer to A, the ACKs. It ends at 20 ms.
func (c *b2buaCall) setup() *b2buaCall {
	s := c.s.at(0)
	c.la = s.dialog("leg-a-call", c.a, c.p, "1001", "2001")
	c.lb = s.dialog("leg-b-call@10.0.0.12", c.p, c.b, "1001", "bob")
	inv := c.la.send(uac, "INVITE", c.la.sdp(uac, c.ma))
	s.after(ms)
	c.la.reply(inv, 100, "Trying", "")
	s.after(ms)
	invB := c.lb.send(uac, "INVITE", c.lb.sdp(uac, c.pb))
	s.after(5 * ms)
	c.lb.final(invB, 200, "OK", c.lb.sdp(uas, c.mb))
	s.after(ms)
	c.la.final(inv, 200, "OK", c.la.sdp(uas, c.pa))
	s.at(20 * ms)
	return c
}

// release re-INVITEs B with A's media and A with B's.
func (c *b2buaCall) release() *b2buaCall {
	c.lb.exchange(uac, c.ma, c.mb)
	c.la.exchange(uas, c.mb, c.ma)
	return c
}

// anchoredRTP sends RTP on both legs through the B2BUA, relayed with the
// phones' SSRCs (Asterisk's native bridge in local mode).
func (c *b2buaCall) anchoredRTP(from, to time.Duration) *b2buaCall {
	c.s.rtp(c.ma.addr, c.pa.addr, 0xa1, 0, from, to)
	c.s.rtp(c.pa.addr, c.ma.addr, 0xb1, 0, from, to)
	c.s.rtp(c.mb.addr, c.pb.addr, 0xb1, 0, from, to)
	c.s.rtp(c.pb.addr, c.mb.addr, 0xa1, 0, from, to)
	return c
}

// directRTP sends RTP phone to phone.
func (c *b2buaCall) directRTP(from, to time.Duration) *b2buaCall {
	c.s.rtp(c.ma.addr, c.mb.addr, 0xa1, 0, from, to)
	c.s.rtp(c.mb.addr, c.ma.addr, 0xb1, 0, from, to)
	return c
}

// hangup: A hangs up, the B2BUA hangs up B.
func (c *b2buaCall) hangup(at time.Duration) *b2buaCall {
	c.s.at(at)
	c.la.bye(uac)
	c.lb.bye(uac)
	return c
}

// anchoredCall is the whole call anchored for 3 s.
func anchoredCall(s *scenario) *b2buaCall {
	return newB2BUA(s).setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
}

// directCall is the whole call released by re-INVITEs, direct for 3 s.
func directCall(s *scenario) *b2buaCall {
	c := newB2BUA(s).setup().release()
	return c.directRTP(30*ms, 3*time.Second).hangup(3 * time.Second)
}

// trunkCall is A -> P -> P2 -> B with both B2BUAs answered, anchored.
type trunkCall struct {
	s                          *scenario
	la, lt, lb                 *dialog
	ma, p1a, p1t, p2t, p2b, mb sdpSide
}

func newTrunk(s *scenario) *trunkCall {
	c := &trunkCall{s: s,
		ma: pcmu("10.0.0.30:30000"), p1a: pcmu("10.0.0.12:12000"), p1t: pcmu("10.0.0.12:12002"),
		p2t: pcmu("10.0.0.13:13000"), p2b: pcmu("10.0.0.13:13002"), mb: pcmu("10.0.0.31:31000"),
	}
	s.at(0)
	c.la = s.dialog("trunk-a-call", phoneA, pbx, "1001", "2001")
	c.lt = s.dialog("trunk-t-call@10.0.0.12", pbx, pbx2, "1001", "2001")
	c.lb = s.dialog("trunk-b-call@10.0.0.13", pbx2, phoneB, "1001", "bob")
	inv := c.la.send(uac, "INVITE", c.la.sdp(uac, c.ma))
	s.after(ms)
	invT := c.lt.send(uac, "INVITE", c.lt.sdp(uac, c.p1t))
	s.after(ms)
	invB := c.lb.send(uac, "INVITE", c.lb.sdp(uac, c.p2b))
	s.after(5 * ms)
	c.lb.final(invB, 200, "OK", c.lb.sdp(uas, c.mb))
	s.after(ms)
	c.lt.final(invT, 200, "OK", c.lt.sdp(uas, c.p2t))
	s.after(ms)
	c.la.final(inv, 200, "OK", c.la.sdp(uas, c.p1a))
	s.at(30 * ms)
	return c
}
