package call

import (
	"testing"
	"time"
)

var (
	alice = party{"10.0.0.1:5060", "sip:alice@example.com"}
	bob   = party{"10.0.0.2:5060", "sip:bob@example.com"}
	carol = party{"10.0.0.3:5060", "sip:carol@example.com"}
	pbx   = party{"10.0.0.100:5060", "sip:2001@pbx.example.com"}
)

func retransmissions(l *Leg) []int {
	var out []int
	for _, m := range l.Messages {
		if m.Retransmission {
			out = append(out, m.Frame)
		}
	}
	return out
}

// Retransmitted requests and responses are recognised by their
// transaction, flagged once each, and change nothing; a repeat sooner than
// any SIP timer allows is a duplicate made by the capture.
func TestRetransmissionsRecognisedAndCountedOnce(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("rtx-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0, 101)) // f1
	h.at(ms(500))
	h.resend(inv)         // f2 Timer A
	d.reply(inv, 100, "") // f3
	h.at(ms(600))
	ring := d.reply(inv, 180, "") // f4
	h.resend(ring)                // f5 duplicate
	h.at(ms(1000))
	ok := d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0, 101)) // f6
	h.at(ms(1500))
	h.resend(ok)        // f7 Timer G
	a := d.ack(inv, "") // f8
	h.at(ms(1510))
	h.resend(a) // f9 duplicate
	h.at(ms(5000))
	bye := d.in(UAC, "BYE", "") // f10
	h.at(ms(5500))
	h.resend(bye)         // f11 Timer E
	d.reply(bye, 200, "") // f12
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if got := retransmissions(l); !sameInts(got, []int{2, 5, 7, 9, 11}) {
		t.Errorf("repeats %v, want [2 5 7 9 11]", got)
	}
	var dups []int
	for _, m := range l.Messages {
		if m.Duplicate {
			dups = append(dups, m.Frame)
		}
	}
	if !sameInts(dups, []int{5, 9}) {
		t.Errorf("duplicates %v, want [5 9]", dups)
	}
	if s := h.e.Stats(); s.Retransmissions != 3 || s.Duplicates != 2 || s.Messages != 12 {
		t.Errorf("stats: %d retransmissions, %d duplicates of %d messages, want 3, 2 of 12", s.Retransmissions, s.Duplicates, s.Messages)
	}
	if l.Status != 200 || l.AnswerFrame != 6 || len(l.Dialogs) != 1 || len(l.MidDialog) != 0 {
		t.Errorf("status %d answer f%d dialogs %d mid %d", l.Status, l.AnswerFrame, len(l.Dialogs), len(l.MidDialog))
	}
	dl := l.Dialogs[0]
	if dl.ACKFrame != 8 || dl.ByeFrame != 10 || dl.ByeStatus != 200 || len(dl.Negotiations) != 1 {
		t.Errorf("dialog ack f%d bye f%d %d negotiations %d", dl.ACKFrame, dl.ByeFrame, dl.ByeStatus, len(dl.Negotiations))
	}
	if l.Messages[1].SDP == nil {
		t.Error("retransmitted INVITE lost the original's SDP")
	}
	offers := 0
	for _, ev := range h.sdps {
		if ev.Role == RoleOffer {
			offers++
		}
	}
	if offers != 1 {
		t.Errorf("OnSDP saw %d offers, want 1 (retransmissions excluded)", offers)
	}
}

// Without the RFC 3261 magic cookie, transactions are told apart by CSeq
// (RFC 3261 §17.2.3); RFC 2543 peers without tags are told apart by URI.
func TestRFC2543PeersMatchedByCSeqAndURI(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("old-1", alice, bob)
	d.noBranchCookie = true
	d.aTag, d.bTag = "", ""
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	h.resend(inv)
	ok := d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0))
	d.ack(inv, "")
	h.at(ms(2000))
	re := d.in(UAC, "INVITE", sdpBody("10.0.0.1", 4002, "", 0))
	d.reply(re, 200, sdpBody("10.0.0.2", 5000, "", 0))
	h.at(ms(4000))
	bye := d.in(UAS, "BYE", "")
	d.reply(bye, 200, "")
	_ = ok
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if got := retransmissions(l); !sameInts(got, []int{2}) {
		t.Errorf("retransmissions %v, want [2]", got)
	}
	if len(l.MidDialog) != 1 || l.MidDialog[0].Status != 200 || l.MidDialog[0].Change != Redirect {
		t.Fatalf("mid-dialog %+v", l.MidDialog)
	}
	if l.EndReason != CalleeHangup {
		t.Errorf("end %v, want callee hangup", l.EndReason)
	}
}

