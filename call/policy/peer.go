package policy

import (
	"fmt"
	"strings"

	"github.com/sipscope/sipscope/astconf"
)

// Driver is the Asterisk channel driver a peer is configured in.
type Driver uint8

// Channel drivers.
const (
	ChanSIP Driver = iota
	PJSIP
)

func (d Driver) String() string {
	if d == PJSIP {
		return "chan_pjsip"
	}
	return "chan_sip"
}

// Method is how Asterisk tells an endpoint the new media address.
type Method uint8

// Methods. InitialInvite is chan_sip's directrtpsetup: the outgoing INVITE
// already carries the caller's media address. Mixed means the two legs use
// different methods.
const (
	MethodNone Method = iota
	MethodReinvite
	MethodUpdate
	MethodInitialInvite
	MethodMixed
)

var methodNames = [...]string{"none", "reinvite", "update", "initial-invite", "mixed"}

func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return "unknown"
}

// MarshalText makes methods readable in JSON.
func (m Method) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Option is the configuration line a reason cites.
type Option struct {
	Section string         `json:"section,omitempty"` // where the line is written (a template or [general] when inherited)
	Key     string         `json:"key,omitempty"`
	Value   string         `json:"value,omitempty"`
	Source  astconf.Source `json:"source"`
}

// IsZero reports whether no option is cited.
func (o Option) IsZero() bool { return o.Key == "" }

func (o Option) String() string {
	if o.IsZero() {
		return ""
	}
	if o.Source.IsDefault() {
		return fmt.Sprintf("%s=%s (built-in default)", o.Key, o.Value)
	}
	return fmt.Sprintf("%s=%s (%s [%s])", o.Key, o.Value, o.Source, o.Section)
}

// OptionOf turns a configuration line into an Option.
func OptionOf(v astconf.Var) Option {
	return Option{Section: v.Source.Section, Key: v.Key, Value: v.Value, Source: v.Source}
}

func cite[T any](s astconf.Setting[T]) Option { return OptionOf(s.Var) }

// Peer is the release policy of one configured chan_sip peer or pjsip
// endpoint: the options that decide whether Asterisk moves media off
// itself. Each Setting keeps the line that set it.
type Peer struct {
	Name   string `json:"name"`
	Driver Driver `json:"driver"`
	// DirectMedia: chan_sip directmedia/canreinvite other than no; pjsip
	// direct_media.
	DirectMedia astconf.Setting[bool] `json:"direct_media"`
	// DirectMediaNAT: release also while symmetric RTP is in use. chan_sip
	// sets it only for directmedia=yes; pjsip has no such check in the glue
	// (see DisableOnNAT).
	DirectMediaNAT astconf.Setting[bool] `json:"direct_media_nat"`
	// DisableOnNAT is pjsip disable_direct_media_on_nat.
	DisableOnNAT astconf.Setting[bool]     `json:"disable_on_nat"`
	Method       astconf.Setting[Method]   `json:"method"` // reinvite or update
	Withhold     astconf.Setting[Withhold] `json:"withhold"`
	// DirectRTPSetup is chan_sip's [general] directrtpsetup.
	DirectRTPSetup astconf.Setting[bool] `json:"directrtpsetup"`
	// Symmetric is symmetric RTP: chan_sip nat=comedia (or yes), pjsip
	// rtp_symmetric. AutoSymmetric is chan_sip nat=auto_comedia, which turns
	// it on when the endpoint is seen behind NAT.
	Symmetric     astconf.Setting[bool]              `json:"symmetric"`
	AutoSymmetric astconf.Setting[bool]              `json:"auto_symmetric"`
	Codecs        astconf.Setting[astconf.CodecList] `json:"codecs"`
	DTMF          astconf.Setting[astconf.DTMFMode]  `json:"dtmf"`
	// Encryption: chan_sip encryption=yes, pjsip media_encryption other than no.
	Encryption astconf.Setting[bool] `json:"encryption"`
	MediaACL   astconf.ACL           `json:"media_acl,omitempty"`
	NamedACL   []astconf.Var         `json:"named_acl,omitempty"`
	// JBForce is chan_sip's [general] jbenable=yes with jbforce=yes, which
	// forbids even a local native bridge when direct media is off.
	JBForce astconf.Setting[bool] `json:"jbforce"`
}

