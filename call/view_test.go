package call

import (
	"testing"
	"time"
)

// views reads the dialog from both ends: the caller's (UAC) and the
// callee's (UAS).
func views(t *testing.T, h *harness, d *dlg) (uac, uas DialogView) {
	t.Helper()
	uac, ok := h.e.Dialog(DialogID{CallID: d.callID, LocalTag: d.aTag, RemoteTag: d.bTag})
	if !ok {
		t.Fatal("the caller's end finds no dialog")
	}
	uas, ok = h.e.Dialog(DialogID{CallID: d.callID, LocalTag: d.bTag, RemoteTag: d.aTag})
	if !ok {
		t.Fatal("the callee's end finds no dialog")
	}
	return uac, uas
}

// The view follows the dialog through RFC 3261 §12's states from either
// end, and says which end owns the Call-ID.
func TestDialogViewFollowsTheDialogState(t *testing.T) {
	offer := sdpBody("10.0.0.1", 4000, "", 0, 101)
	answerSDP := sdpBody("10.0.0.2", 5000, "", 0, 101)
	tests := []struct {
		name  string
		run   func(d *dlg)
		state DialogState
	}{
		{"an INVITE alone creates no dialog yet", func(d *dlg) { d.invite(offer) }, 0},
		{"100 Trying creates no dialog", func(d *dlg) { d.reply(d.invite(offer), 100, "") }, 0},
		{"180 with a tag makes it early", func(d *dlg) { d.reply(d.invite(offer), 180, "") }, Early},
		{"2xx confirms it", func(d *dlg) { d.reply(d.invite(offer), 200, answerSDP) }, Confirmed},
		{"BYE terminates it", func(d *dlg) {
			answer(d.h, d)
			d.in(UAS, "BYE", "")
		}, Terminated},
		{"a failure after 180 terminates the early dialog", func(d *dlg) {
			inv := d.invite(offer)
			d.reply(inv, 180, "")
			d.reply(inv, 486, "")
		}, Terminated},
		{"CANCEL and 487 terminate it", func(d *dlg) {
			inv := d.invite(offer)
			d.reply(inv, 180, "")
			d.cancel(inv)
			d.reply(inv, 487, "")
		}, Terminated},
		{"a failure without a tag ends the dialog set (§12.3)", func(d *dlg) {
			inv := d.invite(offer)
			d.replyTag(inv, 503, "", "")
		}, Terminated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			d := h.dialog("state-1", alice, bob)
			tc.run(d)
			uac, uas := views(t, h, d)
			if uac.State != tc.state || uas.State != tc.state {
				t.Errorf("state: caller's end %v, callee's end %v, want %v", uac.State, uas.State, tc.state)
			}
			if uac.Local != UAC || !uac.CallIDOwner() || uas.Local != UAS || uas.CallIDOwner() {
				t.Errorf("caller's end plays %v (owner %v), callee's end %v (owner %v)", uac.Local, uac.CallIDOwner(), uas.Local, uas.CallIDOwner())
			}
		})
	}
}

