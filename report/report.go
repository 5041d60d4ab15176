// Package report writes one self-contained HTML page for a whole capture:
// the calls table (sortable, filterable), each call's ladder with its
// explain reasons and RTP quality plots, and the capture's warnings.
//
// The page must stay usable with tens of thousands of calls, so only the
// table is part of the document. Each call's detail (ladder SVG, reasons,
// plots, message texts) is pre-rendered in Go and embedded compressed and
// inert, then inflated, parsed and inserted only when the call is opened.
// The page loads nothing from anywhere: a Content-Security-Policy allows
// exactly its own inline script and stylesheet.
package report

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/internal/textsafe"
	"github.com/sipscope/sipscope/ladder"
)

// Model is everything the page shows.
type Model struct {
	Title    string
	Warnings []Warning
	Calls    []Call
}

// Warning is a problem found in the capture, at the frame it concerns
// (0 when it concerns no single frame).
type Warning struct {
	Frame int
	Text  string
}

// Call is one row of the calls table and what opening it shows.
type Call struct {
	ID          string // Call-ID or the analysis' name for the call
	Row         int    // the call's number in `sipscope analyze` output
	FirstFrame  int
	Start       time.Time
	From, To    string
	Status      string // final status, e.g. "200 OK", "486 Busy Here", "CANCEL"
	Duration    time.Duration
	Legs        int
	Streams     int
	WorstLoss   float64 // percent, over the call's streams
	WorstJitter float64 // milliseconds
	Verdict     string  // media path verdict, e.g. "direct", "anchored", "one-way"
	Headline    string  // one sentence saying what happened

	Ladder *ladder.Diagram // nil when there is nothing to draw
	Plots  []Stream

	// packed is the detail rendered and compressed by Pack, which dropped
	// Ladder and Plots; nil before, or when there is no detail.
	packed []byte
}

// hasDetail reports whether opening the call shows anything.
func (c *Call) hasDetail() bool { return c.Ladder != nil || len(c.Plots) > 0 || c.packed != nil }

// Pack renders what opening the call shows and keeps it compressed, in
// place of the ladder and plots: a report of many calls then holds a few
// kilobytes per call instead of every message and sample. The page is
// the same either way.
func (c *Call) Pack() error {
	if c.Ladder == nil && len(c.Plots) == 0 {
		return nil
	}
	data, err := c.detailJSON()
	if err != nil {
		return err
	}
	var z bytes.Buffer
	zw, err := flate.NewWriter(&z, flate.BestSpeed)
	if err != nil {
		return err
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return err
	}
	c.packed = bytes.Clone(z.Bytes())
	c.Ladder, c.Plots = nil, nil
	return nil
}

// detailJSON is the call's detail as the page reads it: the rendered
// HTML and the messages' text.
func (c *Call) detailJSON() ([]byte, error) {
	if c.packed != nil {
		return io.ReadAll(flate.NewReader(bytes.NewReader(c.packed)))
	}
	var html strings.Builder
	if err := writeDetail(&html, c); err != nil {
		return nil, err
	}
	var msgs []ladder.MessageText
	if c.Ladder != nil {
		msgs = ladder.MessageTexts(c.Ladder)
	}
	return json.Marshal(&detail{HTML: html.String(), Messages: msgs})
}

// Stream is one RTP stream's quality over time.
type Stream struct {
	Label    string // e.g. "PCMU 192.0.2.1:4000 → 192.0.2.2:5000"
	From, To string
	SSRC     uint32
	Points   []Point // in time order
}

// Point is one sample of a stream's quality.
type Point struct {
	Time     time.Time
	JitterMS float64 // RFC 3550 §6.4.1 interarrival jitter, in ms
	Lost     int     // packets lost so far
}

// maxWarnings bounds the warnings listed; the rest are counted.
const maxWarnings = 2000

