package astconf

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

func readSIP(t *testing.T, in string) *SIPConf {
	t.Helper()
	f, err := Parse("sip.conf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return ReadSIP(f)
}

func TestDirectMediaValues(t *testing.T) {
	tests := []struct {
		key, value string
		want       DirectMedia
	}{
		{"directmedia", "yes", DirectMedia{Enabled: true, NAT: true}},
		{"directmedia", "no", DirectMedia{}},
		{"canreinvite", "no", DirectMedia{}},
		{"canreinvite", "yes", DirectMedia{Enabled: true, NAT: true}},
		{"directmedia", "nonat", DirectMedia{Enabled: true}},
		{"directmedia", "update", DirectMedia{Enabled: true, Update: true}},
		{"directmedia", "update,nonat", DirectMedia{Enabled: true, Update: true}},
		{"directmedia", "outgoing", DirectMedia{Enabled: true, Outgoing: true}},
		{"directmedia", "outgoing,update", DirectMedia{Enabled: true, Update: true, Outgoing: true}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := readSIP(t, "[p]\ntype=peer\n"+tt.key+"="+tt.value+"\n")
			p := c.Peer("p")
			if p.DirectMedia.Value != tt.want {
				t.Errorf("got %+v, want %+v", p.DirectMedia.Value, tt.want)
			}
			if p.DirectMedia.Var.Key != tt.key || p.DirectMedia.Var.Source.Line != 3 {
				t.Errorf("cites %+v", p.DirectMedia.Var)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings %v", c.Warnings)
			}
		})
	}
	c := readSIP(t, "[p]\ntype=peer\ndirectmedia=sometimes\n")
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].String(), "sip.conf:3: unknown directmedia mode") {
		t.Errorf("warnings %v", c.Warnings)
	}
}

func TestNATValues(t *testing.T) {
	tests := []struct {
		value string
		want  NAT
	}{
		{"no", NAT{}},
		{"never", NAT{}},
		{"yes", NAT{ForceRport: true, Comedia: true, RewriteContact: true}},
		{"force_rport", NAT{ForceRport: true}},
		{"comedia", NAT{Comedia: true}},
		{"force_rport,comedia", NAT{ForceRport: true, Comedia: true}},
		{"auto_force_rport,auto_comedia", NAT{AutoForceRport: true, AutoComedia: true}},
		{"route", NAT{ForceRport: true, RewriteContact: true}},
	}
	for _, tt := range tests {
		c := readSIP(t, "[p]\ntype=peer\nnat="+tt.value+"\n")
		if got := c.Peer("p").NAT.Value; got != tt.want {
			t.Errorf("nat=%s: got %+v, want %+v", tt.value, got, tt.want)
		}
	}
}

func TestGeneralDefaultsInheritedByPeers(t *testing.T) {
	c := readSIP(t, `[general]
directmedia = no
nat = comedia
disallow = all
allow = alaw
dtmfmode = info
context = from-lan
qualify = 1500
[a]
type = friend
[b]
type = friend
directmedia = yes
allow = ulaw
[c]
type = peer
disallow = all
allow = g729
`)
	a, b, cc := c.Peer("a"), c.Peer("b"), c.Peer("c")
	if a.DirectMedia.Value.Enabled || a.DirectMedia.Var.Source.Section != "general" || a.DirectMedia.Var.Source.Line != 2 {
		t.Errorf("a directmedia %+v", a.DirectMedia)
	}
	if !a.NAT.Value.Comedia || a.DTMF.Value != DTMFInfo || a.Context.Value != "from-lan" || a.Qualify.Value != 1500 {
		t.Errorf("a: nat %+v dtmf %v context %q qualify %d", a.NAT.Value, a.DTMF.Value, a.Context.Value, a.Qualify.Value)
	}
	if got := a.Codecs.Value.String(); got != "alaw" {
		t.Errorf("a codecs %s", got)
	}
	if got := b.Codecs.Value.String(); got != "alaw,ulaw" || b.Codecs.Var.Source.Line != 14 {
		t.Errorf("b codecs %s from %v", got, b.Codecs.Var.Source)
	}
	if !b.DirectMedia.Value.Enabled {
		t.Error("b directmedia not yes")
	}
	if got := cc.Codecs.Value.String(); got != "g729" {
		t.Errorf("c codecs %s", got)
	}
	if len(cc.CodecLines) != 4 {
		t.Errorf("c codec lines %v", cc.CodecLines)
	}
}

