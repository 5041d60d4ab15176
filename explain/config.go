package explain

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/sip"
)

// Prediction is what the B2BUA policy model expected one server to do
// with the call, from its configuration and the negotiation seen, and how
// the capture compares.
type Prediction struct {
	Server string `json:"server"` // the B2BUA's address
	Config string `json:"config"` // the file read, with the bundle's server label
	// Assumed is set when the configuration binds no specific address and
	// was taken for the call's only B2BUA.
	Assumed bool        `json:"assumed,omitempty"`
	Legs    []PeerMatch `json:"legs"`
	// Release, Bridge and Method are policy.Decision's: whether the media
	// should leave the server, the bridge technology, and how.
	Release bool   `json:"release"`
	Bridge  string `json:"bridge,omitempty"`
	Method  string `json:"method,omitempty"`
	// Dialplan says what was learnt of the dialled extension, or why
	// not; DialplanKnown is set when its Dial() was read.
	Dialplan      string `json:"dialplan"`
	DialplanKnown bool   `json:"dialplan_known"`
	Rules         []Rule `json:"rules,omitempty"`
	// Observed is what the capture shows the server did.
	Observed string `json:"observed"`
	// Contradiction is set when the capture disagrees with the prediction.
	Contradiction string `json:"contradiction,omitempty"`
}

// PeerMatch is the configured peer or endpoint a leg matched.
type PeerMatch struct {
	Leg       int    `json:"leg"` // 1-based, caller side first
	CallID    string `json:"call_id"`
	Direction string `json:"direction"` // incoming or outgoing, seen from the server
	Peer      string `json:"peer"`      // empty when nothing matched
	// Match says how: by name, host and port, defaultuser, identify, ...
	Match string    `json:"match"`
	Line  *Citation `json:"line,omitempty"`
}

// Rule is one reason of the policy model.
type Rule struct {
	Code   string    `json:"code"`
	Effect string    `json:"effect"`
	Leg    int       `json:"leg"` // 1-based call leg, 0 for the bridge as a whole
	Text   string    `json:"text"`
	Option *Citation `json:"option,omitempty"`
}

// LoadConfig reads one --config argument: a sip.conf, a pjsip.conf, an
// extensions.conf, or a bundle of several. It returns the channel driver
// configurations and the dialplans found in it.
func LoadConfig(name string) ([]*astconf.Config, []*astconf.File, error) {
	files, err := astconf.Load(name)
	if err != nil {
		return nil, nil, err
	}
	configs, dialplans := configsAndDialplans(files)
	return configs, dialplans, nil
}

// configsAndDialplans sorts parsed files into channel driver
// configurations and dialplans, leaving out any other file.
func configsAndDialplans(files []*astconf.File) ([]*astconf.Config, []*astconf.File) {
	var configs []*astconf.Config
	var dialplans []*astconf.File
	for _, f := range files {
		if c := astconf.NewConfig(f); c != nil {
			configs = append(configs, c)
		} else if isDialplan(f) {
			dialplans = append(dialplans, f)
		}
	}
	return configs, dialplans
}

func isDialplan(f *astconf.File) bool {
	return strings.HasPrefix(strings.ToLower(f.Base), "extensions")
}

// configFor finds the configuration of the server at addr: the one that
// binds to it, or the only one given when it binds to no address and the
// call has only one B2BUA.
func (x *explainer) configFor(addr netip.Addr) (*astconf.Config, bool) {
	var wild []*astconf.Config
	for _, c := range x.f.in.Configs {
		if c == nil {
			continue
		}
		specific := false
		for _, a := range c.Addrs() {
			if a.Addr().Unmap() == addr {
				return c, false
			}
			if a.IsValid() && !a.Addr().IsUnspecified() {
				specific = true
			}
		}
		if !specific {
			wild = append(wild, c)
		}
	}
	if len(wild) == 1 && len(x.f.in.Configs) == 1 && len(x.f.bridges) == 1 {
		return wild[0], true
	}
	return nil, false
}

