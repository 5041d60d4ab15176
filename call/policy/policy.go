// Package policy is a pure, deterministic model of how Asterisk decides
// whether to release the media of a two-channel bridge (native RTP bridging,
// "direct media") and how it signals it. The explain command uses it to
// predict from the configuration what a capture should show; the active mode
// uses the same model to decide what its B2BUA does.
//
// The rules follow Asterisk's bridge_native_rtp.c (which bridge technology
// is compatible), the channel drivers' RTP glue (chan_sip sip_get_rtp_peer
// and sip_set_rtp_peer, chan_pjsip chan_pjsip_get_rtp_peer and
// send_direct_media_request) and app_dial's options. Every reason names the
// configuration line it rests on, and conditions the inputs cannot settle
// are reported as such rather than guessed.
package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sipscope/sipscope/astconf"
)

// Tri is a fact that may be unknown.
type Tri int8

// Tri values; the zero value is Unknown.
const (
	Unknown Tri = iota
	No
	Yes
)

// TriOf turns a known bool into a Tri.
func TriOf(b bool) Tri {
	if b {
		return Yes
	}
	return No
}

func (t Tri) String() string {
	switch t {
	case No:
		return "no"
	case Yes:
		return "yes"
	}
	return "unknown"
}

// MarshalText makes Tri readable in JSON.
func (t Tri) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Facts are what the negotiation of one leg showed. Zero values mean unknown.
type Facts struct {
	// Codecs are the negotiated audio codecs as Asterisk names them (see
	// astconf.CodecFromSDP), the one in use first.
	Codecs         []string `json:"codecs,omitempty"`
	Ptime          int      `json:"ptime,omitempty"` // a=ptime in milliseconds
	TelephoneEvent Tri      `json:"telephone_event"` // RFC 4733 negotiated
	SRTP           Tri      `json:"srtp"`            // SRTP (SDES or DTLS) negotiated
	ICE            Tri      `json:"ice"`
	T38            Tri      `json:"t38"`
	// Family is 4 or 6: the address family of the leg's media; 0 unknown.
	Family int `json:"family,omitempty"`
	// MediaAddr is where the endpoint receives RTP (its SDP c= address).
	MediaAddr netip.Addr `json:"media_addr,omitzero"`
	// NAT says whether the endpoint appears behind NAT: a Via received= or
	// rport= differing from the sent-by, a private address in Contact or SDP
	// while packets come from a public one, or RTP from another address than
	// the SDP announced. NATEvidence says which, for the reason text.
	NAT         Tri    `json:"nat"`
	NATEvidence string `json:"nat_evidence,omitempty"`
}

// Leg is one channel of the bridge.
type Leg struct {
	Peer Peer `json:"peer"`
	// Outgoing is set for the channel Asterisk originated (the one Dial()
	// called): Asterisk is the UAC of that dialog.
	Outgoing bool  `json:"outgoing"`
	Facts    Facts `json:"facts"`
}

// Features are the bridge features from the dialplan that keep the core in
// the media path.
type Features struct {
	// Known says the dialplan was available. When false the model assumes
	// no Dial() options, recording or jitter buffer, and says so.
	Known bool        `json:"known"`
	Dial  DialOptions `json:"dial"`
	// DialOption is where the Dial() line is written, when known.
	DialOption Option `json:"dial_option,omitzero"`
	// Recording: MixMonitor, Monitor or another audiohook on either channel.
	Recording       bool   `json:"recording,omitempty"`
	RecordingOption Option `json:"recording_option,omitzero"`
	// JitterBuffer: the JITTERBUFFER() dialplan function on either channel.
	JitterBuffer       bool   `json:"jitter_buffer,omitempty"`
	JitterBufferOption Option `json:"jitter_buffer_option,omitzero"`
	// Targets is the number of channels Dial() rang at once; 0 unknown. An
	// early (directrtpsetup) bridge needs exactly one.
	Targets int `json:"targets,omitempty"`
}

// Bridge is the bridge technology Asterisk ends up using.
type Bridge uint8

