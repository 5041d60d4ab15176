package astconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Endpoint is a pjsip endpoint: the media policy of one device or trunk.
type Endpoint struct {
	Name    string   `json:"name"`
	Section *Section `json:"-"`
	Source  Source   `json:"source"`
	Wizard  string   `json:"wizard,omitempty"` // the type=wizard section that generated it

	DirectMedia Setting[bool] `json:"direct_media"`
	// DirectMediaMethod is "invite" (also written reinvite) or "update".
	DirectMediaMethod       Setting[string] `json:"direct_media_method"`
	DisableDirectMediaOnNAT Setting[bool]   `json:"disable_direct_media_on_nat"`
	// GlareMitigation is none, outgoing or incoming: the dialogs on which the
	// first direct-media request is withheld (outgoing: those Asterisk
	// originated, as chan_pjsip's direct_media_mitigate_glare checks the UAC
	// role).
	GlareMitigation Setting[string]    `json:"direct_media_glare_mitigation"`
	RTPSymmetric    Setting[bool]      `json:"rtp_symmetric"`
	ForceRport      Setting[bool]      `json:"force_rport"`
	RewriteContact  Setting[bool]      `json:"rewrite_contact"`
	Codecs          Setting[CodecList] `json:"codecs"`
	CodecLines      []Var              `json:"codec_lines"`
	DTMF            Setting[DTMFMode]  `json:"dtmf_mode"`
	AORs            Setting[[]string]  `json:"aors"`
	Auth            Setting[[]string]  `json:"auth"`
	OutboundAuth    Setting[[]string]  `json:"outbound_auth"`
	Transport       Setting[string]    `json:"transport"`
	// MediaEncryption is no, sdes or dtls; webrtc=yes implies dtls.
	MediaEncryption Setting[string]            `json:"media_encryption"`
	ICESupport      Setting[bool]              `json:"ice_support"`
	WebRTC          Setting[bool]              `json:"webrtc"`
	Context         Setting[string]            `json:"context"`
	Options         map[string]Setting[string] `json:"-"`
}

// AOR is a pjsip address of record: where an endpoint can be reached.
type AOR struct {
	Name        string            `json:"name"`
	Source      Source            `json:"source"`
	Wizard      string            `json:"wizard,omitempty"`
	Contacts    []Setting[string] `json:"contacts"`
	MaxContacts Setting[int]      `json:"max_contacts"`
}

// Auth is a pjsip auth section (the password is not kept).
type Auth struct {
	Name     string          `json:"name"`
	Source   Source          `json:"source"`
	Wizard   string          `json:"wizard,omitempty"`
	Username Setting[string] `json:"username"`
	AuthType Setting[string] `json:"auth_type"`
}

// IdentifyMatch is one entry of an identify section's match=.
type IdentifyMatch struct {
	Prefix netip.Prefix `json:"prefix,omitzero"` // address or network
	Host   string       `json:"host,omitempty"`  // a host name, resolved by Asterisk at load time (not here)
	Port   uint16       `json:"port,omitempty"`  // 0: any port
	Var    Var          `json:"var"`
}

// Identify ties source addresses to an endpoint.
type Identify struct {
	Name     string          `json:"name"`
	Source   Source          `json:"source"`
	Wizard   string          `json:"wizard,omitempty"`
	Endpoint Setting[string] `json:"endpoint"`
	Match    []IdentifyMatch `json:"match"`
}

// Transport is a pjsip transport.
type Transport struct {
	Name                 string                  `json:"name"`
	Source               Source                  `json:"source"`
	Protocol             Setting[string]         `json:"protocol"`
	Bind                 Setting[netip.AddrPort] `json:"bind"`
	ExternalMediaAddress Setting[string]         `json:"external_media_address"`
	ExternalSignaling    Setting[string]         `json:"external_signaling_address"`
	LocalNet             []Setting[netip.Prefix] `json:"local_net,omitempty"`
}

// PJSIPConf is the chan_pjsip view of a pjsip.conf, with type=wizard
// sections expanded into the objects res_pjsip_config_wizard creates.
type PJSIPConf struct {
	File       *File        `json:"-"`
	Endpoints  []*Endpoint  `json:"endpoints"`
	AORs       []*AOR       `json:"aors"`
	Auths      []*Auth      `json:"auths"`
	Identifies []*Identify  `json:"identifies"`
	Transports []*Transport `json:"transports"`
	// IdentifierOrder is [global] endpoint_identifier_order.
	IdentifierOrder Setting[[]string] `json:"endpoint_identifier_order"`
	Warnings        []Warning         `json:"warnings,omitempty"`
}

