package ladder

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/textsafe"
)

func TestFormatFromFilename(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Format
		ok   bool
	}{
		{"call.txt", Text, true},
		{"call.SVG", SVG, true},
		{"out/call.html", HTML, true},
		{"call.htm", HTML, true},
		{"call.mmd", Mermaid, true},
		{"call.mermaid", Mermaid, true},
		{"call.puml", PlantUML, true},
		{"call.plantuml", PlantUML, true},
		{"call.pcap", 0, false},
		{"call", 0, false},
	} {
		got, ok := FormatFromFilename(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FormatFromFilename(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	for _, f := range []Format{Text, SVG, HTML, Mermaid, PlantUML} {
		if got, err := ParseFormat(f.String()); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFormat("png"); err == nil {
		t.Error("ParseFormat(\"png\") succeeded")
	}
}

func TestRenderRejectsUnknownHosts(t *testing.T) {
	for _, d := range []*Diagram{
		{Hosts: []Host{{ID: "a"}}, Messages: []Message{{Frame: 1, From: "a", To: "b"}}},
		{Hosts: []Host{{ID: "a"}}, Spans: []Span{{FromFrame: 1, From: "x", To: "a"}}},
		{Hosts: []Host{{ID: "a"}}, Notes: []Note{{Frame: 1, Host: "x"}}},
		{Hosts: []Host{{ID: "a"}, {ID: "a"}}},
		{Hosts: []Host{{ID: ""}}},
	} {
		if err := Render(io.Discard, d, Text, Options{}); err == nil {
			t.Errorf("Render accepted %+v", d)
		}
	}
}

func TestTextFitsTheWidthItIsGiven(t *testing.T) {
	for _, fx := range fixtures() {
		for _, w := range []int{40, 60, 80, 120, 200} {
			var b bytes.Buffer
			if err := Render(&b, fx.d, Text, Options{Width: w}); err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				if width(line) > w {
					t.Errorf("%s at width %d: line of %d cells: %q", fx.name, w, width(line), line)
				}
			}
		}
	}
}

// TestWrapGivesContinuationLinesTheirOwnWidth keeps the first line within
// first cells and the others within rest, breaking long words too.
func TestWrapGivesContinuationLinesTheirOwnWidth(t *testing.T) {
	for _, tc := range []struct {
		s           string
		first, rest int
		want        []string
	}{
		{"short", 10, 8, []string{"short"}},
		{"aaaa bbbb cccc dddd", 9, 4, []string{"aaaa bbbb", "cccc", "dddd"}},
		{"aaaa bbbb cccc dddd", 4, 9, []string{"aaaa", "bbbb cccc", "dddd"}},
		{"abcdefghij klm", 4, 3, []string{"abcd", "efg", "hij", "klm"}},
		{"日本語の文", 4, 2, []string{"日本", "語", "の", "文"}},
	} {
		got := wrap(tc.s, tc.first, tc.rest)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", tc.s, tc.first, tc.rest, got, tc.want)
		}
	}
}

// TestTextNotesFitTheWidth wraps long notes, across the diagram and over
// a host, within the width: continuation lines are indented, so they get
// less room than the first.
func TestTextNotesFitTheWidth(t *testing.T) {
	long := strings.Repeat("each phone exchanges RTP with a B2BUA's address 192.0.2.10:4000 (phone) -> 192.0.2.1:12486 (b2bua), ", 3)
	for _, tc := range []struct {
		name string
		note Note
	}{
		{"across the diagram", Note{Frame: 2, Text: long, Kind: NotePathChange}},
		{"over the first host", Note{Frame: 2, Text: long, Host: "a", Kind: NoteReason}},
		{"over the last host", Note{Frame: 2, Text: long, Host: "c", Kind: NoteWarning}},
		{"with words longer than a line", Note{Frame: 2, Text: strings.Repeat("x", 150) + " " + long}},
	} {
		d := &Diagram{
			Hosts:    []Host{{ID: "a", Addr: "192.0.2.10:5060"}, {ID: "b", Addr: "192.0.2.1:5060"}, {ID: "c", Addr: "192.0.2.20:5060"}},
			Messages: []Message{{Frame: 1, From: "a", To: "b", Label: "INVITE"}, {Frame: 3, From: "b", To: "c", Label: "INVITE"}},
			Notes:    []Note{tc.note},
		}
		for _, w := range []int{60, 80, 100, 120} {
			for _, opt := range []Options{{Width: w}, {Width: w, ASCII: true}} {
				var b bytes.Buffer
				if err := Render(&b, d, Text, opt); err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
					if width(line) > w {
						t.Errorf("%s at width %d (ASCII %v): line of %d cells: %q", tc.name, w, opt.ASCII, width(line), line)
					}
				}
			}
		}
	}
}