// cite turns a policy option into a citation for the given peer.
func cite(c *astconf.Config, peer string, o policy.Option) *Citation {
	if o.IsZero() {
		return nil
	}
	return &Citation{File: o.Source.File, Line: o.Source.Line, Section: o.Section, Peer: peer, Server: c.Server(),
		Key: o.Key, Value: o.Value}
}

// citeWhere writes where a citation's line is: "sip.conf:21 [alice]".
func citeWhere(c Citation) string {
	if c.Line == 0 {
		return "the built-in default"
	}
	s := c.File + ":" + itoa(c.Line)
	if c.Section != "" {
		s += " [" + c.Section + "]"
	}
	return s
}

// citeText writes a citation in a sentence: "directmedia=no (file:21 [alice])".
func citeText(c Citation) string { return c.Key + "=" + c.Value + " (" + citeWhere(c) + ")" }

// remote is the address and user a server sees for the far end of a leg:
// for a leg it answered, the caller and its From user (chan_sip matches
// users by name); for a leg it originated, the callee and the user it
// dialled.
func remote(l *call.Leg, server netip.Addr) (netip.AddrPort, string, bool) {
	if host(l.UAS) == server {
		return l.UAC, l.From.User(), false
	}
	return l.UAS, sip.URIUser(l.RequestURI), true
}

// peerCitation names the directmedia line of the peer a server uses for a
// leg, when its configuration was given.
func (x *explainer) peerCitation(server netip.Addr, l *call.Leg) *Citation {
	c, _ := x.configFor(server)
	if c == nil {
		return nil
	}
	addr, user, _ := remote(l, server)
	p, _ := c.Match(addr, user)
	if !p.Found() {
		return nil
	}
	pol, ok := policy.FromConfig(c, p)
	if !ok {
		return nil
	}
	return cite(c, pol.Name, policy.OptionOf(pol.DirectMedia.Var))
}

// configure asks the policy model about each B2BUA with a configuration
// and adds what it names to the reasons.
func (x *explainer) configure() {
	for _, b := range x.f.bridges {
		c, assumed := x.configFor(b.server)
		if c == nil {
			continue
		}
		x.out.Predictions = append(x.out.Predictions, x.predict(b, c, assumed))
	}
}

func (x *explainer) predict(b *bridge, c *astconf.Config, assumed bool) Prediction {
	p := Prediction{Server: b.server.String(), Config: c.File.Name, Assumed: assumed, Observed: x.observed(b)}
	if s := c.Server(); s != "" {
		p.Config += " (" + s + ")"
	}
	var legs [2]policy.Leg
	var names [2]string
	matched := true
	for i, lf := range b.legs {
		idx := b.upIdx
		if i == 1 {
			idx = b.downIdx
		}
		addr, user, outgoing := remote(lf.leg, b.server)
		m := PeerMatch{Leg: idx + 1, CallID: label(lf.leg.CallID), Direction: "incoming"}
		if outgoing {
			m.Direction = "outgoing"
		}
		peer, how := c.Match(addr, user)
		pol, ok := policy.FromConfig(c, peer)
		if !ok {
			m.Match = "none: no peer or endpoint matches " + addr.String()
			if user != "" {
				m.Match += " or user " + label(user)
			}
			matched = false
			p.Legs = append(p.Legs, m)
			continue
		}
		m.Peer, m.Match = pol.Name, how.Kind.String()
		m.Line = cite(c, pol.Name, policy.OptionOf(how.Var))
		p.Legs = append(p.Legs, m)
		names[i] = pol.Name
		legs[i] = policy.Leg{Peer: pol, Outgoing: outgoing, Facts: policyFacts(lf)}
	}
	if !matched {
		p.Dialplan = "not read: a leg matched no peer"
		return p
	}
	feat, note := x.features(c, b, names[0])
	p.Dialplan, p.DialplanKnown = note, feat.Known
	d := policy.Decide(legs[0], legs[1], feat)
	p.Release, p.Bridge, p.Method = d.Release, d.Bridge.String(), d.Method.String()
	for _, r := range d.Reasons {
		rule := Rule{Code: r.Code, Effect: string(r.Effect), Text: r.Text}
		switch r.Leg {
		case 0:
			rule.Leg = b.upIdx + 1
			rule.Option = cite(c, names[0], r.Option)
		case 1:
			rule.Leg = b.downIdx + 1
			rule.Option = cite(c, names[1], r.Option)
		default:
			rule.Option = cite(c, "", r.Option)
		}
		p.Rules = append(p.Rules, rule)
	}
	x.apply(b, c, &p, d)
	return p
}