// ReadPJSIP builds the chan_pjsip view of a parsed pjsip.conf.
func ReadPJSIP(f *File) *PJSIPConf {
	c := &PJSIPConf{File: f, IdentifierOrder: builtin("endpoint_identifier_order", "ip,username,anonymous", []string{"ip", "username", "anonymous"})}
	for _, s := range f.Sections {
		if s.Template {
			continue
		}
		t, ok := s.Get("type")
		if !ok {
			c.warn(Var{Source: s.Source}, "section [%s] lacks type; res_pjsip skips it", s.Name)
			continue
		}
		switch typ := strings.ToLower(strings.TrimSpace(t.Value)); typ {
		case "endpoint":
			c.addEndpoint(c.endpoint(s.Name, s, s.Vars, ""))
		case "aor":
			c.AORs = append(c.AORs, c.aor(s.Name, s.Source, s.Vars, ""))
		case "auth":
			c.Auths = append(c.Auths, c.auth(s.Name, s.Source, s.Vars, ""))
		case "identify":
			c.Identifies = append(c.Identifies, c.identify(s.Name, s.Source, s.Vars, ""))
		case "transport":
			c.Transports = append(c.Transports, c.transport(s))
		case "wizard":
			c.wizard(s)
		case "global":
			if v, ok := s.Get("endpoint_identifier_order"); ok {
				c.IdentifierOrder = Setting[[]string]{splitList(strings.ToLower(v.Value)), v}
			}
		case "registration", "domain_alias", "acl", "contact", "system", "phoneprov", "resource_list", "outbound-publish", "inbound-publication", "asterisk-publication":
		default:
			c.warn(t, "unknown type '%s' for [%s]", t.Value, s.Name)
		}
	}
	c.Warnings = append(append([]Warning(nil), f.Warnings...), c.Warnings...)
	return c
}

func (c *PJSIPConf) warn(v Var, format string, args ...any) {
	c.Warnings = append(c.Warnings, Warning{v.Source, fmt.Sprintf(format, args...)})
}

func (c *PJSIPConf) addEndpoint(e *Endpoint) {
	if old := c.Endpoint(e.Name); old != nil {
		c.warn(Var{Source: e.Source}, "endpoint [%s] is defined again (first at %s); the first is kept", e.Name, old.Source)
		return
	}
	c.Endpoints = append(c.Endpoints, e)
}

