package explain

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/call/policy"
)

// p2p sets up a call straight between two endpoints (no B2BUA).
func p2p(s *scenario, a, b ua, ma, mb sdpSide) *dialog {
	s.at(0)
	d := s.dialog("p2p-call", a, b, "1001", "2001")
	inv := d.send(uac, "INVITE", d.sdp(uac, ma))
	s.after(5 * ms)
	d.final(inv, 200, "OK", d.sdp(uas, mb))
	return d
}

// holdCall goes direct, A holds at 1 s, resumes at 2 s, hangs up at 3 s.
// With reanchor the B2BUA takes B back for music on hold and releases it
// again after the resume.
func holdCall(s *scenario, reanchor bool) {
	c := newB2BUA(s).setup().release()
	c.directRTP(30*ms, time.Second)
	s.at(time.Second)
	held := c.ma
	held.dir = "sendonly"
	r := c.la.send(uac, "INVITE", c.la.sdp(uac, held))
	s.after(ms)
	recv := c.mb
	recv.dir = "recvonly"
	c.la.final(r, 200, "OK", c.la.sdp(uas, recv))
	s.after(ms)
	if reanchor {
		c.lb.exchange(uac, c.pb, c.mb)
		s.rtp(c.pb.addr, c.mb.addr, 0xc1, 0, time.Second+10*ms, 2*time.Second)
		s.rtp(c.mb.addr, c.pb.addr, 0xb1, 0, time.Second+10*ms, 2*time.Second)
	}
	s.at(2 * time.Second)
	c.la.exchange(uac, c.ma, c.mb)
	if reanchor {
		c.lb.exchange(uac, c.ma, c.mb)
	}
	c.directRTP(2*time.Second+10*ms, 3*time.Second)
	c.hangup(3 * time.Second)
}

// glareCall crosses the two B2BUAs' re-INVITEs on the trunk; each
// answers the other's with 491, then each retries after its delay
// (ownerDelay for the Call-ID owner, the first B2BUA).
func glareCall(s *scenario, cross bool, otherDelay, ownerDelay time.Duration) {
	c := newTrunk(s)
	s.rtp(c.ma.addr, c.p1a.addr, 0xa1, 0, 35*ms, 40*ms+otherDelay)
	s.rtp(c.mb.addr, c.p2b.addr, 0xb1, 0, 35*ms, 40*ms+otherDelay)
	s.at(40 * ms)
	if cross {
		r2 := c.lt.send(uas, "INVITE", c.lt.sdp(uas, c.mb))
		s.after(ms)
		r1 := c.lt.send(uac, "INVITE", c.lt.sdp(uac, c.ma))
		s.after(ms)
		c.lt.reply(r1, 491, "Request Pending", "")
		c.lt.reply(r2, 491, "Request Pending", "")
		s.after(ms)
		c.lt.send(uac, "ACK", "")
		c.lt.send(uas, "ACK", "")
	}
	s.at(40*ms + otherDelay)
	c.lt.exchange(uas, c.mb, c.ma)
	c.lb.exchange(uac, c.ma, c.mb)
	c.la.exchange(uas, c.mb, c.ma)
	end := 40*ms + max(otherDelay, ownerDelay) + 2*time.Second
	s.rtp(c.ma.addr, c.mb.addr, 0xa1, 0, 50*ms+otherDelay, end)
	s.rtp(c.mb.addr, c.ma.addr, 0xb1, 0, 50*ms+otherDelay, end)
	if cross {
		s.at(40*ms + ownerDelay)
		c.lt.exchange(uac, c.ma, c.mb)
	}
	s.at(end)
	c.la.bye(uac)
	c.lt.bye(uac)
	c.lb.bye(uac)
}

// refusedCall re-INVITEs B with A's address and B refuses (or never
// answers when code is 0); the media stays anchored.
func refusedCall(s *scenario, code int, reason string) {
	c := newB2BUA(s).setup()
	end := 3 * time.Second
	if code == 0 {
		end = 40 * time.Second
		c.lb.send(uac, "INVITE", c.lb.sdp(uac, c.ma))
	} else {
		c.lb.refuse(uac, c.ma, code, reason)
	}
	c.anchoredRTP(25*ms, end).hangup(end)
}

