package explain

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/media"
)

// Hosts of the NAT cases: alice behind a NAT whose public address is
// natAlice.sig, bob and an Asterisk on public addresses.
var (
	natAlice = ua{sig: ap("203.0.113.30:5060"), via: "192.168.1.30:5060", contact: "192.168.1.30:5060", agent: "baresip 1.0.0", user: "alice"}
	pubBob   = ua{sig: ap("198.51.100.31:5060"), agent: "baresip 1.0.0", user: "bob"}
	pubPBX   = ua{sig: ap("198.51.100.12:5060"), agent: "Asterisk PBX 20.9.3", user: "asterisk"}
)

// natCall is alice calling bob straight, alice's SDP naming mediaA, with
// bob's RTP to bobTo and alice's RTP (after the NAT) to bob.
func natCall(s *scenario, alice ua, mediaA, bobTo string, aliceSends bool) {
	p2p(s, alice, pubBob, pcmu(mediaA), pcmu("198.51.100.31:31000"))
	s.rtp(ap("198.51.100.31:31000"), ap(bobTo), 0xb1, 0, 10*ms, 3*time.Second)
	if aliceSends {
		s.rtp(netip.AddrPortFrom(alice.sig.Addr(), 30000), ap("198.51.100.31:31000"), 0xa1, 0, 10*ms, 3*time.Second)
	}
}

// natAnchoredCall is alice calling bob through an Asterisk on a public
// address that sends alice's RTP to her private SDP address (no comedia).
func natAnchoredCall(s *scenario) {
	c := newB2BUA(s)
	c.a, c.p, c.b = natAlice, pubPBX, pubBob
	c.ma, c.pa, c.pb, c.mb = pcmu("192.168.1.30:30000"), pcmu("198.51.100.12:12000"), pcmu("198.51.100.12:12002"), pcmu("198.51.100.31:31000")
	c.setup()
	s.rtp(ap("203.0.113.30:30000"), c.pa.addr, 0xa1, 0, 25*ms, 3*time.Second)
	s.rtp(c.pa.addr, c.ma.addr, 0xb1, 0, 25*ms, 3*time.Second)
	s.rtp(c.mb.addr, c.pb.addr, 0xb1, 0, 25*ms, 3*time.Second)
	s.rtp(c.pb.addr, c.mb.addr, 0xa1, 0, 25*ms, 3*time.Second)
	c.hangup(3 * time.Second)
}

