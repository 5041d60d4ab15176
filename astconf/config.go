package astconf

import (
	"net/netip"
	"strings"
)

// Kind is which channel driver a configuration file belongs to.
type Kind uint8

// Kinds of configuration file.
const (
	KindOther Kind = iota // extensions.conf, rtp.conf, ...
	KindSIP               // chan_sip: sip.conf
	KindPJSIP             // chan_pjsip: pjsip.conf
)

func (k Kind) String() string {
	switch k {
	case KindSIP:
		return "sip.conf"
	case KindPJSIP:
		return "pjsip.conf"
	}
	return "other"
}

// Classify tells a sip.conf from a pjsip.conf: by file name first
// (sip*.conf, pjsip*.conf as FreePBX splits them), then by the types its
// sections declare.
func Classify(f *File) Kind {
	base := strings.ToLower(f.Base)
	switch {
	case strings.HasPrefix(base, "pjsip"):
		return KindPJSIP
	case strings.HasPrefix(base, "sip") && strings.HasSuffix(base, ".conf"):
		return KindSIP
	}
	sip, pjsip := 0, 0
	for _, s := range f.Sections {
		t, ok := s.Get("type")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(t.Value)) {
		case "friend", "peer", "user":
			sip++
		case "endpoint", "aor", "auth", "identify", "transport", "wizard", "registration":
			pjsip++
		}
	}
	switch {
	case pjsip > sip:
		return KindPJSIP
	case sip > 0:
		return KindSIP
	}
	return KindOther
}

// Config is the typed view of one channel driver configuration of one
// server: exactly one of SIP and PJSIP is set.
type Config struct {
	File  *File      `json:"file"`
	SIP   *SIPConf   `json:"sip,omitempty"`
	PJSIP *PJSIPConf `json:"pjsip,omitempty"`
}

// Server is the bundle's server label, or empty for an ordinary file.
func (c *Config) Server() string { return c.File.Server }

// Warnings returns what the reader and the typed view found wrong.
func (c *Config) Warnings() []Warning {
	if c.SIP != nil {
		return c.SIP.Warnings
	}
	return c.PJSIP.Warnings
}

// Addrs returns the addresses the server listens on for SIP, as configured
// (udpbindaddr, or the pjsip transports' bind), to tell which host of a
// capture the configuration belongs to.
func (c *Config) Addrs() []netip.AddrPort {
	if c.SIP != nil {
		return []netip.AddrPort{c.SIP.Bind.Value}
	}
	var out []netip.AddrPort
	for _, t := range c.PJSIP.Transports {
		if t.Bind.Value.IsValid() {
			out = append(out, t.Bind.Value)
		}
	}
	return out
}

// Peer is what a leg matched: a chan_sip peer or a pjsip endpoint.
type Peer struct {
	SIP      *SIPPeer  `json:"sip,omitempty"`
	Endpoint *Endpoint `json:"endpoint,omitempty"`
}

// Found reports whether the Peer holds anything.
func (p Peer) Found() bool { return p.SIP != nil || p.Endpoint != nil }

// Name is the section name of the peer or endpoint.
func (p Peer) Name() string {
	switch {
	case p.SIP != nil:
		return p.SIP.Name
	case p.Endpoint != nil:
		return p.Endpoint.Name
	}
	return ""
}

// Match finds the peer or endpoint a leg belongs to; see SIPConf.Match and
// PJSIPConf.Match.
func (c *Config) Match(addr netip.AddrPort, user string) (Peer, Match) {
	if c.SIP != nil {
		p, m := c.SIP.Match(addr, user)
		return Peer{SIP: p}, m
	}
	e, m := c.PJSIP.Match(addr, user)
	return Peer{Endpoint: e}, m
}

// NewConfig returns the typed view of f, or nil when f is neither a
// sip.conf nor a pjsip.conf.
func NewConfig(f *File) *Config {
	switch Classify(f) {
	case KindSIP:
		return &Config{File: f, SIP: ReadSIP(f)}
	case KindPJSIP:
		return &Config{File: f, PJSIP: ReadPJSIP(f)}
	}
	return nil
}

// LoadConfigs reads one --config argument (a sip.conf, a pjsip.conf or a
// bundle) and returns the typed view of every channel driver configuration
// in it, skipping other files such as extensions.conf.
func LoadConfigs(name string) ([]*Config, error) {
	files, err := Load(name)
	if err != nil {
		return nil, err
	}
	var out []*Config
	for _, f := range files {
		if c := NewConfig(f); c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}
