package policy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/astconf"
)

// sipPeers reads a sip.conf and returns the policy of each peer.
func sipPeers(t *testing.T, conf string) map[string]Peer {
	t.Helper()
	f, err := astconf.Parse("sip.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	c := astconf.ReadSIP(f)
	if len(c.Warnings) > 0 {
		t.Fatalf("warnings %v", c.Warnings)
	}
	out := map[string]Peer{}
	for _, p := range c.Peers {
		out[p.Name] = FromSIPPeer(c, p)
	}
	return out
}

// pjsipPeers reads a pjsip.conf and returns the policy of each endpoint.
func pjsipPeers(t *testing.T, conf string) map[string]Peer {
	t.Helper()
	f, err := astconf.Parse("pjsip.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	c := astconf.ReadPJSIP(f)
	if len(c.Warnings) > 0 {
		t.Fatalf("warnings %v", c.Warnings)
	}
	out := map[string]Peer{}
	for _, e := range c.Endpoints {
		out[e.Name] = FromPJSIPEndpoint(e)
	}
	return out
}

// base is a sip.conf with two phones that release media; cases append
// lines to [alice] or [bob] through the alice and bob fields.
const baseGeneral = "[general]\ndisallow=all\nallow=ulaw\nnat=no\n"

func conf(general, alice, bob string) string {
	return baseGeneral + general + "[alice]\ntype=friend\nhost=192.0.2.30\n" + alice + "[bob]\ntype=friend\nhost=192.0.2.31\n" + bob
}

var known = Features{Known: true, Targets: 1}

type policyCase struct {
	name              string
	general, a, b     string // sip.conf lines
	factsA, factsB    Facts
	features          Features
	release           bool
	bridge            Bridge
	method            Method
	has, hasNot       []string
	blocksLine        int // line of the first blocking reason's option; 0 to skip
	withheldA, wheldB bool
}

func TestDecide(t *testing.T) {
	ulaw := Facts{Codecs: []string{"ulaw"}, TelephoneEvent: Yes}
	tests := []policyCase{
		{name: "directmedia=yes on both releases with re-INVITEs",
			release: true, bridge: NativeRemote, method: MethodReinvite,
			has: []string{CodeDirectMediaYes, CodeReinviteAccept}, hasNot: []string{CodeCodecsUnknown, CodeDialplanUnknown}},
		{name: "directmedia=no on one peer keeps a local native bridge",
			a: "directmedia=no\n", bridge: NativeLocal,
			has: []string{CodeDirectMediaNo}, blocksLine: 8},
		{name: "canreinvite=no is the same rule",
			a: "canreinvite=no\n", bridge: NativeLocal, has: []string{CodeDirectMediaNo}},
		{name: "nonat with symmetric RTP keeps the media",
			a: "directmedia=nonat\nnat=comedia\n", bridge: NativeLocal,
			has: []string{CodeNATNoNAT}, hasNot: []string{CodeDirectMediaNo}, blocksLine: 8},
		{name: "nonat without symmetric RTP releases",
			a: "directmedia=nonat\nnat=force_rport\n", release: true, bridge: NativeRemote, method: MethodReinvite,
			hasNot: []string{CodeNATNoNAT}},
		{name: "yes with symmetric RTP releases",
			a: "directmedia=yes\nnat=yes\n", release: true, bridge: NativeRemote, method: MethodReinvite,
			hasNot: []string{CodeNATNoNAT}},
		{name: "update alone carries no NAT permission",
			a: "directmedia=update\nnat=comedia\n", bridge: NativeLocal, has: []string{CodeNATNoNAT}},
		{name: "auto_comedia with NAT seen keeps the media",
			a: "directmedia=nonat\nnat=auto_comedia\n", factsA: Facts{NAT: Yes, NATEvidence: "Via received= differs"},
			bridge: NativeLocal, has: []string{CodeNATNoNAT}},
		{name: "auto_comedia without NAT releases",
			a: "directmedia=nonat\nnat=auto_comedia\n", factsA: Facts{NAT: No},
			release: true, bridge: NativeRemote, method: MethodReinvite, hasNot: []string{CodeNATNoNAT, CodeNATUnknown}},
		{name: "auto_comedia with NAT unknown says so",
			a:       "directmedia=nonat\nnat=auto_comedia\n",
			release: true, bridge: NativeRemote, method: MethodReinvite, has: []string{CodeNATUnknown}},
		{name: "directmedia=update signals with UPDATE",
			a: "directmedia=update\n", release: true, bridge: NativeRemote, method: MethodMixed,
			has: []string{CodeUpdate, CodeUpdateSupport}},
		{name: "update on both legs",
			general: "directmedia=update\n", release: true, bridge: NativeRemote, method: MethodUpdate},
		{name: "allow lists without a common codec transcode",
			a: "disallow=all\nallow=ulaw\n", b: "disallow=all\nallow=alaw\n", bridge: Simple,
			has: []string{CodeCodecMismatch}, blocksLine: 9},
		{name: "allow lists sharing a codec do not",
			a: "allow=alaw\n", b: "disallow=all\nallow=alaw\n", release: true, bridge: NativeRemote, method: MethodReinvite,
			hasNot: []string{CodeCodecMismatch}, has: []string{CodeCodecsUnknown}},
		{name: "negotiated codecs that differ transcode",
			general: "allow=alaw\n", factsA: Facts{Codecs: []string{"ulaw"}}, factsB: Facts{Codecs: []string{"alaw"}},
			bridge: Simple, has: []string{CodeCodecMismatch}},
		{name: "negotiated codecs that overlap do not",
			general: "allow=alaw\n", factsA: Facts{Codecs: []string{"ulaw"}}, factsB: Facts{Codecs: []string{"alaw", "ulaw"}},
			release: true, bridge: NativeRemote, method: MethodReinvite, hasNot: []string{CodeCodecMismatch, CodeCodecsUnknown}},
		{name: "negotiated codec excluded by the other allow list",
			b: "disallow=all\nallow=alaw\n", general: "allow=alaw\n", factsA: Facts{Codecs: []string{"ulaw"}},
			bridge: Simple, has: []string{CodeCodecMismatch}},
		{name: "different packetization goes through the core",
			factsA: Facts{Ptime: 20}, factsB: Facts{Ptime: 30}, bridge: Simple, has: []string{CodePtimeMismatch}},
		{name: "equal packetization does not",
			factsA: Facts{Ptime: 20}, factsB: Facts{Ptime: 20}, release: true, bridge: NativeRemote, method: MethodReinvite,
			hasNot: []string{CodePtimeMismatch}},
		{name: "DTMF disagreement prevents a local native bridge",
			a: "directmedia=no\n", b: "dtmfmode=inband\n", bridge: Simple, has: []string{CodeDirectMediaNo, CodeDTMFMismatch}},
		{name: "DTMF agreement keeps the local native bridge",
			a: "directmedia=no\n", bridge: NativeLocal, hasNot: []string{CodeDTMFMismatch}},
		{name: "DTMF disagreement is only a risk for a release",
			b: "dtmfmode=info\n", release: true, bridge: NativeRemote, method: MethodReinvite, has: []string{CodeDTMFMismatch}},
		{name: "auto DTMF that found telephone-event agrees",
			b: "dtmfmode=auto\n", factsA: ulaw, factsB: ulaw, release: true, bridge: NativeRemote, method: MethodReinvite,
			hasNot: []string{CodeDTMFMismatch}},
		{name: "SRTP on one leg goes through the core",
			factsA: Facts{SRTP: Yes}, bridge: Simple, has: []string{CodeSRTPMismatch}},
		{name: "SRTP on both legs too",
			factsA: Facts{SRTP: Yes}, factsB: Facts{SRTP: Yes}, bridge: Simple, has: []string{CodeSRTP}, hasNot: []string{CodeSRTPMismatch}},
		{name: "encryption=yes is cited",
			b: "encryption=yes\n", bridge: Simple, has: []string{CodeSRTPMismatch}, blocksLine: 11},
		{name: "plain RTP on both legs releases",
			factsA: Facts{SRTP: No}, factsB: Facts{SRTP: No}, release: true, bridge: NativeRemote, method: MethodReinvite,
			hasNot: []string{CodeSRTP, CodeSRTPMismatch}},
		{name: "T.38 is never bridged natively",
			factsB: Facts{T38: Yes}, bridge: Simple, has: []string{CodeT38}},
		{name: "caller DTMF features with RFC 4733 keep the core in",
			features: Features{Known: true, Targets: 1, Dial: ParseDialOptions("T")}, bridge: Simple, has: []string{CodeDialOptions}},
		{name: "callee DTMF features too",
			features: Features{Known: true, Targets: 1, Dial: ParseDialOptions("th")}, bridge: Simple, has: []string{CodeDialOptions}},
		{name: "DTMF features over SIP INFO leave the media free",
			a: "dtmfmode=info\n", b: "dtmfmode=info\n", features: Features{Known: true, Targets: 1, Dial: ParseDialOptions("T")},
			release: true, bridge: NativeRemote, method: MethodReinvite, has: []string{CodeDialOptionsInfo}, hasNot: []string{CodeDialOptions}},
		{name: "L() with a warning keeps the media",
			features: Features{Known: true, Targets: 1, Dial: ParseDialOptions("L(60000:30000)")}, bridge: Simple, has: []string{CodeDialOptions}},
		{name: "L() without a warning does not",
			features: Features{Known: true, Targets: 1, Dial: ParseDialOptions("L(60000)")}, release: true, bridge: NativeRemote,
			method: MethodReinvite, hasNot: []string{CodeDialOptions}},
		{name: "recording keeps the media",
			features: Features{Known: true, Targets: 1, Recording: true}, bridge: Simple, has: []string{CodeRecording}},
		{name: "JITTERBUFFER() keeps the media",
			features: Features{Known: true, Targets: 1, JitterBuffer: true}, bridge: Simple, has: []string{CodeJitterBuffer}},
		{name: "unknown dialplan is reported",
			features: Features{}, release: true, bridge: NativeRemote, method: MethodReinvite, has: []string{CodeDialplanUnknown}},
		{name: "directmedia ACL denying the other endpoint",
			b: "directmediadeny=0.0.0.0/0\ndirectmediapermit=10.0.0.0/8\n", factsA: Facts{MediaAddr: netip.MustParseAddr("192.0.2.30")},
			bridge: NativeLocal, has: []string{CodeMediaACL}, blocksLine: 11},
		{name: "directmedia ACL permitting it",
			b: "directmediadeny=0.0.0.0/0\ndirectmediapermit=10.0.0.0/8\n", factsA: Facts{MediaAddr: netip.MustParseAddr("10.1.2.3")},
			release: true, bridge: NativeRemote, method: MethodReinvite, hasNot: []string{CodeMediaACL, CodeACLUnknown}},
		{name: "directmedia=outgoing withholds the first request on the incoming dialog",
			a: "directmedia=outgoing\n", release: true, bridge: NativeRemote, method: MethodReinvite,
			has: []string{CodeGlareWithheld}, withheldA: true},
		{name: "directmedia=outgoing on the outgoing dialog sends",
			b: "directmedia=outgoing\n", release: true, bridge: NativeRemote, method: MethodReinvite, hasNot: []string{CodeGlareWithheld}},
		{name: "directrtpsetup puts the address in the initial INVITE",
			general: "directrtpsetup=yes\n", release: true, bridge: NativeRemote, method: MethodInitialInvite, has: []string{CodeDirectRTPSetup}},
		{name: "directrtpsetup needs a single Dial() target",
			general: "directrtpsetup=yes\n", features: Features{Known: true, Targets: 2}, release: true, bridge: NativeRemote,
			method: MethodReinvite, has: []string{CodeDirectRTPSetup}},
		{name: "directrtpsetup is not used with Asterisk's own ringback",
			general: "directrtpsetup=yes\n", features: Features{Known: true, Targets: 1, Dial: ParseDialOptions("r")}, release: true,
			bridge: NativeRemote, method: MethodReinvite},
		{name: "directrtpsetup then a blocked bridge",
			general: "directrtpsetup=yes\n", features: Features{Known: true, Targets: 1, Recording: true}, bridge: Simple,
			has: []string{CodeRecording, CodeDirectRTPEarly}},
		{name: "jbforce with directmedia=no forbids even the local bridge",
			general: "jbenable=yes\njbforce=yes\n", a: "directmedia=no\n", bridge: Simple, has: []string{CodeDirectMediaNo, CodeJBForce}},
		{name: "jbforce without jbenable does not",
			general: "jbforce=yes\n", a: "directmedia=no\n", bridge: NativeLocal, hasNot: []string{CodeJBForce}},
		{name: "IPv4 and IPv6 legs are a risk",
			factsA: Facts{Family: 4}, factsB: Facts{Family: 6}, release: true, bridge: NativeRemote, method: MethodReinvite,
			has: []string{CodeFamilyMismatch}},
		{name: "same family is not",
			factsA: Facts{Family: 4}, factsB: Facts{Family: 4}, release: true, bridge: NativeRemote, method: MethodReinvite,
			hasNot: []string{CodeFamilyMismatch}},
		{name: "ICE on one leg only is a risk",
			factsA: Facts{ICE: Yes}, factsB: Facts{ICE: No}, release: true, bridge: NativeRemote, method: MethodReinvite,
			has: []string{CodeICEMismatch}},
		{name: "NAT seen while direct media is allowed is a risk",
			factsB: Facts{NAT: Yes, NATEvidence: "private SDP address"}, release: true, bridge: NativeRemote, method: MethodReinvite,
			has: []string{CodeNATRisk}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peers := sipPeers(t, conf(tt.general, tt.a, tt.b))
			f := tt.features
			if !f.Known && f.Targets == 0 && tt.name != "unknown dialplan is reported" {
				f = known
			}
			d := Decide(Leg{Peer: peers["alice"], Facts: tt.factsA}, Leg{Peer: peers["bob"], Outgoing: true, Facts: tt.factsB}, f)
			checkDecision(t, d, tt)
			again := Decide(Leg{Peer: peers["alice"], Facts: tt.factsA}, Leg{Peer: peers["bob"], Outgoing: true, Facts: tt.factsB}, f)
			if !slices.Equal(codes(d), codes(again)) {
				t.Error("not deterministic")
			}
		})
	}
}

func codes(d Decision) []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Code+"/"+string(r.Effect))
	}
	return out
}