// Endpoint returns the endpoint with the given name, or nil. Sorcery object
// names are case-sensitive.
func (c *PJSIPConf) Endpoint(name string) *Endpoint {
	for _, e := range c.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// AOR returns the aor with the given name, or nil.
func (c *PJSIPConf) AOR(name string) *AOR {
	for _, a := range c.AORs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (c *PJSIPConf) endpoint(name string, s *Section, vars []Var, wizard string) *Endpoint {
	src := Source{}
	if s != nil {
		src = s.Source
	}
	e := &Endpoint{
		Name: name, Section: s, Source: src, Wizard: wizard,
		DirectMedia:             builtin("direct_media", "yes", true),
		DirectMediaMethod:       builtin("direct_media_method", "invite", "invite"),
		DisableDirectMediaOnNAT: builtin("disable_direct_media_on_nat", "no", false),
		GlareMitigation:         builtin("direct_media_glare_mitigation", "none", "none"),
		RTPSymmetric:            builtin("rtp_symmetric", "no", false),
		ForceRport:              builtin("force_rport", "yes", true),
		RewriteContact:          builtin("rewrite_contact", "no", false),
		Codecs:                  builtin("allow", "", CodecList{}),
		DTMF:                    builtin("dtmf_mode", "rfc4733", DTMFRFC4733),
		MediaEncryption:         builtin("media_encryption", "no", "no"),
		ICESupport:              builtin("ice_support", "no", false),
		WebRTC:                  builtin("webrtc", "no", false),
		Context:                 builtin("context", "default", "default"),
		Options:                 map[string]Setting[string]{},
	}
	boolean := func(dst *Setting[bool], v Var) {
		switch {
		case isTrue(v.Value):
			*dst = Setting[bool]{true, v}
		case isFalse(v.Value):
			*dst = Setting[bool]{false, v}
		default:
			c.warn(v, "%s should be yes or no, not %q", v.Key, v.Value)
		}
	}
	for _, v := range vars {
		key := strings.ToLower(v.Key)
		e.Options[key] = Setting[string]{v.Value, v}
		val := strings.ToLower(strings.TrimSpace(v.Value))
		switch key {
		case "direct_media":
			boolean(&e.DirectMedia, v)
		case "direct_media_method":
			switch val {
			case "invite", "reinvite":
				e.DirectMediaMethod = Setting[string]{"invite", v}
			case "update":
				e.DirectMediaMethod = Setting[string]{"update", v}
			default:
				c.warn(v, "unknown direct_media_method %q", v.Value)
			}
		case "disable_direct_media_on_nat":
			boolean(&e.DisableDirectMediaOnNAT, v)
		case "direct_media_glare_mitigation":
			switch val {
			case "none", "outgoing", "incoming":
				e.GlareMitigation = Setting[string]{val, v}
			default:
				c.warn(v, "unknown direct_media_glare_mitigation %q", v.Value)
			}
		case "rtp_symmetric":
			boolean(&e.RTPSymmetric, v)
		case "force_rport":
			boolean(&e.ForceRport, v)
		case "rewrite_contact":
			boolean(&e.RewriteContact, v)
		case "allow", "disallow":
			list := e.Codecs.Value
			if bad := list.Apply(v.Value, key == "allow"); len(bad) > 0 {
				c.warn(v, "cannot %s unknown format %q", key, strings.Join(bad, ","))
			}
			e.Codecs = Setting[CodecList]{list, v}
			e.CodecLines = append(e.CodecLines, v)
		case "dtmf_mode":
			m, ok := parseDTMF(v.Value)
			if !ok || m == DTMFShortInfo {
				c.warn(v, "unknown dtmf_mode %q", v.Value)
				continue
			}
			e.DTMF = Setting[DTMFMode]{m, v}
		case "aors":
			e.AORs = Setting[[]string]{splitList(v.Value), v}
		case "auth":
			e.Auth = Setting[[]string]{splitList(v.Value), v}
		case "outbound_auth":
			e.OutboundAuth = Setting[[]string]{splitList(v.Value), v}
		case "transport":
			e.Transport = Setting[string]{strings.TrimSpace(v.Value), v}
		case "media_encryption":
			switch val {
			case "no", "sdes", "dtls":
				e.MediaEncryption = Setting[string]{val, v}
			default:
				c.warn(v, "unknown media_encryption %q", v.Value)
			}
		case "ice_support":
			boolean(&e.ICESupport, v)
		case "webrtc":
			boolean(&e.WebRTC, v)
		case "context":
			e.Context = Setting[string]{v.Value, v}
		}
	}
	if e.WebRTC.Value {
		// res_pjsip applies webrtc=yes after the other options, overriding them.
		e.MediaEncryption = Setting[string]{"dtls", e.WebRTC.Var}
		e.ICESupport = Setting[bool]{true, e.WebRTC.Var}
	}
	return e
}

func (c *PJSIPConf) aor(name string, src Source, vars []Var, wizard string) *AOR {
	a := &AOR{Name: name, Source: src, Wizard: wizard, MaxContacts: builtin("max_contacts", "0", 0)}
	for _, v := range vars {
		switch strings.ToLower(v.Key) {
		case "contact":
			for _, ct := range splitList(v.Value) {
				a.Contacts = append(a.Contacts, Setting[string]{ct, v})
			}
		case "max_contacts":
			n, err := strconv.Atoi(strings.TrimSpace(v.Value))
			if err != nil || n < 0 {
				c.warn(v, "invalid max_contacts %q", v.Value)
				continue
			}
			a.MaxContacts = Setting[int]{n, v}
		}
	}
	return a
}

func (c *PJSIPConf) auth(name string, src Source, vars []Var, wizard string) *Auth {
	a := &Auth{Name: name, Source: src, Wizard: wizard, AuthType: builtin("auth_type", "userpass", "userpass")}
	for _, v := range vars {
		switch strings.ToLower(v.Key) {
		case "username":
			a.Username = Setting[string]{strings.TrimSpace(v.Value), v}
		case "auth_type":
			a.AuthType = Setting[string]{strings.ToLower(strings.TrimSpace(v.Value)), v}
		}
	}
	return a
}

func (c *PJSIPConf) identify(name string, src Source, vars []Var, wizard string) *Identify {
	id := &Identify{Name: name, Source: src, Wizard: wizard}
	for _, v := range vars {
		switch strings.ToLower(v.Key) {
		case "endpoint":
			id.Endpoint = Setting[string]{strings.TrimSpace(v.Value), v}
		case "match":
			for _, item := range splitList(v.Value) {
				if strings.HasPrefix(item, "!") {
					c.warn(v, "excluded address %q is not evaluated", item)
					continue
				}
				if pr, ok := parsePrefix(item); ok {
					id.Match = append(id.Match, IdentifyMatch{Prefix: pr.Masked(), Var: v})
					continue
				}
				a, host, port := parseHostPort(item)
				switch {
				case a.IsValid():
					id.Match = append(id.Match, IdentifyMatch{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: port, Var: v})
				case host != "" && !strings.ContainsAny(host, "/ "):
					id.Match = append(id.Match, IdentifyMatch{Host: host, Port: port, Var: v})
				default:
					c.warn(v, "invalid match %q", item)
				}
			}
		}
	}
	if id.Endpoint.Value == "" {
		c.warn(Var{Source: src}, "identify [%s] names no endpoint", name)
	}
	return id
}

func (c *PJSIPConf) transport(s *Section) *Transport {
	t := &Transport{Name: s.Name, Source: s.Source, Protocol: builtin("protocol", "udp", "udp")}
	for _, v := range s.Vars {
		switch strings.ToLower(v.Key) {
		case "protocol":
			t.Protocol = Setting[string]{strings.ToLower(strings.TrimSpace(v.Value)), v}
		case "bind":
			a, _, port := parseHostPort(v.Value)
			if !a.IsValid() {
				c.warn(v, "invalid bind %q", v.Value)
				continue
			}
			if port == 0 {
				port = 5060
			}
			t.Bind = Setting[netip.AddrPort]{netip.AddrPortFrom(a, port), v}
		case "external_media_address":
			t.ExternalMediaAddress = Setting[string]{strings.TrimSpace(v.Value), v}
		case "external_signaling_address":
			t.ExternalSignaling = Setting[string]{strings.TrimSpace(v.Value), v}
		case "local_net":
			for _, item := range splitList(v.Value) {
				if p, ok := parsePrefix(item); ok {
					t.LocalNet = append(t.LocalNet, Setting[netip.Prefix]{p.Masked(), v})
				} else {
					c.warn(v, "invalid local_net %q", item)
				}
			}
		}
	}
	return t
}

// wizard expands a type=wizard section the way res_pjsip_config_wizard
// does: an endpoint and an aor named after the section, "<name>-iauth" and
// "<name>-oauth" auths when it accepts or sends authentication, and an
// identify "<name>-identify" matching remote_hosts when it does not accept
// registrations. Generated options cite the wizard line that caused them;
// "endpoint/x = y" lines become option x of the endpoint.
func (c *PJSIPConf) wizard(s *Section) {
	name := s.Name
	sub := map[string][]Var{}
	get := func(key string) (Var, bool) { return s.Get(key) }
	flag := func(key string) (Var, bool) {
		v, ok := get(key)
		return v, ok && isTrue(v.Value)
	}
	for _, v := range s.Vars {
		if obj, key, ok := strings.Cut(v.Key, "/"); ok {
			obj = strings.ToLower(strings.TrimSpace(obj))
			v.Key = strings.TrimSpace(key)
			sub[obj] = append(sub[obj], v)
		}
	}
	gen := func(from Var, key, value string) Var {
		return Var{Key: key, Value: value, Source: from.Source, From: from.From}
	}
	var hosts []string
	hostsVar, hasHosts := get("remote_hosts")
	if hasHosts {
		hosts = splitList(hostsVar.Value)
	}
	accReg, acceptsRegistrations := flag("accepts_registrations")
	accAuth, acceptsAuth := flag("accepts_auth")
	sendAuth, sendsAuth := flag("sends_auth")

	var ep []Var
	ep = append(ep, gen(Var{Source: s.Source}, "aors", name))
	if v, ok := get("transport"); ok {
		ep = append(ep, gen(v, "transport", v.Value))
	}
	if acceptsAuth {
		ep = append(ep, gen(accAuth, "auth", name+"-iauth"))
		c.Auths = append(c.Auths, c.auth(name+"-iauth", accAuth.Source, sub["inbound_auth"], name))
	}
	if sendsAuth {
		ep = append(ep, gen(sendAuth, "outbound_auth", name+"-oauth"))
		c.Auths = append(c.Auths, c.auth(name+"-oauth", sendAuth.Source, sub["outbound_auth"], name))
	}
	ep = append(ep, sub["endpoint"]...)
	c.addEndpoint(c.endpoint(name, s, ep, name))

	var aor []Var
	if acceptsRegistrations {
		aor = append(aor, gen(accReg, "max_contacts", "1"))
	} else if hasHosts {
		pattern := "sip:${REMOTE_HOST}"
		if v, ok := get("contact_pattern"); ok {
			pattern = v.Value
		}
		for _, h := range hosts {
			aor = append(aor, gen(hostsVar, "contact", strings.ReplaceAll(pattern, "${REMOTE_HOST}", h)))
		}
	}
	aor = append(aor, sub["aor"]...)
	c.AORs = append(c.AORs, c.aor(name, s.Source, aor, name))

	if !acceptsRegistrations && hasHosts {
		var id []Var
		id = append(id, gen(hostsVar, "endpoint", name))
		var match []string
		for _, h := range hosts {
			a, host, _ := parseHostPort(h)
			if a.IsValid() {
				match = append(match, a.String())
			} else if host != "" {
				match = append(match, host)
			}
		}
		if len(match) > 0 {
			id = append(id, gen(hostsVar, "match", strings.Join(match, ",")))
		}
		id = append(id, sub["identify"]...)
		c.Identifies = append(c.Identifies, c.identify(name+"-identify", hostsVar.Source, id, name))
	}
}

// Match finds the endpoint a leg belongs to, following
// endpoint_identifier_order: "ip" tries identify match= lines (address,
// network and port), "username" the endpoint named like the user, and
// "auth_username" the endpoint whose inbound auth has that username. For
// legs Asterisk originated, an aor contact with the remote address is the
// last resort. Host names in match= are resolved by Asterisk at load time
// and are not resolved here.
func (c *PJSIPConf) Match(addr netip.AddrPort, user string) (*Endpoint, Match) {
	for _, how := range c.IdentifierOrder.Value {
		switch how {
		case "ip":
			if e, m := c.matchIP(addr); e != nil {
				return e, m
			}
		case "username":
			if e := c.Endpoint(user); user != "" && e != nil {
				return e, Match{Kind: MatchName, Var: Var{Key: "[" + e.Name + "]", Value: e.Name, Source: e.Source}}
			}
		case "auth_username":
			if e, m := c.matchAuth(user); e != nil {
				return e, m
			}
		}
	}
	if e, m := c.matchContact(addr); e != nil {
		return e, m
	}
	return nil, Match{}
}

func (c *PJSIPConf) matchIP(addr netip.AddrPort) (*Endpoint, Match) {
	a := addr.Addr().Unmap()
	if !a.IsValid() {
		return nil, Match{}
	}
	var best *Endpoint
	var bestM Match
	bestBits := -1
	for _, id := range c.Identifies {
		e := c.Endpoint(id.Endpoint.Value)
		if e == nil {
			continue
		}
		for _, m := range id.Match {
			if !m.Prefix.IsValid() || !m.Prefix.Contains(a) || m.Port != 0 && m.Port != addr.Port() {
				continue
			}
			bits := m.Prefix.Bits()
			if m.Port != 0 {
				bits += 129
			}
			if bits > bestBits {
				best, bestBits = e, bits
				bestM = Match{Kind: MatchIdentify, Var: m.Var}
			}
		}
	}
	return best, bestM
}

func (c *PJSIPConf) matchAuth(user string) (*Endpoint, Match) {
	if user == "" {
		return nil, Match{}
	}
	for _, e := range c.Endpoints {
		for _, an := range e.Auth.Value {
			for _, a := range c.Auths {
				if a.Name == an && a.Username.Value == user {
					return e, Match{Kind: MatchAuthUser, Var: a.Username.Var}
				}
			}
		}
	}
	return nil, Match{}
}

func (c *PJSIPConf) matchContact(addr netip.AddrPort) (*Endpoint, Match) {
	a := addr.Addr().Unmap()
	if !a.IsValid() {
		return nil, Match{}
	}
	for _, e := range c.Endpoints {
		for _, an := range e.AORs.Value {
			aor := c.AOR(an)
			if aor == nil {
				continue
			}
			for _, ct := range aor.Contacts {
				ca, port := contactAddr(ct.Value)
				if ca == a && (port == 0 && addr.Port() == 5060 || port == addr.Port() || addr.Port() == 0) {
					return e, Match{Kind: MatchContact, Var: ct.Var}
				}
			}
		}
	}
	return nil, Match{}
}

// contactAddr extracts the host address and port of a SIP URI such as
// "sip:bob@192.0.2.1:5062;transport=udp".
func contactAddr(uri string) (netip.Addr, uint16) {
	u := strings.TrimSpace(uri)
	u = strings.Trim(u, "<>")
	if i := strings.IndexByte(u, ':'); i >= 0 && strings.EqualFold(u[:i], "sip") || strings.HasPrefix(strings.ToLower(u), "sips:") {
		u = u[strings.IndexByte(u, ':')+1:]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexAny(u, ";?>"); i >= 0 {
		u = u[:i]
	}
	a, _, port := parseHostPort(u)
	return a, port
}
