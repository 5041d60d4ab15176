package scenario

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/media"
)

// minimal is a valid scenario the error cases below break one line of.
const minimal = `[scenario]
expect_verdict = direct
[alice]
role = phone
addr = 127.0.0.30
[bob]
role = phone
addr = 127.0.0.31
[pbx1]
role = asterisk
addr = 127.0.0.12
exten => 2001,1,Dial(SIP/bob)
[pbx1/alice]
directmedia = no
[pbx1/bob]
[script]
dial = alice -> 2001
hangup_at = 3s
`

func TestParseReadsEveryPart(t *testing.T) {
	s, err := Parse("dir/min.conf", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "min" || s.Expect.Verdict != media.Direct {
		t.Errorf("name %q verdict %q", s.Name, s.Expect.Verdict)
	}
	alice := s.Host("alice")
	if alice.Role != Phone || alice.Phone.PBX != "pbx1" || alice.Phone.RTPPort != DefaultPhoneRTP || alice.Phone.Codecs[0] != "ulaw" {
		t.Errorf("alice %+v %+v", alice, alice.Phone)
	}
	pbx := s.Host("pbx1")
	if pbx.Role != Asterisk || pbx.PBX.SIP.Bind.Value != netip.MustParseAddrPort("127.0.0.12:5060") {
		t.Fatalf("pbx1 bind %v", pbx.PBX.SIP.Bind.Value)
	}
	peer := pbx.PBX.SIP.Peer("alice")
	if peer == nil || peer.Host.Value.Addr != alice.Addr || peer.DirectMedia.Value.Enabled {
		t.Fatalf("peer alice %+v", peer)
	}
	if src := peer.DirectMedia.Var.Source; src.File != "dir/min.conf" || src.Line != 14 || src.Section != "pbx1/alice" {
		t.Errorf("directmedia cited at %+v, want dir/min.conf:14 [pbx1/alice]", src)
	}
	if got := extension(pbx.PBX.Dialplan, "default", "2001"); len(got) != 1 {
		t.Errorf("extension 2001: %v", got)
	}
	if s.Script.Hanger != "alice" || s.Script.HangupAt != 3*time.Second {
		t.Errorf("script %+v", s.Script)
	}
}

func TestParseRefusesMistakes(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"address outside loopback", "addr = 127.0.0.30", "addr = 10.0.0.30", "not in 127.0.0.0/8"},
		{"shared address", "addr = 127.0.0.31", "addr = 127.0.0.30", "share the address"},
		{"unknown role", "role = asterisk", "role = freeswitch", "not phone or asterisk"},
		{"unknown phone option", "[bob]\n", "[bob]\ncolour = red\n", `no option "colour"`},
		{"codec the phones cannot send", "[bob]\n", "[bob]\ncodecs = g729\n", "G.711 only"},
		{"odd RTP port", "[bob]\n", "[bob]\nrtp_port = 40001\n", "is odd"},
		{"peer of a phone", "[pbx1/bob]", "[alice/bob]", "not an asterisk host"},
		{"peer without a host", "[pbx1/bob]", "[pbx1/carol]", "names no host"},
		{"caller that is no phone", "dial = alice -> 2001", "dial = pbx1 -> 2001", "not a phone"},
		{"no number", "dial = alice -> 2001", "dial = alice", "not CALLER -> NUMBER"},
		{"hang-up before answer", "hangup_at = 3s", "hangup_at = 3s\nanswer_after = 4s", "not after answer_after"},
		{"bad duration", "hangup_at = 3s", "hangup_at = soon", "not a duration"},
		{"bad digits", "hangup_at = 3s", "hangup_at = 3s\ndtmf_at = 1s:12x", "not one of"},
		{"unknown verdict", "expect_verdict = direct", "expect_verdict = sideways", "not one of"},
		{"bad sip.conf value", "directmedia = no", "directmedia = sometimes", "unknown directmedia mode"},
		{"general option in a peer", "directmedia = no", "directrtpsetup = yes", "[general] option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(minimal, tc.from, tc.to, 1)
			if text == minimal {
				t.Fatalf("%q not in the scenario", tc.from)
			}
			_, err := Parse("x.conf", []byte(text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestCatalogueLoads(t *testing.T) {
	want := []string{"codec-mismatch", "direct-media", "directmedia-no", "directmedia-update", "directrtpsetup",
		"dtmf-mismatch", "dtmf-translated", "hold-moh", "nat-nonat", "release-refused", "two-pbx-glare", "two-pbx-outgoing"}
	var got []string
	for _, s := range List() {
		got = append(got, s.Name)
		if s.Description == "" || s.Expect.Verdict == "" || len(s.Expect.Reasons) == 0 {
			t.Errorf("%s: no description or expectation", s.Name)
		}
		for _, code := range append(slices.Clone(s.Expect.Reasons), s.Expect.Absent...) {
			if !knownCode(code) {
				t.Errorf("%s: %q is not a reason code of package explain", s.Name, code)
			}
		}
		if l, err := Load(s.Name); err != nil || l.Name != s.Name {
			t.Errorf("Load(%s): %v", s.Name, err)
		}
	}
	for _, name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("catalogue lacks %s (has %v)", name, got)
		}
	}
	if _, err := Load("no-such-scenario"); err == nil {
		t.Error("Load of an unknown name succeeded")
	}
}

func TestLoadReadsAFileWithIncludes(t *testing.T) {
	dir := t.TempDir()
	phones := "[phone](!)\nrole = phone\ncodecs = alaw\n"
	text := strings.Replace(strings.Replace(minimal, "[alice]\nrole = phone", "#include phones.inc\n[alice](phone)", 1),
		"[bob]\nrole = phone", "[bob](phone)", 1)
	if err := os.WriteFile(filepath.Join(dir, "phones.inc"), []byte(phones), 0o644); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "mine.conf")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "mine" || s.Host("bob").Phone.Codecs[0] != "alaw" || string(s.Source) != text {
		t.Errorf("name %q, bob's codecs %v", s.Name, s.Host("bob").Phone.Codecs)
	}
}

func knownCode(code string) bool {
	return slices.ContainsFunc(explain.Codes, func(c struct{ Code, Meaning string }) bool { return c.Code == code })
}

func TestConfigsCiteTheScenario(t *testing.T) {
	s, err := Load("two-pbx-outgoing")
	if err != nil {
		t.Fatal(err)
	}
	configs, plans := s.Configs()
	if len(configs) != 2 || len(plans) != 2 {
		t.Fatalf("%d configs, %d dialplans", len(configs), len(plans))
	}
	c := configs[1]
	if c.Server() != "pbx2" || c.Addrs()[0] != netip.MustParseAddrPort("127.0.0.13:5060") {
		t.Fatalf("config %s binds %v", c.Server(), c.Addrs())
	}
	p := policy.FromSIPPeer(c.SIP, c.SIP.Peer("pbx1"))
	if p.Withhold.Value != policy.WithholdIncoming {
		t.Errorf("pbx2's peer pbx1 withholds %v, want incoming", p.Withhold.Value)
	}
	if src := p.Withhold.Var.Source; src.File != "catalog/two-pbx-outgoing.conf" || src.Line == 0 {
		t.Errorf("cited at %+v", src)
	}
}

func TestAsteriskConfReadsBack(t *testing.T) {
	s, err := Load("two-pbx-glare")
	if err != nil {
		t.Fatal(err)
	}
	files, err := (&astconf.Reader{}).ParseAll("bundle.conf.txt", s.AsteriskConf())
	if err != nil {
		t.Fatal(err)
	}
	var servers []string
	for _, f := range files {
		c := astconf.NewConfig(f)
		if f.Base == "sip.conf" {
			if c == nil || len(c.Warnings()) > 0 {
				t.Fatalf("%s: %v", f.Server, c.Warnings())
			}
			servers = append(servers, f.Server)
			orig := s.Host(strings.Fields(f.Server)[0]).PBX.SIP
			for _, p := range orig.Peers {
				q := c.SIP.Peer(p.Name)
				if q == nil || q.Host.Value != p.Host.Value || q.DirectMedia.Value != p.DirectMedia.Value || q.Codecs.Value.String() != p.Codecs.Value.String() {
					t.Errorf("%s peer %s does not read back", f.Server, p.Name)
				}
			}
		}
	}
	if len(servers) != 2 {
		t.Errorf("servers %v", servers)
	}
}

func TestRelocateMovesEveryAddress(t *testing.T) {
	s, err := Load("two-pbx-glare")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Relocate(netip.MustParsePrefix("127.9.8.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if a := m.Host("pbx2").Addr; a != netip.MustParseAddr("127.9.8.13") {
		t.Errorf("pbx2 at %s", a)
	}
	if s.Host("pbx2").Addr != netip.MustParseAddr("127.0.0.13") {
		t.Error("Relocate changed the original")
	}
	if h := m.Host("pbx1").PBX.SIP.Peer("pbx2").Host.Value.Addr; h != netip.MustParseAddr("127.9.8.13") {
		t.Errorf("pbx1's peer pbx2 at %s", h)
	}
	if _, err := s.Relocate(netip.MustParsePrefix("10.0.0.0/24")); err == nil {
		t.Error("relocated outside loopback")
	}
}
