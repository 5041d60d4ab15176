package ladder

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// Text layout: a gutter with frame and time, then a column per host. Gaps
// between columns grow until every arrow's label fits; if the result is
// wider than Options.Width, margins shrink to the minimum, and if that is
// still too wide the diagram becomes a list, which scrolls vertically.

// colour is an ANSI SGR parameter; 0 means none.
type colour uint8

const (
	cNone    colour = 0
	cBold    colour = 1
	cDim     colour = 2
	cRed     colour = 31
	cGreen   colour = 32
	cYellow  colour = 33
	cBlue    colour = 34
	cMagenta colour = 35
	cCyan    colour = 36
)

const (
	minGap    = 4  // cells between two lifelines, at least
	maxHeader = 30 // cells of a column header before it is cut
)

// glyphs are the drawing characters of one charset.
type glyphs struct {
	life, lifeTop, lifeBottom, senderL, senderR   string
	line, dashed, right, left, cross, double, dcx string
	glare, self, note, mark, arrow, darrow        string
}

var (
	unicodeGlyphs = glyphs{
		life: "│", lifeTop: "┬", lifeBottom: "┴", senderL: "├", senderR: "┤",
		line: "─", dashed: "┄", right: "▶", left: "◀", cross: "┼", double: "═", dcx: "╪",
		glare: "╳", self: "↺", note: "▸", mark: "◆", arrow: "→", darrow: "⇒",
	}
	asciiGlyphs = glyphs{
		life: "|", lifeTop: "+", lifeBottom: "+", senderL: "|", senderR: "|",
		line: "-", dashed: ".", right: ">", left: "<", cross: "+", double: "=", dcx: "+",
		glare: "X", self: "@", note: ">", mark: "*", arrow: "->", darrow: "=>",
	}
)

type textRenderer struct {
	d      *Diagram
	opt    Options
	g      glyphs
	rows   []Row
	fw, tw int // gutter: frame and time widths
	titles []string
	addrs  []string
}

