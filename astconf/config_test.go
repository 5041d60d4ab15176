package astconf

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		name, in string
		want     Kind
	}{
		{"sip.conf", "[x]\n", KindSIP},
		{"sip_custom.conf", "[x]\n", KindSIP},
		{"pjsip_wizard.conf", "[x]\n", KindPJSIP},
		{"extensions.conf", "[default]\nexten => 1,1,Hangup()\n", KindOther},
		{"trunks.conf", "[t]\ntype=peer\n", KindSIP},
		{"trunks.conf", "[t]\ntype=endpoint\n[u]\ntype=aor\n", KindPJSIP},
	}
	for _, tt := range tests {
		f, err := Parse(tt.name, []byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := Classify(f); got != tt.want {
			t.Errorf("%s %q: %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}
