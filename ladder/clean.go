package ladder

import (
	"strings"
	"unicode"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// cleanRaw prepares a whole message for display: line breaks are kept (CRLF
// becomes LF), tabs too; everything textsafe.Terminal removes is removed.
func cleanRaw(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j, p := range parts {
			parts[j] = textsafe.Terminal(p)
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