func renderText(w io.Writer, d *Diagram, opt Options) error {
	t := &textRenderer{d: d, opt: opt, g: unicodeGlyphs, rows: d.Rows()}
	if opt.ASCII {
		t.g = asciiGlyphs
	}
	start := d.Start()
	t.fw, t.tw = 1, 0
	for _, r := range t.rows {
		t.fw = max(t.fw, len(strconv.Itoa(r.Frame)))
		t.tw = max(t.tw, len(relTime(rowTime(r), start)))
	}
	for i := range d.Hosts {
		t.titles = append(t.titles, t.str(truncate(hostTitle(&d.Hosts[i]), maxHeader, opt.ASCII)))
		t.addrs = append(t.addrs, t.str(truncate(textsafe.Terminal(d.Hosts[i].Addr), maxHeader, opt.ASCII)))
	}

	bw := bufio.NewWriter(w)
	var lines []string
	if len(d.Hosts) > 0 {
		if xs, total, ok := t.fit(false); ok {
			lines = t.ladder(xs, total, false)
		} else if xs, total, ok := t.fit(true); ok {
			lines = t.ladder(xs, total, true)
		}
	}
	if lines == nil {
		lines = t.list()
	}
	for _, l := range t.header() {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	for _, l := range lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	for _, l := range t.legend() {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// str applies the ASCII fallback to a string already cleaned.
func (t *textRenderer) str(s string) string {
	if t.opt.ASCII {
		return toASCII(s)
	}
	return s
}

// paint wraps s in an ANSI colour when colours are on.
func (t *textRenderer) paint(s string, c colour) string {
	if !t.opt.Color || c == cNone || s == "" {
		return s
	}
	return "\x1b[" + strconv.Itoa(int(c)) + "m" + s + "\x1b[0m"
}

// limit is the width text may take: the terminal's, or when there is none
// a comfortable reading width no narrower than the diagram.
func (t *textRenderer) limit(total int) int {
	if t.opt.Width > 0 {
		return t.opt.Width
	}
	return max(total, 100)
}

func (t *textRenderer) header() []string {
	var out []string
	title := t.str(textsafe.Terminal(t.d.Title))
	if title != "" {
		out = append(out, t.paint(truncate(title, t.limit(0), t.opt.ASCII), cBold))
	}
	if s := absTime(t.d.Start()); s != "" {
		out = append(out, t.paint(truncate("start "+s+"; times in seconds from start", t.limit(0), t.opt.ASCII), cDim))
	}
	if legs := t.d.Legs(); len(legs) > 1 {
		for i, l := range legs {
			line := "L" + strconv.Itoa(i+1) + " = " + t.str(textsafe.Terminal(l))
			out = append(out, t.paint(truncate(line, t.limit(0), t.opt.ASCII), cDim))
		}
	}
	return out
}

func (t *textRenderer) legend() []string {
	if len(t.d.Reasons) == 0 || t.opt.NoLegend {
		return nil
	}
	lim := t.limit(0)
	out := []string{"", t.paint("Reasons", cBold)}
	for i := range t.d.Reasons {
		for j, l := range wrap(legendLine(i, &t.d.Reasons[i], t.opt.ASCII), lim-6, lim-6) {
			prefix := "  "
			if j > 0 {
				prefix = "      "
			}
			out = append(out, prefix+t.paint(l, cMagenta))
		}
	}
	return out
}

// gutter is the frame and time columns of a row, or blanks.
func (t *textRenderer) gutter(r *Row) string {
	if r == nil {
		return strings.Repeat(" ", t.gutterWidth())
	}
	f := ""
	if r.Frame > 0 {
		f = strconv.Itoa(r.Frame)
	}
	tm := relTime(rowTime(*r), t.d.Start())
	return t.paint(pad(f, t.fw, true)+" "+pad(tm, t.tw, true), cDim) + "  "
}

func (t *textRenderer) gutterWidth() int { return t.fw + 1 + t.tw + 2 }

// rowTime is when a row happened.
func rowTime(r Row) (tm time.Time) {
	switch {
	case r.Message != nil:
		return r.Message.Time
	case r.Span != nil:
		return r.Span.Start
	case r.Note != nil:
		return r.Note.Time
	}
	return tm
}

func pad(s string, w int, right bool) string {
	n := w - width(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// constraint asks that columns lo and hi be at least need cells apart.
type constraint struct{ lo, hi, need int }

// fit computes column positions; it reports false when the ladder cannot
// fit in Options.Width.
func (t *textRenderer) fit(compact bool) (xs []int, total int, ok bool) {
	n := len(t.d.Hosts)
	hw := make([]int, n)
	for i := range hw {
		hw[i] = max(width(t.titles[i]), width(t.addrs[i]), 1)
	}
	margin, extra := 8, 3
	if compact {
		margin, extra = 5, 1
	}
	gaps := make([]int, max(n-1, 0))
	for i := range gaps {
		gaps[i] = max(minGap, (hw[i]+1)/2+hw[i+1]/2+extra)
	}
	var cs []constraint
	rightExtent := (hw[n-1] + 1) / 2
	for _, r := range t.rows {
		lo, hi, label := t.rowExtent(&r)
		if lo < 0 {
			continue
		}
		lw := width(label)
		switch {
		case lo == hi && lo == n-1:
			rightExtent = max(rightExtent, lw+3)
		case lo == hi:
			cs = append(cs, constraint{lo, lo + 1, lw + 4})
		case r.Kind == RowSpan && compact:
			cs = append(cs, constraint{lo, hi, len("RTP") + 5})
		default:
			cs = append(cs, constraint{lo, hi, lw + margin})
		}
		if r.Kind == RowMessage && !compact && r.Message.SDP != "" && lo != hi {
			cs = append(cs, constraint{lo, hi, width(t.sdpText(r.Message)) + 3})
		}
	}
	// Narrow constraints first, so that a wide one spreads over gaps that
	// already hold their own labels.
	for span := 1; span < n; span++ {
		for _, c := range cs {
			if c.hi-c.lo != span {
				continue
			}
			have := 0
			for i := c.lo; i < c.hi; i++ {
				have += gaps[i]
			}
			for short, i := c.need-have, 0; short > 0; i++ {
				add := (short + (c.hi - c.lo - 1 - i)) / (c.hi - c.lo - i)
				gaps[c.lo+i] += add
				short -= add
			}
		}
	}
	xs = make([]int, n)
	xs[0] = t.gutterWidth() + hw[0]/2
	for i := 1; i < n; i++ {
		xs[i] = xs[i-1] + gaps[i-1]
	}
	total = xs[n-1] + rightExtent + 1
	if t.opt.Width > 0 && total > t.opt.Width {
		return nil, 0, false
	}
	return xs, total, true
}

// rowExtent returns the columns a row spans and its label; lo is -1 for
// rows that span no columns.
func (t *textRenderer) rowExtent(r *Row) (lo, hi int, label string) {
	var from, to string
	switch r.Kind {
	case RowMessage:
		from, to, label = r.Message.From, r.Message.To, t.arrowLabel(r)
	case RowSpan:
		from, to, label = r.Span.From, r.Span.To, t.spanLabel(r)
	default:
		return -1, -1, ""
	}
	a, b := t.d.column(from), t.d.column(to)
	return min(a, b), max(a, b), label
}

func (t *textRenderer) arrowLabel(r *Row) string {
	s := messageText(r, t.opt.ASCII)
	if len(r.Reasons) > 0 {
		s += " " + reasonMarks(r.Reasons)
	}
	return s
}

func (t *textRenderer) spanLabel(r *Row) string {
	s := spanText(r.Span, t.opt.ASCII)
	if len(r.Reasons) > 0 {
		s += " " + reasonMarks(r.Reasons)
	}
	return s
}

func (t *textRenderer) sdpText(m *Message) string {
	return t.str("sdp: " + textsafe.Terminal(m.SDP))
}

// ladder draws the rows as a sequence diagram with columns at xs.
func (t *textRenderer) ladder(xs []int, total int, compact bool) []string {
	lim := t.limit(total)
	var out []string
	// Column headers, centred on the lifelines.
	for _, texts := range [][]string{t.titles, t.addrs} {
		c := newCanvas(total)
		for i, s := range texts {
			c.put(xs[i]-width(s)/2, s, cBold)
		}
		out = append(out, c.render(t, ""))
	}
	top := t.lifelines(xs, total)
	for _, x := range xs {
		top.put(x, t.g.lifeTop, cNone)
	}
	out = append(out, top.render(t, ""))

	for i := range t.rows {
		r := &t.rows[i]
		switch r.Kind {
		case RowMessage:
			out = append(out, t.messageLine(r, xs, total))
			if r.Message.SDP != "" {
				c := t.lifelines(xs, total)
				lo, _, _ := t.rowExtent(r)
				s := t.sdpText(r.Message)
				c.put(xs[lo]+2, truncate(s, max(lim-xs[lo]-2, 1), t.opt.ASCII), cDim)
				out = append(out, c.render(t, t.gutter(nil)))
			}
			if r.CrossNext {
				c := t.lifelines(xs, total)
				lo, hi, _ := t.rowExtent(r)
				c.put((xs[lo]+xs[hi])/2, t.g.glare, cYellow)
				out = append(out, c.render(t, t.gutter(nil)))
			}
		case RowSpan:
			out = append(out, t.spanLine(r, xs, total, compact))
		case RowNote:
			out = append(out, t.noteLines(r, xs, total, lim)...)
		case RowMark:
			c := t.lifelines(xs, total)
			c.put(xs[0]+2, t.g.mark+" "+reasonMarks(r.Reasons), cMagenta)
			out = append(out, c.render(t, t.gutter(r)))
		}
	}
	bottom := t.lifelines(xs, total)
	for _, x := range xs {
		bottom.put(x, t.g.lifeBottom, cNone)
	}
	out = append(out, bottom.render(t, ""))
	return out
}

func (t *textRenderer) lifelines(xs []int, total int) *canvas {
	c := newCanvas(total)
	for _, x := range xs {
		c.put(x, t.g.life, cNone)
	}
	return c
}

func messageColour(m *Message) colour {
	switch {
	case m.Glare:
		return cYellow
	case m.Kind == ErrorResponse:
		return cRed
	case m.Kind == Response:
		return cBlue
	}
	return cCyan
}

func (t *textRenderer) messageLine(r *Row, xs []int, total int) string {
	m := r.Message
	c := t.lifelines(xs, total)
	col := messageColour(m)
	label := t.arrowLabel(r)
	a, b := t.d.column(m.From), t.d.column(m.To)
	if a == b {
		c.put(xs[a], t.g.senderL, col)
		c.put(xs[a]+1, t.g.self+" "+label, col)
		return c.render(t, t.gutter(r))
	}
	fill := t.g.line
	if m.Retransmission {
		fill = t.g.dashed
		col = cDim
	}
	t.arrow(c, xs, a, b, label, fill, t.g.cross, col)
	if a < b {
		c.put(xs[a], t.g.senderL, col)
	} else {
		c.put(xs[a], t.g.senderR, col)
	}
	return c.render(t, t.gutter(r))
}

// arrow draws a line from column a to b with its head at b and the label
// centred on it; lifelines it crosses get the crossing glyph.
func (t *textRenderer) arrow(c *canvas, xs []int, a, b int, label, fill, cross string, col colour) {
	lo, hi := min(a, b), max(a, b)
	for x := xs[lo] + 1; x < xs[hi]; x++ {
		c.put(x, fill, col)
	}
	for k := lo + 1; k < hi; k++ {
		c.put(xs[k], cross, col)
	}
	inner := xs[hi] - xs[lo] - 1
	text := " " + truncate(label, max(inner-4, 1), t.opt.ASCII) + " "
	c.put(xs[lo]+1+(inner-width(text))/2, text, col)
	if a < b {
		c.put(xs[hi]-1, t.g.right, col)
	} else {
		c.put(xs[lo]+1, t.g.left, col)
	}
}

func (t *textRenderer) spanLine(r *Row, xs []int, total int, compact bool) string {
	s := r.Span
	c := t.lifelines(xs, total)
	label := t.spanLabel(r)
	a, b := t.d.column(s.From), t.d.column(s.To)
	if a == b {
		c.put(xs[a]+1, t.g.self+" "+label, cGreen)
		return c.render(t, t.gutter(r))
	}
	t.arrow(c, xs, a, b, label, t.g.double, t.g.dcx, cGreen)
	return c.render(t, t.gutter(r))
}

func (t *textRenderer) noteLines(r *Row, xs []int, total, lim int) []string {
	n := r.Note
	x := xs[0] + 2
	if n.Host != "" {
		x = xs[t.d.column(n.Host)] + 2
	}
	col := noteColour(n.Kind)
	text := t.g.note + " " + noteText(n, t.opt.ASCII)
	// A note that does not fit right of its host moves left, so that it
	// stays readable rather than wrapping into a narrow strip.
	if room := lim - x; room < width(text) && room < 40 {
		x = max(xs[0]+2, lim-width(text))
	}
	var out []string
	room := max(lim-x, 20)
	for i, l := range wrap(text, room, room-2) {
		if i > 0 {
			l = "  " + l
		}
		c := t.lifelines(xs, max(total, x+width(l)))
		c.put(x, l, col)
		g := t.gutter(nil)
		if i == 0 {
			g = t.gutter(r)
		}
		out = append(out, c.render(t, g))
	}
	return out
}

func noteColour(k NoteKind) colour {
	switch k {
	case NotePathChange:
		return cCyan
	case NoteReason:
		return cMagenta
	}
	return cYellow
}

// hostAlias names a host in the list layout: A to Z, then H27 onwards.
func hostAlias(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return "H" + strconv.Itoa(i+1)
}

// list draws one line per row, for terminals too narrow for columns.
func (t *textRenderer) list() []string {
	lim := t.limit(0)
	var out []string
	for i := range t.d.Hosts {
		line := hostAlias(i)
		for _, s := range []string{t.addrs[i], t.titles[i]} {
			if s != "" {
				line += "  " + s
			}
		}
		out = append(out, t.paint(truncate(line, lim, t.opt.ASCII), cBold))
	}
	alias := func(id string) string { return hostAlias(t.d.column(id)) }
	indent := t.gutterWidth()
	body := max(lim-indent, 20)
	emit := func(r *Row, text string, col colour, indent int) {
		for i, l := range wrap(text, body-indent-2, body-indent-2) {
			g := t.gutter(nil)
			if r != nil && i == 0 {
				g = t.gutter(r)
			}
			l = strings.Repeat(" ", indent) + l
			if i > 0 {
				l = "  " + l
			}
			out = append(out, g+t.paint(l, col))
		}
	}
	for i := range t.rows {
		r := &t.rows[i]
		switch r.Kind {
		case RowMessage:
			m := r.Message
			col := messageColour(m)
			if m.Retransmission {
				col = cDim
			}
			emit(r, alias(m.From)+" "+t.g.arrow+" "+alias(m.To)+"  "+t.arrowLabel(r), col, 0)
			if m.SDP != "" {
				emit(nil, t.sdpText(m), cDim, 4)
			}
		case RowSpan:
			emit(r, alias(r.Span.From)+" "+t.g.darrow+" "+alias(r.Span.To)+"  "+t.spanLabel(r), cGreen, 0)
		case RowNote:
			text := t.g.note + " " + noteText(r.Note, t.opt.ASCII)
			if r.Note.Host != "" {
				text = alias(r.Note.Host) + " " + text
			}
			emit(r, text, noteColour(r.Note.Kind), 0)
		case RowMark:
			emit(r, t.g.mark+" "+reasonMarks(r.Reasons), cMagenta, 0)
		}
	}
	return out
}

// canvas is one line of cells. A wide character takes its cell and marks
// the next as a continuation ("").
type canvas struct {
	s []string
	c []colour
}

func newCanvas(n int) *canvas {
	c := &canvas{s: make([]string, n), c: make([]colour, n)}
	for i := range c.s {
		c.s[i] = " "
	}
	return c
}

// put writes s from cell x on, growing the line when needed; cells left
// of 0 are dropped.
func (c *canvas) put(x int, s string, col colour) {
	for _, r := range s {
		w := runeWidth(r)
		if w == 0 {
			if x > 0 && x-1 < len(c.s) {
				c.s[x-1] += string(r)
			}
			continue
		}
		if x < 0 {
			x += w
			continue
		}
		for x+w > len(c.s) {
			c.s = append(c.s, " ")
			c.c = append(c.c, cNone)
		}
		if c.s[x] == "" && x > 0 {
			c.s[x-1] = " "
		}
		if x+w < len(c.s) && c.s[x+w] == "" {
			c.s[x+w] = " "
		}
		c.s[x], c.c[x] = string(r), col
		if w == 2 {
			c.s[x+1], c.c[x+1] = "", col
		}
		x += w
	}
}

// render joins the cells after the gutter, with colours when on, and
// without trailing blanks.
func (c *canvas) render(t *textRenderer, gutter string) string {
	end := len(c.s)
	for end > 0 && c.s[end-1] == " " {
		end--
	}
	var b strings.Builder
	start := min(t.gutterWidth(), end)
	if gutter != "" {
		b.WriteString(gutter)
	} else {
		for i := 0; i < start; i++ {
			b.WriteString(c.s[i])
		}
	}
	cur := cNone
	for i := start; i < end; i++ {
		if t.opt.Color && c.c[i] != cur && c.s[i] != " " {
			if cur != cNone {
				b.WriteString("\x1b[0m")
			}
			if c.c[i] != cNone {
				b.WriteString("\x1b[" + strconv.Itoa(int(c.c[i])) + "m")
			}
			cur = c.c[i]
		}
		b.WriteString(c.s[i])
	}
	if cur != cNone {
		b.WriteString("\x1b[0m")
	}
	return strings.TrimRight(b.String(), " ")
}