// columns of the calls table: header, cell text, and for numeric columns
// the sort key (false when the call has no value).
var columns = []struct {
	name string
	text func(c *Call) string
	key  func(c *Call) (float64, bool)
}{
	{"#", func(c *Call) string { return strconv.Itoa(c.Row) }, func(c *Call) (float64, bool) { return float64(c.Row), true }},
	{"Frame", func(c *Call) string { return strconv.Itoa(c.FirstFrame) }, func(c *Call) (float64, bool) { return float64(c.FirstFrame), true }},
	{"Start", func(c *Call) string {
		if c.Start.IsZero() {
			return ""
		}
		return c.Start.UTC().Format("2006-01-02 15:04:05.000")
	}, func(c *Call) (float64, bool) { return float64(c.Start.UnixMilli()), !c.Start.IsZero() }},
	{"Call", func(c *Call) string { return c.ID }, nil},
	{"From", func(c *Call) string { return c.From }, nil},
	{"To", func(c *Call) string { return c.To }, nil},
	{"Status", func(c *Call) string { return c.Status }, nil},
	{"Duration", func(c *Call) string { return strconv.FormatFloat(c.Duration.Seconds(), 'f', 1, 64) + " s" },
		func(c *Call) (float64, bool) { return c.Duration.Seconds(), true }},
	{"Legs", func(c *Call) string { return strconv.Itoa(c.Legs) }, func(c *Call) (float64, bool) { return float64(c.Legs), true }},
	{"Streams", func(c *Call) string { return strconv.Itoa(c.Streams) }, func(c *Call) (float64, bool) { return float64(c.Streams), true }},
	{"Loss", func(c *Call) string { return strconv.FormatFloat(c.WorstLoss, 'f', 1, 64) + "%" },
		func(c *Call) (float64, bool) { return c.WorstLoss, isFinite(c.WorstLoss) }},
	{"Jitter", func(c *Call) string { return strconv.FormatFloat(c.WorstJitter, 'f', 1, 64) + " ms" },
		func(c *Call) (float64, bool) { return c.WorstJitter, isFinite(c.WorstJitter) }},
	{"Media", func(c *Call) string { return c.Verdict }, nil},
	{"What happened", func(c *Call) string { return c.Headline }, nil},
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// esc cleans a packet-derived string of control characters and escapes it
// for HTML text and attribute values.
func esc(s string) string { return htmlEscaper.Replace(textsafe.Terminal(s)) }

var pageStyle = ladder.StyleSheet() + pageCSS

// Write writes the page.
func Write(w io.Writer, m *Model) error {
	bw := bufio.NewWriter(w)
	title := esc(m.Title)
	if title == "" {
		title = "sipscope report"
	}
	bw.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	bw.WriteString(`<meta http-equiv="Content-Security-Policy" content="` + ladder.ContentSecurityPolicy(pageJS, pageStyle) + "\">\n")
	bw.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	bw.WriteString("<title>" + title + "</title>\n<style>" + pageStyle + "</style>\n</head>\n<body>\n")
	streams := 0
	for i := range m.Calls {
		streams += m.Calls[i].Streams
	}
	fmt.Fprintf(bw, "<header><h1>%s</h1><p class=\"sum\">%d calls, %d RTP streams, %d warnings</p></header>\n",
		title, len(m.Calls), streams, len(m.Warnings))
	bw.WriteString("<noscript><p class=\"sum\">Opening a call needs JavaScript; the table below works without it.</p></noscript>\n")
	writeWarnings(bw, m.Warnings)

	bw.WriteString("<section id=\"calls-section\"><div class=\"controls\"><input id=\"filter\" type=\"search\" placeholder=\"Filter calls: words all must match, e.g. 486 one-way\" aria-label=\"Filter calls\"> ")
	fmt.Fprintf(bw, "<span id=\"count\">%d calls</span> <span class=\"hint\">Click a column to sort, a row to open its ladder.</span></div>\n", len(m.Calls))
	fmt.Fprintf(bw, "<table id=\"calls\" data-chunk=\"%d\"><thead><tr>", chunkCalls)
	for _, c := range columns {
		kind := "text"
		if c.key != nil {
			kind = "num"
		}
		bw.WriteString(`<th data-type="` + kind + `" tabindex="0">` + c.name + "</th>")
	}
	bw.WriteString("</tr></thead>\n<tbody></tbody></table><p class=\"more\"><button id=\"more\" type=\"button\" hidden></button></p></section>\n")
	bw.WriteString("<section id=\"detail\" hidden tabindex=\"-1\" aria-label=\"Call detail\"><div class=\"bar\"><button id=\"close\" type=\"button\">Close (Esc)</button></div><div id=\"detail-body\"></div></section>\n")

	if err := writeRows(bw, m.Calls); err != nil {
		return err
	}
	if err := writeDetails(bw, m.Calls); err != nil {
		return err
	}
	bw.WriteString("<script>" + pageJS + "</script>\n</body>\n</html>\n")
	return bw.Flush()
}

// row is a call as the table script reads it: the cells' text, the
// numeric sort key of each numeric column (null in text columns), and
// whether the call has a detail to open.
type row struct {
	Cells  []string   `json:"c"`
	Keys   []*float64 `json:"k"`
	Detail bool       `json:"d"`
}

// writeRows embeds the calls table as JSON. The script renders only the
// rows in view (a page at a time): laying out ten thousand table rows
// takes a browser far longer than parsing their text.
func writeRows(bw *bufio.Writer, calls []Call) error {
	rows := make([]row, len(calls))
	for i := range calls {
		c := &calls[i]
		r := row{Cells: make([]string, len(columns)), Keys: make([]*float64, len(columns)), Detail: c.hasDetail()}
		for j, col := range columns {
			r.Cells[j] = textsafe.Terminal(col.text(c))
			if col.key != nil {
				if k, ok := col.key(c); ok {
					r.Keys[j] = &k
				}
			}
		}
		rows[i] = r
	}
	data, err := ladder.JSONForScript(rows)
	if err != nil {
		return fmt.Errorf("report: calls table: %w", err)
	}
	bw.WriteString(`<script type="application/json" id="rows">`)
	bw.Write(data)
	bw.WriteString("</script>\n")
	return nil
}

// chunkCalls is how many calls share one compressed block. Calls of one
// capture look alike, so a block compresses far better than a call alone
// (about 3 times, measured on synthetic B2BUA calls), while opening a call
// still inflates only a few hundred kilobytes.
const chunkCalls = 16

// writeDetails embeds every call's detail, chunkCalls calls per block: a
// JSON array (null for calls without detail), gzip-compressed and base64
// encoded, in a <script type="application/gzip"> element that the browser
// neither runs nor renders. Base64 cannot contain markup, so no packet
// text can end the element early. The page inflates a block with the
// browser's DecompressionStream when one of its calls is opened.
func writeDetails(bw *bufio.Writer, calls []Call) error {
	var data []byte
	var zbuf bytes.Buffer
	for first := 0; first < len(calls); first += chunkCalls {
		// The block is the JSON array of its calls' details, written
		// element by element as json.Marshal would write the slice.
		data = append(data[:0], '[')
		any := false
		for i := first; i < min(first+chunkCalls, len(calls)); i++ {
			if i > first {
				data = append(data, ',')
			}
			c := &calls[i]
			if !c.hasDetail() {
				data = append(data, "null"...)
				continue
			}
			d, err := c.detailJSON()
			if err != nil {
				return fmt.Errorf("report: call %d (%s): %w", i, textsafe.Terminal(c.ID), err)
			}
			data = append(data, d...)
			any = true
		}
		data = append(data, ']')
		if !any {
			continue
		}
		zbuf.Reset()
		zw, err := gzip.NewWriterLevel(&zbuf, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		fmt.Fprintf(bw, `<script type="application/gzip" id="d-%d">`, first/chunkCalls)
		enc := base64.NewEncoder(base64.StdEncoding, bw)
		enc.Write(zbuf.Bytes())
		enc.Close()
		bw.WriteString("</script>\n")
	}
	return nil
}

// detail is what the page keeps of a call until it is opened.
type detail struct {
	HTML     string               `json:"h"`
	Messages []ladder.MessageText `json:"m"`
}

func writeWarnings(bw *bufio.Writer, ws []Warning) {
	if len(ws) == 0 {
		return
	}
	open := ""
	if len(ws) <= 20 {
		open = " open"
	}
	fmt.Fprintf(bw, "<details id=\"warnings\"%s><summary>Capture warnings (%d)</summary><ul>\n", open, len(ws))
	for i, w := range ws {
		if i == maxWarnings {
			fmt.Fprintf(bw, "<li>and %d more</li>\n", len(ws)-maxWarnings)
			break
		}
		bw.WriteString("<li>")
		if w.Frame > 0 {
			fmt.Fprintf(bw, "<span class=\"fr\">frame %d</span> ", w.Frame)
		}
		bw.WriteString(esc(w.Text) + "</li>\n")
	}
	bw.WriteString("</ul></details>\n")
}

// writeDetail renders what opening a call shows: heading, ladder with the
// message viewer, the reasons, and a plot per stream.
func writeDetail(b *strings.Builder, c *Call) error {
	b.WriteString(`<div class="dh"><h2>` + esc(c.ID) + `</h2><p>`)
	if c.Verdict != "" {
		b.WriteString(`<b>` + esc(c.Verdict) + `</b> `)
	}
	b.WriteString(esc(c.Headline) + `</p></div>`)
	if d := c.Ladder; d != nil {
		b.WriteString(`<div class="view"><div class="lad">`)
		// The "Why" list below says the reasons, with their frames; the
		// ladder's own legend would say them again.
		if err := ladder.Render(b, d, ladder.SVG, ladder.Options{Fragment: true, NoLegend: true}); err != nil {
			return err
		}
		b.WriteString(`</div><aside class="raw"><h2 class="hint rh">Click an arrow to see its message.</h2><pre class="rt"></pre></aside></div>`)
		if len(d.Reasons) > 0 {
			b.WriteString(`<section class="reasons"><h3>Why</h3><ol>`)
			for _, r := range d.Reasons {
				b.WriteString(`<li>` + esc(r.Text))
				if len(r.Frames) > 0 {
					b.WriteString(` <span class="fr">(frames`)
					for i, f := range r.Frames {
						if i == 50 {
							b.WriteString(" …")
							break
						}
						b.WriteString(" " + strconv.Itoa(f))
					}
					b.WriteString(`)</span>`)
				}
				b.WriteString(`</li>`)
			}
			b.WriteString(`</ol></section>`)
		}
	}
	if len(c.Plots) > 0 {
		b.WriteString(`<section class="plots"><h3>RTP streams: jitter and loss over time</h3>`)
		for i := range c.Plots {
			writePlot(b, &c.Plots[i])
		}
		b.WriteString(`</section>`)
	}
	return nil
}
