package astconf

import (
	"strings"
	"testing"
)

func TestCodecListAppliesLinesInOrder(t *testing.T) {
	tests := []struct {
		name  string
		lines []string // "+x" allow, "-x" disallow
		want  string
		bad   string
	}{
		{"disallow all then allow", []string{"-all", "+ulaw,alaw"}, "ulaw,alaw", ""},
		{"re-allow keeps first position", []string{"+ulaw,alaw", "+ulaw"}, "ulaw,alaw", ""},
		{"disallow one", []string{"+ulaw,alaw,gsm", "-alaw"}, "ulaw,gsm", ""},
		{"bang all inside allow", []string{"+ulaw", "+!all,g722"}, "g722", ""},
		{"allow all except", []string{"+all", "-g729"}, "all except g729", ""},
		{"all then named keeps named first", []string{"+opus", "+all"}, "opus,all", ""},
		{"unknown names are reported and ignored", []string{"+ulaw,foo, bar"}, "ulaw", "foo,bar"},
		{"ptime suffix", []string{"+ulaw:30"}, "ulaw", ""},
		{"case and spaces", []string{"+ ULAW , Alaw"}, "ulaw,alaw", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c CodecList
			var bad []string
			for _, l := range tt.lines {
				bad = append(bad, c.Apply(l[1:], l[0] == '+')...)
			}
			if c.String() != tt.want || strings.Join(bad, ",") != tt.bad {
				t.Errorf("got %s (unknown %v), want %s (unknown %s)", c, bad, tt.want, tt.bad)
			}
		})
	}
}

func TestCodecListDoesNotShareStorage(t *testing.T) {
	var base CodecList
	base.Apply("ulaw,alaw,gsm", true)
	a, b := base, base
	a.Apply("alaw", false)
	b.Apply("g722", true)
	if base.String() != "ulaw,alaw,gsm" || a.String() != "ulaw,gsm" || b.String() != "ulaw,alaw,gsm,g722" {
		t.Errorf("base %s a %s b %s", base, a, b)
	}
}

func TestCodecListCommon(t *testing.T) {
	mk := func(v string) CodecList {
		var c CodecList
		c.Apply(v, true)
		return c
	}
	tests := []struct{ a, b, want string }{
		{"ulaw,alaw", "alaw,g722", "alaw"},
		{"ulaw", "alaw", ""},
		{"all", "g729,ulaw", "g729,ulaw"},
	}
	for _, tt := range tests {
		if got := strings.Join(mk(tt.a).Common(mk(tt.b)), ","); got != tt.want {
			t.Errorf("Common(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
	all := mk("all")
	all.Apply("ulaw", false)
	if got := all.Common(mk("all")); len(got) == 0 || got[0] == "ulaw" {
		t.Errorf("all-but-ulaw with all: %v", got)
	}
}

func TestCodecFromSDP(t *testing.T) {
	tests := []struct {
		enc  string
		rate int
		want string
	}{
		{"PCMU", 8000, "ulaw"}, {"PCMA", 8000, "alaw"}, {"G722", 8000, "g722"},
		{"opus", 48000, "opus"}, {"speex", 16000, "speex16"}, {"L16", 16000, "slin16"},
		{"L16", 44100, "slin44"}, {"G7221", 32000, "siren14"}, {"AAL2-G726-32", 8000, "g726aal2"},
		{"DVI4", 8000, "adpcm"}, {"telephone-event", 8000, ""}, {"CN", 8000, ""},
	}
	for _, tt := range tests {
		got, ok := CodecFromSDP(tt.enc, tt.rate)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("CodecFromSDP(%s/%d) = %q %v, want %q", tt.enc, tt.rate, got, ok, tt.want)
		}
		if ok && !IsKnownCodec(got) {
			t.Errorf("%s is not a known codec", got)
		}
	}
}
