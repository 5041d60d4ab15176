package astconf

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitBundle(t *testing.T) {
	in := "# header\n\n########## ast1 (10.0.0.1) : sip.conf\n[general]\nnat=no\n\n" +
		"########## ast1 (10.0.0.1) : extensions.conf\n[default]\n" +
		"########## phones (baresip)\nsip_listen 10.0.0.5\n" +
		"########## ast2 : pjsip.conf\n[t]\ntype=transport\n"
	parts := SplitBundle([]byte(in))
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	want := []struct {
		server, base string
		line         int
		data         string
	}{
		{"ast1 (10.0.0.1)", "sip.conf", 4, "[general]\nnat=no\n\n"},
		{"ast1 (10.0.0.1)", "extensions.conf", 8, "[default]\n"},
		{"ast2", "pjsip.conf", 12, "[t]\ntype=transport\n"},
	}
	for i, w := range want {
		p := parts[i]
		if p.Server != w.server || p.Base != w.base || p.Line != w.line || string(p.Data) != w.data {
			t.Errorf("part %d = %q %q %d %q, want %+v", i, p.Server, p.Base, p.Line, p.Data, w)
		}
	}
	if SplitBundle([]byte("[general]\n; ########## not a banner : x\n")) != nil {
		t.Error("an ordinary file was split")
	}
}

func TestLoadCorpusBundles(t *testing.T) {
	for _, name := range corpusBundles(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			files, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, f := range files {
				kinds[f.Base]++
				if len(f.Warnings) > 0 {
					t.Errorf("%s %s: warnings %v", f.Server, f.Base, f.Warnings)
				}
				for _, s := range f.Sections {
					for _, v := range s.Vars {
						if v.Source.File != name || v.Source.Line < 5 {
							t.Fatalf("%s: source %v does not point into the bundle", v, v.Source)
						}
					}
				}
			}
			if kinds["sip.conf"] == 0 || kinds["extensions.conf"] != kinds["sip.conf"] || kinds["rtp.conf"] != kinds["sip.conf"] {
				t.Errorf("parts %v", kinds)
			}
			cfgs, err := LoadConfigs(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfgs) != kinds["sip.conf"] {
				t.Fatalf("%d typed configs for %d sip.conf parts", len(cfgs), kinds["sip.conf"])
			}
			for _, c := range cfgs {
				if c.SIP == nil || len(c.SIP.Peers) != 2 {
					t.Fatalf("%s: peers %v", c.Server(), c.SIP)
				}
				bind := c.Addrs()[0]
				if !strings.Contains(c.Server(), bind.Addr().String()) || bind.Port() != 5060 {
					t.Errorf("server %q binds %v", c.Server(), bind)
				}
			}
		})
	}
}

// TestCorpusPeersAsConfigured checks the typed view against what the
// corpus README says each configuration holds.
func TestCorpusPeersAsConfigured(t *testing.T) {
	dir := ""
	for _, n := range corpusBundles(t) {
		dir = filepath.Dir(n)
	}
	type peer struct {
		server, name string
		dm           string
		dmLine       int
		codecs       string
		codecLine    int
		addr         string
	}
	tests := map[string][]peer{
		"asterisk-direct-media.conf.txt": {
			{"ast1", "alice", "yes", 26, "ulaw", 28, "127.0.0.30:5060"},
			{"ast1", "bob", "yes", 36, "ulaw", 38, "127.0.0.31:5060"},
		},
		"asterisk-directmedia-no.conf.txt": {
			{"ast1", "alice", "no", 26, "ulaw", 28, "127.0.0.30:5060"},
			{"ast1", "bob", "yes", 36, "ulaw", 38, "127.0.0.31:5060"},
		},
		"asterisk-codec-mismatch.conf.txt": {
			{"ast1", "alice", "yes", 27, "ulaw", 29, "127.0.0.30:5060"},
			{"ast1", "bob", "yes", 37, "alaw", 39, "127.0.0.31:5060"},
		},
		"asterisk-hold-moh.conf.txt": {
			{"ast1", "alice", "yes", 26, "ulaw", 28, "127.0.0.30:5060"},
			{"ast1", "bob", "yes", 36, "ulaw", 38, "127.0.0.31:5060"},
		},
		"asterisk-two-pbx-glare.conf.txt": {
			{"ast1", "alice", "yes", 26, "ulaw", 28, "127.0.0.30:5060"},
			{"ast1", "pbx2", "yes", 36, "ulaw", 38, "127.0.0.13:5060"},
			{"ast2", "pbx1", "yes", 84, "ulaw", 86, "127.0.0.12:5060"},
			{"ast2", "bob", "yes", 94, "ulaw", 96, "127.0.0.31:5060"},
		},
	}
	for file, peers := range tests {
		t.Run(file, func(t *testing.T) {
			cfgs, err := LoadConfigs(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range peers {
				var c *Config
				for _, x := range cfgs {
					if strings.HasPrefix(x.Server(), w.server+" ") {
						c = x
					}
				}
				if c == nil {
					t.Fatalf("no config for %s", w.server)
				}
				p := c.SIP.Peer(w.name)
				if p == nil {
					t.Fatalf("%s: no peer %s", w.server, w.name)
				}
				if got := p.DirectMedia.Value.String(); got != w.dm || p.DirectMedia.Var.Source.Line != w.dmLine {
					t.Errorf("%s directmedia %s at %d, want %s at %d", w.name, got, p.DirectMedia.Var.Source.Line, w.dm, w.dmLine)
				}
				if got := p.Codecs.Value.String(); got != w.codecs || p.Codecs.Var.Source.Line != w.codecLine {
					t.Errorf("%s codecs %s at %d, want %s at %d", w.name, got, p.Codecs.Var.Source.Line, w.codecs, w.codecLine)
				}
				if p.NAT.Value.String() != "no" || p.NAT.Var.Source.Section != "general" {
					t.Errorf("%s nat %v from %v, want no from [general]", w.name, p.NAT.Value, p.NAT.Var.Source)
				}
				got, m := c.Match(netip.MustParseAddrPort(w.addr), "")
				if got.Name() != w.name || m.Kind != MatchHostPort {
					t.Errorf("%s matched %q by %v", w.addr, got.Name(), m.Kind)
				}
			}
		})
	}
}
