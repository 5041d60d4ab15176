package astconf

import "testing"

func TestExtensionPatterns(t *testing.T) {
	tests := []struct {
		pattern, number string
		want            bool
	}{
		{"_X.", "2001", true}, {"_2XXX", "2001", true}, {"_2XXX", "3001", false},
		{"_NXX", "199", false}, {"_Z!", "1", true}, {"2001", "2001", true}, {"2001", "2002", false}, {"_2[0-4]XX", "2301", true}, {"_2[0-4]XX", "2501", false},
	}
	for _, tc := range tests {
		if got := MatchExten(tc.pattern, tc.number); got != tc.want {
			t.Errorf("%s on %s: %v", tc.pattern, tc.number, got)
		}
	}
}
