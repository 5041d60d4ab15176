package astconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/sipscope/sipscope/internal/corpustest"
)

// FuzzParse feeds arbitrary text to the reader, as a file that may include
// itself and a second file, then builds both typed views and matches a leg:
// nothing may panic, and every value must cite a line.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*.conf"))
	if root := corpustest.Root(); root != "" {
		more, _ := filepath.Glob(filepath.Join(root, "asterisk", "*.conf.txt"))
		seeds = append(seeds, more...)
	}
	for _, name := range seeds {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[a](!)\nk=v\n[b](a,+)\n#include main.conf\n;-- x\n"))
	f.Add([]byte("[w]\ntype=wizard\nremote_hosts=[::1]:5060,h\nendpoint/allow=!all,ulaw:20\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"main.conf": {Data: data},
			"inc.conf":  {Data: append([]byte("[inc]\n#include main.conf\n"), data...)},
		}
		r := &Reader{FS: fsys, MaxVars: 1 << 14}
		file, err := r.ReadFile("main.conf")
		if file == nil {
			t.Fatalf("nil file (err %v)", err)
		}
		files, _ := r.ParseAll("bundle.conf.txt", data)
		files = append(files, file)
		for _, fl := range files {
			for _, s := range fl.Sections {
				for _, v := range s.Vars {
					if v.Source.Line < 1 {
						t.Fatalf("%v has no line", v)
					}
				}
			}
			for _, c := range []*Config{{File: fl, SIP: ReadSIP(fl)}, {File: fl, PJSIP: ReadPJSIP(fl)}} {
				c.Match(netip.MustParseAddrPort("10.0.0.1:5060"), "alice")
				c.Addrs()
				_ = c.Warnings()
			}
		}
	})
}
