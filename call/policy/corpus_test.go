package policy

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/astconf"
)

// findCorpus returns the shared corpus that CI checks out beside the
// repository, walking up from the package directory, or "".
func findCorpus() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for range 8 {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// truth is the part of a corpus *.truth.json these tests compare with.
type truth struct {
	Conf string `json:"conf"`
	Legs []struct {
		Leg string `json:"leg"`
		UAC string `json:"uac"`
		UAS string `json:"uas"`
	} `json:"legs"`
	FinalMediaPath struct {
		Type string `json:"type"`
	} `json:"final_media_path"`
	Glare *struct {
		Retries []struct {
			From  string  `json:"from"`
			Delay float64 `json:"delay_after_its_491_s"`
		} `json:"retries"`
	} `json:"glare"`
}

var dialRE = regexp.MustCompile(`Dial\((.*)\)`)

// serverFeatures reads the Dial() of the server's extensions.conf part.
func serverFeatures(t *testing.T, files []*astconf.File, server string) Features {
	t.Helper()
	for _, f := range files {
		if f.Server != server || f.Base != "extensions.conf" {
			continue
		}
		for _, s := range f.Sections {
			for _, v := range s.Vars {
				if m := dialRE.FindStringSubmatch(v.Value); m != nil {
					d := ParseDial(m[1])
					return Features{Known: true, Dial: d.Options, DialOption: OptionOf(v), Targets: len(d.Targets)}
				}
			}
		}
	}
	t.Fatalf("no Dial() for %s", server)
	return Features{}
}

// serverDecision matches the two legs a server handled to its peers and
// asks the model.
func serverDecision(t *testing.T, c *astconf.Config, files []*astconf.File, tr truth) (Decision, [2]Leg) {
	t.Helper()
	bind := c.Addrs()[0]
	var legs []Leg
	for _, l := range tr.Legs {
		uac, uas := netip.MustParseAddrPort(l.UAC), netip.MustParseAddrPort(l.UAS)
		var remote netip.AddrPort
		outgoing := false
		switch bind {
		case uas:
			remote = uac
		case uac:
			remote, outgoing = uas, true
		default:
			continue
		}
		p, m := c.Match(remote, "")
		if m.Kind != astconf.MatchHostPort {
			t.Fatalf("%s: leg %s matched %q by %v", c.Server(), l.Leg, p.Name(), m.Kind)
		}
		pol, _ := FromConfig(c, p)
		legs = append(legs, Leg{Peer: pol, Outgoing: outgoing})
	}
	if len(legs) != 2 || legs[0].Outgoing == legs[1].Outgoing {
		t.Fatalf("%s: legs %+v", c.Server(), legs)
	}
	if legs[0].Outgoing {
		legs[0], legs[1] = legs[1], legs[0]
	}
	return Decide(legs[0], legs[1], serverFeatures(t, files, c.Server())), [2]Leg{legs[0], legs[1]}
}

// TestCorpusPredictions predicts each corpus capture from its configuration
// alone and compares with the ground truth's final media path.
func TestCorpusPredictions(t *testing.T) {
	root := findCorpus()
	if root == "" {
		t.Skip("shared/corpus not found beside the repository")
	}
	names, _ := filepath.Glob(filepath.Join(root, "asterisk", "*.truth.json"))
	if len(names) == 0 {
		t.Skip("no Asterisk truth files")
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".truth.json"), func(t *testing.T) {
			raw, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var tr truth
			if err := json.Unmarshal(raw, &tr); err != nil {
				t.Fatal(err)
			}
			bundle := filepath.Join(filepath.Dir(name), tr.Conf)
			files, err := astconf.Load(bundle)
			if err != nil {
				t.Fatal(err)
			}
			var decisions []Decision
			var legs [][2]Leg
			for _, f := range files {
				c := astconf.NewConfig(f)
				if c == nil {
					continue
				}
				d, l := serverDecision(t, c, files, tr)
				decisions = append(decisions, d)
				legs = append(legs, l)
			}
			for _, d := range decisions {
				switch tr.FinalMediaPath.Type {
				case "direct":
					if !d.Release || d.Bridge != NativeRemote || d.Method != MethodReinvite {
						t.Errorf("truth direct, predicted %v %v %v: %v", d.Release, d.Bridge, d.Method, codes(d))
					}
				case "anchored":
					if d.Release || d.Bridge != NativeLocal || !d.Has(CodeDirectMediaNo) {
						t.Errorf("truth anchored (relayed, SSRC kept), predicted %v %v: %v", d.Release, d.Bridge, codes(d))
					}
				case "anchored (transcoding)":
					if d.Release || d.Bridge != Simple || !d.Has(CodeCodecMismatch) {
						t.Errorf("truth transcoding, predicted %v %v: %v", d.Release, d.Bridge, codes(d))
					}
				default:
					t.Fatalf("unknown truth type %q", tr.FinalMediaPath.Type)
				}
				if d.Has(CodeDialplanUnknown) || d.Has(CodeCodecsUnknown) {
					t.Errorf("inputs reported unknown: %v", codes(d))
				}
			}
			if tr.Glare == nil {
				return
			}
			// Two servers that both release and both send on the trunk
			// dialog between them: their requests can cross (RFC 3261 §14.1).
			if len(decisions) != 2 {
				t.Fatalf("%d servers", len(decisions))
			}
			ast1Trunk, ast2Trunk := decisions[0].Requests[1], decisions[1].Requests[0]
			if !legs[0][1].Outgoing || legs[1][0].Outgoing || !ast1Trunk.Send || ast1Trunk.Withheld || !ast2Trunk.Send || ast2Trunk.Withheld {
				t.Errorf("trunk requests %+v %+v: glare not predicted", ast1Trunk, ast2Trunk)
			}
			for _, r := range tr.Glare.Retries {
				owner := r.From == "ast1"
				lo, hi := RetryWindow(owner)
				delay := time.Duration(r.Delay * float64(time.Second))
				if delay < lo || delay > hi+100*time.Millisecond {
					t.Errorf("%s retried after %v, outside %v..%v", r.From, delay, lo, hi)
				}
			}
		})
	}
}

