package call

import (
	"testing"
	"time"
)

// Several To tags answering one INVITE are forks, each its own dialog; the
// leg lasts until the last confirmed one ends.
func TestForkingGivesOneDialogPerToTag(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("fork-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	d.replyTag(inv, 180, "fb1", "")
	d.replyTag(inv, 183, "fb2", sdpBody("10.0.0.3", 6000, "", 0))
	h.at(ms(2000))
	ok2 := d.replyTag(inv, 200, "fb2", sdpBody("10.0.0.3", 6000, "", 0))
	ok1 := d.replyTag(inv, 200, "fb1", sdpBody("10.0.0.2", 5000, "", 0))
	d.bTag = "fb2"
	d.ack(ok2, "")
	d.bTag = "fb1"
	d.ack(ok1, "")
	bye1 := d.in(UAC, "BYE", "") // the UAC keeps one dialog only
	d.reply(bye1, 200, "")
	h.at(ms(9000))
	d.bTag = "fb2"
	bye2 := d.in(UAS, "BYE", "")
	d.reply(bye2, 200, "")
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.Forks() != 2 || len(l.Dialogs) != 2 {
		t.Fatalf("forks %d dialogs %d", l.Forks(), len(l.Dialogs))
	}
	d1, d2 := l.Dialog("fb1"), l.Dialog("fb2")
	if d1.State != Terminated || d2.State != Terminated || d1.ConfirmFrame != ok1.frame || d2.ConfirmFrame != ok2.frame {
		t.Errorf("dialogs %+v %+v", d1, d2)
	}
	if l.AnswerFrame != ok2.frame || l.EndReason != CalleeHangup || l.EndFrame != bye2.frame {
		t.Errorf("answer f%d end %v f%d", l.AnswerFrame, l.EndReason, l.EndFrame)
	}
	// Each fork answers the same offer in its own negotiation.
	if d1.Negotiations[0].Offer != d2.Negotiations[0].Offer || d2.Negotiations[0].Preview == nil ||
		d2.Negotiations[0].Answer.Media.Addr.Port() != 6000 || d1.Negotiations[0].Answer.Media.Addr.Port() != 5000 {
		t.Errorf("negotiations %+v / %+v", d1.Negotiations[0], d2.Negotiations[0])
	}
	for _, m := range l.Messages {
		if m.Frame >= ok2.frame && m.Dialog == "" {
			t.Errorf("f%d has no dialog", m.Frame)
		}
	}
}

// A forking proxy's failed branch (a deeper hop) does not end the leg while
// the proxy may still get a 2xx from another branch (RFC 3261 §16.7).
func TestForkingProxyBranchFailureDoesNotEndLeg(t *testing.T) {
	const proxy = "10.0.0.50:5060"
	h := newHarness(t, Options{Linger: time.Second})
	d := h.dialog("pfork-1", alice, party{proxy, "sip:group@example.com"})
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	toBob := h.forward(inv, proxy, bob.addr, "z9hG4bKpb")
	toCarol := h.forward(inv, proxy, carol.addr, "z9hG4bKpc")
	busy := d.replyTag(toBob, 486, "tbob", "")
	d.ackFailure(toBob, busy)
	ring := d.replyTag(toCarol, 180, "tcarol", "")
	h.forwardResponse(ring, proxy, alice.addr)
	h.at(20 * time.Second)
	ok := d.replyTag(toCarol, 200, "tcarol", sdpBody("10.0.0.3", 6000, "", 0))
	h.forwardResponse(ok, proxy, alice.addr)
	d.bTag = "tcarol"
	d.ack(inv, "")
	h.at(30 * time.Second)
	d.in(UAC, "BYE", "")
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.Status != 200 || l.EndReason != CallerHangup {
		t.Errorf("status %d end %v", l.Status, l.EndReason)
	}
	if b := l.Dialog("tbob"); b == nil || b.Status != 486 || b.State != Terminated {
		t.Errorf("failed branch %+v", b)
	}
	if l.Forks() != 1 {
		t.Errorf("forks %d, want 1 (the busy branch never answered with 1xx/2xx)", l.Forks())
	}
}

// A 401/407 challenge and the INVITE sent again with credentials stay one
// leg (same Call-ID and From tag, new CSeq).
func TestAuthChallengeKeepsOneLeg(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("auth-1", alice, pbx)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	ch := d.replyTag(inv, 407, "px1", "")
	d.ackFailure(inv, ch)
	h.at(ms(20))
	inv2 := d.invite(sdpBody("10.0.0.1", 4000, "", 0), `Proxy-Authorization: Digest username="alice"`)
	ok := d.reply(inv2, 200, sdpBody("10.0.0.100", 7000, "", 0))
	d.ack(inv2, "")
	h.at(ms(5000))
	d.in(UAC, "BYE", "")
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if l.Challenges != 1 || l.Status != 200 || l.AnswerFrame != ok.frame || l.EndReason != CallerHangup {
		t.Errorf("challenges %d status %d answer f%d end %v", l.Challenges, l.Status, l.AnswerFrame, l.EndReason)
	}
}

// A user who takes half a minute to enter credentials after a challenge
// still makes one leg: the challenged call is held past the usual linger.
func TestSlowAuthRetryKeepsOneLeg(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("auth-slow", alice, pbx)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	ch := d.replyTag(inv, 407, "px1", "")
	d.ackFailure(inv, ch)
	h.at(34 * time.Second)
	inv2 := d.invite(sdpBody("10.0.0.1", 4000, "", 0), `Proxy-Authorization: Digest username="alice"`)
	rej := d.replyTag(inv2, 403, "px2", "")
	d.ackFailure(inv2, rej)
	c := onlyCall(t, h.finish())
	if l := c.Legs[0]; l.Challenges != 1 || l.Status != 403 {
		t.Errorf("challenges %d status %d, want 1 and 403", l.Challenges, l.Status)
	}
}

// Every way a leg ends gets its reason.
func TestEndReasons(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(h *harness, d *dlg)
		want EndReason
	}{
		{"caller hangs up", func(h *harness, d *dlg) { answer(h, d); d.in(UAC, "BYE", "") }, CallerHangup},
		{"callee hangs up", func(h *harness, d *dlg) { answer(h, d); d.in(UAS, "BYE", "") }, CalleeHangup},
		{"cancelled", func(h *harness, d *dlg) {
			inv := d.invite("")
			d.reply(inv, 180, "")
			d.cancel(inv)
		}, Cancelled},
		{"busy", func(h *harness, d *dlg) { inv := d.invite(""); d.reply(inv, 486, "") }, Failed},
		{"no answer at all", func(h *harness, d *dlg) { d.invite(""); h.advance(time.Minute) }, TimedOut},
		{"ringing forever", func(h *harness, d *dlg) {
			inv := d.invite("")
			d.reply(inv, 180, "")
			h.advance(6 * time.Minute)
		}, TimedOut},
		{"idle confirmed dialog", func(h *harness, d *dlg) { answer(h, d); h.advance(2 * time.Hour) }, TimedOut},
		{"capture ended", func(h *harness, d *dlg) { answer(h, d) }, CaptureEnded},
		{"early BYE acts as cancel", func(h *harness, d *dlg) {
			inv := d.invite("")
			d.reply(inv, 183, "")
			d.in(UAC, "BYE", "")
			d.reply(inv, 487, "")
		}, Cancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			d := h.dialog("end-1", alice, bob)
			tc.run(h, d)
			c := onlyCall(t, h.finish())
			if got := c.Legs[0].EndReason; got != tc.want {
				t.Errorf("end reason %v, want %v", got, tc.want)
			}
		})
	}
}

