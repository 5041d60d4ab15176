// Package ladder draws the call ladder (sequence diagram) of one call: a
// column per host, an arrow per SIP message, RTP streams as spans between
// the hosts that exchanged them, and notes and explain reasons at the frames
// they cite. It renders text for terminals, SVG, a self-contained HTML page,
// Mermaid and PlantUML.
//
// The renderers draw a Diagram and know nothing of packets or calls;
// FromCall builds one from a call the analysis package found, and any
// other source may build its own. Every string in a Diagram is treated as
// untrusted, because most of it comes from packets: renderers strip
// control characters and escape for their output syntax.
package ladder

import (
	"fmt"
	"sort"
	"time"
)

// Diagram is one call to draw.
type Diagram struct {
	Title string
	// Hosts are the columns, left to right. IDs must be unique.
	Hosts []Host
	// Messages, Spans and Notes are merged into one sequence by frame
	// number (see Rows); within a slice, equal frames keep their order.
	Messages []Message
	Spans    []Span
	Notes    []Note
	// Reasons are listed in a legend, numbered from 1 in slice order, and
	// their numbers are marked at every frame they cite.
	Reasons []Reason
}

// Role says what a host does in the call, when the analysis could tell.
type Role string

// Roles a host can have.
const (
	RoleUnknown    Role = ""
	RolePhone      Role = "phone"
	RoleAsterisk   Role = "asterisk"
	RolePBX        Role = "pbx"
	RoleProxy      Role = "proxy"
	RoleMediaRelay Role = "media-relay"
)

// String is the role as shown in a column header.
func (r Role) String() string {
	switch r {
	case RolePhone:
		return "phone"
	case RoleAsterisk:
		return "Asterisk"
	case RolePBX:
		return "PBX"
	case RoleProxy:
		return "proxy"
	case RoleMediaRelay:
		return "media relay"
	}
	return string(r)
}

// Host is one column: a signalling or media endpoint.
type Host struct {
	ID    string // referenced by Message, Span and Note
	Addr  string // address as shown, e.g. "192.0.2.1:5060"
	Role  Role
	Label string // more precise than Role when known, e.g. "Asterisk 20 (chan_sip)"
}

// MessageKind tells requests from responses, and failures from the rest.
type MessageKind uint8

// Kinds of message.
const (
	Request MessageKind = iota
	Response
	ErrorResponse // 4xx, 5xx, 6xx
)

// Message is one SIP message, drawn as an arrow.
type Message struct {
	Frame    int
	Time     time.Time
	From, To string // host IDs
	Label    string // method or status, e.g. "INVITE", "200 OK"
	Kind     MessageKind
	// Leg names the dialog the message belongs to (Call-ID or a label);
	// when a diagram has more than one leg, each arrow shows which.
	Leg string
	// SDP summarizes a body's offer or answer, e.g. "192.0.2.1:4000 PCMU
	// sendrecv"; empty when the message carries none.
	SDP            string
	Retransmission bool
	// Glare marks a request that crossed another one in the opposite
	// direction (RFC 3261 §14.1); a glare request and its counterpart on
	// the same leg, when close by, are drawn as crossing arrows (see
	// Rows).
	Glare bool
	// Raw is the whole message, shown when the arrow is clicked in HTML.
	Raw string
}

// Span is one RTP stream (one SSRC, one direction), drawn between the hosts
// that exchanged it, at the position of its first packet.
type Span struct {
	FromFrame, ToFrame int
	Start, End         time.Time
	From, To           string // host IDs
	Label              string // e.g. "PCMU 402 pkts, loss 0.0%, jitter 1.2 ms"
	SSRC               uint32
}

// NoteKind says what a note is about.
type NoteKind uint8

// Kinds of note.
const (
	NotePathChange NoteKind = iota // the media path moved (re-INVITE, direct media)
	NoteReason                     // an explanation tied to one frame
	NoteWarning                    // something is wrong in the capture or the call
)

// Note is a line of text at a frame, over one host or across the diagram.
// A note with Frame 0 has no position and goes after everything else.
type Note struct {
	Frame int
	Time  time.Time
	Text  string
	Host  string // host ID; empty for a note across all hosts
	Kind  NoteKind
}

