package call

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// inbound starts a call from caller to the PBX, dialling number.
func inbound(h *harness, id string, caller party, number string) *dlg {
	return h.dialog(id, caller, party{pbx.addr, "sip:" + number + "@pbx.example.com"})
}

// outbound is the PBX's leg to callee, showing callerUser as the caller.
func outbound(h *harness, id, callerUser string, callee party) *dlg {
	return h.dialog(id, party{pbx.addr, "sip:" + callerUser + "@pbx.example.com"}, callee)
}

// bridge runs a complete bridged call: in INVITE, out INVITE gap later,
// answer passed back, caller hangs up, PBX hangs up the far side.
func bridge(h *harness, in, out *dlg, gap time.Duration, extraOut ...string) {
	start := h.now
	inv := in.invite(sdpBody("10.0.0.1", 4000, "", 0))
	in.reply(inv, 100, "")
	h.at(start + gap)
	oinv := out.invite(sdpBody("10.0.0.100", 7000, "", 0), extraOut...)
	out.reply(oinv, 180, "")
	in.reply(inv, 180, "")
	h.at(start + gap + 2*time.Second)
	out.reply(oinv, 200, sdpBody("10.0.0.2", 5000, "", 0))
	out.ack(oinv, "")
	h.at(start + gap + 2*time.Second + ms(1))
	in.reply(inv, 200, sdpBody("10.0.0.100", 7002, "", 0))
	in.ack(inv, "")
	h.at(start + gap + 10*time.Second)
	in.in(UAC, "BYE", "")
	h.at(start + gap + 10*time.Second + ms(2))
	out.in(UAC, "BYE", "")
}

func callIDs(c *Call) string {
	var ids []string
	for _, l := range c.Legs {
		ids = append(ids, l.CallID)
	}
	return strings.Join(ids, ",")
}

// A B2BUA's two legs (different Call-IDs) become one call: the outgoing
// INVITE leaves the host the incoming one reached, soon after, with the
// caller's number; answer and BYE propagating confirm it.
func TestB2BUALegsPairedIntoOneCall(t *testing.T) {
	h := newHarness(t, Options{})
	bridge(h, inbound(h, "in-1", alice, "2001"), outbound(h, "out-1", "alice", bob), ms(5))
	c := onlyCall(t, h.finish())
	if callIDs(c) != "in-1,out-1" {
		t.Fatalf("legs %s", callIDs(c))
	}
	k := c.Links[0]
	if k.Server != netip.MustParseAddr("10.0.0.100") || k.Confidence < 0.9 ||
		!strings.Contains(k.Basis, "caller alice matches") || !strings.Contains(k.Basis, "answer propagation") ||
		!strings.Contains(k.Basis, "end propagation") {
		t.Errorf("link %+v", k)
	}
	if b := c.B2BUAs(); len(b) != 1 || b[0] != k.Server || !c.IsB2BUA(k.Server) {
		t.Errorf("B2BUAs %v", b)
	}
	if c.Pairing.Confidence != k.Confidence {
		t.Errorf("pairing %+v", c.Pairing)
	}
}

// A correlation header pairs legs regardless of addresses and timing.
func TestCorrelationHeaderPairs(t *testing.T) {
	h := newHarness(t, Options{CorrelateHeaders: []string{"X-Leg-Group"}})
	in := inbound(h, "corr-in", alice, "2001")
	out := h.dialog("corr-out", party{"10.9.9.9:5060", "sip:trunk@sbc"}, bob)
	bridge(h, in, out, 30*time.Second, "X-CID: corr-in")
	in2 := inbound(h, "grp-in", carol, "3001")
	in2.inviteHeaders = []string{"X-Leg-Group: g-77"}
	out2 := h.dialog("grp-out", party{"10.9.9.9:5060", "sip:trunk@sbc"}, bob)
	h.at(time.Minute)
	bridge(h, in2, out2, 45*time.Second, "X-Leg-Group: g-77")
	calls := h.finish()
	if len(calls) != 2 || callIDs(calls[0]) != "corr-in,corr-out" || callIDs(calls[1]) != "grp-in,grp-out" {
		t.Fatalf("calls %d", len(calls))
	}
	for _, c := range calls {
		if c.Pairing.Confidence < 0.99 || !strings.Contains(c.Pairing.Basis, "correlation header") {
			t.Errorf("pairing %+v", c.Pairing)
		}
	}
}