// Bridges. NativeRemote releases the media (direct media). NativeLocal keeps
// it but relays RTP packets unchanged (same SSRC, same payload). Simple runs
// the media through the core: Asterisk's own RTP streams and SSRCs, with
// transcoding when the codecs differ.
const (
	NativeRemote Bridge = iota
	NativeLocal
	Simple
)

var bridgeNames = [...]string{"native-remote", "native-local", "simple"}

func (b Bridge) String() string {
	if int(b) < len(bridgeNames) {
		return bridgeNames[b]
	}
	return "unknown"
}

// MarshalText makes bridges readable in JSON.
func (b Bridge) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Effect is what a reason does to the prediction.
type Effect string

// Effects.
const (
	Blocks    Effect = "blocks"  // keeps the media on Asterisk
	Permits   Effect = "permits" // an option that allows the release
	Shapes    Effect = "shapes"  // changes how or when, not whether
	Risk      Effect = "risk"    // release happens but media may then fail
	Undecided Effect = "unknown" // the inputs cannot settle this condition
)

// Reason codes: stable strings shared with explain and the active mode.
const (
	CodeDirectMediaNo   = "directmedia-no"
	CodeNATNoNAT        = "nat-nonat"
	CodeCodecMismatch   = "codec-mismatch"
	CodePtimeMismatch   = "ptime-mismatch"
	CodeDTMFMismatch    = "dtmf-mismatch"
	CodeSRTP            = "srtp"
	CodeSRTPMismatch    = "srtp-mismatch"
	CodeFamilyMismatch  = "family-mismatch"
	CodeICEMismatch     = "ice-mismatch"
	CodeDialOptions     = "dial-options"
	CodeDialOptionsInfo = "dial-options-info"
	CodeRecording       = "recording"
	CodeJitterBuffer    = "jitterbuffer"
	CodeJBForce         = "jbforce"
	CodeT38             = "t38"
	CodeMediaACL        = "directmedia-acl"
	CodeGlareWithheld   = "glare-outgoing-refused"
	CodeDirectMediaYes  = "directmedia-yes"
	CodeUpdate          = "directmedia-update"
	CodeDirectRTPSetup  = "directrtpsetup"
	CodeNATRisk         = "nat-direct-risk"
	CodeDialplanUnknown = "dialplan-unknown"
	CodeCodecsUnknown   = "codecs-unknown"
	CodeNATUnknown      = "nat-unknown"
	CodeACLUnknown      = "directmedia-acl-unknown"
	CodeReinviteAccept  = "reinvite-acceptance"
	CodeUpdateSupport   = "update-support"
	CodeDirectRTPEarly  = "directrtpsetup-early"
	CodeDisableOnNAT    = "disable-direct-media-on-nat"
)

// Both is the Reason.Leg of a reason about the bridge as a whole.
const Both = -1

// Reason is one rule that applied, with the configuration line it rests on.
// A rule about both legs adds one reason per leg, each naming that leg's line.
type Reason struct {
	Code   string `json:"code"`
	Effect Effect `json:"effect"`
	Leg    int    `json:"leg"` // 0 or 1, or Both
	Text   string `json:"text"`
	Option Option `json:"option,omitzero"`
}

// Request is what Asterisk sends one leg to release the media.
type Request struct {
	Send   bool   `json:"send"`
	Method Method `json:"method"`
	// Withheld: glare mitigation keeps the first request back; Asterisk sends
	// it on the next change of the other leg's media address.
	Withheld bool `json:"withheld,omitempty"`
}

// Decision is the model's prediction for one bridge.
type Decision struct {
	Release  bool       `json:"release"`
	Bridge   Bridge     `json:"bridge"`
	Method   Method     `json:"method"`
	Requests [2]Request `json:"requests"`
	Reasons  []Reason   `json:"reasons"`
}

// Has reports whether a reason with the code applied.
func (d Decision) Has(code string) bool {
	return slices.ContainsFunc(d.Reasons, func(r Reason) bool { return r.Code == code })
}

// With returns the reasons with the given effect, in order.
func (d Decision) With(e Effect) []Reason {
	var out []Reason
	for _, r := range d.Reasons {
		if r.Effect == e {
			out = append(out, r)
		}
	}
	return out
}

