package scenario

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/media"
)

// TestCatalogueRoundTrip runs every built-in scenario in fast mode and
// analyzes its capture: the verdict and the reasons must be the ones the
// scenario says it demonstrates.
func TestCatalogueRoundTrip(t *testing.T) {
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			res, o := catalogued(t, s.Name)
			var b bytes.Buffer
			o.WriteComparison(&b)
			t.Logf("%d packets, %s of capture in %s\n%s", res.Packets, res.Span.Round(1e6), res.Wall.Round(1e5), b.String())
			if !o.Agrees() {
				t.Errorf("analysis disagrees: %s", strings.Join(o.Problems, "; "))
			}
			if res.Lost != 0 {
				t.Errorf("%d datagrams lost", res.Lost)
			}
		})
	}
}

// TestCatalogueBehaviour checks, per scenario, what the hosts did that the
// verdict alone does not show.
func TestCatalogueBehaviour(t *testing.T) {
	phone := func(res *Result, name string) PhoneStats {
		for _, p := range res.Phones {
			if p.Host == name {
				return p
			}
		}
		t.Fatalf("no phone %s", name)
		return PhoneStats{}
	}
	decision := func(res *Result, host string) Decision {
		for _, d := range res.Decisions {
			if d.Host == host {
				return d
			}
		}
		t.Fatalf("no decision of %s", host)
		return Decision{}
	}
	tests := []struct {
		name  string
		check func(t *testing.T, res *Result, o *Outcome)
	}{
		{"directmedia-no", func(t *testing.T, res *Result, o *Outcome) {
			if d := decision(res, "pbx1"); d.Bridge != policy.NativeLocal || !d.Has(policy.CodeDirectMediaNo) {
				t.Errorf("bridge %s", d.Bridge)
			}
			if !relaysSSRC(o.Call.Streams) {
				t.Error("no SSRC both enters and leaves the PBX: the relay does not pass packets through")
			}
		}},
		{"codec-mismatch", func(t *testing.T, res *Result, o *Outcome) {
			pts := map[uint8]bool{}
			for _, s := range o.Call.Streams {
				pts[s.PayloadType] = true
			}
			if !pts[0] || !pts[8] || relaysSSRC(o.Call.Streams) {
				t.Errorf("payload types %v, relayed SSRC %v: want PCMU and PCMA streams of the PBX's own", pts, relaysSSRC(o.Call.Streams))
			}
		}},
		{"dtmf-mismatch", func(t *testing.T, res *Result, o *Outcome) {
			if bob := phone(res, "bob"); bob.UnnegotiatedEvents == 0 || bob.Digits != "" {
				t.Errorf("bob got %d unnegotiated events and digits %q: the events should reach him unread", bob.UnnegotiatedEvents, bob.Digits)
			}
		}},
		{"dtmf-translated", func(t *testing.T, res *Result, o *Outcome) {
			if d := decision(res, "pbx1"); d.Bridge != policy.Simple {
				t.Errorf("bridge %s, want simple", d.Bridge)
			}
			if bob := phone(res, "bob"); bob.Digits != "1234#" || bob.UnnegotiatedEvents != 0 {
				t.Errorf("bob heard %q and got %d unnegotiated events: want the digits as tones", bob.Digits, bob.UnnegotiatedEvents)
			}
			if relaysSSRC(o.Call.Streams) {
				t.Error("an SSRC passes through the PBX: the core should send its own")
			}
		}},
		{"two-pbx-glare", func(t *testing.T, res *Result, o *Outcome) {
			if len(o.Call.Glare) != 1 || len(o.Call.Glare[0].Retries) != 2 {
				t.Fatalf("glare %+v", o.Call.Glare)
			}
			for _, r := range o.Call.Glare[0].Retries {
				if !r.RFC3261WindowOK {
					t.Errorf("retry f%d after %.0f ms is outside its RFC 3261 §14.1 window (owner %v)", r.Frame, r.RetryDelayMs, r.CallIDOwner)
				}
			}
			if d := decision(res, "pbx1"); d.Retries != 1 {
				t.Errorf("pbx1 retried %d times", d.Retries)
			}
			if !sawGlare(res, "pbx1") || !sawGlare(res, "pbx2") {
				t.Error("the PBXs' own call engines did not see the glare")
			}
		}},
		{"two-pbx-outgoing", func(t *testing.T, res *Result, o *Outcome) {
			if d := decision(res, "pbx2"); d.Withheld != 1 || !d.Requests[0].Withheld {
				t.Errorf("pbx2 withheld %d requests", d.Withheld)
			}
		}},
		{"directrtpsetup", func(t *testing.T, res *Result, o *Outcome) {
			if d := decision(res, "pbx1"); !d.Early || d.Method != policy.MethodInitialInvite {
				t.Errorf("early %v, method %s", d.Early, d.Method)
			}
		}},
		{"hold-moh", func(t *testing.T, res *Result, o *Outcome) {
			kinds := []media.PathKind{}
			for _, s := range o.Call.Media.Timeline {
				kinds = append(kinds, s.Kind)
			}
			if !slices.Equal(kinds, []media.PathKind{media.Direct, media.Anchored, media.Direct}) {
				t.Errorf("timeline %v, want direct, anchored (music on hold), direct", kinds)
			}
		}},
		{"nat-nonat", func(t *testing.T, res *Result, o *Outcome) {
			if d := decision(res, "pbx1"); !d.Has(policy.CodeNATNoNAT) {
				t.Error("the decision does not name nat-nonat")
			}
		}},
		{"release-refused", func(t *testing.T, res *Result, o *Outcome) {
			refused := false
			for _, l := range o.Call.Legs {
				for _, r := range l.Reinvites {
					refused = refused || r.Outcome == "488"
				}
			}
			if !refused {
				t.Error("no re-INVITE answered 488")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, o := catalogued(t, tc.name)
			if o.Call == nil {
				t.Fatal("no call")
			}
			tc.check(t, res, o)
		})
	}
}

// relaysSSRC reports whether an SSRC enters a B2BUA and leaves it.
func relaysSSRC(streams []*media.Stream) bool {
	for _, a := range streams {
		for _, b := range streams {
			if a != b && a.SSRC == b.SSRC && a.Dst.Addr() == b.Src.Addr() {
				return true
			}
		}
	}
	return false
}

// sawGlare reports whether a host's own engine found glare.
func sawGlare(res *Result, host string) bool {
	for _, v := range res.Views {
		if v.Host != host {
			continue
		}
		return slices.ContainsFunc(v.Calls, func(c *call.Call) bool { return len(c.Glare) > 0 })
	}
	return false
}

// TestFastRunsRepeat: a fast run is a function of the scenario and the
// seed.
func TestFastRunsRepeat(t *testing.T) {
	s, err := Load("two-pbx-glare")
	if err != nil {
		t.Fatal(err)
	}
	a := runFast(t, s, subnet(201, 100), 7)
	b := runFast(t, s, subnet(201, 100), 7)
	if !bytes.Equal(a.Capture, b.Capture) {
		t.Error("two runs with the same seed wrote different captures")
	}
	c := runFast(t, s, subnet(201, 100), 8)
	if bytes.Equal(a.Capture, c.Capture) {
		t.Error("another seed wrote the same capture")
	}
}