// answer sets up a dialog: INVITE with offer, 200 with answer, ACK.
func answer(h *harness, d *dlg) *wire {
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0, 101))
	d.reply(inv, 100, "")
	d.reply(inv, 180, "")
	d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0, 101))
	d.ack(inv, "")
	return inv
}

// Idle state expires on packet time and is counted.
func TestIdleDialogsExpireAndAreCounted(t *testing.T) {
	h := newHarness(t, Options{IdleTimeout: 10 * time.Minute})
	answer(h, h.dialog("idle-1", alice, bob))
	h.at(time.Minute)
	answer(h, h.dialog("idle-2", alice, bob))
	h.advance(10*time.Minute + time.Second)
	if len(h.calls) != 0 {
		t.Fatal("emitted before the linger time")
	}
	h.advance(10*time.Minute + 10*time.Second)
	if len(h.calls) != 1 || h.calls[0].ID != "idle-1" {
		t.Fatalf("calls %d", len(h.calls))
	}
	h.advance(12 * time.Minute)
	if s := h.e.Stats(); s.Expired != 2 || s.LiveLegs != 0 || s.Calls != 2 {
		t.Errorf("expired %d live %d calls %d", s.Expired, s.LiveLegs, s.Calls)
	}
}

// Messages of a call already emitted are counted as late, not made into a
// new leg.
func TestLateRetransmissionAfterEmission(t *testing.T) {
	h := newHarness(t, Options{Linger: time.Second})
	d := h.dialog("late-1", alice, bob)
	answer(h, d)
	bye := d.in(UAC, "BYE", "")
	ok := d.reply(bye, 200, "")
	h.advance(2 * time.Second)
	if len(h.calls) != 1 {
		t.Fatalf("calls %d", len(h.calls))
	}
	h.at(3 * time.Second)
	h.resend(ok)
	h.finish()
	if len(h.calls) != 1 || h.e.Stats().Late != 1 {
		t.Errorf("calls %d late %d", len(h.calls), h.e.Stats().Late)
	}
}