// A UAC that has had no response yet names the dialog without a remote
// tag; unknown dialogs, and dialogs of calls already emitted, are not found.
func TestDialogLookup(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("lookup-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	v, ok := h.e.Dialog(DialogID{CallID: d.callID, LocalTag: d.aTag})
	if !ok || v.Local != UAC || !v.UAC.Invite || !v.UAC.Offering || v.UAC.CSeq != inv.m.CSeq {
		t.Errorf("caller before any response: found %v, %+v", ok, v)
	}
	for _, id := range []DialogID{
		{CallID: "other", LocalTag: d.aTag},
		{CallID: d.callID, LocalTag: "", RemoteTag: d.bTag},
		{CallID: d.callID, LocalTag: "stranger", RemoteTag: "nobody"},
	} {
		if _, ok := h.e.Dialog(id); ok {
			t.Errorf("%+v found", id)
		}
	}
	if !h.e.Holds(d.callID) || h.e.Holds("other") {
		t.Error("Holds does not follow the legs held")
	}
	d.reply(inv, 486, "")
	d.ackFailure(inv, h.sent[len(h.sent)-1])
	h.advance(time.Minute)
	if len(h.calls) != 1 {
		t.Fatalf("%d calls emitted", len(h.calls))
	}
	if _, ok := h.e.Dialog(DialogID{CallID: d.callID, LocalTag: d.aTag, RemoteTag: d.bTag}); ok {
		t.Error("a dialog of an emitted call is still found")
	}
	if h.e.Holds(d.callID) {
		t.Error("the leg of an emitted call is still held")
	}
}

// Requests and offers under way on each side, the 2xx awaiting its ACK,
// the CSeq numbers and the established media, as they change through a
// call with a re-INVITE from the callee.
func TestDialogViewTracksWhatEachSideHasUnderWay(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("underway-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0, 101))
	d.reply(inv, 180, "")
	uac, uas := views(t, h, d)
	if !uac.UAC.Invite || !uac.UAC.Offering || uac.UAS.Invite || uac.UAS.Offering || uac.Ready() {
		t.Errorf("ringing: %+v", uac)
	}
	if uas.Side(uas.Remote()).CSeq != inv.m.CSeq || uas.Side(uas.Local).CSeq != 0 {
		t.Errorf("the callee's remote CSeq %d, its own %d; want the INVITE's %d and 0", uas.Side(uas.Remote()).CSeq, uas.Side(uas.Local).CSeq, inv.m.CSeq)
	}

	ok := d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0, 101))
	uac, _ = views(t, h, d)
	if uac.UAC.Invite || uac.UAC.Offering || !uac.AwaitingACK || uac.ACKCSeq != inv.m.CSeq || uac.Ready() {
		t.Errorf("answered, not acknowledged: %+v", uac)
	}
	if uac.UAC.Media == nil || uac.UAC.Media.Frame != inv.frame || uac.UAS.Media == nil || uac.UAS.Media.Frame != ok.frame {
		t.Errorf("established media: %+v / %+v", uac.UAC.Media, uac.UAS.Media)
	}

	d.ack(inv, "")
	uac, uas = views(t, h, d)
	if uac.AwaitingACK || !uac.Ready() || !uas.Ready() {
		t.Errorf("acknowledged: caller's end %+v, callee's end %+v", uac, uas)
	}

	re := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "sendonly", 0, 101))
	uac, uas = views(t, h, d)
	if !uas.UAS.Invite || !uas.UAS.Offering || uas.UAS.CSeq != re.m.CSeq || uas.Ready() || uac.Ready() {
		t.Errorf("re-INVITE pending: %+v", uas)
	}
	if uac.Side(uac.Remote()) != uas.Side(uas.Local) {
		t.Errorf("the two ends disagree on the callee's side: %+v / %+v", uac.Side(uac.Remote()), uas.Side(uas.Local))
	}

	reOK := d.reply(re, 200, sdpBody("10.0.0.1", 4000, "recvonly", 0, 101))
	d.ack(re, "")
	uac, _ = views(t, h, d)
	if uac.UAS.Invite || uac.UAS.Offering || !uac.Ready() || uac.UAS.Media.Frame != re.frame || uac.UAC.Media.Frame != reOK.frame {
		t.Errorf("re-INVITE answered: %+v", uac)
	}
}

// An offerless re-INVITE makes its 2xx the offer and the ACK the answer:
// until the ACK the answering side is offering (RFC 3264 §4, RFC 3261
// §14.1).
func TestDialogViewOfferInA2xx(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("late-1", alice, bob)
	answer(h, d)
	re := d.in(UAC, "INVITE", "")
	uac, _ := views(t, h, d)
	if !uac.UAC.Invite || uac.UAC.Offering {
		t.Errorf("offerless re-INVITE: %+v", uac)
	}
	d.reply(re, 200, sdpBody("10.0.0.2", 5004, "", 0))
	uac, _ = views(t, h, d)
	if uac.UAC.Invite || !uac.UAS.Offering || !uac.AwaitingACK || uac.Ready() {
		t.Errorf("2xx with the offer: %+v", uac)
	}
	d.ack(re, sdpBody("10.0.0.1", 4000, "", 0))
	uac, _ = views(t, h, d)
	if uac.UAS.Offering || uac.AwaitingACK || !uac.Ready() {
		t.Errorf("ACK with the answer: %+v", uac)
	}
}

// A request whose Timer B or F ran out on the engine's clock waits no
// more (RFC 3261 §17.1.1.2, §17.1.2.2).
func TestDialogViewForgetsTimedOutRequests(t *testing.T) {
	for _, method := range []string{"INVITE", "UPDATE"} {
		t.Run(method, func(t *testing.T) {
			h := newHarness(t, Options{})
			d := h.dialog("timeout-"+method, alice, bob)
			answer(h, d)
			h.at(time.Second)
			d.in(UAC, method, sdpBody("10.0.0.1", 4002, "", 0))
			h.advance(time.Second + timerB - time.Millisecond)
			if uac, _ := views(t, h, d); uac.Ready() {
				t.Errorf("ready before Timer %s ran out: %+v", map[string]string{"INVITE": "B", "UPDATE": "F"}[method], uac)
			}
			h.advance(time.Second + timerB)
			if uac, _ := views(t, h, d); !uac.Ready() || uac.UAC.Invite || uac.UAC.Update || uac.UAC.Offering {
				t.Errorf("after the timeout: %+v", uac)
			}
		})
	}
}