// Concurrent calls through one PBX pair by number, not by arrival order.
func TestConcurrentCallsThroughOnePBXPairByNumber(t *testing.T) {
	h := newHarness(t, Options{})
	inA := inbound(h, "in-a", alice, "5551001")
	inC := inbound(h, "in-c", carol, "5552002")
	invA := inA.invite(sdpBody("10.0.0.1", 4000, "", 0))
	h.at(ms(1))
	invC := inC.invite(sdpBody("10.0.0.3", 4000, "", 0))
	h.at(ms(3))
	// The PBX dials carol's call first, to the number carol dialled with a
	// national prefix.
	outC := h.dialog("out-c", party{pbx.addr, "sip:carol@pbx.example.com"}, party{"10.0.0.20:5060", "sip:05552002@gw"})
	outA := h.dialog("out-a", party{pbx.addr, "sip:alice@pbx.example.com"}, party{"10.0.0.20:5060", "sip:5551001@gw"})
	oC := outC.invite(sdpBody("10.0.0.100", 7000, "", 0))
	h.at(ms(4))
	oA := outA.invite(sdpBody("10.0.0.100", 7002, "", 0))
	for _, p := range []struct {
		in, out   *dlg
		inv, oinv *wire
	}{{inA, outA, invA, oA}, {inC, outC, invC, oC}} {
		p.out.reply(p.oinv, 486, "")
		h.at(h.now + ms(1))
		p.in.reply(p.inv, 486, "")
	}
	calls := h.finish()
	if len(calls) != 2 || callIDs(calls[0]) != "in-a,out-a" || callIDs(calls[1]) != "in-c,out-c" {
		for _, c := range calls {
			t.Logf("%s: %s", callIDs(c), c.Pairing.Basis)
		}
		t.Fatalf("wrong pairing")
	}
	for _, c := range calls {
		if c.Pairing.Confidence < 0.95 || strings.Contains(c.Pairing.Basis, "ambiguous") {
			t.Errorf("%s: %+v", callIDs(c), c.Pairing)
		}
	}
}

// When nothing but timing ties a leg to several candidates, the nearest is
// chosen with low confidence and the basis says it was ambiguous.
func TestAmbiguousPairingLowersConfidence(t *testing.T) {
	h := newHarness(t, Options{})
	anon := party{"10.0.0.1:5060", "sip:anonymous@anonymous.invalid"}
	anon2 := party{"10.0.0.3:5060", "sip:anonymous@anonymous.invalid"}
	h.dialog("amb-1", anon, party{pbx.addr, "sip:100@pbx"}).invite("")
	h.at(ms(10))
	h.dialog("amb-2", anon2, party{pbx.addr, "sip:200@pbx"}).invite("")
	h.at(ms(15))
	h.dialog("amb-out", party{pbx.addr, "sip:trunk@pbx"}, party{"10.0.0.20:5060", "sip:queue@gw"}).invite("")
	calls := h.finish()
	var c *Call
	for _, x := range calls {
		if len(x.Legs) == 2 {
			c = x
		}
	}
	if c == nil || callIDs(c) != "amb-2,amb-out" {
		t.Fatalf("calls %d", len(calls))
	}
	if c.Pairing.Confidence > 0.5 || !strings.Contains(c.Pairing.Basis, "ambiguous: 1 other") {
		t.Errorf("pairing %+v", c.Pairing)
	}
}