// transcodingCall has PCMU on A's leg and PCMA on B's; the B2BUA sends
// its own SSRCs.
func transcodingCall(s *scenario) {
	c := newB2BUA(s)
	c.pb.codecs, c.mb.codecs = []string{"PCMA"}, []string{"PCMA"}
	c.setup()
	s.rtp(c.ma.addr, c.pa.addr, 0xa1, 0, 25*ms, 3*time.Second)
	s.rtp(c.pa.addr, c.ma.addr, 0xe1, 0, 25*ms, 3*time.Second)
	s.rtp(c.mb.addr, c.pb.addr, 0xb1, 8, 25*ms, 3*time.Second)
	s.rtp(c.pb.addr, c.mb.addr, 0xe2, 8, 25*ms, 3*time.Second)
	c.hangup(3 * time.Second)
}

// ownSSRCCall is anchored with the B2BUA sending its own SSRCs (a simple
// bridge: Dial() options, recording).
func ownSSRCCall(s *scenario) {
	c := newB2BUA(s).setup()
	s.rtp(c.ma.addr, c.pa.addr, 0xa1, 0, 25*ms, 3*time.Second)
	s.rtp(c.pa.addr, c.ma.addr, 0xe1, 0, 25*ms, 3*time.Second)
	s.rtp(c.mb.addr, c.pb.addr, 0xb1, 0, 25*ms, 3*time.Second)
	s.rtp(c.pb.addr, c.mb.addr, 0xe2, 0, 25*ms, 3*time.Second)
	c.hangup(3 * time.Second)
}

// confText is a configuration bundle for the B2BUA of the synthetic calls.
func confText(alice, bob, dialOpts string) string {
	return "########## pbx (10.0.0.12) : sip.conf\n" +
		"[general]\nudpbindaddr = 10.0.0.12:5060\ndirectmedia = yes\nallow = ulaw\n\n" +
		"[alice]\ntype = friend\nhost = 10.0.0.30\ncontext = from-phones\ndirectmedia = " + alice + "\n\n" +
		"[bob]\ntype = friend\nhost = 10.0.0.31\ncontext = from-phones\ndirectmedia = " + bob + "\n\n" +
		"########## pbx (10.0.0.12) : extensions.conf\n[from-phones]\nexten => 2001,1,Dial(SIP/bob,60" + dialOpts + ")\n same => n,Hangup()\n"
}

// pjsipText is a chan_pjsip configuration for the same B2BUA.
func pjsipText(aliceDirect string) string {
	ep := func(name, addr, direct string) string {
		return "[" + name + "]\ntype = endpoint\ncontext = from-phones\ndisallow = all\nallow = ulaw\ndirect_media = " + direct + "\naors = " + name + "\n\n" +
			"[" + name + "]\ntype = aor\ncontact = sip:" + name + "@" + addr + ":5060\n\n" +
			"[" + name + "]\ntype = identify\nendpoint = " + name + "\nmatch = " + addr + "\n\n"
	}
	return "########## pbx (10.0.0.12) : pjsip.conf\n[udp]\ntype = transport\nprotocol = udp\nbind = 10.0.0.12:5060\n\n" +
		ep("alice", "10.0.0.30", aliceDirect) + ep("bob", "10.0.0.31", "yes")
}

type explainCase struct {
	name  string
	build func(*scenario)
	conf  string
	want  []string
	not   []string
	// text holds words the first wanted reason must say.
	text []string
	// path is the media verdict expected, when it matters.
	path string
}

