// Package textsafe makes text taken from packets safe to print on a
// terminal: every SIP header is attacker-controlled, and an ESC sequence in a
// display name must not move the cursor, change colours or retitle a window.
package textsafe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal returns s with control characters removed: C0 controls (tab
// becomes a space), DEL, C1 controls, and invalid UTF-8 (replaced by U+FFFD).
// ESC is removed with the rest, so an escape sequence is left as inert
// printable text.
func Terminal(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		case r == '\u2028', r == '\u2029', r == '\u202e', r == '\u202d', r == '\u202a', r == '\u202b', r == '\u202c',
			r >= '\u2066' && r <= '\u2069':
			// Line separators and bidirectional overrides rearrange what
			// the reader sees.
		case unicode.Is(unicode.Cc, r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