// glue is a channel driver's answer to "may this channel's media go
// elsewhere" (enum ast_rtp_glue_result).
type glue uint8

const (
	glueRemote glue = iota
	glueLocal
	glueForbid
)

type decider struct {
	legs [2]Leg
	f    Features
	d    Decision
}

func (x *decider) add(code string, e Effect, leg int, opt Option, format string, args ...any) {
	x.d.Reasons = append(x.d.Reasons, Reason{Code: code, Effect: e, Leg: leg, Text: fmt.Sprintf(format, args...), Option: opt})
}

func (x *decider) name(i int) string {
	if n := x.legs[i].Peer.Name; n != "" {
		return n
	}
	return fmt.Sprintf("leg %d", i+1)
}

func (x *decider) noun(i int) string {
	if x.legs[i].Peer.Driver == PJSIP {
		return "endpoint " + x.name(i)
	}
	return "peer " + x.name(i)
}

func where(o Option) string {
	if o.IsZero() || o.Source.IsDefault() {
		return "default"
	}
	return o.Source.String()
}

// Decide predicts what Asterisk does with a bridge of legs a and b.
func Decide(a, b Leg, f Features) Decision {
	x := &decider{legs: [2]Leg{a, b}, f: f}
	x.decide()
	return x.d
}

func (x *decider) decide() {
	var g [2]glue
	for i := range x.legs {
		g[i] = x.glue(i)
	}
	x.encryption(&g)
	if g[0] == glueRemote && g[1] == glueRemote {
		for i := range x.legs {
			if !x.aclAllows(i) {
				g[0], g[1] = glueLocal, glueLocal
			}
		}
	}
	combined := max(g[0], g[1])
	simple := combined == glueForbid
	if x.features() {
		simple = true
	}
	if combined == glueLocal && x.dtmfIncompatible() {
		simple = true
	}
	if x.codecs() {
		simple = true
	}
	if x.ptime() {
		simple = true
	}
	switch {
	case simple:
		x.d.Bridge = Simple
	case combined == glueLocal:
		x.d.Bridge = NativeLocal
	default:
		x.d.Bridge = NativeRemote
	}
	x.d.Release = x.d.Bridge == NativeRemote
	if x.d.Release {
		x.release()
	} else {
		x.earlyBridge(g)
	}
}

// glue is the channel driver's verdict for leg i.
func (x *decider) glue(i int) glue {
	l := x.legs[i]
	p := l.Peer
	if l.Facts.T38 == Yes {
		x.add(CodeT38, Blocks, i, Option{}, "%s negotiated T.38 fax, which the RTP glue never bridges natively", x.noun(i))
		return glueForbid
	}
	sym := false
	if p.Driver == ChanSIP && !p.DirectMediaNAT.Value {
		sym = p.Symmetric.Value
		if !sym && p.AutoSymmetric.Value && p.DirectMedia.Value {
			switch l.Facts.NAT {
			case Yes:
				sym = true
			case Unknown:
				x.add(CodeNATUnknown, Undecided, i, cite(p.DirectMediaNAT),
					"%s has %s=%s (%s), which refuses direct media once symmetric RTP is on, and nat=auto_comedia turns it on if the endpoint is behind NAT; whether it is, is not known",
					x.noun(i), p.DirectMediaNAT.Var.Key, p.DirectMediaNAT.Var.Value, where(cite(p.DirectMediaNAT)))
			}
		}
		if sym && p.DirectMedia.Value {
			x.add(CodeNATNoNAT, Blocks, i, cite(p.DirectMediaNAT),
				"%s has %s=%s (%s) with symmetric RTP from nat=%s (%s): chan_sip keeps the media (local native bridge) for endpoints it treats as behind NAT",
				x.noun(i), p.DirectMediaNAT.Var.Key, p.DirectMediaNAT.Var.Value, where(cite(p.DirectMediaNAT)), p.Symmetric.Var.Value, where(cite(p.Symmetric)))
			return glueLocal
		}
	}
	if !p.DirectMedia.Value {
		opt := cite(p.DirectMedia)
		if p.Driver == ChanSIP && p.JBForce.Value && !sym {
			x.add(CodeDirectMediaNo, Blocks, i, opt, "%s has %s=%s (%s): Asterisk never sends it a direct-media request", x.noun(i), opt.Key, opt.Value, where(opt))
			x.add(CodeJBForce, Shapes, i, cite(p.JBForce), "jbforce=yes with jbenable=yes (%s) forbids even relaying RTP unchanged: the media runs through the core's jitter buffer", where(cite(p.JBForce)))
			return glueForbid
		}
		x.add(CodeDirectMediaNo, Blocks, i, opt, "%s has %s=%s (%s): Asterisk never sends it a direct-media request and relays the RTP itself", x.noun(i), opt.Key, opt.Value, where(opt))
		return glueLocal
	}
	return glueRemote
}