// A leg a PBX answered itself (an IVR, Answer() then Dial()) still pairs
// with the INVITE the PBX sends long after, with less confidence; a late
// INVITE with no number in common is paired only when the answering host
// is known to be a server.
func TestLocallyAnsweredLegPairsLater(t *testing.T) {
	const asterisk = "Server: Asterisk PBX 20.9.3"
	for _, tc := range []struct {
		name       string
		answer     string // Server header of the PBX's 200, "" for no answer
		callerUser string
		conf       float64 // 0: not paired
	}{
		{"answered, caller matches", asterisk, "alice", 0.7},
		{"answered by a PBX, nothing matches", asterisk, "trunk", 0.4},
		{"answered by an unknown host, nothing matches", "X-Nothing: 1", "trunk", 0},
		{"not answered, nothing matches", "", "trunk", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			in := inbound(h, "ivr-in", alice, "800")
			inv := in.invite(sdpBody("10.0.0.1", 4000, "", 0))
			if tc.answer != "" {
				in.reply(inv, 200, sdpBody("10.0.0.100", 7000, "", 0), tc.answer)
				in.ack(inv, "")
			} else {
				in.reply(inv, 180, "")
			}
			h.at(12 * time.Second)
			out := outbound(h, "ivr-out", tc.callerUser, bob)
			out.invite(sdpBody("10.0.0.100", 7002, "", 0))
			calls := h.finish()
			if tc.conf == 0 {
				if len(calls) != 2 {
					t.Errorf("%d calls, want 2", len(calls))
				}
				return
			}
			c := onlyCall(t, calls)
			if c.Pairing.Confidence != tc.conf || !strings.Contains(c.Pairing.Basis, "answered the upstream leg itself") {
				t.Errorf("pairing %+v", c.Pairing)
			}
		})
	}
}

// A B2BUA that keeps the Call-ID but starts a new dialog (new From tag)
// gives a second leg with the same Call-ID.
func TestSameCallIDNewTagIsSecondLeg(t *testing.T) {
	h := newHarness(t, Options{})
	in := inbound(h, "same-id", alice, "2001")
	out := h.dialog("same-id", party{"192.0.2.7:5060", "sip:alice@sbc"}, bob)
	out.aTag = "sbc-" + in.aTag
	bridge(h, in, out, ms(3))
	c := onlyCall(t, h.finish())
	if len(c.Legs) != 2 || c.Legs[0].From.Tag == c.Legs[1].From.Tag || c.Pairing.Confidence < 0.9 {
		t.Errorf("legs %d pairing %+v", len(c.Legs), c.Pairing)
	}
	for _, l := range c.Legs {
		if l.EndReason != CallerHangup || len(l.Dialogs) != 1 {
			t.Errorf("leg %s/%s end %v dialogs %d", l.CallID, l.From.Tag, l.EndReason, len(l.Dialogs))
		}
	}
}

// Server kinds are recognised from User-Agent/Server, SIP stack
// fingerprints and SDP.
func TestServerKindRecognised(t *testing.T) {
	for _, tc := range []struct{ ua, kind, version string }{
		{"Asterisk PBX 16.2.1~dfsg-1+deb10u2", "Asterisk", "16.2.1"},
		{"Asterisk-20.9.3-ast1", "Asterisk", "20.9.3"},
		{"FPBX-15.0.17.24(16.13.0)", "FreePBX", "15.0.17.24"},
		{"FreeSWITCH-mod_sofia/1.10.7-release~64bit", "FreeSWITCH", "1.10.7"},
		{"kamailio (5.6.2 (x86_64/linux))", "Kamailio", "5.6.2"},
		{"OpenSIPS (3.2.4 (x86_64/linux))", "OpenSIPS", "3.2.4"},
		{"Yealink SIP-T46S 66.86.0.15", "Yealink", "66.86.0.15"},
		{"baresip v1.0.0 (x86_64/linux)", "baresip", "1.0.0"},
	} {
		a := Identify(tc.ua)
		if a.Product != tc.kind || a.Version != tc.version {
			t.Errorf("%q: %q %q, want %q %q", tc.ua, a.Product, a.Version, tc.kind, tc.version)
		}
	}
	h := newHarness(t, Options{})
	d := h.dialog("kind-1", alice, pbx)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0), "User-Agent: Zoiper rv2.10")
	d.bTag = "0f3c6e2a-58f6-4b8e-9c7e-3a0e6c1f9b2d"
	d.reply(inv, 200, strings.Replace(sdpBody("10.0.0.100", 7000, "", 0), "s=-", "s=Asterisk", 1), "Server: Asterisk PBX 18.9.0")
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.UACAgent.Kind() != "Zoiper" || l.UACAgent.Server || l.UASAgent.Kind() != "Asterisk (PJSIP)" || !l.UASAgent.Server {
		t.Errorf("agents %+v / %+v", l.UACAgent, l.UASAgent)
	}
}