var explainCases = []explainCase{
	{name: "release by re-INVITE goes direct", build: func(s *scenario) { directCall(s) },
		want: []string{CodeDirectReinvite}, not: []string{CodeDirectUpdate, CodeNoReleaseAttempted, CodeReleaseRefused, CodeReanchored}, path: "direct",
		text: []string{"re-INVITE to bob", "No RTP passed the servers before"}},
	{name: "release by re-INVITE after anchored RTP says how long it was anchored", build: func(s *scenario) {
		c := newB2BUA(s).setup().anchoredRTP(25*ms, time.Second)
		s.at(time.Second)
		c.release().directRTP(time.Second+10*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{CodeDirectReinvite}, text: []string{"ran through the servers for"}, path: "direct"},
	{name: "release by UPDATE", build: func(s *scenario) {
		c := newB2BUA(s).setup()
		c.lb.update(uac, c.ma, c.mb)
		c.la.update(uas, c.mb, c.ma)
		c.directRTP(30*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{CodeDirectUpdate}, not: []string{CodeDirectReinvite, CodeNoReleaseAttempted}, text: []string{"UPDATE"}, path: "direct"},
	{name: "remote address in the first INVITE", build: func(s *scenario) {
		c := newB2BUA(s)
		c.pb, c.pa = c.ma, c.mb
		c.setup().directRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{CodeDirectInitialInvite}, not: []string{CodeDirectReinvite, CodeNoReleaseAttempted}, text: []string{"directrtpsetup"}, path: "direct"},
	{name: "anchored although both legs could go direct", build: func(s *scenario) { anchoredCall(s) },
		want: []string{CodeNoReleaseAttempted}, not: []string{CodeDirectReinvite, CodeDirectInitialInvite, policy.CodeCodecMismatch, CodeNAT, policy.CodeDTMFMismatch},
		text: []string{"relays the RTP unchanged", "directmedia=no", "cannot tell"}, path: "anchored"},
	{name: "anchored with the B2BUA's own SSRCs points at Dial options", build: ownSSRCCall,
		want: []string{CodeNoReleaseAttempted}, text: []string{"SSRCs of its own", "(1) Dial() options"}, path: "anchored"},
	{name: "codec mismatch between the legs", build: transcodingCall,
		want: []string{policy.CodeCodecMismatch}, not: []string{CodeNoReleaseAttempted}, text: []string{"PCMU", "PCMA", "transcode"}, path: "anchored"},
	{name: "legs that share a codec are no mismatch", build: func(s *scenario) {
		c := newB2BUA(s)
		c.ma.codecs = []string{"PCMA", "PCMU"}
		c.pa.codecs, c.pb.codecs, c.mb.codecs = []string{"PCMA"}, []string{"PCMA"}, []string{"PCMA"}
		c.setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{CodeNoReleaseAttempted}, not: []string{policy.CodeCodecMismatch}},
	{name: "telephone-event on one leg only", build: func(s *scenario) {
		c := newB2BUA(s)
		c.mb.te = false
		c.setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{policy.CodeDTMFMismatch, CodeNoReleaseAttempted}, text: []string{"Telephone-event", "not on bob"}},
	{name: "telephone-event on one leg only is a risk after a release", build: func(s *scenario) {
		c := newB2BUA(s)
		c.mb.te = false
		c.setup().release().directRTP(30*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{policy.CodeDTMFMismatch, CodeDirectReinvite}, text: []string{"after the release"}},
	{name: "NAT: Via sent-by differs from the source", build: func(s *scenario) {
		c := newB2BUA(s)
		c.a = ua{sig: ap("203.0.113.30:40000"), via: "192.168.1.30:5060", contact: "203.0.113.30:40000", agent: "baresip", user: "alice"}
		c.ma = pcmu("203.0.113.30:30000")
		c.setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{CodeNAT}, text: []string{"Via 192.168.1.30:5060", "203.0.113.30:40000"}},
	{name: "NAT: Via that matches the source is no NAT", build: func(s *scenario) {
		c := newB2BUA(s)
		c.a = ua{sig: ap("203.0.113.30:5060"), agent: "baresip", user: "alice"}
		c.ma = pcmu("203.0.113.30:30000")
		c.setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{CodeNoReleaseAttempted}, not: []string{CodeNAT}},
	{name: "NAT: private Contact and SDP from a public address", build: func(s *scenario) {
		c := newB2BUA(s)
		c.a = ua{sig: ap("203.0.113.30:5060"), contact: "192.168.1.30:5060", agent: "baresip", user: "alice"}
		c.ma = pcmu("192.168.1.30:30000")
		c.setup()
		s.rtp(ap("203.0.113.30:30000"), c.pa.addr, 0xa1, 0, 25*ms, 3*time.Second)
		s.rtp(c.pa.addr, ap("203.0.113.30:30000"), 0xb1, 0, 25*ms, 3*time.Second)
		s.rtp(c.mb.addr, c.pb.addr, 0xb1, 0, 25*ms, 3*time.Second)
		s.rtp(c.pb.addr, c.mb.addr, 0xa1, 0, 25*ms, 3*time.Second)
		c.hangup(3 * time.Second)
	}, want: []string{CodeNAT}, text: []string{"private address 192.168.1.30:30000", "Contact"}},
	{name: "NAT: private addresses on a private network are no NAT", build: func(s *scenario) { anchoredCall(s) },
		not: []string{CodeNAT}},
	{name: "NAT: RTP from an unannounced port", build: func(s *scenario) {
		c := newB2BUA(s).setup()
		s.rtp(ap("10.0.0.30:30002"), c.pa.addr, 0xa1, 0, 25*ms, 3*time.Second)
		s.rtp(c.pa.addr, c.ma.addr, 0xb1, 0, 25*ms, 3*time.Second)
		s.rtp(c.mb.addr, c.pb.addr, 0xb1, 0, 25*ms, 3*time.Second)
		s.rtp(c.pb.addr, c.mb.addr, 0xa1, 0, 25*ms, 3*time.Second)
		c.hangup(3 * time.Second)
	}, want: []string{CodeNAT}, text: []string{"10.0.0.30:30002", "not from the port 30000"}},
	{name: "SRTP on one leg only", build: func(s *scenario) {
		c := newB2BUA(s)
		c.ma.srtp, c.pa.srtp = true, true
		c.setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{policy.CodeSRTPMismatch}, not: []string{CodeNoReleaseAttempted}, text: []string{"SRTP", "per hop"}},
	{name: "SRTP on both legs is no mismatch", build: func(s *scenario) {
		c := newB2BUA(s)
		c.ma.srtp, c.pa.srtp, c.pb.srtp, c.mb.srtp = true, true, true, true
		c.setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, not: []string{policy.CodeSRTPMismatch}},
	{name: "IPv6 media on one leg, IPv4 on the other", build: func(s *scenario) {
		c := newB2BUA(s)
		c.ma, c.pa = pcmu("[fd00::30]:30000"), pcmu("[fd00::12]:12000")
		c.setup().anchoredRTP(25*ms, 3*time.Second).hangup(3 * time.Second)
	}, want: []string{policy.CodeFamilyMismatch}, not: []string{CodeNoReleaseAttempted}, text: []string{"IPv6", "IPv4"}},
	{name: "IPv4 on both legs is no family mismatch", build: func(s *scenario) { anchoredCall(s) },
		not: []string{policy.CodeFamilyMismatch}},
	{name: "release refused with 488", build: func(s *scenario) { refusedCall(s, 488, "Not Acceptable Here") },
		want: []string{CodeReleaseRefused}, not: []string{CodeNoReleaseAttempted, CodeDirectReinvite}, text: []string{"488 Not Acceptable Here", "stayed on"}, path: "anchored"},
	{name: "release refused with 415", build: func(s *scenario) { refusedCall(s, 415, "Unsupported Media Type") },
		want: []string{CodeReleaseRefused}, text: []string{"415", "media type"}},
	{name: "release refused with 503", build: func(s *scenario) { refusedCall(s, 503, "Service Unavailable") },
		want: []string{CodeReleaseRefused}, text: []string{"503", "server error"}},
	{name: "release never answered", build: func(s *scenario) { refusedCall(s, 0, "") },
		want: []string{CodeReleaseRefused}, text: []string{"never answered", "canreinvite=no"}},
	{name: "accepted release is not refused", build: func(s *scenario) { directCall(s) },
		not: []string{CodeReleaseRefused}},
	{name: "glare with retries inside their windows", build: func(s *scenario) { glareCall(s, true, 1200*ms, 2500*ms) },
		want: []string{CodeGlare}, text: []string{"491", "inside its window", "directmedia=outgoing", "direct_media_glare_mitigation"}, path: "direct"},
	{name: "glare with the owner's retry outside its window", build: func(s *scenario) { glareCall(s, true, 1200*ms, 5*time.Second) },
		want: []string{CodeGlare}, text: []string{"outside its window"}},
	{name: "sequential re-INVITEs on a trunk are no glare", build: func(s *scenario) { glareCall(s, false, 1200*ms, 0) },
		not: []string{CodeGlare}, want: []string{CodeDirectReinvite}},
	{name: "hold with music on hold re-anchors, resume releases again", build: func(s *scenario) { holdCall(s, true) },
		want: []string{CodeReanchored}, text: []string{"hold", "a=sendonly", "audio of its own", "released the media again"}, path: "direct"},
	{name: "hold without re-anchoring", build: func(s *scenario) { holdCall(s, false) },
		not: []string{CodeReanchored}},
	{name: "taking media back before the BYE is teardown", build: func(s *scenario) {
		c := newB2BUA(s).setup().release().directRTP(30*ms, 3*time.Second)
		s.at(3 * time.Second)
		c.la.bye(uac)
		c.lb.exchange(uac, c.pb, c.mb)
		c.lb.bye(uac)
	}, not: []string{CodeReanchored}, want: []string{CodeDirectReinvite}},
	{name: "one-way audio: the answer says recvonly", build: func(s *scenario) {
		mb := pcmu("10.0.0.31:31000")
		mb.dir = "recvonly"
		p2p(s, phoneA, phoneB, pcmu("10.0.0.30:30000"), mb)
		s.rtp(ap("10.0.0.30:30000"), ap("10.0.0.31:31000"), 0xa1, 0, 10*ms, 3*time.Second)
	}, want: []string{CodeOneWayAudio}, text: []string{"a=recvonly"}, path: "one-way"},
	{name: "one-way audio: RTP to a private address behind NAT", build: func(s *scenario) {
		a := ua{sig: ap("203.0.113.30:5060"), contact: "192.168.1.30:5060", agent: "baresip", user: "alice"}
		b := ua{sig: ap("198.51.100.31:5060"), agent: "baresip", user: "bob"}
		p2p(s, a, b, pcmu("192.168.1.30:30000"), pcmu("198.51.100.31:31000"))
		s.rtp(ap("198.51.100.31:31000"), ap("192.168.1.30:30000"), 0xb1, 0, 10*ms, 3*time.Second)
	}, want: []string{CodeOneWayAudio}, text: []string{"NAT"}, path: "one-way"},
	{name: "one-way audio: nothing comes back from the announced address", build: func(s *scenario) {
		p2p(s, phoneA, phoneB, pcmu("10.0.0.30:30000"), pcmu("10.0.0.31:31000"))
		s.rtp(ap("10.0.0.30:30000"), ap("10.0.0.31:31000"), 0xa1, 0, 10*ms, 3*time.Second)
	}, want: []string{CodeOneWayAudio}, text: []string{"nothing ever comes from there", "No evidence in the capture"}, path: "one-way"},
	{name: "two-way audio end to end", build: func(s *scenario) {
		p2p(s, phoneA, phoneB, pcmu("10.0.0.30:30000"), pcmu("10.0.0.31:31000"))
		s.rtp(ap("10.0.0.30:30000"), ap("10.0.0.31:31000"), 0xa1, 0, 10*ms, 3*time.Second)
		s.rtp(ap("10.0.0.31:31000"), ap("10.0.0.30:30000"), 0xb1, 0, 10*ms, 3*time.Second)
	}, want: []string{CodeDirectEndToEnd}, not: []string{CodeOneWayAudio, CodeNoEvidence}, path: "direct"},
	{name: "B2BUA call is not end to end", build: func(s *scenario) { directCall(s) },
		not: []string{CodeDirectEndToEnd, CodeOneWayAudio, CodeNoRTPCaptured}},
	{name: "no RTP captured", build: func(s *scenario) { newB2BUA(s).setup().hangup(3 * time.Second) },
		want: []string{CodeNoRTPCaptured}, text: []string{"filtered"}, path: "none-captured"},
	{name: "no RTP captured after a release", build: func(s *scenario) { newB2BUA(s).setup().release().hangup(3 * time.Second) },
		want: []string{CodeNoRTPCaptured, CodeDirectReinvite}, text: []string{"phone-to-phone RTP"}},
	{name: "media relay in the SDP", build: func(s *scenario) {
		a := ua{sig: ap("203.0.113.30:5060"), agent: "baresip", user: "alice"}
		b := ua{sig: ap("203.0.113.5:5060"), agent: "Kamailio", user: "2001"}
		p2p(s, a, b, pcmu("203.0.113.30:30000"), pcmu("203.0.113.50:40000"))
		s.rtp(ap("203.0.113.30:30000"), ap("203.0.113.50:40000"), 0xa1, 0, 10*ms, 3*time.Second)
		s.rtp(ap("203.0.113.50:40000"), ap("203.0.113.30:30000"), 0xb1, 0, 10*ms, 3*time.Second)
	}, want: []string{CodeMediaRelay}, text: []string{"203.0.113.50:40000", "media relay"}, path: "relayed"},
	{name: "endpoint's own address is no relay", build: func(s *scenario) {
		a := ua{sig: ap("203.0.113.30:5060"), agent: "baresip", user: "alice"}
		b := ua{sig: ap("203.0.113.5:5060"), agent: "baresip", user: "2001"}
		p2p(s, a, b, pcmu("203.0.113.30:30000"), pcmu("203.0.113.5:40000"))
		s.rtp(ap("203.0.113.30:30000"), ap("203.0.113.5:40000"), 0xa1, 0, 10*ms, 3*time.Second)
		s.rtp(ap("203.0.113.5:40000"), ap("203.0.113.30:30000"), 0xb1, 0, 10*ms, 3*time.Second)
	}, not: []string{CodeMediaRelay}, want: []string{CodeDirectEndToEnd}},
	{name: "call not answered", build: func(s *scenario) {
		d := s.dialog("busy-call", phoneA, pbx, "1001", "2001")
		r := d.send(uac, "INVITE", d.sdp(uac, pcmu("10.0.0.30:30000")))
		s.after(5 * ms)
		d.reply(r, 486, "Busy Here", "")
		s.after(ms)
		d.send(uac, "ACK", "")
	}, want: []string{CodeNotAnswered}, not: []string{CodeNoEvidence}, text: []string{"486 Busy Here"}},
	{name: "answered call is answered", build: func(s *scenario) { anchoredCall(s) }, not: []string{CodeNotAnswered, CodeNoEvidence}},
	{name: "no SDP at all", build: func(s *scenario) {
		d := s.dialog("nosdp-call", phoneA, phoneB, "1001", "2001")
		r := d.send(uac, "INVITE", "")
		s.after(5 * ms)
		d.reply(r, 200, "OK", "")
		s.after(ms)
		d.send(uac, "ACK", "")
		s.at(3 * time.Second)
		d.bye(uac)
	}, want: []string{CodeNoEvidence}, text: []string{"no SDP"}},
	{name: "config: directmedia=no on alice", build: func(s *scenario) { anchoredCall(s) }, conf: confText("no", "yes", ""),
		want: []string{policy.CodeDirectMediaNo}, not: []string{CodeConfigContradiction}, text: []string{"directmedia=no", "the capture agrees"}},
	{name: "config: directmedia=yes yet nothing released", build: func(s *scenario) { anchoredCall(s) }, conf: confText("yes", "yes", ""),
		want: []string{CodeConfigContradiction}, not: []string{policy.CodeDirectMediaNo}, text: []string{"look at the Dial() options or recording", "the dialplan given"}},
	{name: "config: directmedia=yes and released", build: func(s *scenario) { directCall(s) }, conf: confText("yes", "yes", ""),
		want: []string{CodeDirectReinvite}, not: []string{CodeConfigContradiction}},
	{name: "config: directmedia=no yet released", build: func(s *scenario) { directCall(s) }, conf: confText("no", "yes", ""),
		want: []string{CodeConfigContradiction}, text: []string{"configuration that ran differs"}},
	{name: "config: Dial options keep the core in the path", build: ownSSRCCall, conf: confText("yes", "yes", ",tT"),
		want: []string{policy.CodeDialOptions}, not: []string{CodeConfigContradiction}, text: []string{"Dial() option"}},
	{name: "config: a sip.conf without a bind address is taken for the only B2BUA", build: func(s *scenario) { anchoredCall(s) },
		conf: strings.Replace(confText("no", "yes", ""), "udpbindaddr = 10.0.0.12:5060\n", "", 1),
		want: []string{policy.CodeDirectMediaNo}, text: []string{"directmedia=no"}},
	{name: "config: pjsip direct_media=no on alice", build: func(s *scenario) { anchoredCall(s) }, conf: pjsipText("no"),
		want: []string{policy.CodeDirectMediaNo}, not: []string{CodeConfigContradiction}, text: []string{"direct_media=no", "Endpoint alice"}},
	{name: "config: pjsip direct_media=yes and released", build: func(s *scenario) { directCall(s) }, conf: pjsipText("yes"),
		want: []string{CodeDirectReinvite}, not: []string{CodeConfigContradiction, policy.CodeDirectMediaNo}},
	{name: "config: Dial without options", build: ownSSRCCall, conf: confText("no", "yes", ""),
		not: []string{policy.CodeDialOptions}, want: []string{policy.CodeDirectMediaNo, CodeConfigContradiction}, text: []string{"directmedia=no"}},
}

// loadConf reads a configuration bundle given as text.
func loadConf(t *testing.T, text string) ([]*astconf.Config, []*astconf.File) {
	t.Helper()
	files, err := (&astconf.Reader{}).ParseAll("pbx.conf.txt", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return configsAndDialplans(files)
}

// oneCall runs a scenario through the pipeline and returns its call,
// which must be the only one.
func oneCall(t *testing.T, build func(*scenario)) Input {
	t.Helper()
	s := newScenario(t)
	build(s)
	ins := s.analyze()
	if len(ins) != 1 {
		t.Fatalf("%d calls, want 1", len(ins))
	}
	return ins[0]
}

// input is the case's call with its configuration.
func (tc *explainCase) input(t *testing.T) Input {
	t.Helper()
	in := oneCall(t, tc.build)
	if tc.conf != "" {
		in.Configs, in.Dialplans = loadConf(t, tc.conf)
	}
	return in
}

// TestReasons runs each synthetic capture through the pipeline and checks
// which reasons it triggers and which it must not.
func TestReasons(t *testing.T) {
	for _, tc := range explainCases {
		t.Run(tc.name, func(t *testing.T) {
			e := Explain(tc.input(t))
			checkReasons(t, e)
			if tc.path != "" && string(e.Path) != tc.path {
				t.Errorf("path %q, want %q", e.Path, tc.path)
			}
			for _, c := range tc.want {
				if !e.Has(c) {
					t.Errorf("no %s reason; got %v", c, codesOf(e))
				}
			}
			for _, c := range tc.not {
				if e.Has(c) {
					t.Errorf("unwanted %s reason: %s", c, e.Reason(c).Text)
				}
			}
			if len(tc.want) > 0 && len(tc.text) > 0 {
				if r := e.Reason(tc.want[0]); r != nil {
					for _, w := range tc.text {
						if !strings.Contains(r.Text, w) {
							t.Errorf("%s reason lacks %q: %s", r.Code, w, r.Text)
						}
					}
				}
			}
			if t.Failed() {
				t.Logf("headline: %s\nnarrative: %s", e.Headline, e.Narrative)
				for _, r := range e.Reasons {
					t.Logf("%s: %s %v", r.Code, r.Text, r.Frames)
				}
			}
		})
	}
}

func codesOf(e Explanation) []string {
	var out []string
	for _, r := range e.Reasons {
		out = append(out, r.Code)
	}
	return out
}

// checkReasons holds every explanation to the rules: a headline, and
// every reason cites frames in order, with a confidence that matches its
// level.
func checkReasons(t *testing.T, e Explanation) {
	t.Helper()
	if e.Headline == "" || e.Narrative == "" {
		t.Errorf("headline %q narrative %q", e.Headline, e.Narrative)
	}
	for _, r := range e.Reasons {
		if len(r.Frames) == 0 || !slices.IsSorted(r.Frames) || r.Frames[0] <= 0 {
			t.Errorf("%s: frames %v", r.Code, r.Frames)
		}
		if r.Confidence <= 0 || r.Confidence > 1 || r.Level != levelOf(r.Confidence) {
			t.Errorf("%s: confidence %v level %s", r.Code, r.Confidence, r.Level)
		}
		if r.Text == "" || !strings.HasSuffix(r.Text, ".") {
			t.Errorf("%s: text %q", r.Code, r.Text)
		}
	}
}

// TestEveryCodeTriggeredAndAvoided checks that each reason code the
// capture can yield has a case that triggers it and a close case that
// must not.
func TestEveryCodeTriggeredAndAvoided(t *testing.T) {
	policyOnly := map[string]bool{}
	for _, c := range Codes {
		if strings.HasPrefix(c.Meaning, "from the configuration") || c.Code == policy.CodeT38 || c.Code == policy.CodePtimeMismatch || c.Code == policy.CodeSRTP {
			policyOnly[c.Code] = true
		}
	}
	policyOnly[policy.CodeDirectMediaNo], policyOnly[policy.CodeDialOptions] = false, false
	for _, c := range Codes {
		if policyOnly[c.Code] {
			continue
		}
		var want, not bool
		for _, tc := range explainCases {
			want = want || slices.Contains(tc.want, c.Code)
			not = not || slices.Contains(tc.not, c.Code)
		}
		if !want || !not {
			t.Errorf("%s: triggering case %v, close case %v", c.Code, want, not)
		}
	}
}

// TestExplainSurvivesExchangesWithoutTheirOffer explains calls in which
// the capture missed the message that carried an offer but holds the
// answer: the call engine then records an exchange with an Answer and no
// Offer, and every reason must make do with what is there.
func TestExplainSurvivesExchangesWithoutTheirOffer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(*scenario)
		path  string
	}{
		{"no RTP captured", func(s *scenario) { newB2BUA(s).setup().hangup(3 * time.Second) }, "none-captured"},
		{"anchored", func(s *scenario) { anchoredCall(s) }, "anchored"},
		{"released by re-INVITE", func(s *scenario) { directCall(s) }, "direct"},
		{"held and re-anchored", func(s *scenario) { holdCall(s, true) }, "direct"},
		{"one-way", func(s *scenario) {
			c := newB2BUA(s).setup()
			s.rtp(c.ma.addr, c.pa.addr, 0xa1, 0, 25*ms, 3*time.Second)
			c.hangup(3 * time.Second)
		}, "one-way"},
	} {
		for _, drop := range []struct {
			name string
			do   func(*call.Leg)
		}{
			{"the offer of every exchange", func(l *call.Leg) {
				for _, n := range l.Negotiations() {
					n.Offer = nil
				}
			}},
			{"the offer of every re-INVITE", func(l *call.Leg) {
				for _, r := range l.MidDialog {
					r.Offer = nil
				}
			}},
		} {
			t.Run(tc.name+" without "+drop.name, func(t *testing.T) {
				in := oneCall(t, tc.build)
				if string(in.Verdict.Kind) != tc.path {
					t.Fatalf("path %q, want %q", in.Verdict.Kind, tc.path)
				}
				for _, l := range in.Call.Legs {
					drop.do(l)
				}
				e := Explain(in)
				checkReasons(t, e)
				var b bytes.Buffer
				if err := WriteText(&b, []Explanation{e}, TextOptions{Width: 60}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