func checkDecision(t *testing.T, d Decision, tt policyCase) {
	t.Helper()
	if d.Release != tt.release || d.Bridge != tt.bridge || d.Method != tt.method {
		t.Errorf("release %v bridge %v method %v, want %v %v %v\nreasons %v", d.Release, d.Bridge, d.Method, tt.release, tt.bridge, tt.method, codes(d))
	}
	for _, c := range tt.has {
		if !d.Has(c) {
			t.Errorf("missing %s in %v", c, codes(d))
		}
	}
	for _, c := range tt.hasNot {
		if d.Has(c) {
			t.Errorf("unexpected %s in %v", c, codes(d))
		}
	}
	blocks := d.With(Blocks)
	if d.Release != (len(blocks) == 0) {
		t.Errorf("release %v with blocking reasons %v", d.Release, codes(d))
	}
	if tt.blocksLine != 0 && (len(blocks) == 0 || blocks[0].Option.Source.Line != tt.blocksLine) {
		t.Errorf("first blocking reason %+v, want line %d", blocks, tt.blocksLine)
	}
	if d.Requests[0].Withheld != tt.withheldA || d.Requests[1].Withheld != tt.wheldB {
		t.Errorf("withheld %v %v", d.Requests[0].Withheld, d.Requests[1].Withheld)
	}
	for _, r := range d.Reasons {
		if r.Text == "" || strings.Contains(r.Text, "%!") {
			t.Errorf("bad text %q", r.Text)
		}
	}
}