// A correlation header passed along a chain of servers pairs each leg with
// the one its sender received, so the call stays a chain.
func TestCorrelationHeaderAlongAChain(t *testing.T) {
	h := newHarness(t, Options{})
	s1, s2 := "10.0.5.1:5060", "10.0.5.2:5060"
	l1 := h.dialog("xc-1", alice, party{s1, "sip:900@s1"})
	l2 := h.dialog("xc-2", party{s1, "sip:gw@s1"}, party{s2, "sip:901@s2"})
	l3 := h.dialog("xc-3", party{s2, "sip:gw@s2"}, bob)
	for i, d := range []*dlg{l1, l2, l3} {
		h.at(time.Duration(i) * 5 * time.Second) // far apart: only the header ties them
		d.invite("", "X-CID: call-77")
	}
	c := onlyCall(t, h.finish())
	if callIDs(c) != "xc-1,xc-2,xc-3" || len(c.Links) != 2 {
		t.Fatalf("legs %s links %d", callIDs(c), len(c.Links))
	}
	for i, want := range []string{"10.0.5.1", "10.0.5.2"} {
		k := c.Links[i]
		if k.Upstream != i || k.Downstream != i+1 || k.Server.String() != want || k.Confidence < 0.99 {
			t.Errorf("link %d: %+v", i, k)
		}
	}
}

// After a challenge, timing counts from the INVITE sent with credentials.
func TestPairingTimesFromTheAuthenticatedInvite(t *testing.T) {
	h := newHarness(t, Options{})
	in := inbound(h, "auth-in", party{"10.0.0.1:5060", "sip:anonymous@anonymous.invalid"}, "100")
	inv := in.invite("")
	ch := in.replyTag(inv, 401, "ch1", "")
	in.ackFailure(inv, ch)
	h.at(3 * time.Second)
	in.invite("", `Authorization: Digest username="x"`)
	h.at(3*time.Second + ms(10))
	h.dialog("auth-out", party{pbx.addr, "sip:trunk@pbx"}, party{"10.0.0.20:5060", "sip:queue@gw"}).invite("")
	c := onlyCall(t, h.finish())
	if !strings.Contains(c.Pairing.Basis, "10ms after") || c.Pairing.Confidence != 0.6 {
		t.Errorf("pairing %+v", c.Pairing)
	}
}

// wan is the other address of the PBX: its side toward the provider.
var wan = "203.0.113.5:5060"

// anonymous is a caller that withholds its identity (RFC 3323).
func anonymous(addr string) party { return party{addr, "sip:anonymous@anonymous.invalid"} }

// A server with two addresses (a PBX with a LAN and a WAN side, an SBC)
// receives the call on one and relays it from the other: only the dialled
// number and the moment tie the legs, so they pair with lower confidence,
// and the link names both addresses.
func TestServerWithTwoAddressesPairsAcrossThem(t *testing.T) {
	h := newHarness(t, Options{})
	in := inbound(h, "in-1", alice, "5551001")
	out := h.dialog("out-1", party{wan, "sip:alice@pbx.example.com"}, party{"198.51.100.7:5060", "sip:5551001@itsp.example.net"})
	bridge(h, in, out, ms(5))
	c := onlyCall(t, h.finish())
	if callIDs(c) != "in-1,out-1" {
		t.Fatalf("legs %s", callIDs(c))
	}
	k := c.Links[0]
	lan, pub := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("203.0.113.5")
	if k.Server != lan || k.Alias != pub || k.Confidence < 0.6 || k.Confidence > 0.85 ||
		!strings.Contains(k.Basis, "two addresses of one server") || !strings.Contains(k.Basis, "dialled 5551001 matches") ||
		!strings.Contains(k.Basis, "caller alice matches") || !strings.Contains(k.Basis, "end propagation") {
		t.Errorf("link %+v", k)
	}
	if !c.IsB2BUA(lan) || !c.IsB2BUA(pub) || len(c.B2BUAs()) != 2 {
		t.Errorf("B2BUAs %v", c.B2BUAs())
	}
}