// encryption applies the SRTP rule: both drivers forbid native bridging
// of an encrypted leg (chan_sip on p->srtp, chan_pjsip on media_encryption),
// since the keys are negotiated per hop.
func (x *decider) encryption(g *[2]glue) {
	var enc [2]bool
	var opt [2]Option
	for i, l := range x.legs {
		switch {
		case l.Peer.Encryption.Value:
			enc[i], opt[i] = true, cite(l.Peer.Encryption)
		case l.Facts.SRTP == Yes:
			enc[i] = true
		}
	}
	for i := range x.legs {
		if !enc[i] {
			continue
		}
		g[i] = glueForbid
		what := "negotiated SRTP"
		if !opt[i].IsZero() {
			what = fmt.Sprintf("has %s=%s (%s)", opt[i].Key, opt[i].Value, where(opt[i]))
		}
		if enc[1-i] {
			x.add(CodeSRTP, Blocks, i, opt[i], "%s %s: Asterisk terminates SRTP on each leg (keys are per hop), so the media runs through the core", x.noun(i), what)
		} else {
			x.add(CodeSRTPMismatch, Blocks, i, opt[i], "%s %s and %s does not: Asterisk must decrypt and re-encrypt, so the media runs through the core", x.noun(i), what, x.noun(1-i))
		}
	}
}

// aclAllows applies leg i's directmediapermit/deny to the other leg's media
// address (chan_sip's allow_rtp_remote glue).
func (x *decider) aclAllows(i int) bool {
	p := x.legs[i].Peer
	for _, v := range p.NamedACL {
		x.add(CodeACLUnknown, Undecided, i, OptionOf(v), "%s has directmediaacl=%s (%s), an acl.conf list this model does not read", x.noun(i), v.Value, v.Source)
	}
	if len(p.MediaACL) == 0 {
		return true
	}
	addr := x.legs[1-i].Facts.MediaAddr
	if !addr.IsValid() {
		r := p.MediaACL[len(p.MediaACL)-1]
		x.add(CodeACLUnknown, Undecided, i, OptionOf(r.Var), "%s restricts direct media by address (%s) and the media address of %s is not known", x.noun(i), r.Var.Source, x.noun(1-i))
		return true
	}
	ok, rule := p.MediaACL.Permits(addr)
	if ok {
		return true
	}
	x.add(CodeMediaACL, Blocks, i, OptionOf(rule.Var), "%s denies direct media to %s by %s=%s (%s): Asterisk relays the RTP itself", x.noun(i), addr, rule.Var.Key, rule.Var.Value, rule.Var.Source)
	return false
}

// dtmfMode returns whether leg i sends RFC 4733 events and whether its
// DTMF travels in the media at all (RFC 4733 or inband), from its mode and
// what was negotiated.
func (x *decider) dtmfMode(i int) (rfc4733, inMedia Tri) {
	l := x.legs[i]
	switch l.Peer.DTMF.Value {
	case astconf.DTMFRFC4733:
		return Yes, Yes
	case astconf.DTMFInband:
		return No, Yes
	case astconf.DTMFAuto:
		return l.Facts.TelephoneEvent, Yes
	case astconf.DTMFAutoInfo:
		return l.Facts.TelephoneEvent, l.Facts.TelephoneEvent
	}
	return No, No
}

