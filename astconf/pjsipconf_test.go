package astconf

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

func readOfficePJSIP(t *testing.T) *PJSIPConf {
	t.Helper()
	f, err := ReadFile(filepath.Join("testdata", "pjsip", "pjsip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if Classify(f) != KindPJSIP {
		t.Fatalf("classified as %v", Classify(f))
	}
	return ReadPJSIP(f)
}

func TestPJSIPEndpointsFromTemplates(t *testing.T) {
	c := readOfficePJSIP(t)
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %v", c.Warnings)
	}
	e := c.Endpoint("6001")
	if e == nil {
		t.Fatal("no endpoint 6001")
	}
	if !e.DirectMedia.Value || e.DirectMediaMethod.Value != "update" || !e.DisableDirectMediaOnNAT.Value || !e.RTPSymmetric.Value || !e.RewriteContact.Value {
		t.Errorf("6001: %+v", e)
	}
	if e.DirectMediaMethod.Var.Source.Section != "endpoint-phone" || e.DirectMediaMethod.Var.From != "endpoint-phone" {
		t.Errorf("method cites %+v", e.DirectMediaMethod.Var)
	}
	if got := e.Codecs.Value.String(); got != "ulaw,alaw" {
		t.Errorf("codecs %s", got)
	}
	if got := strings.Join(e.AORs.Value, ","); got != "6001" || e.Auth.Value[0] != "6001-auth" {
		t.Errorf("aors %s auth %v", got, e.Auth.Value)
	}
	e2 := c.Endpoint("6002")
	if e2.DirectMedia.Value || e2.DTMF.Value != DTMFInfo || e2.DirectMedia.Var.Source.Section != "6002" {
		t.Errorf("6002 direct_media %+v dtmf %v", e2.DirectMedia, e2.DTMF.Value)
	}
	w := c.Endpoint("webrtc-client")
	if w.MediaEncryption.Value != "dtls" || !w.ICESupport.Value || w.MediaEncryption.Var.Key != "webrtc" || w.GlareMitigation.Value != "incoming" {
		t.Errorf("webrtc %+v", w)
	}
	if a := c.AOR("6002"); a == nil || a.MaxContacts.Value != 1 || len(a.Contacts) != 1 {
		t.Errorf("aor 6002 %+v", a)
	}
	if len(c.Transports) != 1 || c.Transports[0].Bind.Value != netip.MustParseAddrPort("192.0.2.20:5060") || len(c.Transports[0].LocalNet) != 2 || c.Transports[0].LocalNet[1].Value.String() != "10.0.0.0/8" {
		t.Errorf("transports %+v", c.Transports)
	}
	if got := strings.Join(c.IdentifierOrder.Value, ","); got != "ip,username,auth_username" {
		t.Errorf("identifier order %s", got)
	}
}

func TestPJSIPWizardExpansion(t *testing.T) {
	c := readOfficePJSIP(t)
	e := c.Endpoint("itsp")
	if e == nil || e.Wizard != "itsp" {
		t.Fatalf("itsp endpoint %+v", e)
	}
	if e.DirectMedia.Value || e.DirectMedia.Var.Key != "direct_media" || !strings.HasSuffix(e.DirectMedia.Var.Source.File, "pjsip_wizard.conf") || e.DirectMedia.Var.Source.Line != 13 {
		t.Errorf("direct_media %+v", e.DirectMedia)
	}
	if e.GlareMitigation.Value != "outgoing" || e.Transport.Value != "transport-udp" || e.Context.Value != "from-itsp" {
		t.Errorf("itsp glare %s transport %s context %s", e.GlareMitigation.Value, e.Transport.Value, e.Context.Value)
	}
	if got := strings.Join(e.OutboundAuth.Value, ","); got != "itsp-oauth" || len(e.Auth.Value) != 0 {
		t.Errorf("outbound_auth %s auth %v", got, e.Auth.Value)
	}
	aor := c.AOR("itsp")
	if aor == nil || len(aor.Contacts) != 2 || aor.Contacts[0].Value != "sip:203.0.113.40:5060" || aor.Contacts[1].Value != "sip:203.0.113.41" {
		t.Errorf("aor %+v", aor)
	}
	var id *Identify
	for _, x := range c.Identifies {
		if x.Name == "itsp-identify" {
			id = x
		}
	}
	if id == nil || id.Endpoint.Value != "itsp" || len(id.Match) != 2 || id.Match[0].Prefix.String() != "203.0.113.40/32" || id.Match[0].Port != 0 {
		t.Errorf("identify %+v", id)
	}
	var oauth *Auth
	for _, a := range c.Auths {
		if a.Name == "itsp-oauth" {
			oauth = a
		}
	}
	if oauth == nil || oauth.Username.Value != "4021555000" || oauth.Wizard != "itsp" {
		t.Errorf("oauth %+v", oauth)
	}
}

