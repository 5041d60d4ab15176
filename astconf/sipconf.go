package astconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PeerType is a chan_sip section's type=.
type PeerType uint8

// chan_sip peer types. A user only matches incoming calls by name, a peer
// only by address, a friend both ways.
const (
	TypeFriend PeerType = iota
	TypePeer
	TypeUser
)

func (t PeerType) String() string {
	switch t {
	case TypePeer:
		return "peer"
	case TypeUser:
		return "user"
	}
	return "friend"
}

// Host is a chan_sip host= value.
type Host struct {
	Dynamic bool       `json:"dynamic,omitempty"` // host=dynamic: the address comes from REGISTER
	Addr    netip.Addr `json:"addr,omitzero"`     // a literal address
	Name    string     `json:"name,omitempty"`    // a host name (not resolved here)
	Port    uint16     `json:"port,omitempty"`    // a port written in host= itself
}

func (h Host) String() string {
	switch {
	case h.Dynamic:
		return "dynamic"
	case h.Addr.IsValid():
		return h.Addr.String()
	}
	return h.Name
}

// NAT is chan_sip's nat= setting (Asterisk 1.8 and later words; the older
// never and route are mapped as chan_pjsip documents their equivalents).
type NAT struct {
	ForceRport     bool `json:"force_rport,omitempty"`      // always answer to the source port (RFC 3581)
	Comedia        bool `json:"comedia,omitempty"`          // symmetric RTP: send media where it comes from
	AutoForceRport bool `json:"auto_force_rport,omitempty"` // force_rport once NAT is detected
	AutoComedia    bool `json:"auto_comedia,omitempty"`     // comedia once NAT is detected
	RewriteContact bool `json:"rewrite_contact,omitempty"`  // legacy nat=yes/route
}

func (n NAT) String() string {
	var w []string
	for _, x := range []struct {
		on   bool
		name string
	}{{n.ForceRport, "force_rport"}, {n.Comedia, "comedia"}, {n.AutoForceRport, "auto_force_rport"}, {n.AutoComedia, "auto_comedia"}} {
		if x.on {
			w = append(w, x.name)
		}
	}
	if len(w) == 0 {
		return "no"
	}
	return strings.Join(w, ",")
}

// DirectMedia is chan_sip's directmedia= (formerly canreinvite=) setting.
type DirectMedia struct {
	Enabled bool `json:"enabled"` // Asterisk may move media off itself (SIP_DIRECT_MEDIA)
	// NAT is SIP_DIRECT_MEDIA_NAT: release also when symmetric RTP is in use.
	// Only "yes" sets it; any word list (nonat, update, outgoing) leaves it off.
	NAT      bool `json:"nat,omitempty"`
	Update   bool `json:"update,omitempty"`   // signal with UPDATE instead of re-INVITE
	Outgoing bool `json:"outgoing,omitempty"` // withhold the first request on incoming dialogs
}

func (d DirectMedia) String() string {
	switch {
	case !d.Enabled:
		return "no"
	case d.NAT && !d.Update && !d.Outgoing:
		return "yes"
	}
	var w []string
	if d.Update {
		w = append(w, "update")
	}
	if d.Outgoing {
		w = append(w, "outgoing")
	}
	if !d.NAT {
		w = append(w, "nonat")
	}
	return strings.Join(w, ",")
}

func parseDirectMedia(v string) (DirectMedia, []string) {
	if isTrue(v) {
		return DirectMedia{Enabled: true, NAT: true}, nil
	}
	if isFalse(v) {
		return DirectMedia{}, nil
	}
	var d DirectMedia
	var bad []string
	for _, w := range splitList(v) {
		switch strings.ToLower(w) {
		case "update":
			d.Enabled, d.Update = true, true
		case "nonat":
			d.Enabled, d.NAT = true, false
		case "outgoing":
			d.Enabled, d.Outgoing = true, true
		default:
			bad = append(bad, w)
		}
	}
	return d, bad
}