// features applies the dialplan rules and reports whether they force a
// simple bridge.
func (x *decider) features() bool {
	f := x.f
	if !f.Known {
		x.add(CodeDialplanUnknown, Undecided, Both, Option{}, "the dialplan is not known: the prediction assumes Dial() without t/T/h/H/w/W/k/K/x/X or L() warnings, no MixMonitor and no JITTERBUFFER()")
		return false
	}
	simple := false
	if f.Recording {
		x.add(CodeRecording, Blocks, Both, f.RecordingOption, "the call is recorded (MixMonitor/Monitor): the audiohook needs every frame, so the media runs through the core")
		simple = true
	}
	if f.JitterBuffer {
		x.add(CodeJitterBuffer, Blocks, Both, f.JitterBufferOption, "JITTERBUFFER() is set on the channel: the framehook needs every frame, so the media runs through the core")
		simple = true
	}
	for i, l := range x.legs {
		letters := f.Dial.CallerFeatures
		role := "calling"
		if l.Outgoing {
			letters, role = f.Dial.CalleeFeatures, "called"
		}
		if letters == "" {
			continue
		}
		_, inMedia := x.dtmfMode(i)
		if inMedia == No {
			x.add(CodeDialOptionsInfo, Permits, i, f.DialOption, "Dial() option %s gives the %s party DTMF features, but %s carries DTMF by SIP INFO (dtmfmode=%s), so the features do not need the media", letters, role, x.noun(i), x.legs[i].Peer.DTMF.Value)
			continue
		}
		x.add(CodeDialOptions, Blocks, i, f.DialOption, "Dial() option %s gives the %s party (%s) DTMF features and its DTMF travels in the media (%s): Asterisk must see every packet to detect them", letters, role, x.noun(i), x.legs[i].Peer.DTMF.Value)
		simple = true
	}
	if f.Dial.TimeLimitWarning {
		x.add(CodeDialOptions, Blocks, Both, f.DialOption, "Dial() option L() with a warning time: Asterisk plays the warnings into the call, so it keeps the media")
		simple = true
	}
	return simple
}

// dtmfIncompatible applies res_rtp_asterisk's dtmf_compatible check, which
// a local native bridge requires: both legs must agree on RFC 4733.
func (x *decider) dtmfIncompatible() bool {
	r0, _ := x.dtmfMode(0)
	r1, _ := x.dtmfMode(1)
	if r0 == Unknown || r1 == Unknown || r0 == r1 {
		return false
	}
	for i := range x.legs {
		o := cite(x.legs[i].Peer.DTMF)
		x.add(CodeDTMFMismatch, Shapes, i, o, "%s uses %s DTMF and the other leg does not: Asterisk cannot relay the packets unchanged and bridges through the core", x.noun(i), rfcWord(i, x))
	}
	return true
}

func rfcWord(i int, x *decider) string {
	if r, _ := x.dtmfMode(i); r == Yes {
		return "RFC 4733"
	}
	return "non-RFC 4733 (" + x.legs[i].Peer.DTMF.Value.String() + ")"
}

// codecs applies the codec compatibility check and reports a mismatch.
func (x *decider) codecs() bool {
	c0, c1 := x.legs[0].Facts.Codecs, x.legs[1].Facts.Codecs
	p0, p1 := x.legs[0].Peer.Codecs, x.legs[1].Peer.Codecs
	known0, known1 := p0.Var.Key != "", p1.Var.Key != ""
	mismatch := false
	var detail string
	switch {
	case len(c0) > 0 && len(c1) > 0:
		if !intersects(c0, c1) {
			mismatch = true
			detail = fmt.Sprintf("the legs negotiated %s and %s", strings.Join(c0, ","), strings.Join(c1, ","))
		}
	case len(c0) > 0 && known1 || len(c1) > 0 && known0:
		neg, other := c0, p1.Value
		if len(c0) == 0 {
			neg, other = c1, p0.Value
		}
		if !slices.ContainsFunc(neg, other.Allows) {
			mismatch = true
			detail = fmt.Sprintf("one leg negotiated %s, which the other leg's allow list (%s) excludes", strings.Join(neg, ","), other)
		}
	case known0 && known1:
		if len(p0.Value.Common(p1.Value)) == 0 {
			mismatch = true
			detail = fmt.Sprintf("the allow lists share no codec (%s and %s)", p0.Value, p1.Value)
		}
	}
	if mismatch {
		for i := range x.legs {
			o := cite(x.legs[i].Peer.Codecs)
			x.add(CodeCodecMismatch, Blocks, i, o, "%s: %s; Asterisk transcodes in a simple bridge (%s allows %s, %s)", capitalize(x.noun(i)), detail, x.name(i), x.legs[i].Peer.Codecs.Value, where(o))
		}
		return true
	}
	if (len(c0) == 0 || len(c1) == 0) && !sameSingleCodec(p0.Value, p1.Value) {
		x.add(CodeCodecsUnknown, Undecided, Both, Option{}, "the negotiated codecs of both legs are not known: release needs a codec common to both")
	}
	return false
}