// FromSIPPeer builds the policy of a chan_sip peer; conf supplies the
// [general]-only options (directrtpsetup, jbforce).
func FromSIPPeer(conf *astconf.SIPConf, p *astconf.SIPPeer) Peer {
	dm := p.DirectMedia
	method := MethodReinvite
	if dm.Value.Update {
		method = MethodUpdate
	}
	withhold := WithholdNone
	if dm.Value.Outgoing {
		withhold = WithholdIncoming
	}
	nat := p.NAT
	out := Peer{
		Name:           p.Name,
		Driver:         ChanSIP,
		DirectMedia:    astconf.Setting[bool]{Value: dm.Value.Enabled, Var: dm.Var},
		DirectMediaNAT: astconf.Setting[bool]{Value: dm.Value.NAT, Var: dm.Var},
		Method:         astconf.Setting[Method]{Value: method, Var: dm.Var},
		Withhold:       astconf.Setting[Withhold]{Value: withhold, Var: dm.Var},
		Symmetric:      astconf.Setting[bool]{Value: nat.Value.Comedia, Var: nat.Var},
		AutoSymmetric:  astconf.Setting[bool]{Value: nat.Value.AutoComedia, Var: nat.Var},
		Codecs:         p.Codecs,
		DTMF:           p.DTMF,
		Encryption:     p.Encryption,
		MediaACL:       p.MediaACL,
		NamedACL:       p.NamedACL,
	}
	if out.Encryption.Var.Key == "" {
		out.Encryption.Var = astconf.Var{Key: "encryption", Value: "no"}
	}
	if conf != nil {
		out.DirectRTPSetup = conf.DirectRTPSetup
		out.JBForce = conf.JBForce
		out.JBForce.Value = conf.JBEnable.Value && conf.JBForce.Value
	}
	return out
}

// FromPJSIPEndpoint builds the policy of a pjsip endpoint.
func FromPJSIPEndpoint(e *astconf.Endpoint) Peer {
	method := MethodReinvite
	if e.DirectMediaMethod.Value == "update" {
		method = MethodUpdate
	}
	withhold := WithholdNone
	switch e.GlareMitigation.Value {
	case "outgoing":
		withhold = WithholdOutgoing
	case "incoming":
		withhold = WithholdIncoming
	}
	return Peer{
		Name:         e.Name,
		Driver:       PJSIP,
		DirectMedia:  e.DirectMedia,
		DisableOnNAT: e.DisableDirectMediaOnNAT,
		Method:       astconf.Setting[Method]{Value: method, Var: e.DirectMediaMethod.Var},
		Withhold:     astconf.Setting[Withhold]{Value: withhold, Var: e.GlareMitigation.Var},
		Symmetric:    e.RTPSymmetric,
		Codecs:       e.Codecs,
		DTMF:         e.DTMF,
		Encryption:   astconf.Setting[bool]{Value: e.MediaEncryption.Value != "no", Var: e.MediaEncryption.Var},
	}
}

// FromConfig builds the policy of whatever a leg matched.
func FromConfig(c *astconf.Config, p astconf.Peer) (Peer, bool) {
	switch {
	case p.SIP != nil && c != nil && c.SIP != nil:
		return FromSIPPeer(c.SIP, p.SIP), true
	case p.SIP != nil:
		return FromSIPPeer(nil, p.SIP), true
	case p.Endpoint != nil:
		return FromPJSIPEndpoint(p.Endpoint), true
	}
	return Peer{}, false
}

// generalOnly are the chan_sip options read only from [general].
var generalOnly = map[string]bool{"directrtpsetup": true, "jbenable": true, "jbforce": true}

// FromSection reads one section of sip.conf-style options (directmedia,
// nat, allow, dtmfmode, directrtpsetup, ...), as an active-mode scenario
// writes them for one leg of its B2BUA. The section stands for both the
// peer and [general], so directrtpsetup and jbforce may appear in it; every
// other option gets chan_sip's default. The warnings are the reader's.
func FromSection(s *astconf.Section) (Peer, []astconf.Warning) {
	peer := &astconf.Section{Name: s.Name, Source: s.Source,
		Vars: []astconf.Var{{Key: "type", Value: "friend", Source: s.Source}}}
	for _, v := range s.Vars {
		if !generalOnly[strings.ToLower(v.Key)] {
			peer.Vars = append(peer.Vars, v)
		}
	}
	general := &astconf.Section{Name: "general", Source: s.Source, Vars: s.Vars}
	c := astconf.ReadSIP(&astconf.File{Name: s.Source.File, Base: "sip.conf", Sections: []*astconf.Section{general, peer}})
	if len(c.Peers) != 1 {
		return Peer{}, c.Warnings
	}
	return FromSIPPeer(c, c.Peers[0]), c.Warnings
}
