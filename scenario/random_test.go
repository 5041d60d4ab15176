package scenario

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/media"
)

// generated is one random configuration of a call alice -> pbx1 -> bob.
type generated struct {
	directmedia, nat, allow, dtmfmode [2]string // pbx1's peers alice and bob
	codecs, dtmf                      [2]string // the phones
	behindNAT, rtpSetup               bool
}

func pickOf[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func generate(r *rand.Rand) generated {
	var g generated
	for i := range 2 {
		g.directmedia[i] = pickOf(r, "yes", "no", "nonat", "update")
		g.nat[i] = pickOf(r, "no", "force_rport", "comedia", "yes")
		g.allow[i] = pickOf(r, "ulaw", "alaw", "ulaw,alaw")
		g.dtmfmode[i] = pickOf(r, "rfc2833", "inband", "info")
		g.dtmf[i] = pickOf(r, "rfc2833", "inband")
		// The phone shares a codec with its peer, so that both legs are
		// answered.
		switch g.allow[i] {
		case "ulaw,alaw":
			g.codecs[i] = pickOf(r, "ulaw", "alaw", "alaw,ulaw")
		default:
			g.codecs[i] = pickOf(r, g.allow[i], "ulaw,alaw")
		}
	}
	g.behindNAT = r.IntN(4) == 0
	g.rtpSetup = r.IntN(4) == 0
	return g
}

func (g generated) String() string {
	s := fmt.Sprintf("alice[dm=%s nat=%s allow=%s dtmfmode=%s | phone %s %s] bob[dm=%s nat=%s allow=%s dtmfmode=%s | phone %s %s]",
		g.directmedia[0], g.nat[0], g.allow[0], g.dtmfmode[0], g.codecs[0], g.dtmf[0],
		g.directmedia[1], g.nat[1], g.allow[1], g.dtmfmode[1], g.codecs[1], g.dtmf[1])
	if g.behindNAT {
		s += " alice-behind-NAT"
	}
	if g.rtpSetup {
		s += " directrtpsetup"
	}
	return s
}

// text writes the configuration as a scenario file.
func (g generated) text() string {
	var b strings.Builder
	names := [2]string{"alice", "bob"}
	for i, name := range names {
		fmt.Fprintf(&b, "[%s]\nrole = phone\naddr = 127.0.0.%d\ncodecs = %s\ndtmf = %s\n", name, 30+i, g.codecs[i], g.dtmf[i])
		if i == 0 && g.behindNAT {
			b.WriteString("private_addr = 192.168.1.30\n")
		}
	}
	b.WriteString("[pbx1]\nrole = asterisk\naddr = 127.0.0.12\nexten => 2001,1,Dial(SIP/bob,60)\n")
	if g.rtpSetup {
		b.WriteString("directrtpsetup = yes\n")
	}
	for i, name := range names {
		fmt.Fprintf(&b, "[pbx1/%s]\ndirectmedia = %s\nnat = %s\ndisallow = all\nallow = %s\ndtmfmode = %s\n",
			name, g.directmedia[i], g.nat[i], g.allow[i], g.dtmfmode[i])
	}
	b.WriteString("[script]\ndial = alice -> 2001\nanswer_after = 0.2s\ndtmf_at = 1s:12\nhangup_at = 3s\n")
	return b.String()
}

// expectedVerdict is the media path the decision leads to on a network
// where a private address is unreachable: released media to alice's
// private address is lost, so only her direction flows.
func (g generated) expectedVerdict(d policy.Decision) media.PathKind {
	switch {
	case d.Release && g.behindNAT:
		return media.OneWay
	case d.Release:
		return media.Direct
	}
	return media.Anchored
}

// decisive are the configuration lines the explanation must name: the
// lines that blocked the release; for a release, the directmedia lines
// that allowed it, or the directrtpsetup line that made it direct from
// the first INVITE.
func decisive(d policy.Decision) []policy.Option {
	var out []policy.Option
	add := func(o policy.Option) {
		if !o.IsZero() && !o.Source.IsDefault() && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	for _, r := range d.Reasons {
		switch {
		case !d.Release && r.Effect == policy.Blocks:
			add(r.Option)
		case d.Release && d.Method == policy.MethodInitialInvite:
			if r.Code == policy.CodeDirectRTPSetup {
				add(r.Option)
			}
		case d.Release && (r.Code == policy.CodeDirectMediaYes || r.Code == policy.CodeUpdate):
			add(r.Option)
		}
	}
	return out
}

func cites(e explain.Explanation, o policy.Option) bool {
	for _, r := range e.Reasons {
		for _, c := range r.Options {
			if c.Line == o.Source.Line && c.File == o.Source.File && strings.EqualFold(c.Key, o.Key) && c.Value == o.Value {
				return true
			}
		}
	}
	return false
}

// TestGeneratedConfigurations runs random configurations of directmedia,
// nat, codecs and DTMF on each peer and phone, and checks that the
// analyzer finds in each capture the media path the B2BUA chose and that
// its explanation names the configuration lines that decided it.
func TestGeneratedConfigurations(t *testing.T) {
	const tried = 100
	r := rand.New(rand.NewPCG(2025, 7))
	var mu sync.Mutex
	agreed := 0
	var disagreements []string
	t.Cleanup(func() {
		t.Logf("generated configurations: %d tried, %d agreed", tried, agreed)
		for _, d := range disagreements {
			t.Log(d)
		}
	})
	for i := range tried {
		g := generate(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			s, err := Parse(fmt.Sprintf("generated-%d.conf", i), []byte(g.text()))
			if err != nil {
				t.Fatal(err)
			}
			res, o := analyzed(t, s, subnet(202, i+1), uint64(i))
			var problems []string
			switch {
			case len(res.Decisions) == 0:
				// The callee refused every codec the caller's channel can
				// carry (directrtpsetup offers only those): no call.
				if o.Verdict != "" || !o.Explanation.Has(explain.CodeNotAnswered) {
					problems = append(problems, fmt.Sprintf("the call failed, yet the verdict is %q with reasons %v", o.Verdict, o.Reasons))
				}
			case len(res.Decisions) > 1:
				problems = append(problems, fmt.Sprintf("%d bridges", len(res.Decisions)))
			default:
				d := res.Decisions[0].Decision
				if want := g.expectedVerdict(d); o.Verdict != want {
					problems = append(problems, fmt.Sprintf("verdict %s, the B2BUA's decision (%s bridge, release %v) gives %s", o.Verdict, d.Bridge, d.Release, want))
				}
				for _, opt := range decisive(d) {
					if !cites(o.Explanation, opt) {
						problems = append(problems, "the explanation does not name "+opt.String())
					}
				}
				if o.Explanation.Has(explain.CodeConfigContradiction) {
					problems = append(problems, "the explanation says the capture contradicts the configuration: "+o.Explanation.Reason(explain.CodeConfigContradiction).Text)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(problems) == 0 {
				agreed++
				return
			}
			disagreements = append(disagreements, fmt.Sprintf("#%d %s: %s", i, g, strings.Join(problems, "; ")))
			t.Errorf("%s:\n  %s", g, strings.Join(problems, "\n  "))
		})
	}
}
