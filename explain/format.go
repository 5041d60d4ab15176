package explain

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sipscope/sipscope/internal/textsafe"
)

func itoa(n int) string { return strconv.Itoa(n) }

// dur writes a duration the way an engineer reads a trace: milliseconds
// below a second, seconds with two decimals above.
func dur(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Millisecond {
		return "<1 ms"
	}
	if d < time.Second {
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// frameList writes frames as "f10, f14 and f16".
func frameList(fs []int) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = "f" + itoa(f)
	}
	return joinAnd(parts)
}

// joinAnd joins with commas and a final "and".
func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// maxLabel bounds a packet-derived name in a sentence.
const maxLabel = 40

// label makes a packet-derived string safe and short for a sentence.
func label(s string) string {
	s = textsafe.Terminal(s)
	if utf8.RuneCountInString(s) <= maxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:maxLabel-1]) + "…"
}

// cleanFrames sorts and dedupes frames and drops non-frames.
func cleanFrames(fs []int) []int {
	out := slices.DeleteFunc(slices.Clone(fs), func(f int) bool { return f <= 0 })
	slices.Sort(out)
	return slices.Compact(out)
}

func hostList(as []netip.Addr) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return joinAnd(parts)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// period ends a text with a period, leaving its first letter alone (it
// may be a user name from a packet).
func period(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// sentence capitalises the first letter and ends the text with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = strings.ToUpper(string(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
