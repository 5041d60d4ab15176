package ladder

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// Format is an output syntax.
type Format uint8

// Formats Render writes.
const (
	Text     Format = iota // terminal: box drawing, optional ANSI colour
	SVG                    // standalone SVG image
	HTML                   // self-contained page: the SVG plus a message viewer
	Mermaid                // Mermaid sequenceDiagram source
	PlantUML               // PlantUML sequence diagram source
)

var formatNames = [...]string{Text: "text", SVG: "svg", HTML: "html", Mermaid: "mermaid", PlantUML: "plantuml"}

// String is the format's name as given to --format.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat reads a format name (text, svg, html, mermaid, plantuml).
func ParseFormat(name string) (Format, error) {
	for f, n := range formatNames {
		if strings.EqualFold(name, n) {
			return Format(f), nil
		}
	}
	return 0, fmt.Errorf("ladder: unknown format %q (want text, svg, html, mermaid or plantuml)", name)
}

// FormatFromFilename picks the format from a file name's extension: .txt,
// .svg, .html/.htm, .mmd/.mermaid, .puml/.plantuml/.pu. It reports false
// for any other extension.
func FormatFromFilename(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".txt", ".text":
		return Text, true
	case ".svg":
		return SVG, true
	case ".html", ".htm":
		return HTML, true
	case ".mmd", ".mermaid":
		return Mermaid, true
	case ".puml", ".plantuml", ".pu":
		return PlantUML, true
	}
	return 0, false
}

// Options tune rendering. The zero value suits a file: Unicode, no width
// limit, no colour.
type Options struct {
	// ASCII draws text with ASCII only, for terminals without Unicode.
	ASCII bool
	// Width is the terminal width in cells; 0 means no limit. A text
	// ladder wider than Width is compressed, then drawn as a list.
	Width int
	// Color adds ANSI colours to text; set it only when writing to a TTY.
	Color bool
	// Fragment makes SVG output an element to embed in an HTML page: no
	// XML declaration and no <style>; the page must include StyleSheet.
	Fragment bool
	// NoLegend leaves the list of reasons out, for a page that lists them
	// itself; arrows still carry the reasons' numbers ([1]), which then
	// refer to that list, numbered from 1 in Diagram.Reasons order.
	NoLegend bool
}

// Render writes the diagram in format f.
func Render(w io.Writer, d *Diagram, f Format, opt Options) error {
	if err := d.Validate(); err != nil {
		return err
	}
	var err error
	switch f {
	case Text:
		err = renderText(w, d, opt)
	case SVG:
		err = renderSVG(w, d, opt)
	case HTML:
		err = renderHTML(w, d, opt)
	case Mermaid:
		err = renderMermaid(w, d, opt)
	case PlantUML:
		err = renderPlantUML(w, d, opt)
	default:
		return fmt.Errorf("ladder: unknown format %v", f)
	}
	if err != nil {
		return fmt.Errorf("ladder: writing %v: %w", f, err)
	}
	return nil
}

// relTime formats t relative to the diagram's start, in seconds.
func relTime(t, start time.Time) string {
	if t.IsZero() || start.IsZero() {
		return ""
	}
	return "+" + strconv.FormatFloat(t.Sub(start).Seconds(), 'f', 3, 64)
}

// absTime formats the diagram's start for titles, in UTC so that output does
// not depend on the machine's zone.
func absTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// hostTitle is the first header line of a column: the label, else the
// role, else the ID when there is no address to show.
func hostTitle(h *Host) string {
	switch {
	case h.Label != "":
		return textsafe.Terminal(h.Label)
	case h.Role != RoleUnknown:
		return textsafe.Terminal(h.Role.String())
	case h.Addr == "":
		return textsafe.Terminal(h.ID)
	}
	return ""
}

// messageText is an arrow's label with its markers, without reasons.
func messageText(r *Row, ascii bool) string {
	m := r.Message
	s := textsafe.Terminal(m.Label)
	if s == "" {
		s = "?"
	}
	if r.Leg > 0 {
		s = "L" + strconv.Itoa(r.Leg) + " " + s
	}
	if m.Retransmission {
		s += " (retrans)"
	}
	if m.Glare {
		s += " (glare)"
	}
	if ascii {
		s = toASCII(s)
	}
	return s
}

// spanText is an RTP span's label, with its duration when known.
func spanText(s *Span, ascii bool) string {
	t := "RTP"
	if l := textsafe.Terminal(s.Label); l != "" {
		t += " " + l
	}
	if !s.Start.IsZero() && s.End.After(s.Start) {
		t += ", " + strconv.FormatFloat(s.End.Sub(s.Start).Seconds(), 'f', 1, 64) + " s"
	}
	if ascii {
		t = toASCII(t)
	}
	return t
}

// noteText is a note's text with the word that says its kind.
func noteText(n *Note, ascii bool) string {
	t := noteKindWord(n.Kind) + ": " + textsafe.Terminal(n.Text)
	if ascii {
		t = toASCII(t)
	}
	return t
}

func noteKindWord(k NoteKind) string {
	switch k {
	case NotePathChange:
		return "media path"
	case NoteReason:
		return "why"
	}
	return "warning"
}

// reasonMarks formats reason numbers as "[1][3]".
func reasonMarks(nums []int) string {
	var b strings.Builder
	for _, n := range nums {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(n))
		b.WriteByte(']')
	}
	return b.String()
}

// frameList formats frame numbers for a legend, at most limit of them.
func frameList(frames []int, limit int) string {
	var b strings.Builder
	n := 0
	for _, f := range frames {
		if f <= 0 {
			continue
		}
		if n == limit {
			b.WriteString(", ...")
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(f))
		n++
	}
	return b.String()
}

// legendLine is one reason in a legend: "[1] text (frames 3, 7)".
func legendLine(i int, r *Reason, ascii bool) string {
	s := "[" + strconv.Itoa(i+1) + "] " + textsafe.Terminal(r.Text)
	if fl := frameList(r.Frames, 20); fl != "" {
		word := "frames "
		if !strings.Contains(fl, ",") {
			word = "frame "
		}
		s += " (" + word + fl + ")"
	}
	if ascii {
		s = toASCII(s)
	}
	return s
}
