package ladder

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// SVG layout, in pixels. Text is monospace so that widths can be computed
// without font metrics.
const (
	charW     = 7.3  // width of a 12 px monospace character
	smallW    = 6.7  // width of an 11 px one
	lineH     = 15.0 // height of a line of note text
	minGapPx  = 130.0
	boxH      = 40.0
	padPx     = 12.0
	maxLegend = 110 // characters per legend line
)

const fontStack = `ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace`

// svgCSS styles ladders. Standalone SVG carries it in a <style> element;
// an HTML page that embeds fragments includes it through StyleSheet.
const svgCSS = `.ladder text{fill:#1f2937}
.ladder .title{font-size:15px;font-weight:bold}
.ladder .sub,.ladder .gut,.ladder .sdp{font-size:11px;fill:#6b7280}
.ladder .box{fill:#f3f4f6;stroke:#9ca3af}
.ladder .host{font-weight:bold}
.ladder .life{stroke:#d1d5db;stroke-width:1.5}
.ladder .msg line.l{stroke:#1f2937;stroke-width:1.3}
.ladder .msg polygon{fill:#1f2937}
.ladder .rs line.l{stroke:#1d4ed8}.ladder .rs polygon,.ladder .rs text.lb{fill:#1d4ed8}
.ladder .er line.l{stroke:#b91c1c}.ladder .er polygon,.ladder .er text.lb{fill:#b91c1c}
.ladder .gl line.l{stroke:#b45309}.ladder .gl polygon,.ladder .gl text.lb{fill:#b45309}
.ladder .rt line.l{stroke-dasharray:5 4;opacity:.75}
.ladder .hit{stroke:transparent;stroke-width:14}
.ladder .msg{cursor:pointer}
.ladder .msg:hover line.l,.ladder .msg:focus line.l,.ladder .msg.sel line.l{stroke-width:3}
.ladder .msg.sel text.lb{font-weight:bold}
.ladder .rtp line{stroke:#15803d;stroke-width:1.5}.ladder .rtp polygon,.ladder .rtp text{fill:#15803d}
.ladder .mark{fill:#7e22ce}
.ladder .note rect{stroke-width:1}
.ladder .n0 rect{fill:#e0f2fe;stroke:#0369a1}.ladder .n0 text{fill:#075985}
.ladder .n1 rect{fill:#f3e8ff;stroke:#7e22ce}.ladder .n1 text{fill:#6b21a8}
.ladder .n2 rect{fill:#fef3c7;stroke:#b45309}.ladder .n2 text{fill:#92400e}
.ladder .legend{font-size:12px}
`

// StyleSheet returns the CSS that SVG fragments (Options.Fragment) need.
func StyleSheet() string { return svgCSS }

// xmlEscaper escapes text for XML content and attribute values.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// esc cleans and escapes a packet-derived string for SVG and HTML.
func esc(s string) string { return xmlEscaper.Replace(textsafe.Terminal(s)) }