// TestCorpusGlareAvoidedByOutgoing rewrites the two-PBX configuration with
// directmedia=outgoing on the trunk peers, as the Asterisk wiki's glare
// avoidance page suggests, and checks that only the Call-ID owner's side
// sends the first request on the trunk.
func TestCorpusGlareAvoidedByOutgoing(t *testing.T) {
	root := findCorpus()
	if root == "" {
		t.Skip("shared/corpus not found beside the repository")
	}
	raw, err := os.ReadFile(filepath.Join(root, "asterisk", "asterisk-two-pbx-glare.conf.txt"))
	if err != nil {
		t.Skip("no glare bundle")
	}
	text := strings.ReplaceAll(string(raw), "context = from-trunk\ndirectmedia = yes", "context = from-trunk\ndirectmedia = outgoing")
	files, err := (&astconf.Reader{}).ParseAll("glare-outgoing.conf.txt", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var tr truth
	tj, _ := os.ReadFile(filepath.Join(root, "asterisk", "asterisk-two-pbx-glare.truth.json"))
	if err := json.Unmarshal(tj, &tr); err != nil {
		t.Fatal(err)
	}
	var ds []Decision
	for _, f := range files {
		if c := astconf.NewConfig(f); c != nil {
			d, _ := serverDecision(t, c, files, tr)
			ds = append(ds, d)
		}
	}
	if len(ds) != 2 {
		t.Fatalf("%d servers", len(ds))
	}
	if ds[0].Requests[1].Withheld || !ds[1].Requests[0].Withheld || !ds[1].Has(CodeGlareWithheld) {
		t.Errorf("ast1 trunk %+v, ast2 trunk %+v", ds[0].Requests[1], ds[1].Requests[0])
	}
}