// Reason is one finding of explain, with the frames that are its evidence.
type Reason struct {
	Code   string // short stable name, e.g. "direct-media-denied"
	Text   string
	Frames []int
}

// RowKind is the kind of a Row.
type RowKind uint8

// Kinds of row.
const (
	RowMessage RowKind = iota
	RowSpan
	RowNote
	// RowMark stands for a frame cited by a reason that no message or span
	// covers, so that the citation still shows where it happened.
	RowMark
)

// Row is one line of a diagram in drawing order.
type Row struct {
	Kind    RowKind
	Frame   int
	Message *Message
	Index   int // index of Message in Diagram.Messages, or -1
	Span    *Span
	Note    *Note
	// Reasons are the 1-based numbers of the reasons citing this row.
	Reasons []int
	// CrossNext is set on a glare request whose counterpart is the next
	// row: the two are drawn crossing.
	CrossNext bool
	// Leg is the 1-based number of Message.Leg in order of appearance,
	// when the diagram has more than one leg; 0 otherwise.
	Leg int
}

// Validate reports the first inconsistency that would make the diagram
// undrawable: duplicate or empty host IDs, or references to unknown hosts.
func (d *Diagram) Validate() error {
	seen := make(map[string]bool, len(d.Hosts))
	for i, h := range d.Hosts {
		if h.ID == "" {
			return fmt.Errorf("ladder: host %d has no ID", i)
		}
		if seen[h.ID] {
			return fmt.Errorf("ladder: host ID %q appears twice", h.ID)
		}
		seen[h.ID] = true
	}
	known := func(what string, frame int, id string) error {
		if !seen[id] {
			return fmt.Errorf("ladder: %s at frame %d names unknown host %q", what, frame, id)
		}
		return nil
	}
	for _, m := range d.Messages {
		if err := known("message", m.Frame, m.From); err != nil {
			return err
		}
		if err := known("message", m.Frame, m.To); err != nil {
			return err
		}
	}
	for _, s := range d.Spans {
		if err := known("RTP span", s.FromFrame, s.From); err != nil {
			return err
		}
		if err := known("RTP span", s.FromFrame, s.To); err != nil {
			return err
		}
	}
	for _, n := range d.Notes {
		if n.Host != "" {
			if err := known("note", n.Frame, n.Host); err != nil {
				return err
			}
		}
	}
	return nil
}

// Legs returns the distinct Message.Leg values in order of first appearance.
func (d *Diagram) Legs() []string {
	var legs []string
	seen := make(map[string]bool)
	for _, m := range d.Messages {
		if m.Leg != "" && !seen[m.Leg] {
			seen[m.Leg] = true
			legs = append(legs, m.Leg)
		}
	}
	return legs
}

// column returns the index of the host with the given ID, or -1.
func (d *Diagram) column(id string) int {
	for i := range d.Hosts {
		if d.Hosts[i].ID == id {
			return i
		}
	}
	return -1
}