// Conflict gives the answer RFC 3261 §14.2 and RFC 3311 §5.2 require of a
// UAS for a request from its peer, judged by the dialog before the request.
func TestConflictFollowsRFC3261And3311(t *testing.T) {
	tests := []struct {
		name string
		// pending runs after the dialog is confirmed; the asking end is
		// the callee (UAS) and its peer the caller.
		pending func(d *dlg)
		method  string
		offer   bool
		want    int
	}{
		{"nothing under way", func(d *dlg) {}, "INVITE", true, 0},
		{"an UPDATE with nothing under way", func(d *dlg) {}, "UPDATE", true, 0},
		{"our re-INVITE in progress: INVITE glare", func(d *dlg) {
			d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
		}, "INVITE", true, 491},
		{"our re-INVITE in progress: offerless INVITE still glare", func(d *dlg) {
			d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
		}, "INVITE", false, 491},
		{"our offerless re-INVITE in progress", func(d *dlg) {
			d.in(UAS, "INVITE", "")
		}, "INVITE", true, 491},
		{"our UPDATE's offer unanswered: INVITE with offer", func(d *dlg) {
			d.in(UAS, "UPDATE", sdpBody("10.0.0.2", 5002, "", 0))
		}, "INVITE", true, 491},
		{"our UPDATE's offer unanswered: UPDATE with offer", func(d *dlg) {
			d.in(UAS, "UPDATE", sdpBody("10.0.0.2", 5002, "", 0))
		}, "UPDATE", true, 491},
		{"our re-INVITE's offer unanswered: UPDATE with offer", func(d *dlg) {
			d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
		}, "UPDATE", true, 491},
		{"our re-INVITE in progress: UPDATE without offer is a refresh", func(d *dlg) {
			d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
		}, "UPDATE", false, 0},
		{"the peer's INVITE not finally answered", func(d *dlg) {
			d.in(UAC, "INVITE", sdpBody("10.0.0.1", 4002, "", 0))
		}, "INVITE", true, 500},
		{"the peer's UPDATE offer not answered yet", func(d *dlg) {
			d.in(UAC, "UPDATE", sdpBody("10.0.0.1", 4002, "", 0))
		}, "UPDATE", true, 500},
		{"our offer still waits after we refused the peer's crossing one", func(d *dlg) {
			d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
			peer := d.in(UAC, "INVITE", sdpBody("10.0.0.1", 4002, "", 0))
			d.ackFailure(peer, d.reply(peer, 491, ""))
		}, "UPDATE", true, 491},
		{"our re-INVITE refused with 491 is over", func(d *dlg) {
			re := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
			r := d.reply(re, 491, "")
			d.ackFailure(re, r)
		}, "INVITE", true, 0},
		{"our re-INVITE answered, ACK sent", func(d *dlg) {
			re := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
			d.reply(re, 200, sdpBody("10.0.0.1", 4000, "", 0))
			d.ack(re, "")
		}, "INVITE", true, 0},
		{"BYE is never glare", func(d *dlg) {
			d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "", 0))
		}, "BYE", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			d := h.dialog("conflict-1", alice, bob)
			answer(h, d)
			tc.pending(d)
			_, uas := views(t, h, d)
			if got := uas.Conflict(tc.method, tc.offer); got != tc.want {
				t.Errorf("Conflict(%s, offer %v) = %d, want %d; view %+v", tc.method, tc.offer, got, tc.want, uas)
			}
		})
	}
}

// The early dialog: a request from the callee while the caller's INVITE
// is still in progress crosses it.
func TestConflictInAnEarlyDialog(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("early-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
	d.reply(inv, 180, "")
	uac, uas := views(t, h, d)
	if got := uac.Conflict("INVITE", true); got != 491 {
		t.Errorf("the caller answers an INVITE crossing its own with %d, want 491", got)
	}
	if got := uas.Conflict("INVITE", true); got != 500 {
		t.Errorf("the callee answers a second INVITE with %d, want 500", got)
	}
}