// TestNATOneWayAudio checks the rule that RTP from the public network to
// a NATed endpoint's private SDP address cannot arrive, and its close
// cases: a capture on the private side of the NAT, and a far end that
// learns the NAT's address from the RTP it receives.
func TestNATOneWayAudio(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(*scenario)
		path  media.PathKind
		// level is the one-way-audio reason's, "" when there must be none.
		level Level
		// nat is whether a NAT reason is expected.
		nat  bool
		text []string
	}{
		{name: "public side with a private Via: RTP to the private SDP address is high confidence",
			build: func(s *scenario) { natCall(s, natAlice, "192.168.1.30:30000", "192.168.1.30:30000", true) },
			path:  media.Direct, level: High, nat: true,
			text: []string{"192.168.1.30:30000", "hears nothing", "203.0.113.30:30000 -> 198.51.100.31:31000", "fix_nated_sdp", "STUN", "nat=force_rport,comedia"}},
		{name: "public side with only a private SDP and Contact is medium confidence",
			build: func(s *scenario) {
				a := natAlice
				a.via = ""
				natCall(s, a, "192.168.1.30:30000", "192.168.1.30:30000", true)
			},
			path: media.Direct, level: Medium, nat: true, text: []string{"192.168.1.30:30000", "rtpengine"}},
		{name: "carrier-grade NAT shared space is private",
			build: func(s *scenario) {
				a := natAlice
				a.via, a.contact = "100.64.7.30:5060", "100.64.7.30:5060"
				natCall(s, a, "100.64.7.30:30000", "100.64.7.30:30000", true)
			},
			path: media.Direct, level: High, nat: true, text: []string{"100.64.7.30:30000"}},
		{name: "private side of the NAT: the phone's own packets come from its private address",
			build: func(s *scenario) {
				a := ua{sig: ap("192.168.1.30:5060"), agent: "baresip 1.0.0", user: "alice"}
				natCall(s, a, "192.168.1.30:30000", "192.168.1.30:30000", true)
			},
			path: media.Direct},
		{name: "symmetric RTP: bob turns to the NAT's address once alice's RTP arrives",
			build: func(s *scenario) {
				p2p(s, natAlice, pubBob, pcmu("192.168.1.30:30000"), pcmu("198.51.100.31:31000"))
				s.rtp(ap("198.51.100.31:31000"), ap("192.168.1.30:30000"), 0xb1, 0, 10*ms, 60*ms)
				s.rtp(ap("198.51.100.31:31000"), ap("203.0.113.30:30000"), 0xb1, 0, 60*ms, 3*time.Second)
				s.rtp(ap("203.0.113.30:30000"), ap("198.51.100.31:31000"), 0xa1, 0, 10*ms, 3*time.Second)
			}},
		{name: "one-way verdict: the one-way reason names the NAT cause and remedy",
			build: func(s *scenario) { natCall(s, natAlice, "192.168.1.30:30000", "192.168.1.30:30000", false) },
			path:  media.OneWay, level: High, nat: true, text: []string{"NAT", "192.168.1.30:30000", "fix_nated_sdp"}},
		{name: "B2BUA without comedia sends to the private address",
			build: natAnchoredCall,
			path:  media.Anchored, level: High, nat: true, text: []string{"198.51.100.12:12000 -> 192.168.1.30:30000", "on Asterisk 198.51.100.12 set nat=force_rport,comedia"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := oneCall(t, tc.build)
			kind := in.Verdict.Kind
			e := Explain(in)
			checkReasons(t, e)
			if tc.path != "" && e.Path != tc.path {
				t.Errorf("path %q, want %q", e.Path, tc.path)
			}
			if in.Verdict.Kind != kind {
				t.Errorf("explain changed the media verdict from %q to %q", kind, in.Verdict.Kind)
			}
			nats := 0
			for _, r := range e.Reasons {
				if r.Code == CodeNAT {
					nats++
				}
			}
			if tc.nat && nats != 1 || !tc.nat && nats != 0 {
				t.Errorf("%d NAT reasons, want nat=%v: %v", nats, tc.nat, codesOf(e))
			}
			r := e.Reason(CodeOneWayAudio)
			switch {
			case tc.level == "" && r != nil:
				t.Errorf("unwanted one-way-audio: %s", r.Text)
			case tc.level != "" && r == nil:
				t.Errorf("no one-way-audio reason: %v", codesOf(e))
			case r != nil:
				if r.Level != tc.level {
					t.Errorf("one-way-audio %s, want %s", r.Level, tc.level)
				}
				for _, w := range tc.text {
					if !strings.Contains(r.Text, w) {
						t.Errorf("one-way-audio lacks %q: %s", w, r.Text)
					}
				}
				if tc.path != media.OneWay && !strings.HasPrefix(e.Headline, "one-way audio likely because of NAT") {
					t.Errorf("headline %q", e.Headline)
				}
			}
			if t.Failed() {
				t.Logf("headline: %s\nnarrative: %s", e.Headline, e.Narrative)
				for _, r := range e.Reasons {
					t.Logf("%s %s: %s %v", r.Code, r.Level, r.Text, r.Frames)
				}
			}
		})
	}
}