// Start is the time of the earliest event, the origin of relative times.
func (d *Diagram) Start() time.Time {
	var t time.Time
	early := func(c time.Time) {
		if !c.IsZero() && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
	for _, m := range d.Messages {
		early(m.Time)
	}
	for _, s := range d.Spans {
		early(s.Start)
	}
	for _, n := range d.Notes {
		early(n.Time)
	}
	return t
}

// Rows merges messages, spans and notes into drawing order: by frame, and
// at equal frames a message before a span before a note, except that a
// glare request's counterpart follows it directly (CrossNext). Each reason's
// number is attached to the message at a cited frame, else to the span
// starting there or the first span whose frames contain it, else to a
// RowMark of its own.
func (d *Diagram) Rows() []Row {
	rows := make([]Row, 0, len(d.Messages)+len(d.Spans)+len(d.Notes))
	legs := d.Legs()
	legNum := func(leg string) int {
		if len(legs) < 2 {
			return 0
		}
		for i, l := range legs {
			if l == leg {
				return i + 1
			}
		}
		return 0
	}
	for i := range d.Messages {
		m := &d.Messages[i]
		rows = append(rows, Row{Kind: RowMessage, Frame: m.Frame, Message: m, Index: i, Leg: legNum(m.Leg)})
	}
	for i := range d.Spans {
		rows = append(rows, Row{Kind: RowSpan, Frame: d.Spans[i].FromFrame, Span: &d.Spans[i], Index: -1})
	}
	for i := range d.Notes {
		rows = append(rows, Row{Kind: RowNote, Frame: d.Notes[i].Frame, Note: &d.Notes[i], Index: -1})
	}

	cited := d.citations()
	for _, c := range cited {
		if attach(rows, c) {
			continue
		}
		rows = append(rows, Row{Kind: RowMark, Frame: c.frame, Index: -1, Reasons: c.reasons})
	}

	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if sortFrame(a) != sortFrame(b) {
			return sortFrame(a) < sortFrame(b)
		}
		return a.Kind < b.Kind
	})
	for i := 0; i+1 < len(rows); i++ {
		j := glarePartner(rows, i)
		if j < 0 {
			continue
		}
		// The counterpart is pulled up next to the request it crossed
		// because the crossing is what the reader must see: both
		// requests were in flight at once on one dialog (RFC 3261
		// §14.1), which two arrows rows apart would not show. Only other
		// legs' messages, spans and notes are passed over, never a
		// message of the pair's own leg, so each dialog keeps its order;
		// and every row keeps its frame number in the gutter, so the
		// capture order can still be read.
		p := rows[j]
		copy(rows[i+2:j+1], rows[i+1:j])
		rows[i+1] = p
		rows[i].CrossNext = true
		i++
	}
	return rows
}

// glareWindow is how many rows after a glare request its counterpart may
// stand and still be drawn crossing it: messages of other legs that fell
// between the two in the capture, a span, a note.
const glareWindow = 8

// glarePartner returns the index of the row whose request crossed the
// glare request at row i: the next glare request of the same leg in the
// opposite direction, within glareWindow rows and with no other message
// of that leg between, whose order would then change. It returns -1 when
// there is none.
func glarePartner(rows []Row, i int) int {
	a := rows[i].Message
	if a == nil || !a.Glare || a.From == a.To {
		return -1
	}
	for j := i + 1; j < len(rows) && j <= i+glareWindow; j++ {
		b := rows[j].Message
		if b == nil || b.Leg != a.Leg {
			continue
		}
		if b.Glare && b.From == a.To && b.To == a.From {
			return j
		}
		return -1
	}
	return -1
}

// sortFrame puts rows without a frame last.
func sortFrame(r Row) int {
	if r.Frame <= 0 {
		return int(^uint(0) >> 1)
	}
	return r.Frame
}

type citation struct {
	frame   int
	reasons []int
}

// citations lists the cited frames in ascending order with the reasons
// citing each.
func (d *Diagram) citations() []citation {
	var out []citation
	for ri, r := range d.Reasons {
		for _, f := range r.Frames {
			if f <= 0 {
				continue
			}
			i := sort.Search(len(out), func(i int) bool { return out[i].frame >= f })
			if i == len(out) || out[i].frame != f {
				out = append(out, citation{})
				copy(out[i+1:], out[i:])
				out[i] = citation{frame: f}
			}
			if n := len(out[i].reasons); n == 0 || out[i].reasons[n-1] != ri+1 {
				out[i].reasons = append(out[i].reasons, ri+1)
			}
		}
	}
	return out
}

// attach adds the citation's reasons to the message at its frame, else to
// the span starting there, else to the first span covering it; it reports
// whether a row took them.
func attach(rows []Row, c citation) bool {
	for i := range rows {
		if rows[i].Kind == RowMessage && rows[i].Frame == c.frame {
			rows[i].Reasons = mergeNums(rows[i].Reasons, c.reasons)
			return true
		}
	}
	for _, exact := range []bool{true, false} {
		for i := range rows {
			s := rows[i].Span
			if s == nil || (exact && s.FromFrame != c.frame) || s.FromFrame > c.frame || c.frame > max(s.ToFrame, s.FromFrame) {
				continue
			}
			rows[i].Reasons = mergeNums(rows[i].Reasons, c.reasons)
			return true
		}
	}
	return false
}

// mergeNums returns the sorted union of two sorted lists.
func mergeNums(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