// policyFacts is what a leg's negotiation tells the policy model.
func policyFacts(lf *legFacts) policy.Facts {
	var f policy.Facts
	if lf.offer == nil || lf.answer == nil {
		return f
	}
	f.TelephoneEvent = policy.TriOf(lf.te)
	f.SRTP = policy.TriOf(lf.srtp)
	f.Family = lf.family()
	f.NAT = policy.TriOf(len(lf.nat) > 0)
	if len(lf.nat) > 0 {
		f.NATEvidence = lf.nat[0].text
	}
	if sd := lf.farSDP; sd != nil {
		f.MediaAddr = host(sd.Media.Addr)
	}
	t38, ice := false, true
	for _, r := range []*call.SDPRef{lf.offer, lf.answer} {
		if r.Session == nil {
			ice = false
			continue
		}
		a, ok := r.Session.Audio()
		if !ok || !a.ICE {
			ice = false
		}
		for _, m := range r.Session.Media {
			if m.Type == "image" && m.Port != 0 && r == lf.answer {
				t38 = true
			}
		}
		if ok && r == lf.farSDP {
			f.Ptime = a.Ptime
			for _, name := range lf.codecs {
				for _, cd := range a.Codecs {
					if strings.EqualFold(cd.Name, name) {
						if n, ok := astconf.CodecFromSDP(cd.Name, cd.Rate); ok && !slices.Contains(f.Codecs, n) {
							f.Codecs = append(f.Codecs, n)
						}
						break
					}
				}
			}
		}
	}
	f.T38 = policy.TriOf(t38)
	f.ICE = policy.TriOf(ice)
	return f
}

// observed words what the capture shows a server did with the media.
func (x *explainer) observed(b *bridge) string {
	switch {
	case len(b.early) > 0:
		return "media direct from the first INVITE (" + frameList(b.early) + ")"
	case len(b.releases) > 0:
		var fr []int
		for _, a := range b.releases {
			fr = append(fr, a.req.Frame)
		}
		how := "re-INVITE"
		if slices.ContainsFunc(b.releases, func(a action) bool { return a.req.Method == "UPDATE" }) {
			how = "UPDATE"
		}
		return "released by " + how + " (" + frameList(fr) + ")"
	case len(b.refused) > 0:
		return "release attempted and refused (f" + itoa(b.refused[0].req.Frame) + ")"
	case x.inGlare(b):
		return "release attempted, lost to glare"
	case slices.Contains(x.idle, b):
		return "no release attempted"
	case x.blocked[b]:
		return "no release attempted: the legs cannot share media"
	}
	return "unknown: the capture does not show both legs answered"
}

