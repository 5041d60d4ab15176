package call

import (
	"testing"
	"time"
)

// glareRun answers a call, makes both sides send a request at once (each
// before the other's final response), answers both with 491, and retries
// each side after the given delays.
func glareRun(t *testing.T, uacMethod, uasMethod string, uacDelay, uasDelay time.Duration) (*Call, [2]*wire, [2]*wire, [2]*wire) {
	h := newHarness(t, Options{})
	d := h.dialog("glare-1", alice, bob)
	answer(h, d)
	h.at(5 * time.Second)
	fromA := d.in(UAC, uacMethod, sdpBody("10.0.0.1", 4010, "", 0, 101))
	h.at(5*time.Second + ms(1))
	fromB := d.in(UAS, uasMethod, sdpBody("10.0.0.2", 5010, "", 0, 101))
	h.at(5*time.Second + ms(2))
	r491B := d.reply(fromA, 491, "") // B refuses A's request
	h.resend(r491B)                  // a retransmission must not count twice
	h.at(5*time.Second + ms(3))
	r491A := d.reply(fromB, 491, "")
	if uacMethod == "INVITE" {
		d.ackFailure(fromA, r491B)
	}
	if uasMethod == "INVITE" {
		d.ackFailure(fromB, r491A)
	}
	var retries [2]*wire
	type step struct {
		at   time.Duration
		from Side
	}
	steps := []step{{r491B.at + uacDelay, UAC}, {r491A.at + uasDelay, UAS}}
	if steps[1].at < steps[0].at {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, s := range steps {
		h.at(s.at)
		method := uacMethod
		addr, port := "10.0.0.1", 4010
		if s.from == UAS {
			method, addr, port = uasMethod, "10.0.0.2", 5010
		}
		re := d.in(s.from, method, sdpBody(addr, port, "", 0, 101))
		d.reply(re, 200, sdpBody("10.0.0.9", 9000, "", 0, 101))
		if method == "INVITE" {
			d.ack(re, "")
		}
		retries[s.from-1] = re
	}
	h.at(20 * time.Second)
	d.in(UAC, "BYE", "")
	return onlyCall(t, h.finish()), [2]*wire{fromA, fromB}, [2]*wire{r491B, r491A}, retries
}

// Crossing re-INVITEs refused with 491 on both sides are glare; each retry
// is timed from its 491 and checked against the RFC 3261 §14.1 window.
func TestGlareRetriesInAndOutOfWindow(t *testing.T) {
	for _, tc := range []struct {
		name               string
		uacMethod, uasMeth string
		uacDelay, uasDelay time.Duration
		uacOK, uasOK       bool
	}{
		{"both in window", "INVITE", "INVITE", 3 * time.Second, 1200 * time.Millisecond, true, true},
		{"both out of window", "INVITE", "INVITE", 1 * time.Second, 2500 * time.Millisecond, false, false},
		{"owner too late", "INVITE", "INVITE", 4500 * time.Millisecond, 100 * time.Millisecond, false, true},
		{"UPDATE crossing re-INVITE", "UPDATE", "INVITE", 2200 * time.Millisecond, 10 * time.Millisecond, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, reqs, r491, retries := glareRun(t, tc.uacMethod, tc.uasMeth, tc.uacDelay, tc.uasDelay)
			if len(c.Glare) != 1 {
				t.Fatalf("%d glares", len(c.Glare))
			}
			g := c.Glare[0]
			if len(g.Requests) != 2 || g.Requests[0].Frame != reqs[0].frame || g.Requests[1].Frame != reqs[1].frame {
				t.Errorf("requests %v", g.Frames())
			}
			if !sameInts(g.Responses491, []int{r491[0].frame, r491[1].frame}) {
				t.Errorf("491s %v, want f%d f%d", g.Responses491, r491[0].frame, r491[1].frame)
			}
			if len(g.Retries) != 2 {
				t.Fatalf("retries %+v", g.Retries)
			}
			for _, r := range g.Retries {
				want, wantOK, wantFrame := tc.uasDelay, tc.uasOK, retries[1].frame
				if r.By == UAC {
					want, wantOK, wantFrame = tc.uacDelay, tc.uacOK, retries[0].frame
				}
				if r.Frame != wantFrame || r.Delay != want || r.WindowOK != wantOK || r.CallIDOwner != (r.By == UAC) || r.Status != 200 {
					t.Errorf("retry %+v, want f%d after %v ok=%v", r, wantFrame, want, wantOK)
				}
			}
			for _, m := range c.Legs[0].MidDialog {
				if m.Frame == retries[0].frame && m.RetryOf != reqs[0].frame {
					t.Errorf("retry f%d names f%d as its refused request, want f%d", m.Frame, m.RetryOf, reqs[0].frame)
				}
			}
			if g.MediaRelease || g.BetweenServers {
				t.Errorf("phones' glare flagged as media release between servers")
			}
		})
	}
}

// Requests that do not cross (the second sent after the first's final
// response) are not glare, even when one was refused.
func TestSequentialRequestsAreNotGlare(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("seq-1", alice, bob)
	answer(h, d)
	re := d.in(UAC, "INVITE", sdpBody("10.0.0.1", 4010, "", 0))
	d.reply(re, 491, "")
	h.at(ms(100))
	re2 := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5010, "", 0))
	d.reply(re2, 200, sdpBody("10.0.0.1", 4000, "", 0))
	c := onlyCall(t, h.finish())
	if len(c.Glare) != 0 {
		t.Errorf("glare %+v", c.Glare)
	}
}