// TestNATOneWayInterop explains the interop NAT capture: a SIPp call
// through Kamailio, the caller behind a masquerading NAT, captured on the
// public side, where the callee's RTP goes to the caller's private SDP
// address.
func TestNATOneWayInterop(t *testing.T) {
	ins := analyzeFile(t, filepath.Join("..", "testdata", "interop", "nat.pcap"))
	if len(ins) != 1 {
		t.Fatalf("%d calls, want 1", len(ins))
	}
	e := Explain(ins[0])
	checkReasons(t, e)
	if e.Path != media.Direct {
		t.Errorf("path %q, want the media verdict unchanged (direct)", e.Path)
	}
	if !strings.HasPrefix(e.Headline, "one-way audio likely because of NAT") {
		t.Errorf("headline %q", e.Headline)
	}
	for _, w := range []string{"captured in both directions", "192.168.77.2:6000", "does not route"} {
		if !strings.Contains(e.Narrative, w) {
			t.Errorf("narrative lacks %q: %s", w, e.Narrative)
		}
	}
	nat := mustReason(t, e, CodeNAT)
	// f5: the INVITE from the router's address with the private Via,
	// Contact and SDP; f6: the 100 whose Via says received=.
	hasFrames(t, nat, 5, 6)
	if nat.Level != High {
		t.Errorf("nat %s, want high", nat.Level)
	}
	ow := mustReason(t, e, CodeOneWayAudio)
	// f7: Kamailio forwards the SDP unchanged; f14-f112: bob's RTP to the
	// private address; f15-f113: alice's RTP from the router's address.
	hasFrames(t, ow, 5, 7, 14, 15, 112, 113)
	if ow.Level != High {
		t.Errorf("one-way-audio %s, want high", ow.Level)
	}
	for _, w := range []string{"192.168.77.2:6000", "hears nothing", "the proxy 203.0.113.10 passed the SDP on unchanged",
		"rtpengine", "fix_nated_sdp", "STUN", "nat=force_rport,comedia"} {
		if !strings.Contains(ow.Text, w) {
			t.Errorf("one-way-audio lacks %q: %s", w, ow.Text)
		}
	}
	if !e.Has(CodeDirectEndToEnd) {
		t.Errorf("no direct-end-to-end: %v", codesOf(e))
	}
}

// TestNATOneWayPrivateSide explains a capture taken inside a home network
// behind NAT (a phone at a private address calling public providers): the
// phone's packets come from its private address, so RTP from outside to
// that address is what the NAT delivers, not a trap.
func TestNATOneWayPrivateSide(t *testing.T) {
	ins := analyzeFile(t, filepath.Join(corpustest.Dir(t), "public", "sngrep", "aaa.pcap"))
	if len(ins) == 0 {
		t.Fatal("no calls")
	}
	for _, in := range ins {
		x := &explainer{f: gather(in), natFor: map[netip.Addr]bool{}}
		if traps := x.natTraps(); len(traps) != 0 {
			t.Errorf("%s: %d NAT traps, the first at f%d", in.Call.ID, len(traps), traps[0].sdp.Frame)
		}
		e := Explain(in)
		if e.Has(CodeOneWayAudio) || e.Has(CodeNAT) {
			t.Errorf("%s: %v", in.Call.ID, codesOf(e))
		}
	}
}

// TestPrivatePublic pins which addresses are private networks and which
// are public: documentation ranges are public (test networks use them as
// their public side), loopback is neither.
func TestPrivatePublic(t *testing.T) {
	for _, tc := range []struct {
		addr            string
		private, public bool
	}{
		{"10.1.2.3", true, false},
		{"172.16.0.1", true, false},
		{"172.32.0.1", false, true},
		{"192.168.77.2", true, false},
		{"100.64.0.1", true, false},
		{"100.127.255.254", true, false},
		{"100.128.0.1", false, true},
		{"169.254.1.1", true, false},
		{"fd17:625c:f037:2::1", true, false},
		{"fe80::1", true, false},
		{"::ffff:192.168.1.2", true, false},
		{"203.0.113.1", false, true},
		{"198.51.100.7", false, true},
		{"2001:db8::1", false, true},
		{"8.8.8.8", false, true},
		{"127.0.0.1", false, false},
		{"::1", false, false},
		{"0.0.0.0", false, false},
	} {
		a := netip.MustParseAddr(tc.addr)
		if private(a) != tc.private || public(a) != tc.public {
			t.Errorf("%s: private %v public %v, want %v %v", tc.addr, private(a), public(a), tc.private, tc.public)
		}
	}
}
