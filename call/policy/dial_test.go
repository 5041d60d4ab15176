package policy

import (
	"strings"
	"testing"
)

func TestParseDialOptions(t *testing.T) {
	tests := []struct {
		in             string
		caller, callee string
		warn, ring     bool
	}{
		{"", "", "", false, false},
		{"tT", "T", "t", false, false},
		{"HhWwKkXx", "HWKX", "hwkx", false, false},
		{"L(60000:30000:10000)", "", "", true, false},
		{"L(60000)", "", "", false, false},
		{"L(60000::10000)", "", "", false, false},
		{"m(default)T", "T", "", false, true},
		{"U(sub^t^T)r", "", "", false, true},
		{"b(handler^s^1(t,T))", "", "", false, false},
		{"g", "", "", false, false},
		{"L(1000:500", "", "", true, false},
	}
	for _, tt := range tests {
		d := ParseDialOptions(tt.in)
		if d.CallerFeatures != tt.caller || d.CalleeFeatures != tt.callee || d.TimeLimitWarning != tt.warn || d.MusicOrRinging != tt.ring {
			t.Errorf("ParseDialOptions(%q) = %+v", tt.in, d)
		}
	}
}

func TestParseDial(t *testing.T) {
	tests := []struct {
		in      string
		targets string
		timeout string
		callee  string
	}{
		{"SIP/bob,60", "SIP/bob", "60", ""},
		{"SIP/bob&PJSIP/carol,30,tL(1000:500)", "SIP/bob PJSIP/carol", "30", "t"},
		{"SIP/pbx2/2001|60|t", "SIP/pbx2/2001", "60", "t"},
		{"SIP/bob,,M(macro^a,b)t", "SIP/bob", "", "t"},
	}
	for _, tt := range tests {
		d := ParseDial(tt.in)
		if strings.Join(d.Targets, " ") != tt.targets || d.Timeout != tt.timeout || d.Options.CalleeFeatures != tt.callee {
			t.Errorf("ParseDial(%q) = %+v", tt.in, d)
		}
	}
}

func FuzzParseDial(f *testing.F) {
	for _, s := range []string{"SIP/bob,60,tT", "SIP/a&SIP/b,,L(1:2:3)m(x)", "((((", "a|b|c(d)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseDial(s)
		ParseDialOptions(d.Options.Raw)
	})
}
