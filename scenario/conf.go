package scenario

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sipscope/sipscope/astconf"
)

// pbxConfs builds the sip.conf and extensions.conf of every Asterisk host
// from its section ([general]) and its [HOST/PEER] sections (peers).
func (p *parser) pbxConfs(peers []*astconf.Section) {
	p.s.peerSecs = peers
	for _, sec := range peers {
		owner, _, _ := strings.Cut(sec.Name, "/")
		if h := p.s.Host(owner); h == nil || h.Role != Asterisk {
			p.errorf(sec.Source, "[%s]: %s is not an asterisk host of the scenario", sec.Name, owner)
		}
	}
	p.errs = append(p.errs, p.s.configure()...)
}

// configure (re)builds each Asterisk host's configuration from its
// sections and the hosts' addresses, and returns what the readers found
// wrong.
func (s *Scenario) configure() []string {
	var errs []string
	for _, h := range s.Hosts {
		if h.Role != Asterisk {
			continue
		}
		sipFile, plan, bad := s.asteriskFiles(h)
		errs = append(errs, bad...)
		conf := astconf.ReadSIP(sipFile)
		for _, w := range conf.Warnings {
			errs = append(errs, w.String())
		}
		h.PBX.SIP, h.PBX.Dialplan = conf, plan
	}
	return errs
}

// asteriskFiles writes host h's sip.conf and extensions.conf as parsed
// files whose lines are the scenario's own, so that citations name the
// scenario file. Lines the scenario implies (udpbindaddr, type, host,
// port) cite the section header that implies them.
func (s *Scenario) asteriskFiles(h *Host) (*astconf.File, *astconf.File, []string) {
	var errs []string
	general := &astconf.Section{Name: "general", Source: h.Section.Source}
	implied := func(src astconf.Source, key, value string) astconf.Var {
		return astconf.Var{Key: key, Value: value, Source: src}
	}
	general.Vars = append(general.Vars, implied(h.Section.Source, "udpbindaddr", h.SIP().String()))
	var exten []astconf.Var
	for _, v := range h.Section.Vars {
		switch strings.ToLower(v.Key) {
		case "role", "addr", "port", "rtpstart":
		case "exten", "same":
			exten = append(exten, v)
		default:
			general.Vars = append(general.Vars, v)
		}
	}
	sipFile := &astconf.File{Name: s.File, Server: h.Name, Base: "sip.conf", Sections: []*astconf.Section{general}}
	contexts := []string{"default"}
	if v, ok := general.Get("context"); ok {
		contexts = appendFold(contexts, strings.TrimSpace(v.Value))
	}
	prefix := h.Name + "/"
	for _, sec := range s.peerSecs {
		if !strings.HasPrefix(strings.ToLower(sec.Name), strings.ToLower(prefix)) {
			continue
		}
		name := sec.Name[len(prefix):]
		peer := &astconf.Section{Name: name, Source: sec.Source, Templates: sec.Templates}
		if _, ok := sec.Get("type"); !ok {
			peer.Vars = append(peer.Vars, implied(sec.Source, "type", "friend"))
		}
		if _, ok := sec.Get("host"); !ok {
			target := s.Host(name)
			if target == nil {
				errs = append(errs, fmt.Sprintf("%s: peer [%s] names no host of the scenario and has no host=", sec.Source, sec.Name))
				continue
			}
			peer.Vars = append(peer.Vars, implied(sec.Source, "host", target.Addr.String()),
				implied(sec.Source, "port", strconv.Itoa(int(target.Port))))
		}
		peer.Vars = append(peer.Vars, sec.Vars...)
		if v, ok := peer.Get("context"); ok {
			contexts = appendFold(contexts, strings.TrimSpace(v.Value))
		}
		sipFile.Sections = append(sipFile.Sections, peer)
	}
	plan := &astconf.File{Name: s.File, Server: h.Name, Base: "extensions.conf"}
	for _, ctx := range contexts {
		plan.Sections = append(plan.Sections, &astconf.Section{Name: ctx, Source: h.Section.Source, Vars: exten})
	}
	return sipFile, plan, errs
}

func appendFold(list []string, s string) []string {
	if s == "" || slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) }) {
		return list
	}
	return append(list, s)
}

// Configs returns the Asterisk configuration of every Asterisk host, as
// `explain --config` reads them: the channel driver configurations and
// the dialplans. Their lines cite the scenario file.
func (s *Scenario) Configs() ([]*astconf.Config, []*astconf.File) {
	var configs []*astconf.Config
	var plans []*astconf.File
	for _, h := range s.Hosts {
		if h.Role == Asterisk && h.PBX.SIP != nil {
			configs = append(configs, &astconf.Config{File: h.PBX.SIP.File, SIP: h.PBX.SIP})
			plans = append(plans, h.PBX.Dialplan)
		}
	}
	return configs, plans
}

// AsteriskConf writes the sip.conf and extensions.conf of every Asterisk
// host as one bundle (astconf.SplitBundle's format): what `explain
// --config` reads, and what to give a real Asterisk to play the same part.
func (s *Scenario) AsteriskConf() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "; Asterisk configuration of scenario %s, written by sipscope reproduce\n", s.Name)
	for _, h := range s.Hosts {
		if h.Role != Asterisk || h.PBX.SIP == nil {
			continue
		}
		label := fmt.Sprintf("%s (%s)", h.Name, h.Addr)
		fmt.Fprintf(&b, "\n########## %s : sip.conf\n", label)
		for _, sec := range h.PBX.SIP.File.Sections {
			fmt.Fprintf(&b, "[%s]\n", sec.Name)
			for _, v := range sec.Vars {
				writeVar(&b, v)
			}
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "########## %s : extensions.conf\n", label)
		for _, sec := range h.PBX.Dialplan.Sections {
			fmt.Fprintf(&b, "[%s]\n", sec.Name)
			for _, v := range sec.Vars {
				writeVar(&b, v)
			}
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func writeVar(b *bytes.Buffer, v astconf.Var) {
	op := " = "
	if v.Object {
		op = " => "
	}
	b.WriteString(clean(v.Key) + op + clean(v.Value) + "\n")
}

// clean keeps a value on one line and out of comments.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n':
			return ' '
		}
		return r
	}, strings.ReplaceAll(s, ";", `\;`))
}

// Relocate returns a copy of the scenario with every host moved into the
// given /24 of 127.0.0.0/8, keeping the last byte of its address, so that
// runs of several scenarios at once do not share addresses.
func (s *Scenario) Relocate(subnet netip.Prefix) (*Scenario, error) {
	if !subnet.Addr().Is4() || !subnet.Addr().IsLoopback() || subnet.Bits() > 24 {
		return nil, fmt.Errorf("relocate: %s is not a /24 or larger in 127.0.0.0/8", subnet)
	}
	c := *s
	c.Hosts = make([]*Host, len(s.Hosts))
	base := subnet.Masked().Addr().As4()
	for i, h := range s.Hosts {
		nh := *h
		a := h.Addr.As4()
		nh.Addr = netip.AddrFrom4([4]byte{base[0], base[1], base[2], a[3]})
		if h.PBX != nil {
			pc := *h.PBX
			nh.PBX = &pc
		}
		c.Hosts[i] = &nh
	}
	if errs := c.configure(); len(errs) > 0 {
		return nil, fmt.Errorf("relocate: %s", strings.Join(errs, "; "))
	}
	return &c, nil
}
