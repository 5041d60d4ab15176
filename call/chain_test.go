package call

import (
	"net/netip"
	"testing"
	"time"
)

// A phone calls through two B2BUAs (phone → PBX1 → PBX2 → phone). When the
// trunk between the PBXs is answered both try to release the media onto
// the phones at once: their re-INVITEs cross, both get 491, and each
// retries after its RFC 3261 §14.1 delay. The three legs are one call, the
// glare is found on the trunk, and it is recognised as a media release
// between servers.
func TestThreeLegChainWithMediaReleaseGlare(t *testing.T) {
	var (
		phoneA = party{"10.0.1.30:5060", "sip:alice@pbx1.example.com"}
		pbx1   = "10.0.1.12:5060"
		pbx2   = "10.0.1.13:5060"
		phoneB = party{"10.0.1.31:5060", "sip:bob@10.0.1.31"}
	)
	h := newHarness(t, Options{})
	l1 := h.dialog("chain-l1", phoneA, party{pbx1, "sip:2001@pbx1.example.com"})
	l2 := h.dialog("chain-l2", party{pbx1, "sip:alice@pbx1.example.com"}, party{pbx2, "sip:2001@pbx2.example.com"})
	l3 := h.dialog("chain-l3", party{pbx2, "sip:alice@pbx2.example.com"}, phoneB)
	sdpA, sdpB := sdpBody("10.0.1.30", 30000, "", 0, 101), sdpBody("10.0.1.31", 31000, "", 0, 101)

	inv1 := l1.invite(sdpA)
	l1.reply(inv1, 100, "")
	h.at(ms(3))
	inv2 := l2.invite(sdpBody("10.0.1.12", 12000, "", 0, 101))
	l2.reply(inv2, 100, "")
	h.at(ms(4))
	inv3 := l3.invite(sdpBody("10.0.1.13", 13000, "", 0, 101))
	l3.reply(inv3, 180, "")
	l2.reply(inv2, 180, "")
	l1.reply(inv1, 180, "")
	h.at(2 * time.Second)
	l3.reply(inv3, 200, sdpB)
	l3.ack(inv3, "")
	h.at(2*time.Second + ms(1))
	l2.reply(inv2, 200, sdpBody("10.0.1.13", 13002, "", 0, 101))
	l2.ack(inv2, "")
	h.at(2*time.Second + ms(2))
	l1.reply(inv1, 200, sdpBody("10.0.1.12", 12002, "", 0, 101))
	l1.ack(inv1, "")

	// Both PBXs release the trunk's media to the phones at once.
	h.at(2*time.Second + ms(3))
	fromP2 := l2.in(UAS, "INVITE", sdpB)
	h.at(2*time.Second + ms(4))
	fromP1 := l2.in(UAC, "INVITE", sdpA)
	h.at(2*time.Second + ms(5))
	r491a := l2.reply(fromP1, 491, "")
	l2.ackFailure(fromP1, r491a)
	h.at(2*time.Second + ms(7))
	r491b := l2.reply(fromP2, 491, "")
	l2.ackFailure(fromP2, r491b)

	// PBX2 does not own the trunk's Call-ID: 0-2 s. PBX1 does: 2.1-4 s.
	h.at(r491b.at + 1200*time.Millisecond)
	retry2 := l2.in(UAS, "INVITE", sdpB)
	l2.reply(retry2, 200, sdpA)
	l2.ack(retry2, "")
	h.at(r491a.at + 2800*time.Millisecond)
	retry1 := l2.in(UAC, "INVITE", sdpA)
	l2.reply(retry1, 200, sdpB)
	l2.ack(retry1, "")

	h.at(20 * time.Second)
	bye1 := l1.in(UAC, "BYE", "")
	l1.reply(bye1, 200, "")
	h.at(20*time.Second + ms(1))
	bye2 := l2.in(UAC, "BYE", "")
	l2.reply(bye2, 200, "")
	h.at(20*time.Second + ms(2))
	bye3 := l3.in(UAC, "BYE", "")
	l3.reply(bye3, 200, "")

	c := onlyCall(t, h.finish())
	if callIDs(c) != "chain-l1,chain-l2,chain-l3" {
		t.Fatalf("legs %s", callIDs(c))
	}
	b := c.B2BUAs()
	if len(b) != 2 || b[0] != netip.MustParseAddr("10.0.1.12") || b[1] != netip.MustParseAddr("10.0.1.13") {
		t.Errorf("B2BUAs %v", b)
	}
	if c.Pairing.Confidence < 0.9 {
		t.Errorf("pairing %+v", c.Pairing)
	}
	if len(c.Glare) != 1 {
		t.Fatalf("%d glares", len(c.Glare))
	}
	g := c.Glare[0]
	if g.Leg != 1 || g.CallID != "chain-l2" || !g.MediaRelease || !g.BetweenServers {
		t.Errorf("glare on leg %d (%s) release=%v between-servers=%v", g.Leg, g.CallID, g.MediaRelease, g.BetweenServers)
	}
	if !sameInts(g.Frames(), []int{fromP2.frame, fromP1.frame, r491a.frame, r491b.frame}) {
		t.Errorf("glare frames %v", g.Frames())
	}
	if len(g.Retries) != 2 {
		t.Fatalf("retries %+v", g.Retries)
	}
	first, second := g.Retries[0], g.Retries[1]
	if first.Frame != retry2.frame || first.By != UAS || first.CallIDOwner || !first.WindowOK || first.Delay != 1200*time.Millisecond {
		t.Errorf("PBX2 retry %+v", first)
	}
	if second.Frame != retry1.frame || second.By != UAC || !second.CallIDOwner || !second.WindowOK || second.Delay != 2800*time.Millisecond {
		t.Errorf("PBX1 retry %+v", second)
	}
	for _, r := range c.Legs[1].MidDialog {
		if r.Target != TargetEndpoint {
			t.Errorf("trunk re-INVITE f%d target %v, want endpoint", r.Frame, r.Target)
		}
	}
}