// apply turns the decision into reasons where capture and configuration
// meet: citations for what the capture shows, causes for what it cannot,
// and a contradiction where they disagree.
func (x *explainer) apply(b *bridge, c *astconf.Config, p *Prediction, d policy.Decision) {
	legFrames := append(b.legs[0].frames(), b.legs[1].frames()...)
	citesOf := func(code string, effect policy.Effect) []Citation {
		var out []Citation
		for _, r := range p.Rules {
			if r.Code == code && policy.Effect(r.Effect) == effect && r.Option != nil {
				out = append(out, *r.Option)
			}
		}
		return out
	}
	released := len(b.releases) > 0 || len(b.early) > 0
	attach := func(code string, cites []Citation) bool {
		for i := range x.out.Reasons {
			r := &x.out.Reasons[i]
			if r.Code == code && r.bridge == b {
				r.Options = appendCites(r.Options, cites)
				return true
			}
		}
		return false
	}
	if released {
		attach(CodeDirectReinvite, citesOf(policy.CodeDirectMediaYes, policy.Permits))
		attach(CodeDirectUpdate, append(citesOf(policy.CodeDirectMediaYes, policy.Permits), citesOf(policy.CodeUpdate, policy.Shapes)...))
		attach(CodeDirectInitialInvite, citesOf(policy.CodeDirectRTPSetup, policy.Shapes))
	}
	if len(b.refused) > 0 {
		attach(CodeReleaseRefused, citesOf(policy.CodeDirectMediaYes, policy.Permits))
	}
	if !released {
		byCode := map[string][]Rule{}
		var order []string
		for _, r := range p.Rules {
			if policy.Effect(r.Effect) != policy.Blocks {
				continue
			}
			if _, ok := byCode[r.Code]; !ok {
				order = append(order, r.Code)
			}
			byCode[r.Code] = append(byCode[r.Code], r)
		}
		for _, code := range order {
			rules := byCode[code]
			var cites []Citation
			var texts []string
			for _, r := range rules {
				if r.Option != nil {
					cites = appendCites(cites, []Citation{*r.Option})
				}
				texts = append(texts, r.Text)
			}
			if attach(code, cites) {
				continue
			}
			text := strings.TrimSuffix(sentence(strings.Join(slices.Compact(texts), "; ")), ".") + " (" + p.Config + ")"
			conf := 0.8
			if slices.Contains(x.idle, b) || x.blocked[b] {
				text += "; the capture agrees: " + x.name(b.server) + " sent no re-INVITE or UPDATE"
				conf = 0.95
			}
			x.add(Reason{Code: code, Confidence: conf, Frames: legFrames, Options: cites, explain: true, bridge: b,
				head: "anchored at " + b.server.String() + ": " + ruleHead(rules[0], cites, c.PJSIP != nil), Text: text})
		}
	}
	if c := x.contradiction(b, p, d); c != "" {
		p.Contradiction = c
		frames := slices.Clone(legFrames)
		for _, a := range b.releases {
			frames = append(frames, a.req.Frame)
		}
		var cites []Citation
		for _, r := range p.Rules {
			if r.Option != nil && (policy.Effect(r.Effect) == policy.Blocks || policy.Effect(r.Effect) == policy.Permits) {
				cites = appendCites(cites, []Citation{*r.Option})
			}
		}
		x.add(Reason{Code: CodeConfigContradiction, Confidence: 0.7, Frames: frames, Options: cites, Text: c, bridge: b,
			head: "contradicts " + p.Config})
	}
}

// ruleHead is a headline for a configuration cause: "directmedia=no on
// peer alice (file:21)".
func ruleHead(r Rule, cites []Citation, pjsip bool) string {
	if len(cites) == 0 {
		return r.Code
	}
	c := cites[0]
	if k := strings.ToLower(c.Key); k == "exten" || k == "same" {
		what := map[string]string{policy.CodeDialOptions: "Dial() options", policy.CodeRecording: "recording", policy.CodeJitterBuffer: "JITTERBUFFER()"}[r.Code]
		if what == "" {
			what = r.Code
		}
		return what + " in the dialplan (" + c.File + ":" + itoa(c.Line) + ")"
	}
	s := c.Key + "=" + c.Value
	switch {
	case c.Peer != "" && pjsip:
		s += " on endpoint " + c.Peer
	case c.Peer != "":
		s += " on peer " + c.Peer
	}
	if c.Line != 0 {
		s += " (" + c.File + ":" + itoa(c.Line) + ")"
	}
	return s
}

