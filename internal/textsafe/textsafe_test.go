package textsafe

import (
	"testing"
	"unicode/utf8"
)

func TestTerminalRemovesWhatCouldChangeATerminal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"INVITE", "INVITE"},
		{"200 OK", "200 OK"},
		{"red\x1b[31mtext\x1b[0m", "redtext"},
		{"clear\x1b[2J\x1b[H", "clear"},
		{"title\x1b]0;owned\x07after", "titleafter"},
		{"title\x1b]0;owned\x1b\\after", "titleafter"},
		{"dcs\x1bPq#0;2;0;0;0\x1b\\end", "dcsend"},
		{"two\x1b7byte", "twobyte"},
		{"bell\x07nul\x00del\x7f", "bellnuldel"},
		{"c1\u009b31mcsi\u0085nel", "c131mcsinel"},
		{"line\r\nbreak\ttab", "line  break tab"},
		{"bidi \u202egnp.exe\u202c", "bidi gnp.exe"},
		{"sep\u2028line\u2029para", "seplinepara"},
		{"bad \xff\xfe utf8", "bad \ufffd\ufffd utf8"},
		{"trailing esc\x1b", "trailing esc"},
		{"unterminated \x1b[31", "unterminated "},
		{"ünïcödé 日本", "ünïcödé 日本"},
	} {
		if got := Terminal(tc.in); got != tc.want {
			t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"INVITE", "\x1b[31mred", "\x1b]0;t\x07", "\u202e", "\xff", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Terminal(s)
		if !utf8.ValidString(c) {
			t.Fatalf("Terminal(%q) = %q is not UTF-8", s, c)
		}
		for _, r := range c {
			if isStripped(r) {
				t.Fatalf("Terminal(%q) = %q keeps control %U", s, c, r)
			}
		}
		if Terminal(c) != c {
			t.Fatalf("Terminal is not idempotent on %q", s)
		}
	})
}