// Pairing across addresses has no server role to go by, so it refuses
// whatever else could explain the second INVITE.
func TestPairingAcrossAddressesRefusesOtherExplanations(t *testing.T) {
	itsp := party{"198.51.100.7:5060", "sip:5551001@itsp.example.net"}
	for _, tc := range []struct {
		name string
		run  func(h *harness)
	}{
		{"two phones dialling one number at one server", func(h *harness) {
			queue := party{pbx.addr, "sip:600@pbx.example.com"}
			h.dialog("in-a", anonymous("10.0.0.1:5060"), queue).invite(sdpBody("10.0.0.1", 4000, "", 0))
			h.at(ms(300))
			h.dialog("in-b", anonymous("10.0.0.3:5060"), queue).invite(sdpBody("10.0.0.3", 4000, "", 0))
		}},
		{"the relayed INVITE comes too late", func(h *harness) {
			inbound(h, "in-a", alice, "5551001").invite(sdpBody("10.0.0.1", 4000, "", 0))
			h.at(1500 * time.Millisecond)
			h.dialog("out-a", party{wan, "sip:alice@pbx.example.com"}, itsp).invite(sdpBody("203.0.113.5", 7000, "", 0))
		}},
		{"another number is dialled", func(h *harness) {
			inbound(h, "in-a", alice, "5551001").invite(sdpBody("10.0.0.1", 4000, "", 0))
			h.at(ms(10))
			h.dialog("out-a", party{wan, "sip:alice@pbx.example.com"}, party{"198.51.100.7:5060", "sip:5559999@itsp.example.net"}).
				invite(sdpBody("203.0.113.5", 7000, "", 0))
		}},
		{"the upstream leg was already answered", func(h *harness) {
			in := inbound(h, "in-a", alice, "5551001")
			inv := in.invite(sdpBody("10.0.0.1", 4000, "", 0))
			in.reply(inv, 200, sdpBody("10.0.0.100", 7000, "", 0))
			h.at(ms(10))
			h.dialog("out-a", party{wan, "sip:alice@pbx.example.com"}, itsp).invite(sdpBody("203.0.113.5", 7000, "", 0))
		}},
		{"another caller", func(h *harness) {
			inbound(h, "in-a", alice, "5551001").invite(sdpBody("10.0.0.1", 4000, "", 0))
			h.at(ms(10))
			h.dialog("out-a", party{wan, "sip:carol@pbx.example.com"}, itsp).invite(sdpBody("203.0.113.5", 7000, "", 0))
		}},
		{"a phone calling the number at another server at once", func(h *harness) {
			h.dialog("in-a", anonymous("10.0.0.1:5060"), party{pbx.addr, "sip:5551001@pbx.example.com"}).invite(sdpBody("10.0.0.1", 4000, "", 0))
			h.at(ms(10))
			h.dialog("in-c", anonymous("10.0.0.3:5060"), party{"10.0.0.200:5060", "sip:5551001@pbx2.example.com"}).
				invite(sdpBody("10.0.0.3", 4000, "", 0), "User-Agent: Yealink SIP-T46G 66.86.0.15")
		}},
		{"two upstream legs fit", func(h *harness) {
			h.dialog("in-a", anonymous("10.0.0.1:5060"), party{pbx.addr, "sip:5551001@pbx.example.com"}).invite(sdpBody("10.0.0.1", 4000, "", 0))
			h.dialog("in-c", anonymous("10.0.0.3:5060"), party{"10.0.0.200:5060", "sip:5551001@pbx2.example.com"}).
				invite(sdpBody("10.0.0.3", 4000, "", 0), "User-Agent: Yealink SIP-T46G 66.86.0.15")
			h.at(ms(10))
			h.dialog("out-a", anonymous(wan), itsp).invite(sdpBody("203.0.113.5", 7000, "", 0), "User-Agent: Asterisk PBX 20.5.0")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			tc.run(h)
			for _, c := range h.finish() {
				if len(c.Legs) != 1 {
					t.Errorf("legs %s paired: %s", callIDs(c), c.Pairing.Basis)
				}
			}
		})
	}
}