// appendCites adds citations not yet listed. One line cited for two
// peers (a Dial() line) is listed once, without a peer.
func appendCites(dst, src []Citation) []Citation {
	for _, c := range src {
		i := slices.IndexFunc(dst, func(d Citation) bool {
			return d.File == c.File && d.Line == c.Line && d.Key == c.Key && d.Value == c.Value && d.Server == c.Server && d.Section == c.Section
		})
		switch {
		case i < 0:
			dst = append(dst, c)
		case dst[i].Peer != c.Peer:
			dst[i].Peer = ""
		}
	}
	return dst
}

// contradiction compares the decision with what the capture shows.
func (x *explainer) contradiction(b *bridge, p *Prediction, d policy.Decision) string {
	released := len(b.releases) > 0 || len(b.early) > 0
	attempted := released || len(b.refused) > 0 || x.inGlare(b)
	var permits []string
	for _, r := range p.Rules {
		if r.Code == policy.CodeDirectMediaYes && r.Option != nil {
			permits = append(permits, citeText(*r.Option)+" for "+r.Option.Peer)
		}
	}
	switch {
	case d.Release && !attempted && slices.Contains(x.idle, b):
		s := p.Config + " allows direct media (" + joinAnd(permits) + ") and the model predicts a release by " + d.Method.String() +
			", yet no re-INVITE or UPDATE was sent: look at the Dial() options or recording"
		if p.DialplanKnown {
			s += "; the dialplan given (" + p.Dialplan + ") shows neither, so look at recording started outside it (AMI, a feature code), a jitter buffer, or whether this configuration is the one that was running"
		}
		return s
	case !d.Release && released:
		var blocks []string
		for _, r := range p.Rules {
			if policy.Effect(r.Effect) == policy.Blocks {
				w := r.Code
				if r.Option != nil {
					w = citeText(*r.Option)
				}
				blocks = append(blocks, w)
			}
		}
		return p.Config + " predicts the media stays on the server (" + joinAnd(slices.Compact(blocks)) + "), yet it released it (" +
			strings.TrimPrefix(p.Observed, "released by ") + "): the configuration that ran differs from the one given"
	case d.Release && released:
		obs := "reinvite"
		switch {
		case len(b.early) > 0:
			obs = "initial-invite"
		case slices.ContainsFunc(b.releases, func(a action) bool { return a.req.Method == "UPDATE" }):
			obs = "update"
		}
		if want := d.Method.String(); want != obs && d.Method != policy.MethodMixed {
			return "the model predicts the release by " + want + " but the capture shows it by " + obs
		}
		for i, rq := range d.Requests {
			if rq.Withheld && slices.ContainsFunc(b.releases, func(a action) bool { return a.leg == i && a.req.RetryOf == 0 }) && b.firstOn(i) {
				return "glare mitigation should have withheld the first request on leg " + itoa(p.Legs[i].Leg) + ", yet " + x.name(b.server) + " sent it first"
			}
		}
	case !d.Release && !released && !attempted:
		kind, _ := x.relayKind(b)
		switch {
		case d.Bridge == policy.NativeLocal && kind == relayOwn:
			return "the model predicts Asterisk relays the packets unchanged (native bridge, local mode), but it sends SSRCs of its own: something in the dialplan (Dial() options, recording, a jitter buffer) also keeps the core in the path"
		case d.Bridge == policy.Simple && kind == relayUnchanged && !x.blocked[b]:
			return "the model predicts the media runs through the core (simple bridge), but Asterisk relays the packets unchanged"
		}
	}
	return ""
}

// firstOn reports whether the bridge's first release on leg i came before
// any request of the far end on that dialog: what glare mitigation
// forbids.
func (b *bridge) firstOn(i int) bool {
	lf := b.legs[i]
	first := 0
	for _, a := range b.releases {
		if a.leg == i {
			first = a.req.Frame
			break
		}
	}
	if first == 0 {
		return false
	}
	return !slices.ContainsFunc(lf.leg.MidDialog, func(r *call.Request) bool { return r.Sender == lf.farSide && r.Frame < first })
}