func TestTextHasNoControlCharactersButItsOwnColours(t *testing.T) {
	for _, fx := range fixtures() {
		for _, opt := range []Options{{}, {ASCII: true}, {Width: 50}, {Color: true}} {
			var b bytes.Buffer
			if err := Render(&b, fx.d, Text, opt); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if opt.Color {
				// Our SGR sequences only: ESC [ digits m.
				out = sgr.ReplaceAllString(out, "")
			}
			for i, r := range out {
				if r != '\n' && textsafe.Terminal(string(r)) != string(r) {
					t.Errorf("%s %+v: control %U at byte %d", fx.name, opt, r, i)
					break
				}
				if opt.ASCII && r >= 0x80 {
					t.Errorf("%s ASCII: non-ASCII %q at byte %d", fx.name, r, i)
					break
				}
			}
		}
	}
}

func TestSVGIsWellFormedXML(t *testing.T) {
	for _, fx := range fixtures() {
		var b bytes.Buffer
		if err := Render(&b, fx.d, SVG, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(b.Bytes()); err != nil {
			t.Errorf("%s: %v", fx.name, err)
		}
	}
}

// wellFormed decodes an XML document to the end.
func wellFormed(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestGlarePairsCross checks which glare requests are drawn crossing and
// where the rows end up: a counterpart is pulled up next to the request
// it crossed only over other legs' rows, and only from close by.
func TestGlarePairsCross(t *testing.T) {
	const l1, l2 = "leg-1", "leg-2"
	// m is a message of a three-host trunk call: p1 and p2 are the PBXes,
	// a is a phone on p1.
	m := func(frame int, from, to, leg string, isGlare bool) Message {
		return Message{Frame: frame, From: from, To: to, Label: "INVITE", Leg: leg, Glare: isGlare}
	}
	hosts := []Host{{ID: "a"}, {ID: "p1"}, {ID: "p2"}}
	for _, tc := range []struct {
		name     string
		d        *Diagram
		order    []int // frames of the rows, in drawing order
		crossing []int // frames of rows whose next row crosses them
	}{
		{"adjacent pair", glareCall(), nil, []int{50}},
		{"pair with another leg's messages between", &Diagram{Hosts: hosts, Messages: []Message{
			m(71, "p2", "p1", l2, true), m(72, "p1", "a", l1, false), m(75, "a", "p1", l1, false),
			m(76, "p1", "p2", l2, true), m(77, "p2", "p1", l2, false),
		}}, []int{71, 76, 72, 75, 77}, []int{71}},
		{"spans and notes between are passed over too", &Diagram{Hosts: hosts,
			Messages: []Message{m(71, "p2", "p1", l2, true), m(76, "p1", "p2", l2, true)},
			Spans:    []Span{{FromFrame: 73, ToFrame: 90, From: "a", To: "p1"}},
			Notes:    []Note{{Frame: 74, Text: "path"}},
		}, []int{71, 76, 73, 74}, []int{71}},
		{"a message of the same leg between keeps them apart", &Diagram{Hosts: hosts, Messages: []Message{
			m(71, "p2", "p1", l2, true), m(72, "p1", "p2", l2, false), m(76, "p1", "p2", l2, true),
		}}, []int{71, 72, 76}, nil},
		{"a counterpart on another leg is no pair", &Diagram{Hosts: hosts, Messages: []Message{
			m(71, "p2", "p1", l2, true), m(76, "p1", "p2", l1, true),
		}}, []int{71, 76}, nil},
		{"requests in the same direction are no pair", &Diagram{Hosts: hosts, Messages: []Message{
			m(71, "p2", "p1", l2, true), m(76, "p2", "p1", l2, true),
		}}, []int{71, 76}, nil},
		{"a counterpart beyond the window stays in place", &Diagram{Hosts: hosts, Messages: []Message{
			m(71, "p2", "p1", l2, true),
			m(72, "p1", "a", l1, false), m(73, "a", "p1", l1, false), m(74, "p1", "a", l1, false), m(75, "a", "p1", l1, false),
			m(76, "p1", "a", l1, false), m(77, "a", "p1", l1, false), m(78, "p1", "a", l1, false), m(79, "a", "p1", l1, false),
			m(80, "p1", "p2", l2, true),
		}}, []int{71, 72, 73, 74, 75, 76, 77, 78, 79, 80}, nil},
		{"a third request pairs with nothing", &Diagram{Hosts: hosts, Messages: []Message{
			m(71, "p2", "p1", l2, true), m(72, "p1", "p2", l2, true), m(73, "p2", "p1", l2, true),
		}}, []int{71, 72, 73}, []int{71}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var order, crossing []int
			rows := tc.d.Rows()
			for _, r := range rows {
				order = append(order, r.Frame)
				if r.CrossNext {
					crossing = append(crossing, r.Frame)
				}
			}
			if tc.order != nil && !slices.Equal(order, tc.order) {
				t.Errorf("rows in frame order %v, want %v", order, tc.order)
			}
			if !slices.Equal(crossing, tc.crossing) {
				t.Errorf("crossing pairs start at frames %v, want %v", crossing, tc.crossing)
			}
			if len(rows) != len(tc.d.Messages)+len(tc.d.Spans)+len(tc.d.Notes) {
				t.Errorf("%d rows for %d messages, spans and notes", len(rows), len(tc.d.Messages)+len(tc.d.Spans)+len(tc.d.Notes))
			}
		})
	}
}

// TestNoLegendLeavesTheReasonsToThePage renders every format with and
// without the legend: without it the reasons' text is gone, and their
// numbers still mark the arrows.
func TestNoLegendLeavesTheReasonsToThePage(t *testing.T) {
	d := glareCall()
	// Words of the reason that no output syntax escapes.
	text := "Both PBXes sent a re-INVITE before seeing the other"
	if !strings.Contains(d.Reasons[0].Text, text) {
		t.Fatalf("the fixture's reason no longer says %q", text)
	}
	for _, f := range []Format{Text, SVG, HTML, Mermaid, PlantUML} {
		for _, tc := range []struct {
			opt        Options
			wantLegend bool
		}{
			{Options{}, true},
			{Options{NoLegend: true}, false},
			{Options{NoLegend: true, Fragment: true}, false},
		} {
			var b bytes.Buffer
			if err := Render(&b, d, f, tc.opt); err != nil {
				t.Fatal(err)
			}
			out := strings.ReplaceAll(strings.ReplaceAll(b.String(), "&#91;", "["), "&#93;", "]")
			if got := strings.Contains(out, text); got != tc.wantLegend {
				t.Errorf("%v %+v: reason text shown %v, want %v", f, tc.opt, got, tc.wantLegend)
			}
			if !strings.Contains(out, "[1]") {
				t.Errorf("%v %+v: no reason mark [1] on the arrows", f, tc.opt)
			}
		}
	}
}

func TestReasonsAttachToTheFramesTheyCite(t *testing.T) {
	rows := forkingCall().Rows()
	got := map[int][]int{}
	marks := 0
	for _, r := range rows {
		if len(r.Reasons) > 0 {
			got[r.Frame] = r.Reasons
		}
		if r.Kind == RowMark {
			marks++
		}
	}
	// Frame 19 is the start of a span, 250 lies inside the span that
	// starts at 18: both attach to spans, so no mark rows are needed.
	want := map[int][]int{3: {1}, 10: {2}, 11: {1}, 13: {2}, 18: {2}, 19: {1}}
	for f, w := range want {
		if !slices.Equal(got[f], w) {
			t.Errorf("frame %d carries reasons %v, want %v", f, got[f], w)
		}
	}
	if marks != 0 {
		t.Errorf("%d mark rows, want 0", marks)
	}
	d := simpleCall()
	d.Reasons = append(d.Reasons, Reason{Text: "cites a frame nothing covers", Frames: []int{950}})
	last := d.Rows()[len(d.Rows())-1]
	if last.Kind != RowMark || last.Frame != 950 || !slices.Equal(last.Reasons, []int{2}) {
		t.Errorf("uncovered citation gives %+v, want a mark row at 950", last)
	}
}

// FuzzRender fills a diagram with arbitrary strings: no format may panic,
// and SVG must stay well-formed XML whatever the text.
func FuzzRender(f *testing.F) {
	f.Add("INVITE", "192.0.2.1:5060 PCMU", "Asterisk", "why", 3)
	f.Add("<script>\x1b[2J", "\u202e]]>&#", "\"'`", "end\n@enduml", 0)
	f.Fuzz(func(t *testing.T, label, sdp, host, note string, frame int) {
		d := &Diagram{
			Title: label + note,
			Hosts: []Host{{ID: "a", Addr: host, Label: label}, {ID: "b", Addr: sdp, Role: Role(host)}},
			Messages: []Message{
				{Frame: frame, From: "a", To: "b", Label: label, SDP: sdp, Raw: note, Leg: host, Glare: true},
				{Frame: frame + 1, From: "b", To: "a", Label: sdp, Leg: label, Glare: true, Kind: MessageKind(frame)},
				{Frame: frame, From: "b", To: "b", Label: note},
			},
			Spans:   []Span{{FromFrame: frame, ToFrame: frame - 1, From: "b", To: "a", Label: sdp}},
			Notes:   []Note{{Frame: frame, Text: note, Host: "b", Kind: NoteKind(frame)}, {Text: label}},
			Reasons: []Reason{{Code: note, Text: label, Frames: []int{frame, frame + 1, -frame, 1 << 30}}},
		}
		for _, f := range []Format{Text, SVG, HTML, Mermaid, PlantUML} {
			for _, opt := range []Options{{}, {ASCII: true, Width: frame % 200, Color: true, NoLegend: frame%2 == 0}} {
				var b bytes.Buffer
				if err := Render(&b, d, f, opt); err != nil {
					t.Fatal(err)
				}
				if f == SVG {
					if err := wellFormed(b.Bytes()); err != nil {
						t.Fatalf("SVG not well-formed: %v", err)
					}
				}
			}
		}
	})
}

var sgr = regexp.MustCompile("\x1b\\[[0-9]+m")

func TestHTMLKeepsPacketTextInert(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, hostileCall(), HTML, Options{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<script"); n != 2 {
		t.Errorf("page has %d <script elements, want 2 (messages, code)", n)
	}
	for _, bad := range []string{"<img", "<svg onload", "<iframe", "<b ", "<!--", "</text><script", "\u2028", "\x1b"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q from packet data", bad)
		}
	}
	if !strings.Contains(page, `content="default-src 'none'; script-src 'sha256-`) {
		t.Error("page has no Content-Security-Policy restricting scripts to a hash")
	}
}
