package analysis

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/internal/gencap"
	"github.com/sipscope/sipscope/media"
)

// TestPBXWithTwoAddressesIsOneAnchoredCall covers a PBX that takes calls on
// its LAN address and places them from its WAN address, anchoring the
// media on both: each call is one call of two legs, anchored, and nothing
// says the phones talked directly or that no B2BUA took part.
func TestPBXWithTwoAddressesIsOneAnchoredCall(t *testing.T) {
	p := filepath.Join(t.TempDir(), "two-addresses.pcap")
	st, err := gencap.WriteFile(p, gencap.Config{Calls: 6, Duration: 12 * time.Second, Hold: 3 * time.Second, B2BUA: true, PBXOutside: true, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Files([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Calls) != st.Calls || rep.Summary.Dialogs != st.Legs {
		t.Fatalf("%d calls of %d dialogs, generated %d calls of %d legs", len(rep.Calls), rep.Summary.Dialogs, st.Calls, st.Legs)
	}
	for _, c := range rep.Calls {
		if len(c.Legs) != 2 || c.Media.Verdict != media.Anchored {
			t.Errorf("call %s: %d legs, verdict %s", c.ID, len(c.Legs), c.Media.Verdict)
			continue
		}
		if !strings.Contains(c.Pairing.Basis, "two addresses of one server") || !strings.Contains(c.Media.Narrative, "its other address") {
			t.Errorf("call %s: pairing %q, narrative %q", c.ID, c.Pairing.Basis, c.Media.Narrative)
		}
		for _, r := range c.Media.Reasons {
			if r.Code == explain.CodeDirectEndToEnd || r.Code == explain.CodeDirectInitialInvite || r.Code == explain.CodeNAT {
				t.Errorf("call %s: reason %s: %s", c.ID, r.Code, r.Text)
			}
		}
	}
}

// TestMediaServerAnsweringFromOneAddress covers a callee that answers every
// call from the same RTP address (a media server, an IVR, SIPp's uas): each
// answer re-announces the address, so the destination of a caller's stream
// names whichever call answered last. Every call must still get its own two
// streams and be judged direct.
func TestMediaServerAnsweringFromOneAddress(t *testing.T) {
	p := filepath.Join(t.TempDir(), "one-callee.pcap")
	st, err := gencap.WriteFile(p, gencap.Config{Calls: 100, Duration: 30 * time.Second, Hold: 5 * time.Second, OneCallee: true, Seed: 17})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Files([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Calls) != st.Calls || len(rep.Streams) != 0 {
		t.Fatalf("%d calls and %d streams outside calls, generated %d calls", len(rep.Calls), len(rep.Streams), st.Calls)
	}
	wrong := 0
	for _, c := range rep.Calls {
		if len(c.Media.Streams) != 2 || c.Media.Verdict != media.Direct {
			if wrong++; wrong <= 3 {
				t.Errorf("call %s: %d streams, verdict %s", c.ID, len(c.Media.Streams), c.Media.Verdict)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d calls lost or gained streams", wrong, len(rep.Calls))
	}
}