func parseNAT(v string) (NAT, []string) {
	var n NAT
	var bad []string
	for _, w := range splitList(v) {
		switch lw := strings.ToLower(w); {
		case lw == "never" || isFalse(lw):
			n = NAT{}
		case lw == "route":
			n.ForceRport, n.RewriteContact = true, true
		case isTrue(lw):
			n.ForceRport, n.Comedia, n.RewriteContact = true, true, true
		case lw == "force_rport":
			n.ForceRport = true
		case lw == "comedia":
			n.Comedia = true
		case lw == "auto_force_rport":
			n.AutoForceRport = true
		case lw == "auto_comedia":
			n.AutoComedia = true
		default:
			bad = append(bad, w)
		}
	}
	return n, bad
}

// Insecure is chan_sip's insecure= setting.
type Insecure struct {
	Port   bool `json:"port,omitempty"`   // match by address, any port
	Invite bool `json:"invite,omitempty"` // no authentication of INVITE
}

// SIPPeer is one chan_sip peer, user or friend with the [general] defaults
// it starts from.
type SIPPeer struct {
	Name        string                     `json:"name"`
	Section     *Section                   `json:"-"`
	Source      Source                     `json:"source"`
	Type        Setting[PeerType]          `json:"type"`
	Host        Setting[Host]              `json:"host"`
	Port        Setting[uint16]            `json:"port"`
	DefaultUser Setting[string]            `json:"defaultuser"` // defaultuser= or the deprecated username=
	FromUser    Setting[string]            `json:"fromuser"`
	Secret      Setting[bool]              `json:"secret"` // a secret or md5secret is set (its value is not kept)
	NAT         Setting[NAT]               `json:"nat"`
	DirectMedia Setting[DirectMedia]       `json:"directmedia"`
	Codecs      Setting[CodecList]         `json:"codecs"`      // Var is the last allow/disallow line
	CodecLines  []Var                      `json:"codec_lines"` // every allow/disallow line applied, [general] first
	DTMF        Setting[DTMFMode]          `json:"dtmfmode"`
	Qualify     Setting[int]               `json:"qualify"` // milliseconds; 0 off
	Context     Setting[string]            `json:"context"`
	Insecure    Setting[Insecure]          `json:"insecure"`
	Encryption  Setting[bool]              `json:"encryption"` // SRTP required
	Transport   Setting[string]            `json:"transport"`
	MediaACL    ACL                        `json:"directmedia_acl,omitempty"`
	NamedACL    []Var                      `json:"directmedia_named_acl,omitempty"` // directmediaacl= names (acl.conf, not read)
	Options     map[string]Setting[string] `json:"-"`
}

// SIPConf is the chan_sip view of a sip.conf.
type SIPConf struct {
	File    *File      `json:"-"`
	General *Section   `json:"-"`
	Peers   []*SIPPeer `json:"peers"`
	// DirectRTPSetup is the [general] option that puts the caller's media
	// address into the outgoing INVITE instead of re-INVITEing later.
	DirectRTPSetup    Setting[bool]           `json:"directrtpsetup"`
	JBEnable          Setting[bool]           `json:"jbenable"`
	JBForce           Setting[bool]           `json:"jbforce"`
	Bind              Setting[netip.AddrPort] `json:"bind"` // udpbindaddr, or bindaddr and bindport
	MatchAuthUsername Setting[bool]           `json:"match_auth_username"`
	ExternAddr        Setting[string]         `json:"externaddr"`
	LocalNet          []Setting[netip.Prefix] `json:"localnet,omitempty"`
	Warnings          []Warning               `json:"warnings,omitempty"`
}

// generalDefaults are the [general] options chan_sip copies into every peer
// before the peer's own lines (set_peer_defaults and the global flags).
var generalDefaults = map[string]bool{
	"nat": true, "directmedia": true, "canreinvite": true, "dtmfmode": true,
	"allow": true, "disallow": true, "context": true, "qualify": true, "insecure": true,
}

// chan_sip's defaults (chan_sip.c reload_config) when [general] says nothing.
var sipDefaultCodecs = []string{"ulaw", "alaw", "gsm", "h263"}