func TestReasonNamesTheOption(t *testing.T) {
	peers := sipPeers(t, conf("", "directmedia=no\n", ""))
	d := Decide(Leg{Peer: peers["alice"]}, Leg{Peer: peers["bob"], Outgoing: true}, known)
	r := d.With(Blocks)[0]
	want := Option{Section: "alice", Key: "directmedia", Value: "no", Source: astconf.Source{File: "sip.conf", Line: 8, Section: "alice"}}
	if r.Code != CodeDirectMediaNo || r.Leg != 0 || r.Option != want {
		t.Errorf("reason %+v", r)
	}
	if r.Text != "peer alice has directmedia=no (sip.conf:8): Asterisk never sends it a direct-media request and relays the RTP itself" {
		t.Errorf("text %q", r.Text)
	}
	if got := r.Option.String(); got != "directmedia=no (sip.conf:8 [alice])" {
		t.Errorf("option %q", got)
	}
}

func TestInheritedOptionCitesWhereWritten(t *testing.T) {
	peers := sipPeers(t, "[general]\ndirectmedia=no\n[alice]\ntype=friend\n[tpl](!)\ndisallow=all\nallow=g729\n[bob](tpl)\ntype=friend\n")
	d := Decide(Leg{Peer: peers["alice"]}, Leg{Peer: peers["bob"], Outgoing: true}, known)
	var dm, codec []Reason
	for _, r := range d.Reasons {
		switch r.Code {
		case CodeDirectMediaNo:
			dm = append(dm, r)
		case CodeCodecMismatch:
			codec = append(codec, r)
		}
	}
	if len(dm) != 2 || dm[0].Option.Section != "general" || dm[0].Option.Source.Line != 2 {
		t.Errorf("directmedia reasons %+v", dm)
	}
	if len(codec) != 2 || codec[1].Option.Section != "tpl" || codec[1].Option.Source.Line != 7 || !codec[0].Option.Source.IsDefault() ||
		!strings.Contains(codec[0].Text, "alice allows ulaw,alaw,gsm,h263, default") {
		t.Errorf("codec reasons %+v", codec)
	}
}