// Both ends of a dialog may use the same CSeq number (Asterisk starts at
// 102 on both): transactions in opposite directions stay apart.
func TestSameCSeqInOppositeDirectionsStaysApart(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("cseq-1", alice, bob)
	d.aCSeq, d.bCSeq = 101, 101
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0)) // CSeq 102
	ok := d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0))
	d.ack(inv, "")
	re := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0)) // CSeq 102 too
	rok := d.reply(re, 200, sdpBody("10.0.0.1", 4000, "", 0))
	d.ack(re, "")
	h.at(ms(3000))
	bye := d.in(UAC, "BYE", "")
	d.reply(bye, 200, "")
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.AnswerFrame != ok.frame || len(l.MidDialog) != 1 {
		t.Fatalf("answer f%d, %d mid-dialog requests", l.AnswerFrame, len(l.MidDialog))
	}
	r := l.MidDialog[0]
	if r.Sender != UAS || r.Status != 200 || r.StatusFrame != rok.frame || r.Change != Redirect {
		t.Errorf("re-INVITE %+v", r)
	}
	if n := len(retransmissions(l)); n != 0 {
		t.Errorf("%d retransmissions, want 0", n)
	}
}

// The ACK of a non-2xx final belongs to the INVITE transaction; the ACK
// of a 2xx is a transaction of its own (RFC 3261 §17.1.1.3, §13.2.2.4).
func TestACKForFailureBelongsToInviteTransaction(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("busy-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	d.reply(inv, 100, "")
	busy := d.reply(inv, 486, "")
	a := d.ackFailure(inv, busy)
	h.resend(busy)
	h.resend(a)
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.Status != 486 || l.EndReason != Failed || l.EndFrame != busy.frame {
		t.Errorf("status %d end %v f%d", l.Status, l.EndReason, l.EndFrame)
	}
	if got := retransmissions(l); !sameInts(got, []int{5, 6}) {
		t.Errorf("retransmissions %v, want [5 6]", got)
	}
	if dl := l.Dialogs[0]; dl.State != Terminated || dl.ACKFrame != 0 {
		t.Errorf("dialog %+v", dl)
	}
}

// A 2xx never ACKed is flagged after 64*T1 of packet time (§13.3.1.4).
func TestMissing2xxACKFlaggedOnPacketTime(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("noack-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0))
	h.advance(31 * time.Second)
	if h.e.legs["noack-1"].dialogs[0].d.ACKMissing {
		t.Fatal("ACK flagged missing before 64*T1")
	}
	h.advance(33 * time.Second)
	h.at(40 * time.Second)
	bye := d.in(UAS, "BYE", "")
	d.reply(bye, 200, "")
	c := onlyCall(t, h.finish())
	if dl := c.Legs[0].Dialogs[0]; !dl.ACKMissing || dl.ACKFrame != 0 {
		t.Errorf("dialog %+v, want ACK missing", dl)
	}
	if c.Legs[0].EndReason != CalleeHangup {
		t.Errorf("end %v", c.Legs[0].EndReason)
	}
}

// CANCEL ends a ringing leg; the INVITE's 487 and the CANCEL's 200 are
// separate transactions on the same branch.
func TestCancelEndsLegAsCancelled(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("cancel-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	d.reply(inv, 100, "")
	d.reply(inv, 180, "")
	h.at(ms(3000))
	cn := d.cancel(inv, `Reason: SIP;cause=200;text="Call completed elsewhere"`)
	d.reply(cn, 200, "")
	term := d.reply(inv, 487, "")
	d.ackFailure(inv, term)
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.EndReason != Cancelled || l.Status != 487 || l.EndFrame != term.frame {
		t.Errorf("end %v status %d f%d", l.EndReason, l.Status, l.EndFrame)
	}
	if l.Reason != `SIP;cause=200;text="Call completed elsewhere"` {
		t.Errorf("reason %q", l.Reason)
	}
	if l.Forks() != 1 || l.Dialogs[0].State != Terminated {
		t.Errorf("dialogs %+v", l.Dialogs)
	}
}

// An INVITE without any response times out after Timer B (64*T1) of packet
// time, and the call is emitted Linger later without Finish.
func TestInviteTimesOutOnPacketTime(t *testing.T) {
	h := newHarness(t, Options{Linger: 5 * time.Second})
	d := h.dialog("lost-1", alice, bob)
	d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	h.advance(31 * time.Second)
	if len(h.calls) != 0 {
		t.Fatal("emitted before Timer B")
	}
	h.advance(36 * time.Second)
	if len(h.calls) != 0 {
		t.Fatal("emitted before the linger time")
	}
	h.advance(38 * time.Second)
	c := onlyCall(t, h.calls)
	l := c.Legs[0]
	if l.EndReason != TimedOut || !l.End.Equal(h.base.Add(timerB)) {
		t.Errorf("end %v at %v", l.EndReason, l.End.Sub(h.base))
	}
	if h.e.Stats().LiveLegs != 0 {
		t.Error("state kept after the call was emitted")
	}
}

// A proxy's hops share Call-ID and tags: one leg seen at several points,
// with the copies of each message neither retransmissions nor new requests.
func TestProxyHopsAreOneLeg(t *testing.T) {
	const proxy = "10.0.0.50:5060"
	h := newHarness(t, Options{})
	// The UAC sends to the proxy, which forwards to bob.
	d := h.dialog("proxy-1", alice, party{proxy, bob.uri})
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	fwd := h.forward(inv, proxy, bob.addr, "z9hG4bKp1")
	ok := d.reply(fwd, 200, sdpBody("10.0.0.2", 5000, "", 0))
	h.forwardResponse(ok, proxy, alice.addr)
	a := d.ack(inv, "")
	h.forward(a, proxy, bob.addr, "z9hG4bKp2")
	h.at(ms(2000))
	re := d.in(UAC, "INVITE", sdpBody("10.0.0.1", 4000, "sendonly", 0))
	refwd := h.forward(re, proxy, bob.addr, "z9hG4bKp3")
	rok := d.reply(refwd, 200, sdpBody("10.0.0.2", 5000, "recvonly", 0))
	h.forwardResponse(rok, proxy, alice.addr)
	c := onlyCall(t, h.finish())
	if len(c.Legs) != 1 {
		t.Fatalf("%d legs", len(c.Legs))
	}
	l := c.Legs[0]
	if len(l.Hops) != 2 || l.UAC.String() != alice.addr || l.UAS.String() != bob.addr {
		t.Errorf("hops %+v uac %v uas %v", l.Hops, l.UAC, l.UAS)
	}
	if n := len(retransmissions(l)); n != 0 {
		t.Errorf("%d retransmissions, want 0", n)
	}
	if len(l.MidDialog) != 1 || len(l.MidDialog[0].Frames) != 2 || l.MidDialog[0].Change != Hold {
		t.Errorf("mid-dialog %+v", l.MidDialog)
	}
	if len(l.Dialogs) != 1 || len(l.Dialogs[0].Negotiations) != 2 {
		t.Errorf("dialogs %+v", l.Dialogs)
	}
}

// An ACK on the INVITE's own branch acknowledges a failure even when the
// capture missed the failure response itself.
func TestACKOfUnseenFailureEndsLeg(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("unseen-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	d.reply(inv, 180, "")
	h.at(2 * time.Second)
	a := d.ackFailure(inv, inv)
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.EndReason != Failed || l.EndFrame != a.frame || l.Status != 0 || l.Reason != "failure response not captured" {
		t.Errorf("end %v f%d status %d %q", l.EndReason, l.EndFrame, l.Status, l.Reason)
	}
}