// ReadSIP builds the chan_sip view of a parsed sip.conf.
func ReadSIP(f *File) *SIPConf {
	c := &SIPConf{
		File:              f,
		General:           f.Section("general"),
		DirectRTPSetup:    builtin("directrtpsetup", "no", false),
		JBEnable:          builtin("jbenable", "no", false),
		JBForce:           builtin("jbforce", "no", false),
		Bind:              builtin("udpbindaddr", "0.0.0.0:5060", netip.AddrPortFrom(netip.IPv4Unspecified(), 5060)),
		MatchAuthUsername: builtin("match_auth_username", "no", false),
	}
	var general []Var
	if g := c.General; g != nil {
		bindPort := uint16(0)
		for _, v := range g.Vars {
			switch strings.ToLower(v.Key) {
			case "directrtpsetup":
				c.DirectRTPSetup = Setting[bool]{isTrue(v.Value), v}
			case "jbenable":
				c.JBEnable = Setting[bool]{isTrue(v.Value), v}
			case "jbforce":
				c.JBForce = Setting[bool]{isTrue(v.Value), v}
			case "match_auth_username":
				c.MatchAuthUsername = Setting[bool]{isTrue(v.Value), v}
			case "externaddr", "externip", "externhost":
				c.ExternAddr = Setting[string]{v.Value, v}
			case "localnet":
				if p, ok := parsePrefix(v.Value); ok {
					c.LocalNet = append(c.LocalNet, Setting[netip.Prefix]{p.Masked(), v})
				} else {
					c.warn(v, "invalid localnet %q", v.Value)
				}
			case "udpbindaddr", "bindaddr":
				a, _, port := parseHostPort(v.Value)
				if !a.IsValid() {
					c.warn(v, "invalid bind address %q", v.Value)
					continue
				}
				if port == 0 {
					port = c.Bind.Value.Port()
				}
				c.Bind = Setting[netip.AddrPort]{netip.AddrPortFrom(a, port), v}
			case "bindport":
				if n, err := strconv.ParseUint(strings.TrimSpace(v.Value), 10, 16); err == nil {
					bindPort = uint16(n)
					c.Bind.Value = netip.AddrPortFrom(c.Bind.Value.Addr(), bindPort)
				} else {
					c.warn(v, "invalid bindport %q", v.Value)
				}
			}
			if generalDefaults[strings.ToLower(v.Key)] {
				general = append(general, v)
			}
		}
	}
	for _, s := range f.Sections {
		if s.Template || strings.EqualFold(s.Name, "general") || strings.EqualFold(s.Name, "authentication") {
			continue
		}
		if p := c.peer(s, general); p != nil {
			if old := c.Peer(p.Name); old != nil {
				c.warn(Var{Source: s.Source}, "section [%s] repeats [%s] (%s); chan_sip applies both in order", s.Name, old.Name, old.Source)
				merged := &Section{Name: old.Name, Source: old.Source, Vars: append(append([]Var(nil), old.Section.Vars...), s.Vars...)}
				if np := c.peer(merged, general); np != nil {
					*old = *np
				}
				continue
			}
			c.Peers = append(c.Peers, p)
		}
	}
	c.Warnings = append(append([]Warning(nil), f.Warnings...), c.Warnings...)
	return c
}

func (c *SIPConf) warn(v Var, format string, args ...any) {
	c.Warnings = append(c.Warnings, Warning{v.Source, fmt.Sprintf(format, args...)})
}

