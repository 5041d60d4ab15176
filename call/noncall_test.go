package call

import (
	"testing"
	"time"
)

// Transactions outside INVITE dialogs are counted once each with their
// outcome; their retransmissions are recognised.
func TestNonCallTransactionsCounted(t *testing.T) {
	h := newHarness(t, Options{})
	reg := h.dialog("reg-1", alice, party{pbx.addr, alice.uri})
	r1 := reg.in(UAC, "REGISTER", "")
	h.at(ms(500))
	h.resend(r1)
	reg.replyTag(r1, 401, "r1", "")
	r2 := reg.in(UAC, "REGISTER", "", `Authorization: Digest username="alice"`)
	reg.replyTag(r2, 200, "r1", "")
	h.dialog("opt-1", pbx, alice).in(UAC, "OPTIONS", "")
	sub := h.dialog("sub-1", alice, pbx)
	s := sub.request(UAC, "SUBSCRIBE", 1, false, "", "Event: presence")
	sub.reply(s, 202, "")
	nt := sub.in(UAS, "NOTIFY", "", "Event: presence", "Subscription-State: active")
	sub.reply(nt, 200, "")
	msg := h.dialog("msg-1", alice, bob).in(UAC, "MESSAGE", "")
	h.dialog("msg-1", alice, bob).reply(msg, 200, "")
	h.advance(40 * time.Second)
	calls := h.finish()
	if len(calls) != 0 {
		t.Errorf("%d calls from non-INVITE traffic", len(calls))
	}
	st := h.e.Stats()
	want := map[string]Outcomes{
		"REGISTER":  {Transactions: 2, OK: 1, Challenged: 1},
		"OPTIONS":   {Transactions: 1, Unanswered: 1},
		"SUBSCRIBE": {Transactions: 1, OK: 1},
		"NOTIFY":    {Transactions: 1, OK: 1},
		"MESSAGE":   {Transactions: 1, OK: 1},
	}
	got := map[string]Outcomes{"REGISTER": st.Register, "OPTIONS": st.Options, "SUBSCRIBE": st.Subscribe, "NOTIFY": st.Notify, "MESSAGE": st.Message}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	if st.NonInviteDialogs != 1 || st.Retransmissions != 1 || st.Methods["REGISTER"] != 3 || st.Statuses[401] != 1 {
		t.Errorf("stats %+v", st)
	}
}
