package textsafe

import "testing"

func TestTerminal(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is unchanged", "Alice <sip:alice@example.com>", "Alice <sip:alice@example.com>"},
		{"ANSI colour sequence loses its ESC", "\x1b[31mred", "[31mred"},
		{"OSC window title loses its ESC and BEL", "\x1b]0;pwned\x07x", "]0;pwnedx"},
		{"newline and carriage return are removed", "a\r\nb", "ab"},
		{"tab becomes a space", "a\tb", "a b"},
		{"C1 control CSI is removed", "a\u009bb", "ab"},
		{"bidi override is removed", "abc\u202edef", "abcdef"},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "a\ufffdb"},
		{"non-ASCII letters stay", "Jürgen 電話", "Jürgen 電話"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Terminal(tt.in); got != tt.want {
				t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzTerminal(f *testing.F) {
	f.Add("\x1b[2J\x1b[H")
	f.Add("ok")
	f.Fuzz(func(t *testing.T, s string) {
		out := Terminal(s)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control %U survived in %q", r, out)
			}
		}
	})
}
