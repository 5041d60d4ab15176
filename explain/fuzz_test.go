package explain

import (
	"bytes"
	"testing"
	"time"

	"github.com/sipscope/sipscope/astconf"
)

// FuzzExplain runs a B2BUA call whose callee answers with fuzzed SDP,
// whose release is answered with a fuzzed status, and into which a
// fuzzed SIP message is injected, through the pipeline, the explanation
// (with a configuration) and the text rendering: nothing may panic.
func FuzzExplain(f *testing.F) {
	f.Add(pcmu("10.0.0.31:31000").body(1), 200, []byte(nil))
	f.Add(pcmu("10.0.0.31:31000").body(1), 491, []byte("INVITE sip:2001@10.0.0.12 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.30:5060;branch=z9hG4bKx\r\n"+
		"From: <sip:1001@10.0.0.30>;tag=t3a\r\nTo: <sip:2001@10.0.0.12:5060>;tag=t3b\r\nCall-ID: leg-a-call\r\nCSeq: 999 INVITE\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n"))
	f.Add("v=0\r\nc=IN IP6 ::\r\nm=audio 0 RTP/SAVP 8\r\na=inactive\r\n", 488, []byte("SIP/2.0 200 OK\r\nCall-ID: leg-b-call@10.0.0.12\r\nCSeq: 1 BYE\r\n\r\n"))
	f.Fuzz(func(t *testing.T, answer string, status int, extra []byte) {
		if status < 100 || status > 699 {
			status = 200
		}
		s := newScenario(t)
		c := newB2BUA(s)
		s.at(0)
		c.la = s.dialog("leg-a-call", c.a, c.p, "1001", "2001")
		c.lb = s.dialog("leg-b-call@10.0.0.12", c.p, c.b, "1001", "bob")
		inv := c.la.send(uac, "INVITE", c.la.sdp(uac, c.ma))
		s.after(ms)
		invB := c.lb.send(uac, "INVITE", c.lb.sdp(uac, c.pb))
		s.after(ms)
		c.lb.reply(invB, 200, "OK", answer)
		c.lb.send(uac, "ACK", "")
		c.la.reply(inv, 200, "OK", c.la.sdp(uas, c.pa))
		c.la.send(uac, "ACK", "")
		s.after(ms)
		r := c.lb.send(uac, "INVITE", c.lb.sdp(uac, c.ma))
		s.after(ms)
		c.lb.reply(r, status, "Fuzz", answer)
		c.lb.send(uac, "ACK", "")
		s.send(c.a.sig, c.p.sig, extra)
		c.anchoredRTP(10*ms, 500*ms).hangup(500 * ms)
		s.at(time.Second)
		s.send(c.a.sig, c.p.sig, extra)
		for _, in := range s.analyze() {
			in.Configs, in.Dialplans = loadConf(t, confText("no", "yes", ",tT"))
			e := Explain(in)
			var b bytes.Buffer
			if err := WriteText(&b, []Explanation{e}, TextOptions{Width: 50, Color: true}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzMatchExten applies fuzzed dialplan patterns to fuzzed numbers.
func FuzzMatchExten(f *testing.F) {
	f.Add("_X.", "2001")
	f.Add("_NXX[1-5]!", "212")
	f.Add("_[", "1")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if astconf.MatchExten(pattern, s) && !isPattern(pattern) && pattern != s {
			t.Errorf("%q matched %q", pattern, s)
		}
	})
}

func isPattern(p string) bool { return len(p) > 0 && p[0] == '_' }

// FuzzWrap keeps wrapped lines within their width.
func FuzzWrap(f *testing.F) {
	f.Add("a few words to wrap", 10, 12)
	f.Add("averyveryverylongwordwithoutspaces and more", 5, 7)
	f.Fuzz(func(t *testing.T, text string, first, rest int) {
		first, rest = first%200, rest%200
		for i, l := range wrap(text, first, rest) {
			limit := max(rest, 10)
			if i == 0 {
				limit = max(first, 10)
			}
			if n := len([]rune(l)); n > limit {
				t.Errorf("line %d has %d runes, limit %d", i, n, limit)
			}
		}
	})
}