func (x *decider) ptime() bool {
	p0, p1 := x.legs[0].Facts.Ptime, x.legs[1].Facts.Ptime
	if p0 == 0 || p1 == 0 || p0 == p1 {
		return false
	}
	x.add(CodePtimeMismatch, Blocks, Both, Option{}, "the legs use different packetization (%d ms and %d ms): Asterisk repacketizes in a simple bridge", p0, p1)
	return true
}

// release fills in how the release is signalled, and what could still go
// wrong after it.
func (x *decider) release() {
	for i := range x.legs {
		o := cite(x.legs[i].Peer.DirectMedia)
		x.add(CodeDirectMediaYes, Permits, i, o, "%s has %s=%s (%s)", x.noun(i), o.Key, o.Value, where(o))
	}
	early := x.earlyPossible()
	for i, l := range x.legs {
		p := l.Peer
		req := Request{Send: true, Method: p.Method.Value}
		if req.Method == MethodNone {
			req.Method = MethodReinvite
		}
		if early {
			req.Method = MethodInitialInvite
		}
		if !early && !SendsReinvite(l.Outgoing, p.Withhold.Value) {
			req.Withheld = true
			o := cite(p.Withhold)
			dir := "incoming"
			if l.Outgoing {
				dir = "outgoing"
			}
			x.add(CodeGlareWithheld, Shapes, i, o, "%s has %s=%s (%s) and this dialog is %s: Asterisk withholds its first direct-media request, and sends one only when the other leg's media address changes again", x.noun(i), o.Key, o.Value, where(o), dir)
		}
		if !early && req.Method == MethodUpdate {
			o := cite(p.Method)
			x.add(CodeUpdate, Shapes, i, o, "%s has %s=%s (%s): the request is an UPDATE (RFC 3311), not a re-INVITE", x.noun(i), o.Key, o.Value, where(o))
			x.add(CodeUpdateSupport, Undecided, i, Option{}, "whether %s accepts UPDATE (its Allow header) is not in the configuration", x.name(i))
		}
		if p.Driver == PJSIP && p.DisableOnNAT.Value && x.legs[1-i].Facts.NAT == Yes {
			o := cite(p.DisableOnNAT)
			x.add(CodeDisableOnNAT, Undecided, i, o, "%s has disable_direct_media_on_nat=yes (%s) and %s appears behind NAT (%s); chan_pjsip honours it only when the bridge reports NAT, which the native RTP bridge of Asterisk 12 and later does not", x.noun(i), where(o), x.noun(1-i), x.legs[1-i].Facts.NATEvidence)
		}
		x.d.Requests[i] = req
	}
	switch m0, m1 := x.d.Requests[0].Method, x.d.Requests[1].Method; {
	case m0 == m1:
		x.d.Method = m0
	default:
		x.d.Method = MethodMixed
	}
	x.risks()
	x.add(CodeReinviteAccept, Undecided, Both, Option{}, "release also needs both endpoints to accept the new media address (200 OK to the request); some devices cannot, which is why canreinvite=no exists")
}