func px(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// svgLayout holds computed positions.
type svgLayout struct {
	d      *Diagram
	rows   []Row
	xs     []float64
	boxW   []float64
	titles []string
	addrs  []string
	ys     []float64 // y of each row's line
	gutter float64
	fw     int // digits of the widest frame number
	width  float64
	top    float64 // top of the host boxes
	bottom float64 // end of lifelines
	height float64
	notes  [][]string // wrapped note text per row
	legend [][]string // wrapped reason lines
	head   []string   // lines under the title
}

func renderSVG(w io.Writer, d *Diagram, opt Options) error {
	bw := bufio.NewWriter(w)
	writeSVG(bw, d, opt)
	return bw.Flush()
}

func layoutSVG(d *Diagram, opt Options) *svgLayout {
	l := &svgLayout{d: d, rows: d.Rows()}
	n := len(d.Hosts)
	start := d.Start()
	fw, tw := 1, 0
	for _, r := range l.rows {
		fw = max(fw, len(strconv.Itoa(r.Frame)))
		tw = max(tw, len(relTime(rowTime(r), start)))
	}
	l.fw = fw
	l.gutter = float64(fw+tw+2)*smallW + padPx
	for i := range d.Hosts {
		t := truncate(hostTitle(&d.Hosts[i]), 40, false)
		a := truncate(textsafe.Terminal(d.Hosts[i].Addr), 40, false)
		l.titles = append(l.titles, t)
		l.addrs = append(l.addrs, a)
		l.boxW = append(l.boxW, float64(max(width(t), width(a), 6))*charW+2*padPx)
	}
	gaps := make([]float64, max(n-1, 0))
	for i := range gaps {
		gaps[i] = max(minGapPx, (l.boxW[i]+l.boxW[i+1])/2+padPx)
	}
	right := 0.0
	if n > 0 {
		right = l.boxW[n-1] / 2
	}
	type need struct {
		lo, hi int
		px     float64
	}
	var needs []need
	for i := range l.rows {
		r := &l.rows[i]
		var from, to, label string
		switch r.Kind {
		case RowMessage:
			from, to, label = r.Message.From, r.Message.To, svgLabel(r)
		case RowSpan:
			from, to, label = r.Span.From, r.Span.To, spanText(r.Span, false)+marksSuffix(r.Reasons)
		default:
			continue
		}
		a, b := d.column(from), d.column(to)
		lo, hi := min(a, b), max(a, b)
		lw := float64(width(label)) * charW
		switch {
		case lo == hi && lo == n-1:
			right = max(right, lw+40)
		case lo == hi:
			needs = append(needs, need{lo, lo + 1, lw + 40})
		default:
			if r.CrossNext {
				lw += float64(width(svgLabel(&l.rows[i+1]))) * charW
			}
			needs = append(needs, need{lo, hi, lw + 4*padPx})
		}
		if r.Kind == RowMessage && r.Message.SDP != "" && lo != hi {
			needs = append(needs, need{lo, hi, float64(width(sdpLabel(r.Message)))*smallW + 2*padPx})
		}
	}
	for span := 1; span < n; span++ {
		for _, c := range needs {
			if c.hi-c.lo != span {
				continue
			}
			have := 0.0
			for i := c.lo; i < c.hi; i++ {
				have += gaps[i]
			}
			if have < c.px {
				add := (c.px - have) / float64(c.hi-c.lo)
				for i := c.lo; i < c.hi; i++ {
					gaps[i] += add
				}
			}
		}
	}
	l.xs = make([]float64, n)
	if n > 0 {
		l.xs[0] = l.gutter + l.boxW[0]/2 + padPx
	}
	for i := 1; i < n; i++ {
		l.xs[i] = l.xs[i-1] + gaps[i-1]
	}
	l.width = max(600, l.gutter+2*padPx)
	if n > 0 {
		l.width = max(l.width, l.xs[n-1]+right+2*padPx)
	}
	textCols := int((l.width - 2*padPx) / smallW)

	y := 28.0
	if s := absTime(start); s != "" {
		l.head = append(l.head, "start "+s+"; times in seconds from start")
	}
	if legs := d.Legs(); len(legs) > 1 {
		for i, g := range legs {
			l.head = append(l.head, truncate("L"+strconv.Itoa(i+1)+" = "+textsafe.Terminal(g), textCols, false))
		}
	}
	y += float64(len(l.head))*lineH + 12
	l.top = y
	y += boxH + 12

	l.ys = make([]float64, len(l.rows))
	l.notes = make([][]string, len(l.rows))
	for i := range l.rows {
		r := &l.rows[i]
		switch r.Kind {
		case RowMessage:
			y += 24
			l.ys[i] = y
			y += 10
			switch {
			case r.CrossNext:
				// The pair's SDP goes under the crossing, drawn with
				// the second row.
				y += 8
			case i > 0 && l.rows[i-1].CrossNext:
				for _, m := range []*Message{l.rows[i-1].Message, r.Message} {
					if m.SDP != "" {
						y += 14
					}
				}
			case r.Message.SDP != "":
				y += 14
			}
		case RowSpan:
			y += 24
			l.ys[i] = y
			y += 10
		case RowNote:
			x := l.noteX(r)
			cols := int((l.width-x-2*padPx)/smallW) - 2
			if cols < 30 {
				cols = textCols - 2
			}
			l.notes[i] = wrap(noteText(r.Note, false), cols, cols)
			y += 10
			l.ys[i] = y
			y += float64(len(l.notes[i]))*lineH + 8
		case RowMark:
			y += 18
			l.ys[i] = y
			y += 4
		}
	}
	y += 16
	l.bottom = y
	if !opt.NoLegend {
		legendCols := min(int((l.width-2*padPx)/charW)-4, maxLegend)
		for i := range d.Reasons {
			l.legend = append(l.legend, wrap(legendLine(i, &d.Reasons[i], false), legendCols, legendCols))
		}
	}
	if len(l.legend) > 0 {
		y += 30
		for _, ls := range l.legend {
			y += float64(len(ls)) * lineH
		}
	}
	l.height = y + 16
	return l
}

// noteX is where a note's box starts: at its host, or the first column;
// a host note without room to its right moves to the first column.
func (l *svgLayout) noteX(r *Row) float64 {
	if len(l.xs) == 0 {
		return padPx
	}
	if r.Note.Host != "" {
		x := l.xs[l.d.column(r.Note.Host)] + 8
		if l.width-x-2*padPx > 30*smallW {
			return x
		}
	}
	return l.xs[0] + 8
}

func svgLabel(r *Row) string { return messageText(r, false) + marksSuffix(r.Reasons) }

func marksSuffix(nums []int) string {
	if len(nums) == 0 {
		return ""
	}
	return " " + reasonMarks(nums)
}

func sdpLabel(m *Message) string { return "sdp: " + textsafe.Terminal(m.SDP) }

// svgWriter accumulates output; write errors surface at Flush.
type svgWriter struct{ *bufio.Writer }

func (w svgWriter) s(parts ...string) {
	for _, p := range parts {
		w.WriteString(p)
	}
}

func writeSVG(bw *bufio.Writer, d *Diagram, opt Options) {
	l := layoutSVG(d, opt)
	fragment := opt.Fragment
	w := svgWriter{bw}
	W, H := px(l.width), px(l.height)
	if !fragment {
		w.s(`<?xml version="1.0" encoding="UTF-8"?>`, "\n")
	}
	w.s(`<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="`, W, `" height="`, H,
		`" viewBox="0 0 `, W, " ", H, `" font-family="`, xmlEscaper.Replace(fontStack), `" font-size="12">`, "\n")
	if !fragment {
		w.s("<style>\n", svgCSS, "</style>\n")
	}
	w.s(`<title>`, esc(d.Title), "</title>\n")
	w.s(`<rect width="100%" height="100%" fill="#ffffff"/>`, "\n")
	w.s(`<text class="title" x="`, px(padPx), `" y="22">`, xmlEscaper.Replace(truncate(textsafe.Terminal(d.Title), int((l.width-2*padPx)/8.5), false)), "</text>\n")
	for i, h := range l.head {
		w.s(`<text class="sub" x="`, px(padPx), `" y="`, px(22+float64(i+1)*lineH), `">`, xmlEscaper.Replace(h), "</text>\n")
	}

	for i, x := range l.xs {
		bx := x - l.boxW[i]/2
		w.s(`<line class="life" x1="`, px(x), `" y1="`, px(l.top+boxH), `" x2="`, px(x), `" y2="`, px(l.bottom), `"/>`, "\n")
		w.s(`<g class="hostbox"><title>`, esc(d.Hosts[i].ID), `</title><rect class="box" x="`, px(bx), `" y="`, px(l.top),
			`" width="`, px(l.boxW[i]), `" height="`, px(boxH), `" rx="4"/>`)
		w.s(`<text class="host" x="`, px(x), `" y="`, px(l.top+16), `" text-anchor="middle">`, xmlEscaper.Replace(l.titles[i]), `</text>`)
		w.s(`<text x="`, px(x), `" y="`, px(l.top+32), `" text-anchor="middle">`, xmlEscaper.Replace(l.addrs[i]), "</text></g>\n")
	}

	start := d.Start()
	for i := range l.rows {
		r := &l.rows[i]
		y := l.ys[i]
		if r.Kind != RowNote || r.Frame > 0 {
			l.gutterText(w, r, y, start)
		}
		switch r.Kind {
		case RowMessage:
			y2 := y
			var cross *Message
			if r.CrossNext {
				y2 = l.ys[i+1]
				cross = r.Message
			} else if i > 0 && l.rows[i-1].CrossNext {
				y = l.ys[i-1]
				cross = l.rows[i-1].Message
			}
			l.message(w, r, y, y2, start, cross)
		case RowSpan:
			l.span(w, r, y)
		case RowNote:
			l.note(w, r, i, y)
		case RowMark:
			x := l.gutter + padPx
			if len(l.xs) > 0 {
				x = l.xs[0] + 8
			}
			w.s(`<text class="mark" x="`, px(x), `" y="`, px(y), `">◆ `, reasonMarks(r.Reasons), "</text>\n")
		}
	}

	if len(l.legend) > 0 {
		y := l.bottom + 30
		w.s(`<g class="legend"><text class="title" x="`, px(padPx), `" y="`, px(y-8), `">Reasons</text>`, "\n")
		for i, lines := range l.legend {
			w.s(`<text class="mark" x="`, px(padPx), `" y="`, px(y+lineH-4), `"><title>`, esc(d.Reasons[i].Code), `</title>`)
			for j, line := range lines {
				if j > 0 {
					w.s(`<tspan x="`, px(padPx+4*smallW), `" dy="`, px(lineH), `">`)
				} else {
					w.s(`<tspan>`)
				}
				w.s(xmlEscaper.Replace(line), `</tspan>`)
			}
			w.s("</text>\n")
			y += float64(len(lines)) * lineH
		}
		w.s("</g>\n")
	}
	w.s("</svg>\n")
}

// gutterText writes a row's frame and relative time left of the columns.
func (l *svgLayout) gutterText(w svgWriter, r *Row, y float64, start time.Time) {
	if r.Kind == RowNote {
		y += 11
	} else {
		y += 4
	}
	if r.Frame > 0 {
		w.s(`<text class="gut" x="`, px(padPx+float64(l.fw)*smallW), `" y="`, px(y), `" text-anchor="end">`, strconv.Itoa(r.Frame), `</text>`)
	}
	if t := relTime(rowTime(*r), start); t != "" {
		w.s(`<text class="gut" x="`, px(l.gutter-smallW), `" y="`, px(y), `" text-anchor="end">`, t, `</text>`)
	}
	w.s("\n")
}

// arrowHead draws a filled head with its tip at (x, y), pointing along
// (dx, dy).
func arrowHead(w svgWriter, x, y, dx, dy float64) {
	n := math.Hypot(dx, dy)
	if n == 0 {
		return
	}
	ux, uy := dx/n, dy/n
	bx, by := x-9*ux, y-9*uy
	w.s(`<polygon points="`, px(x), ",", px(y), " ", px(bx-4*uy), ",", px(by+4*ux), " ", px(bx+4*uy), ",", px(by-4*ux), `"/>`)
}

func messageClass(m *Message) string {
	c := "msg rq"
	switch m.Kind {
	case Response:
		c = "msg rs"
	case ErrorResponse:
		c = "msg er"
	}
	if m.Glare {
		c += " gl"
	}
	if m.Retransmission {
		c += " rt"
	}
	return c
}

// message draws an arrow from its sender at y1 to its receiver at y2; the
// two differ only for crossing glare pairs.
//
// For a crossing glare pair, cross is the pair's first message; it is nil for
// any other arrow.
func (l *svgLayout) message(w svgWriter, r *Row, y1, y2 float64, start time.Time, cross *Message) {
	m := r.Message
	a, b := l.d.column(m.From), l.d.column(m.To)
	x1, x2 := l.xs[a], l.xs[b]
	label := xmlEscaper.Replace(svgLabel(r))
	tip := "frame " + strconv.Itoa(m.Frame)
	if t := relTime(m.Time, start); t != "" {
		tip += " " + t + " s"
	}
	tip += ": " + esc(m.Label)
	if m.SDP != "" {
		tip += "; " + xmlEscaper.Replace(sdpLabel(m))
	}
	w.s(`<g class="`, messageClass(m), `" data-i="`, strconv.Itoa(r.Index), `" data-frame="`, strconv.Itoa(m.Frame), `" tabindex="0"><title>`, tip, `</title>`)
	if a == b {
		pts := px(x1) + "," + px(y1-6) + " " + px(x1+30) + "," + px(y1-6) + " " + px(x1+30) + "," + px(y1+6) + " " + px(x1+10) + "," + px(y1+6)
		w.s(`<polyline class="hit" fill="none" points="`, pts, `"/><polyline class="l" fill="none" stroke="#1f2937" points="`, pts, `"/>`)
		arrowHead(w, x1+1, y1+6, -1, 0)
		w.s(`<text class="lb" x="`, px(x1+36), `" y="`, px(y1+4), `">`, label, `</text>`)
		l.sdpText(w, m, x1+36, y1+18, "start")
		w.s("</g>\n")
		return
	}
	dir := 1.0
	if x2 < x1 {
		dir = -1
	}
	ex := x2 - dir
	w.s(`<line class="hit" x1="`, px(x1), `" y1="`, px(y1), `" x2="`, px(ex), `" y2="`, px(y2), `"/>`)
	w.s(`<line class="l" x1="`, px(x1), `" y1="`, px(y1), `" x2="`, px(ex-8*dir), `" y2="`, px(y2-(y2-y1)*8/math.Abs(x2-x1)), `"/>`)
	arrowHead(w, ex, y2, x2-x1, y2-y1)
	if cross != nil {
		// Crossing glare arrows: each label sits at its own sender, and
		// the SDPs go under the crossing, first row's first, marked with
		// the direction of their message.
		anchor := "start"
		if dir < 0 {
			anchor = "end"
		}
		w.s(`<text class="lb" x="`, px(x1+8*dir), `" y="`, px(y1-6), `" text-anchor="`, anchor, `">`, label, `</text>`)
		sy := max(y1, y2) + 15
		if cross != m && cross.SDP != "" {
			sy += 14
		}
		if m.SDP != "" {
			arrow := "→ "
			if dir < 0 {
				arrow = "← "
			}
			w.s(`<text class="sdp" x="`, px(min(x1, x2)+8), `" y="`, px(sy), `">`, arrow, xmlEscaper.Replace(sdpLabel(m)), `</text>`)
		}
	} else {
		w.s(`<text class="lb" x="`, px((x1+x2)/2), `" y="`, px(y1-6), `" text-anchor="middle">`, label, `</text>`)
		l.sdpText(w, m, min(x1, x2)+8, y1+15, "start")
	}
	w.s("</g>\n")
}

func (l *svgLayout) sdpText(w svgWriter, m *Message, x, y float64, anchor string) {
	if m.SDP == "" {
		return
	}
	w.s(`<text class="sdp" x="`, px(x), `" y="`, px(y), `" text-anchor="`, anchor, `">`, xmlEscaper.Replace(sdpLabel(m)), `</text>`)
}

func (l *svgLayout) span(w svgWriter, r *Row, y float64) {
	s := r.Span
	a, b := l.d.column(s.From), l.d.column(s.To)
	x1, x2 := l.xs[a], l.xs[b]
	label := xmlEscaper.Replace(spanText(s, false) + marksSuffix(r.Reasons))
	w.s(`<g class="rtp"><title>SSRC 0x`, fmt.Sprintf("%08x", s.SSRC), ", frames ", strconv.Itoa(s.FromFrame), "-", strconv.Itoa(s.ToFrame), `</title>`)
	if a == b {
		w.s(`<text x="`, px(x1+10), `" y="`, px(y+4), `">⟲ `, label, "</text></g>\n")
		return
	}
	dir := 1.0
	if x2 < x1 {
		dir = -1
	}
	for _, off := range []float64{-1.75, 1.75} {
		w.s(`<line x1="`, px(x1), `" y1="`, px(y+off), `" x2="`, px(x2-9*dir), `" y2="`, px(y+off), `"/>`)
	}
	arrowHead(w, x2-dir, y, dir, 0)
	w.s(`<text x="`, px((x1+x2)/2), `" y="`, px(y-7), `" text-anchor="middle">`, label, "</text></g>\n")
}

func (l *svgLayout) note(w svgWriter, r *Row, i int, y float64) {
	x := l.noteX(r)
	lines := l.notes[i]
	cols := 0
	for _, s := range lines {
		cols = max(cols, width(s))
	}
	w.s(`<g class="note n`, strconv.Itoa(int(r.Note.Kind)), `"><rect x="`, px(x), `" y="`, px(y-2), `" width="`, px(float64(cols)*smallW+16),
		`" height="`, px(float64(len(lines))*lineH+6), `" rx="3"/>`)
	for j, s := range lines {
		w.s(`<text x="`, px(x+8), `" y="`, px(y+11+float64(j)*lineH), `" font-size="11">`, xmlEscaper.Replace(s), `</text>`)
	}
	w.s("</g>\n")
}