func TestDecidePJSIP(t *testing.T) {
	const endpoints = `[phone](!)
type=endpoint
disallow=all
allow=ulaw
[a](phone)
[b](phone)
[noDM](phone)
direct_media=no
[upd](phone)
direct_media_method=update
[natty](phone)
disable_direct_media_on_nat=yes
[sdes](phone)
media_encryption=sdes
[gout](phone)
direct_media_glare_mitigation=outgoing
[gin](phone)
direct_media_glare_mitigation=incoming
[info](phone)
dtmf_mode=info
`
	p := pjsipPeers(t, endpoints)
	tests := []struct {
		name             string
		a, b             string
		factsA           Facts
		release          bool
		bridge           Bridge
		has              []string
		withheldA, heldB bool
	}{
		{"defaults release", "a", "b", Facts{}, true, NativeRemote, []string{CodeDirectMediaYes}, false, false},
		{"direct_media=no", "noDM", "b", Facts{}, false, NativeLocal, []string{CodeDirectMediaNo}, false, false},
		{"direct_media_method=update", "upd", "b", Facts{}, true, NativeRemote, []string{CodeUpdate}, false, false},
		{"disable_direct_media_on_nat is undecided", "a", "natty", Facts{NAT: Yes}, true, NativeRemote, []string{CodeDisableOnNAT, CodeNATRisk}, false, false},
		{"media_encryption forbids", "sdes", "b", Facts{}, false, Simple, []string{CodeSRTPMismatch}, false, false},
		{"glare outgoing withholds on the dialog Asterisk originated", "a", "gout", Facts{}, true, NativeRemote, []string{CodeGlareWithheld}, false, true},
		{"glare outgoing does not withhold on an incoming dialog", "gout", "b", Facts{}, true, NativeRemote, nil, false, false},
		{"glare incoming withholds on the incoming dialog", "gin", "b", Facts{}, true, NativeRemote, []string{CodeGlareWithheld}, true, false},
		{"dtmf_mode=info features", "info", "b", Facts{}, true, NativeRemote, []string{CodeDTMFMismatch}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(Leg{Peer: p[tt.a], Facts: tt.factsA}, Leg{Peer: p[tt.b], Outgoing: true}, known)
			if d.Release != tt.release || d.Bridge != tt.bridge {
				t.Errorf("release %v bridge %v, want %v %v: %v", d.Release, d.Bridge, tt.release, tt.bridge, codes(d))
			}
			for _, c := range tt.has {
				if !d.Has(c) {
					t.Errorf("missing %s in %v", c, codes(d))
				}
			}
			if d.Requests[0].Withheld != tt.withheldA || d.Requests[1].Withheld != tt.heldB {
				t.Errorf("withheld %+v", d.Requests)
			}
			if tt.name == "glare outgoing does not withhold on an incoming dialog" && d.Has(CodeGlareWithheld) {
				t.Errorf("unexpected %v", codes(d))
			}
		})
	}
}

