package call

import (
	"strings"
	"testing"
	"time"
)

// Mid-dialog requests are classified against the sender's established SDP
// and get their outcome.
func TestMidDialogClassificationAndOutcome(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(h *harness, d *dlg) // after the call is answered with 10.0.0.1:4000 PCMU
		method  string
		sdp     string
		reply   int // 0: none
		change  Change
		outcome string
	}{
		{name: "session refresh", method: "INVITE", sdp: sdpBody("10.0.0.1", 4000, "sendrecv", 0, 101), reply: 200, change: 0, outcome: "200"},
		{name: "refresh by UPDATE without SDP", method: "UPDATE", reply: 200, change: 0, outcome: "200"},
		{name: "hold sendonly", method: "INVITE", sdp: sdpBody("10.0.0.1", 4000, "sendonly", 0, 101), reply: 200, change: Hold, outcome: "200"},
		{name: "hold inactive", method: "INVITE", sdp: sdpBody("10.0.0.1", 4000, "inactive", 0, 101), reply: 200, change: Hold, outcome: "200"},
		{name: "hold c=0.0.0.0", method: "INVITE", sdp: sdpBody("0.0.0.0", 4000, "", 0, 101), reply: 200, change: Hold, outcome: "200"},
		{
			name: "resume",
			setup: func(h *harness, d *dlg) {
				re := d.in(UAC, "INVITE", sdpBody("10.0.0.1", 4000, "sendonly", 0, 101))
				d.reply(re, 200, sdpBody("10.0.0.2", 5000, "recvonly", 0, 101))
				d.ack(re, "")
			},
			method: "INVITE", sdp: sdpBody("10.0.0.1", 4000, "sendrecv", 0, 101), reply: 200, change: Resume, outcome: "200",
		},
		{name: "redirect to a new port", method: "INVITE", sdp: sdpBody("10.0.0.1", 4010, "", 0, 101), reply: 200, change: Redirect, outcome: "200"},
		{name: "redirect by UPDATE to a new address", method: "UPDATE", sdp: sdpBody("10.0.0.9", 4000, "", 0, 101), reply: 200, change: Redirect, outcome: "200"},
		{name: "codec change refused", method: "INVITE", sdp: sdpBody("10.0.0.1", 4000, "", 18, 101), reply: 488, change: CodecChange, outcome: "488"},
		{name: "request pending", method: "INVITE", sdp: sdpBody("10.0.0.1", 4010, "", 0, 101), reply: 491, change: Redirect, outcome: "491"},
		{name: "server error", method: "UPDATE", sdp: sdpBody("10.0.0.1", 4010, "", 0, 101), reply: 500, change: Redirect, outcome: "500"},
		{name: "timeout", method: "INVITE", sdp: sdpBody("10.0.0.1", 4000, "sendonly", 0, 101), change: Hold, outcome: "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			d := h.dialog("mid-1", alice, bob)
			answer(h, d)
			if tc.setup != nil {
				tc.setup(h, d)
			}
			h.at(10 * time.Second)
			re := d.in(UAC, tc.method, tc.sdp)
			if tc.reply != 0 {
				body := ""
				if tc.reply == 200 && tc.sdp != "" {
					body = sdpBody("10.0.0.2", 5000, "", 0, 101)
				}
				d.reply(re, tc.reply, body)
			} else {
				h.advance(45 * time.Second)
			}
			h.at(50 * time.Second)
			d.in(UAC, "BYE", "")
			c := onlyCall(t, h.finish())
			mid := c.Legs[0].MidDialog
			r := mid[len(mid)-1]
			if r.Frame != re.frame || !r.Baseline || r.Change != tc.change || r.Outcome() != tc.outcome {
				t.Errorf("f%d baseline=%v change=%v outcome=%s, want f%d %v %s", r.Frame, r.Baseline, r.Change, r.Outcome(),
					re.frame, tc.change, tc.outcome)
			}
		})
	}
}

// A re-INVITE without SDP asks the other side to offer in its 2xx; the ACK
// answers. The change is judged on the offering side's earlier SDP.
func TestOfferlessReinvite(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("offerless-1", alice, bob)
	answer(h, d)
	re := d.in(UAC, "INVITE", "")
	ok := d.reply(re, 200, sdpBody("10.0.0.2", 5010, "", 0, 101))
	a := d.ack(re, sdpBody("10.0.0.1", 4000, "", 0, 101))
	c := onlyCall(t, h.finish())
	r := c.Legs[0].MidDialog[0]
	if r.Offer == nil || r.Offer.Frame != ok.frame || r.Offer.Sender != UAS || r.Answer == nil || r.Answer.Frame != a.frame {
		t.Fatalf("offer %+v answer %+v", r.Offer, r.Answer)
	}
	if r.Change != Redirect || !r.Baseline {
		t.Errorf("change %v baseline %v", r.Change, r.Baseline)
	}
	if got := exchanges(c.Legs[0].Dialogs[0]); got != "uac:INVITE>200 INVITE, uas:200 INVITE>ACK" {
		t.Errorf("exchanges %s", got)
	}
}

// A leg whose start the capture missed is still followed; its re-INVITE
// has no baseline to compare with.
func TestCaptureStartingMidCall(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("partial-1", alice, bob)
	re := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5000, "sendonly", 0))
	d.reply(re, 200, sdpBody("10.0.0.1", 4000, "recvonly", 0))
	d.ack(re, "")
	d.in(UAC, "BYE", "")
	c := onlyCall(t, h.finish())
	l := c.Legs[0]
	if !l.Partial || len(l.MidDialog) != 1 || l.MidDialog[0].Baseline || l.EndReason != CalleeHangup {
		// The first message seen was from bob, so bob is taken as the UAC.
		t.Errorf("partial %v mid %d baseline %v end %v", l.Partial, len(l.MidDialog), l.MidDialog[0].Baseline, l.EndReason)
	}
	if !strings.Contains(l.UAC.String(), "10.0.0.2") {
		t.Errorf("UAC %v", l.UAC)
	}
}