// earlyPossible reports whether chan_sip's directrtpsetup sets the media up
// directly in the initial INVITE: an early bridge needs both channels
// remote-capable with compatible codecs, a single Dial() target and no
// ringback generated by Asterisk (m or r).
func (x *decider) earlyPossible() bool {
	out := -1
	for i, l := range x.legs {
		if l.Outgoing {
			out = i
		}
	}
	if out < 0 {
		return false
	}
	p := x.legs[out].Peer
	if p.Driver != ChanSIP || !p.DirectRTPSetup.Value {
		return false
	}
	o := cite(p.DirectRTPSetup)
	switch {
	case x.f.Targets > 1:
		x.add(CodeDirectRTPSetup, Shapes, out, o, "directrtpsetup=yes (%s) is not used: Dial() rings %d channels at once, and the early bridge needs one", where(o), x.f.Targets)
		return false
	case x.f.Dial.MusicOrRinging:
		x.add(CodeDirectRTPSetup, Shapes, out, o, "directrtpsetup=yes (%s) is not used: Dial() option m or r makes Asterisk generate the ringback", where(o))
		return false
	}
	x.add(CodeDirectRTPSetup, Shapes, out, o, "directrtpsetup=yes (%s): the INVITE to %s carries the caller's media address and the answer to the caller carries the callee's, so no re-INVITE is needed", where(o), x.name(out))
	return true
}

// earlyBridge notes the case where directrtpsetup sets media up directly and
// the bridge then takes it back.
func (x *decider) earlyBridge(g [2]glue) {
	for i, l := range x.legs {
		p := l.Peer
		if !l.Outgoing || p.Driver != ChanSIP || !p.DirectRTPSetup.Value || g[0] != glueRemote || g[1] != glueRemote || x.Has(CodeCodecMismatch) {
			continue
		}
		o := cite(p.DirectRTPSetup)
		x.add(CodeDirectRTPEarly, Undecided, i, o, "directrtpsetup=yes (%s): the initial INVITE may still carry the caller's media address, and Asterisk then re-INVITEs both legs back to itself when the bridge forms", where(o))
	}
}

// Has reports whether a reason with the code was added so far.
func (x *decider) Has(code string) bool { return x.d.Has(code) }

// risks lists what can break the media after a release that Asterisk does
// not check for.
func (x *decider) risks() {
	f0, f1 := x.legs[0].Facts, x.legs[1].Facts
	if f0.Family != 0 && f1.Family != 0 && f0.Family != f1.Family {
		x.add(CodeFamilyMismatch, Risk, Both, Option{}, "one leg's media is IPv%d and the other's IPv%d: after the release the endpoints are sent addresses they cannot reach", f0.Family, f1.Family)
	}
	if f0.ICE != Unknown && f1.ICE != Unknown && f0.ICE != f1.ICE {
		x.add(CodeICEMismatch, Risk, Both, Option{}, "only one leg uses ICE: after the release the ICE endpoint expects connectivity checks the other does not send")
	}
	r0, _ := x.dtmfMode(0)
	r1, _ := x.dtmfMode(1)
	te0, te1 := f0.TelephoneEvent, f1.TelephoneEvent
	if r0 != Unknown && r1 != Unknown && r0 != r1 || te0 != Unknown && te1 != Unknown && te0 != te1 {
		for i := range x.legs {
			o := cite(x.legs[i].Peer.DTMF)
			x.add(CodeDTMFMismatch, Risk, i, o, "%s uses %s DTMF (telephone-event negotiated: %s) and the other leg differs: Asterisk does not check this before a release, after which DTMF may not be understood", x.noun(i), rfcWord(i, x), x.legs[i].Facts.TelephoneEvent)
		}
	}
	for i, l := range x.legs {
		if l.Facts.NAT == Yes {
			x.add(CodeNATRisk, Risk, i, cite(l.Peer.Symmetric), "%s appears behind NAT (%s) and its options still allow direct media: the other endpoint is sent an address it may not reach", x.noun(i), l.Facts.NATEvidence)
		}
	}
}

// sameSingleCodec reports whether both allow lists name the same one codec,
// which makes the negotiated codecs equal whatever the phones offer.
func sameSingleCodec(a, b astconf.CodecList) bool {
	return !a.All && !b.All && len(a.Codecs) == 1 && len(b.Codecs) == 1 && a.Codecs[0].Name == b.Codecs[0].Name
}

func intersects(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