// MaxDialogs evicts the least recently active call, whole, never the call
// the new leg just joined; evicted legs end as Evicted and are counted.
func TestEvictionTakesWholeCalls(t *testing.T) {
	h := newHarness(t, Options{MaxDialogs: 2})
	in := inbound(h, "ev-in", alice, "2001")
	in.invite(sdpBody("10.0.0.1", 4000, "", 0))
	h.at(ms(5))
	outbound(h, "ev-out", "alice", bob).invite(sdpBody("10.0.0.100", 7000, "", 0))
	if n := h.e.Stats().LiveLegs; n != 2 || len(h.calls) != 0 {
		t.Fatalf("live %d, emitted %d", n, len(h.calls))
	}
	h.at(ms(10))
	h.dialog("ev-other", carol, bob).invite("")
	if len(h.calls) != 1 || callIDs(h.calls[0]) != "ev-in,ev-out" {
		t.Fatalf("emitted %d calls", len(h.calls))
	}
	for _, l := range h.calls[0].Legs {
		if l.EndReason != Evicted {
			t.Errorf("%s ended %v", l.CallID, l.EndReason)
		}
	}
	if s := h.e.Stats(); s.Evicted != 2 || s.LiveLegs != 1 {
		t.Errorf("evicted %d live %d", s.Evicted, s.LiveLegs)
	}
	h.finish()
}

// A phone that answered a call and then places another (a consultation
// before a transfer) is not taken for a B2BUA.
func TestPhoneAnsweringThenCallingIsNotPaired(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("ph-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0), "User-Agent: Yealink SIP-T46S 66.86.0.15")
	d.ack(inv, "")
	h.at(20 * time.Second)
	h.dialog("ph-2", bob, carol).invite(sdpBody("10.0.0.2", 5002, "", 0))
	if calls := h.finish(); len(calls) != 2 {
		t.Errorf("%d calls, want 2", len(calls))
	}
}

// A 2xx the capture missed is inferred from the ACK on a branch of its own
// or from a BYE by the UAS, so the leg still ends by its hangup.
func TestMissed2xxInferred(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(d *dlg, inv *wire)
		want EndReason
	}{
		{"ACK then caller BYE", func(d *dlg, inv *wire) { d.ack(inv, ""); d.in(UAC, "BYE", "") }, CallerHangup},
		{"callee BYE", func(d *dlg, inv *wire) { d.in(UAS, "BYE", "") }, CalleeHangup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			d := h.dialog("miss-1", alice, bob)
			inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
			d.reply(inv, 180, "")
			h.at(3 * time.Second)
			tc.run(d, inv)
			c := onlyCall(t, h.finish())
			l := c.Legs[0]
			if l.EndReason != tc.want || l.Dialogs[0].State != Terminated || l.Dialogs[0].ConfirmFrame != 0 {
				t.Errorf("end %v dialog %+v", l.EndReason, l.Dialogs[0])
			}
		})
	}
}
