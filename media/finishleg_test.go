package media

import (
	"slices"
	"testing"
	"time"
)

// TestFinishLegFinishesTheLegsStreamsOnly covers the streams a leg owns:
// sent to an address it announced, or from one (symmetric RTP toward an
// address nobody announced), claimed after they began, and the streams it
// must leave alone: another leg's, also to a server address both legs
// announced in turn.
func TestFinishLegFinishesTheLegsStreamsOnly(t *testing.T) {
	var finished []*Stream
	tr := NewTracker(Options{OnFinish: func(s *Stream) { finished = append(finished, s) }})
	f := feeder{tr: tr}
	a, b := ap("192.0.2.1:5060"), ap("192.0.2.2:5060")
	server := ap("192.0.2.2:6000")

	f.announce("one", UAC, a, ap("192.0.2.1:4000"))
	f.announce("one", UAS, b, server)
	f.flow(ap("192.0.2.1:4000"), server, 1, 0, 5) // to an address "one" announced
	f.flow(server, ap("192.0.2.1:4000"), 2, 0, 5)
	// Sent from "one"'s address to one nobody announced: "one" owns it by
	// its source.
	f.flow(ap("192.0.2.1:4000"), ap("198.51.100.9:7000"), 3, 0, 5)
	// Sent before anything announced its destination, then claimed.
	f.flow(ap("198.51.100.8:7100"), ap("192.0.2.1:4100"), 4, 0, 5)
	f.announce("one", UAC, a, ap("192.0.2.1:4100"))

	// "two" answers from the same server address after "one" did.
	f.announce("two", UAC, ap("192.0.2.3:5060"), ap("192.0.2.3:4000"))
	f.announce("two", UAS, b, server)
	f.flow(ap("192.0.2.3:4000"), server, 5, time.Second, 5)
	f.flow(server, ap("192.0.2.3:4000"), 6, time.Second, 5)

	tr.FinishLeg("one")
	var got []uint32
	for _, s := range finished {
		got = append(got, s.SSRC)
	}
	slices.Sort(got)
	if !slices.Equal(got, []uint32{1, 2, 3, 4}) {
		t.Errorf("FinishLeg(one) finished SSRCs %v, want 1 2 3 4", got)
	}
	finished = nil
	tr.FinishLeg("two")
	if len(finished) != 2 || finished[0].SSRC+finished[1].SSRC != 11 {
		t.Errorf("FinishLeg(two) finished %d streams", len(finished))
	}
	if len(tr.live) != 0 || len(tr.byEnd) != 0 {
		t.Errorf("%d live streams, %d addresses indexed after both legs finished", len(tr.live), len(tr.byEnd))
	}
}

// TestOwnersPreferAnAddressNoOtherLegShares checks whose a stream is when
// its two ends name different calls: the end a server re-announces for
// every call says less than the caller's own address.
func TestOwnersPreferAnAddressNoOtherLegShares(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	server := ap("192.0.2.2:6000")
	f.announce("first", UAC, ap("192.0.2.1:5060"), ap("192.0.2.1:4000"))
	f.announce("first", UAS, ap("192.0.2.2:5060"), server)
	f.announce("second", UAC, ap("192.0.2.3:5060"), ap("192.0.2.3:4000"))
	f.announce("second", UAS, ap("192.0.2.2:5060"), server)
	// The first caller's audio starts after the second answer took over
	// the server's address.
	f.flow(ap("192.0.2.1:4000"), server, 1, 0, 3)
	f.flow(server, ap("192.0.2.1:4000"), 2, 0, 3)
	for _, s := range tr.Streams() {
		if o := s.Owners(); len(o) != 2 || o[0] != "first" || o[1] != "second" {
			t.Errorf("stream SSRC %d: owners %v, want first, then second", s.SSRC, o)
		}
	}
}