func TestPJSIPMatch(t *testing.T) {
	c := readOfficePJSIP(t)
	tests := []struct {
		addr, user string
		endpoint   string
		kind       MatchKind
	}{
		{"203.0.113.41:5060", "", "itsp", MatchIdentify},
		{"10.1.1.1:5060", "", "pbx-peer", MatchIdentify},
		{"10.1.1.7:5060", "", "pbx-peer", MatchIdentify},
		{"192.168.20.11:5060", "6001", "6001", MatchName},
		{"192.168.20.11:5060", "phone6002", "6002", MatchAuthUser},
		{"192.168.20.12:5062", "", "6002", MatchContact},
		{"192.168.20.99:5060", "nobody", "", MatchNone},
	}
	for _, tt := range tests {
		e, m := c.Match(netip.MustParseAddrPort(tt.addr), tt.user)
		name := ""
		if e != nil {
			name = e.Name
		}
		if name != tt.endpoint || m.Kind != tt.kind {
			t.Errorf("Match(%s, %q) = %q by %v, want %q by %v", tt.addr, tt.user, name, m.Kind, tt.endpoint, tt.kind)
		}
		if m.Kind != MatchNone && m.Var.Source.Line == 0 {
			t.Errorf("Match(%s) cites no line", tt.addr)
		}
	}
}

func TestPJSIPIdentifyPrefersNarrowestMatch(t *testing.T) {
	f, err := Parse("pjsip.conf", []byte(`[a]
type=endpoint
[b]
type=endpoint
[a-id]
type=identify
endpoint=a
match=10.0.0.0/8
[b-id]
type=identify
endpoint=b
match=10.2.0.0/16, 10.2.3.4:5070
match=pbx.example.net
`))
	if err != nil {
		t.Fatal(err)
	}
	c := ReadPJSIP(f)
	for addr, want := range map[string]string{"10.9.9.9:5060": "a", "10.2.9.9:5060": "b", "10.2.3.4:5070": "b"} {
		e, m := c.Match(netip.MustParseAddrPort(addr), "")
		if e == nil || e.Name != want {
			t.Errorf("%s matched %v", addr, e)
		}
		if addr == "10.2.3.4:5070" && !strings.Contains(m.Var.Value, ":5070") {
			t.Errorf("port match cites %v", m.Var)
		}
	}
	var host string
	for _, id := range c.Identifies {
		for _, m := range id.Match {
			host += m.Host
		}
	}
	if host != "pbx.example.net" {
		t.Errorf("host names %q", host)
	}
}

func TestSeedPJSIPWizardLayout(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "seeds", "pjsip-wizard.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewConfig(f)
	if c == nil || c.PJSIP == nil {
		t.Fatal("not read as pjsip")
	}
	p := c.PJSIP
	phone := p.Endpoint("6001")
	if phone == nil || strings.Join(phone.Auth.Value, ",") != "6001-iauth" || phone.Codecs.Value.String() != "ulaw,gsm,g722" {
		t.Fatalf("6001 %+v", phone)
	}
	if a := p.AOR("6001"); a == nil || a.MaxContacts.Value != 1 || a.MaxContacts.Var.Key != "max_contacts" || len(a.Contacts) != 0 {
		t.Errorf("aor 6001 %+v", a)
	}
	for _, id := range p.Identifies {
		if id.Endpoint.Value == "6001" {
			t.Error("a registering wizard got an identify")
		}
	}
	trunk, m := c.Match(netip.MustParseAddrPort("192.0.2.99:5060"), "")
	if trunk.Name() != "trunk-6001" || m.Kind != MatchIdentify {
		t.Errorf("trunk matched %q by %v", trunk.Name(), m.Kind)
	}
	if got := strings.Join(trunk.Endpoint.OutboundAuth.Value, ","); got != "trunk-6001-oauth" {
		t.Errorf("outbound auth %s", got)
	}
}

func TestPJSIPDefaults(t *testing.T) {
	f, err := Parse("pjsip.conf", []byte("[e]\ntype=endpoint\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := ReadPJSIP(f).Endpoint("e")
	if !e.DirectMedia.Value || e.DirectMediaMethod.Value != "invite" || e.GlareMitigation.Value != "none" || e.DTMF.Value != DTMFRFC4733 || !e.ForceRport.Value || e.RTPSymmetric.Value || !e.Codecs.Value.Empty() || e.MediaEncryption.Value != "no" {
		t.Errorf("defaults %+v", e)
	}
}