func TestBuiltinDefaults(t *testing.T) {
	c := readSIP(t, "[p]\ntype=friend\n")
	p := c.Peer("p")
	if !p.DirectMedia.Value.Enabled || !p.DirectMedia.Value.NAT || !p.DirectMedia.IsDefault() {
		t.Errorf("directmedia %+v", p.DirectMedia)
	}
	if p.NAT.Value != (NAT{ForceRport: true}) || p.DTMF.Value != DTMFRFC4733 || p.Port.Value != 5060 || p.Context.Value != "default" {
		t.Errorf("defaults nat %+v dtmf %v port %d context %s", p.NAT.Value, p.DTMF.Value, p.Port.Value, p.Context.Value)
	}
	if got := p.Codecs.Value.String(); got != "ulaw,alaw,gsm,h263" || !p.Codecs.IsDefault() {
		t.Errorf("codecs %s", got)
	}
	if c.DirectRTPSetup.Value || !c.DirectRTPSetup.IsDefault() {
		t.Error("directrtpsetup default")
	}
}

func TestSIPSectionsSkippedLikeChanSIP(t *testing.T) {
	c := readSIP(t, "[general]\n[authentication]\nauth=a:b@c\n[tpl](!)\ntype=friend\n[notype]\nhost=1.2.3.4\n[odd]\ntype=gateway\n[ok]\ntype=user\ndirectrtpsetup=yes\n")
	if len(c.Peers) != 1 || c.Peers[0].Name != "ok" || c.Peers[0].Type.Value != TypeUser {
		t.Fatalf("peers %v", c.Peers)
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.String())
	}
	want := "sip.conf:6: section [notype] lacks type; chan_sip skips it\n" +
		"sip.conf:9: unknown type 'gateway' for [odd]; chan_sip skips it\n" +
		"sip.conf:12: directrtpsetup is a [general] option; chan_sip ignores it in [ok]"
	if strings.Join(got, "\n") != want {
		t.Errorf("warnings\n%s", strings.Join(got, "\n"))
	}
}

func TestOfficeSIPConf(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "sip", "sip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c := ReadSIP(f)
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %v", c.Warnings)
	}
	if !c.DirectRTPSetup.Value || c.DirectRTPSetup.Var.Source.Line != 14 {
		t.Errorf("directrtpsetup %+v", c.DirectRTPSetup)
	}
	if c.Bind.Value != netip.MustParseAddrPort("192.0.2.10:5060") || len(c.LocalNet) != 1 || c.LocalNet[0].Value.String() != "192.168.10.0/24" {
		t.Errorf("bind %v localnet %v", c.Bind.Value, c.LocalNet)
	}
	peers := map[string]struct {
		dm, nat, codecs string
		dtmf            DTMFMode
	}{
		"201":       {"nonat", "force_rport", "ulaw,alaw", DTMFRFC4733},
		"202":       {"no", "force_rport,comedia", "opus,ulaw", DTMFRFC4733},
		"cisco-ata": {"no", "force_rport", "ulaw,alaw", DTMFInband},
		"trunk":     {"update,nonat", "force_rport", "alaw", DTMFRFC4733},
		"pbx2":      {"update,outgoing,nonat", "force_rport", "ulaw,alaw", DTMFRFC4733},
	}
	for name, w := range peers {
		p := c.Peer(name)
		if p == nil {
			t.Fatalf("no peer %s", name)
		}
		if p.DirectMedia.Value.String() != w.dm || p.NAT.Value.String() != w.nat || p.Codecs.Value.String() != w.codecs || p.DTMF.Value != w.dtmf {
			t.Errorf("%s: directmedia %s nat %s codecs %s dtmf %v", name, p.DirectMedia.Value, p.NAT.Value, p.Codecs.Value, p.DTMF.Value)
		}
	}
	if p := c.Peer("202"); p.Codecs.Value.Codecs[0].Ptime != 20 {
		t.Errorf("opus ptime %d", p.Codecs.Value.Codecs[0].Ptime)
	}
	ata := c.Peer("cisco-ata")
	if ata.DirectMedia.Var.Key != "canreinvite" || ata.DirectMedia.Var.Source.File != filepath.Join("testdata", "sip", "sip_peers.conf") {
		t.Errorf("ata cites %+v", ata.DirectMedia.Var)
	}
	if c.Peer("pbx2").Context.Value != "from-pbx2" {
		t.Error("(+) addition not applied")
	}
	trunk := c.Peer("trunk")
	if ok, r := trunk.MediaACL.Permits(netip.MustParseAddr("203.0.113.9")); !ok || r == nil || r.Var.Key != "directmediapermit" {
		t.Errorf("permit %v %v", ok, r)
	}
	if ok, r := trunk.MediaACL.Permits(netip.MustParseAddr("192.168.10.20")); ok || r.Var.Key != "directmediadeny" {
		t.Errorf("deny %v %v", ok, r)
	}
}

