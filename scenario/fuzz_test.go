package scenario

import (
	"io/fs"
	"testing"
)

// FuzzParse: no scenario text makes the reader panic, and what it accepts
// is consistent: every host has an address and a role's options.
func FuzzParse(f *testing.F) {
	names, _ := fs.Glob(catalogFS, catalogDir+"/*.conf")
	for _, n := range names {
		data, _ := fs.ReadFile(catalogFS, n)
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("[a/b]\n[a]\nrole=asterisk\naddr=127.0.0.1\n[script]\ndial=x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.conf", data)
		if err != nil {
			return
		}
		for _, h := range s.Hosts {
			if !h.Addr.IsLoopback() || (h.Role == Phone) == (h.Phone == nil) || (h.Role == Asterisk) == (h.PBX == nil) {
				t.Fatalf("host %+v accepted", h)
			}
		}
		if s.Host(s.Script.Caller) == nil {
			t.Fatalf("caller %q accepted", s.Script.Caller)
		}
		s.AsteriskConf()
	})
}
