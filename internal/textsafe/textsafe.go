// Package textsafe makes text taken from packets safe to print on a
// terminal: every SIP header is attacker-controlled, and an ESC sequence in a
// display name must not move the cursor, change colours or retitle a window.
// The ladder, the report and every text command print through it.
package textsafe

import (
	"strings"
	"unicode/utf8"
)

// Terminal makes a packet-derived string safe to print on one line: invalid
// UTF-8 becomes U+FFFD; ESC sequences (CSI, OSC, DCS and two-byte forms,
// ECMA-48 §5.3), every other C0 and C1 control, DEL, and the Unicode
// controls that reorder or break lines (bidi embeddings and isolates, line
// and paragraph separators) are removed; tabs and line breaks become
// spaces. Whatever else a renderer does, it starts from this.
func Terminal(s string) string {
	if cleanAlready(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == 0x1b:
			i += escapeLen(s[i:])
			continue
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case isStripped(r):
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// cleanAlready reports whether Terminal would return s unchanged, which is the
// common case and needs no allocation.
func cleanAlready(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			if c < 0x80 {
				return false
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || isStripped(r) {
				return false
			}
			i += size - 1
		}
	}
	return true
}

// isStripped reports whether a rune is a control character that Terminal
// removes.
func isStripped(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// escapeLen returns the length of the escape sequence starting with ESC at
// s[0], so that its parameters are removed with it rather than printed.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[': // CSI: parameters and intermediates, then a final byte
		for i := 2; i < len(s); i++ {
			if c := s[i]; c >= 0x40 && c <= 0x7e {
				return i + 1
			} else if c < 0x20 || c >= 0x7f {
				return i
			}
		}
		return len(s)
	case ']', 'P', 'X', '^', '_': // string controls end at BEL or ST
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b {
				if i+1 < len(s) && s[i+1] == '\\' {
					return i + 2
				}
				return i
			}
		}
		return len(s)
	}
	if s[1] >= 0x20 && s[1] <= 0x7e {
		return 2
	}
	return 1
}
