package ladder

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean makes a packet-derived string safe to print on one line: invalid
// UTF-8 becomes U+FFFD; ESC sequences (CSI, OSC, DCS and two-byte forms,
// ECMA-48 §5.3), every other C0 and C1 control, DEL, and the Unicode
// controls that reorder or break lines (bidi embeddings and isolates, line
// and paragraph separators) are removed; tabs and line breaks become
// spaces. Whatever else a renderer does, it starts from this.
func Clean(s string) string {
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

// cleanAlready reports whether Clean would return s unchanged, which is the
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

// isStripped reports whether a rune is a control character that Clean
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

// cleanRaw prepares a whole message for display: line breaks are kept (CRLF
// becomes LF), tabs too; everything Clean removes is removed.
func cleanRaw(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j, p := range parts {
			parts[j] = Clean(p)
		}
		lines[i] = strings.Join(parts, "\t")
	}
	return strings.Join(lines, "\n")
}

// width is the number of terminal cells s takes: East Asian wide and
// fullwidth characters and emoji take two, combining marks and format
// characters none. It is an approximation good enough for alignment.
func width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r < 0x300:
		return 1
	case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), unicode.Is(unicode.Cf, r):
		return 0
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0x303e, r >= 0x3041 && r <= 0x33ff,
		r >= 0x3400 && r <= 0x4dbf, r >= 0x4e00 && r <= 0x9fff, r >= 0xa000 && r <= 0xa4cf,
		r >= 0xac00 && r <= 0xd7a3, r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f,
		r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6, r >= 0x1f300 && r <= 0x1f64f,
		r >= 0x1f900 && r <= 0x1f9ff, r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}

// truncate shortens s to at most w cells, ending with an ellipsis when cut.
func truncate(s string, w int, ascii bool) string {
	if width(s) <= w {
		return s
	}
	ell, ew := "…", 1
	if ascii {
		ell, ew = "...", 3
	}
	if w <= ew {
		return strings.Repeat(".", max(w, 0))
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		rw := runeWidth(r)
		if n+rw > w-ew {
			break
		}
		b.WriteRune(r)
		n += rw
	}
	b.WriteString(ell)
	return b.String()
}

// toASCII replaces every non-ASCII rune by '?', for terminals that cannot
// show them.
func toASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			var b strings.Builder
			for _, r := range s {
				if r >= 0x80 {
					if runeWidth(r) == 0 {
						continue
					}
					r = '?'
				}
				b.WriteRune(r)
			}
			return b.String()
		}
	}
	return s
}

// wrap breaks s into lines of at most first cells for the first line and
// rest cells for the others, which the caller indents; it breaks at spaces
// where it can, and runs of spaces inside a line are kept.
func wrap(s string, first, rest int) []string {
	if first <= 0 || width(s) <= first {
		return []string{s}
	}
	rest = max(rest, 1)
	var lines []string
	var line strings.Builder
	lw, w := 0, first
	flush := func() {
		lines = append(lines, strings.TrimRight(line.String(), " "))
		line.Reset()
		lw, w = 0, rest
	}
	for i, word := range strings.Split(s, " ") {
		ww := width(word)
		if i > 0 {
			if lw > 0 && lw+1+ww > w {
				flush()
			} else if lw > 0 || word == "" {
				line.WriteByte(' ')
				lw++
			}
		}
		for lw == 0 && ww > w {
			head := cutCells(word, w)
			lines = append(lines, head)
			w = rest
			word = word[len(head):]
			ww = width(word)
		}
		line.WriteString(word)
		lw += ww
	}
	if lw > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// cutCells returns the longest prefix of s that fits in w cells (at least
// one rune, so that wrapping always makes progress).
func cutCells(s string, w int) string {
	n := 0
	for i, r := range s {
		rw := runeWidth(r)
		if n+rw > w && i > 0 {
			return s[:i]
		}
		n += rw
	}
	return s
}
