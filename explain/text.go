package explain

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// TextOptions shape the terminal rendering.
type TextOptions struct {
	// Width is the terminal's width in columns; text is wrapped to it.
	// Zero or less means 80; it is never taken below 40.
	Width int
	// Color adds ANSI colours; the caller sets it only for a terminal.
	Color bool
}

// Rendering bounds.
const (
	defaultWidth = 80
	minWidth     = 40
	// maxFramesShown caps the frame list printed under a reason; JSON
	// carries them all.
	maxFramesShown = 16
)

// ANSI SGR sequences.
const (
	sgrReset  = "\x1b[0m"
	sgrBold   = "\x1b[1m"
	sgrDim    = "\x1b[2m"
	sgrRed    = "\x1b[31m"
	sgrGreen  = "\x1b[32m"
	sgrYellow = "\x1b[33m"
	sgrCyan   = "\x1b[36m"
)

// WriteText renders explanations for a terminal: each call's headline, its
// narrative, its reasons with their frames and configuration lines, and
// the predictions. Everything that came from packets is stripped of
// control characters; colour escapes are written only when opt.Color is
// set.
func WriteText(w io.Writer, exps []Explanation, opt TextOptions) error {
	width := opt.Width
	if width <= 0 {
		width = defaultWidth
	}
	width = max(width, minWidth)
	t := &textWriter{w: bufio.NewWriter(w), width: width, color: opt.Color}
	for i := range exps {
		if i > 0 {
			t.line("")
		}
		t.explanation(&exps[i])
	}
	return t.w.Flush()
}

type textWriter struct {
	w     *bufio.Writer
	width int
	color bool
}

func (t *textWriter) paint(sgr, s string) string {
	if !t.color || s == "" {
		return s
	}
	return sgr + s + sgrReset
}

func (t *textWriter) line(s string) {
	t.w.WriteString(s)
	t.w.WriteByte('\n')
}

// para writes text wrapped to the width, the first line after lead and
// the others indented by indent columns. lead is already safe and may
// hold colour; its visible width is leadWidth.
func (t *textWriter) para(lead string, leadWidth, indent int, text, sgr string) {
	lines := wrap(textsafe.Terminal(text), t.width-max(leadWidth, indent), t.width-indent)
	if len(lines) == 0 {
		t.line(lead)
		return
	}
	for i, l := range lines {
		if i == 0 {
			t.line(lead + t.paint(sgr, l))
			continue
		}
		t.line(strings.Repeat(" ", indent) + t.paint(sgr, l))
	}
}

func (t *textWriter) explanation(e *Explanation) {
	t.para(t.paint(sgrBold, "Call "), 5, 5, e.Call, sgrBold)
	if e.Headline != "" {
		t.para("  ", 2, 4, e.Headline, sgrBold)
	}
	if e.Narrative != "" {
		t.line("")
		t.para("  ", 2, 2, e.Narrative, "")
	}
	if len(e.Reasons) > 0 {
		t.line("")
		t.line("  " + t.paint(sgrBold, "Reasons"))
	}
	for _, r := range e.Reasons {
		t.reason(&r)
	}
	for _, p := range e.Predictions {
		t.prediction(&p)
	}
}

func (t *textWriter) levelColor(l Level) string {
	switch l {
	case High:
		return sgrGreen
	case Medium:
		return sgrYellow
	}
	return sgrRed
}

func (t *textWriter) reason(r *Reason) {
	code := textsafe.Terminal(r.Code)
	conf := string(r.Level) + " " + strconv.FormatFloat(r.Confidence, 'f', 2, 64)
	head := "  " + t.paint(sgrCyan, code) + "  " + t.paint(t.levelColor(r.Level), conf)
	t.line(head)
	t.para("      ", 6, 6, r.Text, "")
	var parts []string
	for i, f := range r.Frames {
		if i == maxFramesShown {
			parts = append(parts, strconv.Itoa(len(r.Frames)-i)+" more")
			break
		}
		parts = append(parts, "f"+strconv.Itoa(f))
	}
	t.para("      ", 6, 13, "frames "+joinAnd(parts), sgrDim)
	for _, c := range r.Options {
		t.para("      ", 6, 14, "config "+citeLine(c), sgrDim)
	}
}

// citeLine writes a citation on its own line: "file:21 [alice] directmedia=no".
func citeLine(c Citation) string {
	s := citeWhere(c) + " " + c.Key + "=" + c.Value
	if c.Peer != "" && c.Peer != c.Section {
		s += " (peer " + c.Peer + ")"
	}
	return s
}

func (t *textWriter) prediction(p *Prediction) {
	t.line("")
	t.para("  "+t.paint(sgrBold, "Prediction")+" ", 13, 4, p.Server+" from "+p.Config, sgrBold)
	for _, l := range p.Legs {
		s := "leg " + strconv.Itoa(l.Leg) + " (" + l.Direction + "): "
		if l.Peer == "" {
			s += l.Match
		} else {
			s += "peer " + l.Peer + ", matched by " + l.Match
			if l.Line != nil {
				s += " at " + citeWhere(*l.Line)
			}
		}
		t.para("    ", 4, 6, s, "")
	}
	if p.Dialplan != "" {
		t.para("    ", 4, 6, "dialplan: "+p.Dialplan, "")
	}
	if p.Bridge != "" {
		want := "media stays on the server (" + p.Bridge + " bridge)"
		if p.Release {
			want = "release by " + p.Method + " (" + p.Bridge + " bridge)"
		}
		t.para("    ", 4, 6, "expected: "+want, "")
	}
	t.para("    ", 4, 6, "observed: "+p.Observed, "")
	if p.Contradiction != "" {
		t.para("    ", 4, 6, "contradiction: "+p.Contradiction, sgrRed)
	}
}

// wrap breaks text into lines of at most first columns for the first line
// and rest for the others, at spaces; a word longer than a line is cut.
func wrap(text string, first, rest int) []string {
	first, rest = max(first, 10), max(rest, 10)
	var lines []string
	var cur strings.Builder
	curLen := 0
	limit := first
	flush := func() {
		lines = append(lines, cur.String())
		cur.Reset()
		curLen = 0
		limit = rest
	}
	for _, word := range strings.Fields(text) {
		n := utf8.RuneCountInString(word)
		if curLen > 0 && curLen+1+n > limit {
			flush()
		}
		for n > limit {
			if curLen > 0 {
				flush()
			}
			r := []rune(word)
			cur.WriteString(string(r[:limit]))
			curLen = limit
			word = string(r[limit:])
			n = len(r) - limit
			flush()
		}
		if n == 0 {
			continue
		}
		if curLen > 0 {
			cur.WriteByte(' ')
			curLen++
		}
		cur.WriteString(word)
		curLen += n
	}
	if curLen > 0 {
		flush()
	}
	return lines
}