// Peer returns the peer with the given name (case-insensitive), or nil.
func (c *SIPConf) Peer(name string) *SIPPeer {
	for _, p := range c.Peers {
		if strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

func (c *SIPConf) peer(s *Section, general []Var) *SIPPeer {
	t, ok := s.Get("type")
	if !ok {
		c.warn(Var{Source: s.Source}, "section [%s] lacks type; chan_sip skips it", s.Name)
		return nil
	}
	p := &SIPPeer{
		Name: s.Name, Section: s, Source: s.Source,
		Host:        builtin("host", "", Host{}),
		Port:        builtin("port", "5060", uint16(5060)),
		NAT:         builtin("nat", "force_rport", NAT{ForceRport: true}),
		DirectMedia: builtin("directmedia", "yes", DirectMedia{Enabled: true, NAT: true}),
		DTMF:        builtin("dtmfmode", "rfc2833", DTMFRFC4733),
		Context:     builtin("context", "default", "default"),
		Transport:   builtin("transport", "udp", "udp"),
		Options:     map[string]Setting[string]{},
	}
	var codecs CodecList
	codecs.Apply(strings.Join(sipDefaultCodecs, ","), true)
	p.Codecs = builtin("allow", strings.Join(sipDefaultCodecs, ","), codecs)
	switch strings.ToLower(strings.TrimSpace(t.Value)) {
	case "friend":
		p.Type = Setting[PeerType]{TypeFriend, t}
	case "peer":
		p.Type = Setting[PeerType]{TypePeer, t}
	case "user":
		p.Type = Setting[PeerType]{TypeUser, t}
	default:
		c.warn(t, "unknown type '%s' for [%s]; chan_sip skips it", t.Value, s.Name)
		return nil
	}
	vars := append(append([]Var(nil), general...), s.Vars...)
	for _, v := range vars {
		c.apply(p, v)
	}
	return p
}

func (c *SIPConf) apply(p *SIPPeer, v Var) {
	key := strings.ToLower(v.Key)
	p.Options[key] = Setting[string]{v.Value, v}
	switch key {
	case "host":
		if strings.EqualFold(strings.TrimSpace(v.Value), "dynamic") {
			p.Host = Setting[Host]{Host{Dynamic: true}, v}
			return
		}
		a, name, port := parseHostPort(v.Value)
		p.Host = Setting[Host]{Host{Addr: a, Name: name, Port: port}, v}
		if port != 0 {
			p.Port = Setting[uint16]{port, v}
		}
	case "port":
		n, err := strconv.ParseUint(strings.TrimSpace(v.Value), 10, 16)
		if err != nil {
			c.warn(v, "invalid port %q", v.Value)
			return
		}
		p.Port = Setting[uint16]{uint16(n), v}
	case "defaultuser", "username":
		p.DefaultUser = Setting[string]{v.Value, v}
	case "fromuser":
		p.FromUser = Setting[string]{v.Value, v}
	case "secret", "md5secret":
		p.Secret = Setting[bool]{v.Value != "", Var{Key: v.Key, Source: v.Source, From: v.From}}
	case "nat":
		n, bad := parseNAT(v.Value)
		if len(bad) > 0 {
			c.warn(v, "unknown nat mode %q", strings.Join(bad, ","))
		}
		p.NAT = Setting[NAT]{n, v}
	case "directmedia", "canreinvite":
		d, bad := parseDirectMedia(v.Value)
		if len(bad) > 0 {
			c.warn(v, "unknown %s mode %q", key, strings.Join(bad, ","))
		}
		p.DirectMedia = Setting[DirectMedia]{d, v}
	case "allow", "disallow":
		if p.CodecLines == nil {
			p.Codecs.Value = CodecList{}
		}
		list := p.Codecs.Value
		if bad := list.Apply(v.Value, key == "allow"); len(bad) > 0 {
			c.warn(v, "cannot %s unknown format %q", key, strings.Join(bad, ","))
		}
		p.Codecs = Setting[CodecList]{list, v}
		p.CodecLines = append(p.CodecLines, v)
	case "dtmfmode":
		m, ok := parseDTMF(v.Value)
		if !ok || m == DTMFAutoInfo || m == DTMFNone {
			c.warn(v, "unknown dtmf mode '%s', using rfc2833", v.Value)
			m = DTMFRFC4733
		}
		p.DTMF = Setting[DTMFMode]{m, v}
	case "qualify":
		switch {
		case isTrue(v.Value):
			p.Qualify = Setting[int]{2000, v}
		case isFalse(v.Value):
			p.Qualify = Setting[int]{0, v}
		default:
			n, err := strconv.Atoi(strings.TrimSpace(v.Value))
			if err != nil || n < 0 {
				c.warn(v, "qualify should be yes, no or milliseconds, not %q", v.Value)
				return
			}
			p.Qualify = Setting[int]{n, v}
		}
	case "context":
		p.Context = Setting[string]{v.Value, v}
	case "insecure":
		var in Insecure
		switch lv := strings.ToLower(strings.TrimSpace(v.Value)); {
		case lv == "very":
			in = Insecure{true, true}
		case isTrue(lv):
			in.Port = true
		case isFalse(lv):
		default:
			for _, w := range splitList(lv) {
				switch w {
				case "port":
					in.Port = true
				case "invite":
					in.Invite = true
				default:
					c.warn(v, "unknown insecure mode %q", w)
				}
			}
		}
		p.Insecure = Setting[Insecure]{in, v}
	case "encryption":
		p.Encryption = Setting[bool]{isTrue(v.Value), v}
	case "transport":
		p.Transport = Setting[string]{strings.ToLower(strings.TrimSpace(v.Value)), v}
	case "directmediapermit", "directmediadeny":
		for _, item := range splitList(v.Value) {
			neg := strings.HasPrefix(item, "!")
			pr, ok := parsePrefix(strings.TrimPrefix(item, "!"))
			if !ok {
				c.warn(v, "invalid address %q in %s", item, v.Key)
				continue
			}
			p.MediaACL = append(p.MediaACL, ACLRule{Permit: key == "directmediapermit", Prefix: pr.Masked(), Negate: neg, Var: v})
		}
	case "directmediaacl":
		p.NamedACL = append(p.NamedACL, v)
	case "directrtpsetup":
		c.warn(v, "directrtpsetup is a [general] option; chan_sip ignores it in [%s]", p.Name)
	}
}

// MatchKind says how a leg was tied to a configured peer or endpoint.
type MatchKind uint8

// Match kinds, strongest first within each driver.
const (
	MatchNone        MatchKind = iota
	MatchName                  // the user (From user or auth name) is the section name
	MatchHostPort              // host= address and port
	MatchHost                  // host= address; port ignored (insecure=port) or different
	MatchDefaultUser           // the user is the peer's defaultuser (outgoing legs)
	MatchIdentify              // pjsip identify match=
	MatchAuthUser              // pjsip auth username
	MatchContact               // pjsip aor contact address
)

var matchNames = [...]string{"none", "name", "host and port", "host", "defaultuser", "identify", "auth username", "aor contact"}

func (k MatchKind) String() string {
	if int(k) < len(matchNames) {
		return matchNames[k]
	}
	return "unknown"
}

// Match tells how a leg matched: the kind, and the option line that made
// it (host=, match=, contact=, username=, or the section header for a name).
type Match struct {
	Kind MatchKind `json:"kind"`
	Var  Var       `json:"var"`
	Note string    `json:"note,omitempty"` // e.g. the port that differed
}

// Match finds the peer a leg belongs to, the way chan_sip's check_user_full
// does for a request: first by name (type user or friend) using the From
// user, then by source address and port (type peer or friend), honouring
// insecure=port. For legs Asterisk originated, pass the remote address and
// the Request-URI user; a defaultuser match breaks ties. It returns nil and
// MatchNone when nothing matches.
func (c *SIPConf) Match(addr netip.AddrPort, user string) (*SIPPeer, Match) {
	if user != "" {
		for _, p := range c.Peers {
			if p.Type.Value != TypePeer && strings.EqualFold(p.Name, user) {
				return p, Match{Kind: MatchName, Var: Var{Key: "[" + p.Name + "]", Value: p.Name, Source: p.Source}}
			}
		}
	}
	a := addr.Addr().Unmap()
	var exact, insecure, loose *SIPPeer
	for _, p := range c.Peers {
		h := p.Host.Value
		if !a.IsValid() || p.Type.Value == TypeUser || h.Addr != a {
			continue
		}
		switch {
		case addr.Port() == 0 || addr.Port() == p.Port.Value:
			if exact == nil || user != "" && strings.EqualFold(p.DefaultUser.Value, user) && !strings.EqualFold(exact.DefaultUser.Value, user) {
				exact = p
			}
		case p.Insecure.Value.Port:
			if insecure == nil {
				insecure = p
			}
		case loose == nil:
			loose = p
		}
	}
	switch {
	case exact != nil:
		return exact, Match{Kind: MatchHostPort, Var: exact.Host.Var}
	case insecure != nil:
		return insecure, Match{Kind: MatchHost, Var: insecure.Insecure.Var}
	case loose != nil:
		return loose, Match{Kind: MatchHost, Var: loose.Host.Var, Note: fmt.Sprintf("port %d differs from port=%d", addr.Port(), loose.Port.Value)}
	}
	if user != "" {
		for _, p := range c.Peers {
			if p.DefaultUser.Value != "" && strings.EqualFold(p.DefaultUser.Value, user) {
				return p, Match{Kind: MatchDefaultUser, Var: p.DefaultUser.Var}
			}
		}
	}
	return nil, Match{}
}
