package ladder

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// Mermaid and PlantUML are diagram sources for docs and wikis. Both
// languages give meaning to punctuation inside labels (entity codes,
// comments, creole markup, links, preprocessor functions), so every
// packet-derived character that could be read as syntax is written as a
// character reference. Line breaks never come from packets: Clean turns
// them into spaces, so a label cannot start a directive of its own.

// mermaidText escapes s for a Mermaid sequenceDiagram label with entity
// codes (#NN;). A word starting with "end" is disguised too, because
// Mermaid can read it as the end of a block even inside text.
func mermaidText(s string) string {
	rs := []rune(textsafe.Terminal(s))
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == '#', r == ';', r == '"', r == '<', r == '>', r == '%', r == '&', r == '{', r == '}', r == '`', r == '\\':
		case (r == 'e' || r == 'E') && i+2 < len(rs) && strings.EqualFold(string(rs[i+1:i+3]), "nd") &&
			(i == 0 || !unicode.IsLetter(rs[i-1]) && !unicode.IsDigit(rs[i-1])):
		default:
			b.WriteRune(r)
			continue
		}
		b.WriteString("#" + strconv.Itoa(int(r)) + ";")
	}
	return b.String()
}

// plantText escapes s for a PlantUML label. Characters that start links,
// HTML-like tags, preprocessor variables and functions, or escape
// sequences are written as &#NN; or, where this PlantUML mishandles that
// (a '$' or '\' in a reference), as <U+XXXX>. Creole's doubled markers
// (**bold**, --strike--, //italic//, ...) are broken up the same way.
func plantText(s string) string {
	rs := []rune(textsafe.Terminal(s))
	var b strings.Builder
	for i, r := range rs {
		switch r {
		case '\\', '$':
			b.WriteString("<U+00" + strings.ToUpper(strconv.FormatInt(int64(r), 16)) + ">")
			continue
		case '<', '>', '[', ']', '&', '#', '%', '~', '|':
			b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
			continue
		case '*', '_', '/', '-', '"', '^', '=', '\'':
			if (i > 0 && rs[i-1] == r) || (i+1 < len(rs) && rs[i+1] == r) {
				b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sourceIDs names hosts h1, h2, … in diagram sources, whatever their IDs.
func sourceIDs(d *Diagram) map[string]string {
	ids := make(map[string]string, len(d.Hosts))
	for i, h := range d.Hosts {
		ids[h.ID] = "h" + strconv.Itoa(i+1)
	}
	return ids
}

// sourceLabel is an arrow's text in diagram sources: the label with its
// markers, then the frame and time, which the picture has no gutter for.
func sourceLabel(r *Row, start string) string {
	s := messageText(r, false) + marksSuffix(r.Reasons) + " (frame " + strconv.Itoa(r.Message.Frame)
	if start != "" {
		s += ", " + start + " s"
	}
	return s + ")"
}

func spanSourceLabel(r *Row) string {
	s := spanText(r.Span, false) + marksSuffix(r.Reasons)
	if r.Span.FromFrame > 0 {
		s += " (frames " + strconv.Itoa(r.Span.FromFrame) + "-" + strconv.Itoa(max(r.Span.ToFrame, r.Span.FromFrame)) + ")"
	}
	return s
}

// participantLabel is a host's column header in a diagram source: its
// title and address, each escaped by text, on two lines joined by br.
func participantLabel(h *Host, text func(string) string, br string) string {
	label := text(hostTitle(h))
	if a := textsafe.Terminal(h.Addr); a != "" {
		if label != "" {
			label += br
		}
		label += text(a)
	}
	return label
}

// overAll names the hosts a note spanning the diagram sits over.
func overAll(d *Diagram, ids map[string]string, sep string) string {
	first := ids[d.Hosts[0].ID]
	if len(d.Hosts) == 1 {
		return first
	}
	return first + sep + ids[d.Hosts[len(d.Hosts)-1].ID]
}

// rowSyntax is how one diagram source language writes each kind of row,
// a line each with its newline.
type rowSyntax struct {
	// crossOpen, crossNext and crossEnd wrap a crossing glare pair in a
	// block that says the two requests were in flight at once: before
	// the first, before the second and after it.
	crossOpen, crossNext, crossEnd string
	message, span, note, mark      func(r *Row) string
}

// writeRows writes the rows in drawing order in a source language.
func writeRows(bw *bufio.Writer, rows []Row, syn rowSyntax) {
	for i := range rows {
		r := &rows[i]
		second := i > 0 && rows[i-1].CrossNext
		switch {
		case r.CrossNext:
			bw.WriteString(syn.crossOpen)
		case second:
			bw.WriteString(syn.crossNext)
		}
		switch r.Kind {
		case RowMessage:
			bw.WriteString(syn.message(r))
		case RowSpan:
			bw.WriteString(syn.span(r))
		case RowNote:
			bw.WriteString(syn.note(r))
		case RowMark:
			bw.WriteString(syn.mark(r))
		}
		if second {
			bw.WriteString(syn.crossEnd)
		}
	}
}

func renderMermaid(w io.Writer, d *Diagram, opt Options) error {
	bw := bufio.NewWriter(w)
	ids := sourceIDs(d)
	start := d.Start()
	bw.WriteString("sequenceDiagram\n")
	if t := textsafe.Terminal(d.Title); t != "" {
		bw.WriteString("    title " + mermaidText(t) + "\n")
	}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		bw.WriteString("    participant " + ids[h.ID] + " as " + participantLabel(h, mermaidText, "<br/>") + "\n")
	}
	if len(d.Hosts) == 0 {
		return bw.Flush()
	}
	writeRows(bw, d.Rows(), rowSyntax{
		crossOpen: "    par glare: the requests crossed\n    ", crossNext: "    and\n    ", crossEnd: "    end\n",
		message: func(r *Row) string {
			m := r.Message
			arrow := "->>"
			if m.Kind != Request {
				arrow = "-->>"
			}
			text := mermaidText(sourceLabel(r, relTime(m.Time, start)))
			if m.SDP != "" {
				text += "<br/>" + mermaidText(sdpLabel(m))
			}
			return "    " + ids[m.From] + arrow + ids[m.To] + ": " + text + "\n"
		},
		span: func(r *Row) string {
			return "    " + ids[r.Span.From] + "-)" + ids[r.Span.To] + ": " + mermaidText(spanSourceLabel(r)) + "\n"
		},
		note: func(r *Row) string {
			over := overAll(d, ids, ",")
			if r.Note.Host != "" {
				over = ids[r.Note.Host]
			}
			return "    Note over " + over + ": " + mermaidText(noteText(r.Note, false)) + "\n"
		},
		mark: func(r *Row) string {
			return "    Note over " + overAll(d, ids, ",") + ": " + mermaidText("frame "+strconv.Itoa(r.Frame)+" "+reasonMarks(r.Reasons)) + "\n"
		},
	})
	if len(d.Reasons) > 0 && !opt.NoLegend {
		bw.WriteString("    Note over " + overAll(d, ids, ",") + ": Reasons")
		for i := range d.Reasons {
			bw.WriteString("<br/>" + mermaidText(legendLine(i, &d.Reasons[i], false)))
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}

func renderPlantUML(w io.Writer, d *Diagram, opt Options) error {
	bw := bufio.NewWriter(w)
	ids := sourceIDs(d)
	start := d.Start()
	bw.WriteString("@startuml\n")
	if t := textsafe.Terminal(d.Title); t != "" {
		bw.WriteString("title " + plantText(t) + "\n")
	}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		label := participantLabel(h, plantText, `\n`)
		bw.WriteString(`participant "` + strings.ReplaceAll(label, `"`, "&#34;") + `" as ` + ids[h.ID] + "\n")
	}
	if len(d.Hosts) == 0 {
		bw.WriteString("@enduml\n")
		return bw.Flush()
	}
	writeRows(bw, d.Rows(), rowSyntax{
		crossOpen: "par glare: the requests crossed\n", crossNext: "else\n", crossEnd: "end\n",
		message: func(r *Row) string {
			m := r.Message
			arrow := "->"
			switch {
			case m.Kind == ErrorResponse:
				arrow = "-[#b91c1c]->"
			case m.Kind == Response:
				arrow = "-->"
			case m.Retransmission:
				arrow = "-[#9ca3af]>"
			}
			text := plantText(sourceLabel(r, relTime(m.Time, start)))
			if m.SDP != "" {
				text += `\n` + plantText(sdpLabel(m))
			}
			return ids[m.From] + " " + arrow + " " + ids[m.To] + " : " + text + "\n"
		},
		span: func(r *Row) string {
			return ids[r.Span.From] + " -[#15803d]> " + ids[r.Span.To] + " : " + plantText(spanSourceLabel(r)) + "\n"
		},
		note: func(r *Row) string {
			over := overAll(d, ids, ", ")
			if r.Note.Host != "" {
				over = ids[r.Note.Host]
			}
			return "note over " + over + " " + noteColourHex(r.Note.Kind) + " : " + plantText(noteText(r.Note, false)) + "\n"
		},
		mark: func(r *Row) string {
			return "note over " + overAll(d, ids, ", ") + " : " + plantText("frame "+strconv.Itoa(r.Frame)+" "+reasonMarks(r.Reasons)) + "\n"
		},
	})
	if len(d.Reasons) > 0 && !opt.NoLegend {
		bw.WriteString("legend left\nReasons\n")
		for i := range d.Reasons {
			bw.WriteString(plantText(legendLine(i, &d.Reasons[i], false)) + "\n")
		}
		bw.WriteString("endlegend\n")
	}
	bw.WriteString("@enduml\n")
	return bw.Flush()
}

// noteColourHex is the background of a kind of note in PlantUML, the same
// as in SVG.
func noteColourHex(k NoteKind) string {
	switch k {
	case NotePathChange:
		return "#e0f2fe"
	case NoteReason:
		return "#f3e8ff"
	}
	return "#fef3c7"
}