func TestSIPMatch(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "sip", "sip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c := ReadSIP(f)
	tests := []struct {
		addr, user string
		peer       string
		kind       MatchKind
		line       int
	}{
		{"192.168.10.77:5060", "201", "201", MatchName, 3},
		{"192.168.10.50:5060", "", "cisco-ata", MatchHostPort, 14},
		{"192.168.10.50:5099", "", "cisco-ata", MatchHost, 14},
		{"203.0.113.5:5070", "4021555000", "trunk", MatchHostPort, 21},
		{"203.0.113.5:5061", "", "trunk", MatchHost, 23},
		{"192.168.10.3:5060", "pbx1", "pbx2", MatchHostPort, 33},
		{"198.51.100.99:5060", "pbx1", "pbx2", MatchDefaultUser, 34},
		{"198.51.100.99:5060", "trunk", "", MatchNone, 0},
		{"198.51.100.99:5060", "nobody", "", MatchNone, 0},
	}
	for _, tt := range tests {
		p, m := c.Match(netip.MustParseAddrPort(tt.addr), tt.user)
		name := ""
		if p != nil {
			name = p.Name
		}
		if name != tt.peer || m.Kind != tt.kind || m.Var.Source.Line != tt.line {
			t.Errorf("Match(%s, %q) = %q by %v at %v, want %q by %v at line %d", tt.addr, tt.user, name, m.Kind, m.Var.Source, tt.peer, tt.kind, tt.line)
		}
	}
}

func TestSeedDynamicNATPeers(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "seeds", "sip-dynamic-nat.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c := ReadSIP(f)
	for _, name := range []string{"1001", "1002"} {
		p := c.Peer(name)
		if p == nil || !p.Host.Value.Dynamic || !p.Secret.Value || !p.NAT.Value.Comedia || p.Context.Value != "my" {
			t.Errorf("%s: %+v", name, p)
		}
		if p.Secret.Var.Value != "" {
			t.Error("secret value kept")
		}
	}
	p, m := c.Match(netip.MustParseAddrPort("203.0.113.80:40000"), "1002")
	if p == nil || p.Name != "1002" || m.Kind != MatchName {
		t.Errorf("match %v %v", p, m)
	}
	if p, _ := c.Match(netip.MustParseAddrPort("203.0.113.80:40000"), ""); p != nil {
		t.Errorf("dynamic peer matched by address: %s", p.Name)
	}
}

func TestSeedModulesConfWarnsOnHashComments(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "seeds", "chan_sip-modules.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 2 || !strings.Contains(f.Warnings[0].Text, "unknown directive") {
		t.Errorf("warnings %v", f.Warnings)
	}
	if got := len(f.Section("modules").All("noload")); got != 6 {
		t.Errorf("noload lines %d", got)
	}
	if Classify(f) != KindOther {
		t.Errorf("classified as %v", Classify(f))
	}
}