func TestFromSIPPeerMapsOptions(t *testing.T) {
	p := sipPeers(t, conf("directrtpsetup=yes\njbenable=yes\njbforce=yes\n", "directmedia=outgoing,update\nnat=auto_comedia\ndtmfmode=inband\n", ""))["alice"]
	if !p.DirectMedia.Value || p.DirectMediaNAT.Value || p.Method.Value != MethodUpdate || p.Withhold.Value != WithholdIncoming ||
		!p.AutoSymmetric.Value || p.Symmetric.Value || p.DTMF.Value != astconf.DTMFInband || !p.DirectRTPSetup.Value || !p.JBForce.Value {
		t.Errorf("%+v", p)
	}
	if p.Method.Var.Key != "directmedia" || p.Method.Var.Source.Line != 11 {
		t.Errorf("method cites %+v", p.Method.Var)
	}
}

func TestFromSectionReadsScenarioOptions(t *testing.T) {
	f, err := astconf.Parse("scenario.conf", []byte("[leg-a]\ndirectmedia = update\nnat = comedia\ndisallow = all\nallow = alaw\ndtmfmode = info\ndirectrtpsetup = yes\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, warns := FromSection(f.Section("leg-a"))
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	if p.Name != "leg-a" || p.Method.Value != MethodUpdate || p.DirectMediaNAT.Value || !p.Symmetric.Value ||
		p.Codecs.Value.String() != "alaw" || p.DTMF.Value != astconf.DTMFInfo || !p.DirectRTPSetup.Value || p.DirectRTPSetup.Var.Source.Line != 7 {
		t.Errorf("%+v", p)
	}
	if p.Method.Var.Source.Line != 2 || p.Method.Var.Source.File != "scenario.conf" {
		t.Errorf("method cites %+v", p.Method.Var)
	}
}
