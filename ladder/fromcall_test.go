package ladder

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

// fcLeg builds a leg from messages written as "frame src>dst label", where
// label is a method or a status code with its CSeq method ("200 INVITE").
func fcLeg(id string, uac, uas string, msgs ...string) *call.Leg {
	l := &call.Leg{CallID: id, UAC: netip.MustParseAddrPort(uac), UAS: netip.MustParseAddrPort(uas)}
	for _, s := range msgs {
		f := strings.Fields(s)
		ends := strings.Split(f[1], ">")
		m := &call.Msg{Src: netip.MustParseAddrPort(ends[0]), Dst: netip.MustParseAddrPort(ends[1]), Message: &sip.Message{CallID: id}}
		m.Frame = mustAtoi(f[0])
		m.Time = t0.Add(time.Duration(m.Frame) * time.Millisecond)
		if code, err := strconv.Atoi(f[2]); err == nil {
			m.StatusCode, m.CSeqMethod = code, f[3]
		} else {
			m.Method, m.CSeqMethod = f[2], f[2]
		}
		l.Messages = append(l.Messages, m)
	}
	return l
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func hostIDs(d *Diagram) []string {
	var out []string
	for _, h := range d.Hosts {
		out = append(out, h.ID+" "+string(h.Role))
	}
	return out
}

func TestFromCallLaysOutHostsAlongTheCall(t *testing.T) {
	asterisk := call.Agent{Product: "Asterisk", Stack: "PJSIP", Server: true}
	phone := call.Agent{Product: "Yealink"}
	tests := []struct {
		name string
		legs []*call.Leg
		want []string
	}{
		{
			name: "B2BUA between two phones, callee's leg seen first",
			legs: []*call.Leg{
				func() *call.Leg {
					l := fcLeg("a", "192.0.2.10:5060", "192.0.2.1:5060", "5 192.0.2.10:5060>192.0.2.1:5060 INVITE")
					l.UACAgent, l.UASAgent = phone, asterisk
					return l
				}(),
				func() *call.Leg {
					l := fcLeg("b", "192.0.2.1:5060", "192.0.2.20:5060", "2 192.0.2.1:5060>192.0.2.20:5060 INVITE")
					l.UACAgent = asterisk
					return l
				}(),
			},
			want: []string{"192.0.2.10 phone", "192.0.2.1 asterisk", "192.0.2.20 phone"},
		},
		{
			name: "proxy hops ordered by their Via count",
			legs: []*call.Leg{func() *call.Leg {
				l := fcLeg("p", "192.0.2.10:5060", "192.0.2.20:5060",
					"1 192.0.2.10:5060>192.0.2.5:5060 INVITE",
					"2 192.0.2.5:5060>192.0.2.20:5060 INVITE",
					"3 192.0.2.20:5060>192.0.2.5:5060 100 INVITE",
				)
				l.Hops = []call.Hop{
					{Src: netip.MustParseAddrPort("192.0.2.5:5060"), Dst: netip.MustParseAddrPort("192.0.2.20:5060"), FirstFrame: 2, Vias: 2},
					{Src: netip.MustParseAddrPort("192.0.2.10:5060"), Dst: netip.MustParseAddrPort("192.0.2.5:5060"), FirstFrame: 1, Vias: 1},
				}
				return l
			}()},
			want: []string{"192.0.2.10 phone", "192.0.2.5 proxy", "192.0.2.20 phone"},
		},
		{
			name: "agents on one address are told apart by port",
			legs: []*call.Leg{
				fcLeg("a", "127.0.0.1:5070", "127.0.0.1:5060", "1 127.0.0.1:5070>127.0.0.1:5060 INVITE"),
				fcLeg("b", "127.0.0.1:5060", "127.0.0.1:5080", "2 127.0.0.1:5060>127.0.0.1:5080 INVITE"),
			},
			want: []string{"127.0.0.1:5070 phone", "127.0.0.1:5060 pbx", "127.0.0.1:5080 phone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := FromCall(&analysis.Call{Engine: &call.Call{Legs: tt.legs}})
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := hostIDs(d); !slices.Equal(got, tt.want) {
				t.Errorf("hosts %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFromCallPutsAMediaRelayBesideTheHostThatAnnouncedIt(t *testing.T) {
	proxy := netip.MustParseAddrPort("192.0.2.5:5060")
	l := fcLeg("r", "192.0.2.10:5060", "192.0.2.20:5060",
		"1 192.0.2.10:5060>192.0.2.5:5060 INVITE",
		"2 192.0.2.5:5060>192.0.2.20:5060 INVITE",
	)
	l.Hops = []call.Hop{
		{Src: netip.MustParseAddrPort("192.0.2.10:5060"), Dst: proxy, FirstFrame: 1, Vias: 1},
		{Src: proxy, Dst: netip.MustParseAddrPort("192.0.2.20:5060"), FirstFrame: 2, Vias: 2},
	}
	relay := &media.Announcement{Leg: "r", Signal: proxy, Media: sdp.Media{Type: "audio", Addr: netip.MustParseAddr("198.51.100.7"), Port: 30000}}
	s := &media.Stream{Src: netip.MustParseAddrPort("192.0.2.20:4000"), Dst: netip.MustParseAddrPort("198.51.100.7:30000"),
		Packets: 50, FirstFrame: 3, LastFrame: 90, Codec: "PCMU", Announced: relay}
	d := FromCall(&analysis.Call{Engine: &call.Call{Legs: []*call.Leg{l}}, Streams: []*media.Stream{s}})
	want := []string{"192.0.2.10 phone", "192.0.2.5 proxy", "198.51.100.7 media-relay", "192.0.2.20 phone"}
	if got := hostIDs(d); !slices.Equal(got, want) {
		t.Errorf("hosts %q, want %q", got, want)
	}
	if len(d.Spans) != 1 || d.Spans[0].From != "192.0.2.20" || d.Spans[0].To != "198.51.100.7" {
		t.Fatalf("spans %+v", d.Spans)
	}
	if want := "PCMU 50 pkts, loss 0.0%, max jitter 0.0 ms"; d.Spans[0].Label != want {
		t.Errorf("span label %q, want %q", d.Spans[0].Label, want)
	}
}

func TestFromCallMarksWhatEachMessageIs(t *testing.T) {
	l := fcLeg("g", "192.0.2.1:5060", "192.0.2.2:5060",
		"1 192.0.2.1:5060>192.0.2.2:5060 INVITE",
		"2 192.0.2.1:5060>192.0.2.2:5060 INVITE",
		"3 192.0.2.2:5060>192.0.2.1:5060 200 INVITE",
		"10 192.0.2.1:5060>192.0.2.2:5060 INVITE",
		"11 192.0.2.2:5060>192.0.2.1:5060 INVITE",
		"12 192.0.2.2:5060>192.0.2.1:5060 491 INVITE",
	)
	l.Messages[1].Retransmission = true
	l.Messages[1].Raw = []byte("INVITE sip:b@192.0.2.2 SIP/2.0\r\n\r\n")
	l.Messages[2].SDP = &sdp.Session{Media: []sdp.Media{
		{Type: "video", Addr: netip.MustParseAddr("192.0.2.2"), Port: 6000},
		{Type: "audio", Addr: netip.MustParseAddr("192.0.2.2"), Port: 4000, Formats: []uint8{0, 8, 9, 18, 3, 101},
			Codecs: []sdp.Codec{{PT: 101, Name: "telephone-event", Rate: 8000}}, Direction: sdp.SendOnly},
	}}
	c := &call.Call{Legs: []*call.Leg{l}, Glare: []call.Glare{{Requests: []*call.Request{{Frame: 10}, {Frame: 11, Frames: []int{11}}}}}}
	d := FromCall(&analysis.Call{Engine: c})
	type view struct {
		label, sdp  string
		kind        MessageKind
		retrans, gl bool
		raw, fromTo string
	}
	var got []view
	for _, m := range d.Messages {
		got = append(got, view{m.Label, m.SDP, m.Kind, m.Retransmission, m.Glare, m.Raw, m.From + ">" + m.To})
	}
	want := []view{
		{"INVITE", "", Request, false, false, "", "192.0.2.1>192.0.2.2"},
		{"INVITE", "", Request, true, false, "INVITE sip:b@192.0.2.2 SIP/2.0\r\n\r\n", "192.0.2.1>192.0.2.2"},
		{"200 INVITE", "192.0.2.2:4000 PCMU,PCMA,G722,G729,+1 sendonly", Response, false, false, "", "192.0.2.2>192.0.2.1"},
		{"INVITE", "", Request, false, true, "", "192.0.2.1>192.0.2.2"},
		{"INVITE", "", Request, false, true, "", "192.0.2.2>192.0.2.1"},
		{"491 INVITE", "", ErrorResponse, false, false, "", "192.0.2.2>192.0.2.1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("messages\n got %+v\nwant %+v", got, want)
	}
	if rows := d.Rows(); !rows[3].CrossNext {
		t.Error("the crossing re-INVITEs are not drawn crossing")
	}
}

func TestFromCallAnnotatesPathChangesNATAndReasons(t *testing.T) {
	l := fcLeg("n", "192.0.2.1:5060", "192.0.2.2:5060", "1 192.0.2.1:5060>192.0.2.2:5060 INVITE")
	l.MessagesDropped = 7
	c := &analysis.Call{
		Row: 4, From: "sip:1001@example.com", To: "sip:1002@example.com", Status: 200, Reason: "Q.850;cause=16",
		Engine: &call.Call{Legs: []*call.Leg{l}},
		Media: analysis.Media{
			Verdict: media.Direct,
			Timeline: []media.Segment{
				{Kind: media.Anchored, FromFrame: 20, Basis: "each phone exchanges RTP with a B2BUA's address"},
				{Kind: media.Direct, FromFrame: 60, Basis: "the phones exchange RTP directly"},
			},
			NAT: []media.Evidence{{Kind: "private-sdp", Text: "SDP in frame 1 announces a private address", Frames: []int{1}}},
		},
		Explanation: explain.Explanation{Reasons: []explain.Reason{
			{Code: "direct-reinvite", Text: "released by re-INVITE", Level: explain.High, Frames: []int{40, 60}},
			{Code: "nat", Text: "behind NAT", Level: explain.Low, Frames: []int{1}},
		}},
	}
	d := FromCall(c)
	if want := "Call 4: sip:1001@example.com -> sip:1002@example.com (200, media direct)"; d.Title != want {
		t.Errorf("title %q, want %q", d.Title, want)
	}
	var notes []string
	for _, n := range d.Notes {
		notes = append(notes, strings.Join([]string{strconv.Itoa(n.Frame), noteKindWord(n.Kind), n.Text}, " | "))
	}
	wantNotes := []string{
		"20 | media path | anchored, each phone exchanges RTP with a B2BUA's address",
		"60 | media path | now direct, the phones exchange RTP directly",
		"1 | warning | NAT (private-sdp): SDP in frame 1 announces a private address",
		"0 | warning | 7 more SIP messages of this call were counted but not kept (per-leg cap)",
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes\n got %q\nwant %q", notes, wantNotes)
	}
	wantReasons := []Reason{
		{Code: "direct-reinvite", Text: "released by re-INVITE", Frames: []int{40, 60}},
		{Code: "nat", Text: "behind NAT (low confidence)", Frames: []int{1}},
	}
	if len(d.Reasons) != len(wantReasons) {
		t.Fatalf("reasons %+v", d.Reasons)
	}
	for i, r := range d.Reasons {
		w := wantReasons[i]
		if r.Code != w.Code || r.Text != w.Text || !slices.Equal(r.Frames, w.Frames) {
			t.Errorf("reason %d = %+v, want %+v", i, r, w)
		}
	}
}

// TestFromCallDrawsEveryCorpusCall converts every call of every capture
// in the shared corpus and renders it in every format: the diagram must
// be valid and nothing may fail.
func TestFromCallDrawsEveryCorpusCall(t *testing.T) {
	root := corpustest.Dir(t)
	files := corpustest.Captures(t, "")
	if len(files) == 0 {
		t.Skip("no captures in the corpus")
	}
	calls := 0
	for _, f := range files {
		r, err := analysis.Files([]string{filepath.Join(root, f)}, analysis.Options{KeepRaw: true})
		if err != nil {
			continue
		}
		for _, c := range r.Calls {
			calls++
			d := FromCall(c)
			if err := d.Validate(); err != nil {
				t.Errorf("%s call %d: %v", filepath.Base(f), c.Row, err)
				continue
			}
			for _, format := range []Format{Text, SVG, HTML, Mermaid, PlantUML} {
				var b bytes.Buffer
				if err := Render(&b, d, format, Options{Width: 80}); err != nil || b.Len() == 0 {
					t.Errorf("%s call %d as %v: %v", filepath.Base(f), c.Row, format, err)
				}
			}
		}
	}
	t.Logf("%d calls in %d captures", calls, len(files))
}

// FuzzFromCall feeds mutated captures through the analysis and draws
// every call found: no capture may make a diagram invalid or a renderer
// fail.
func FuzzFromCall(f *testing.F) {
	for _, name := range []string{"asterisk-direct-media.pcap", "asterisk-two-pbx-glare.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(firstRecords(b, 30))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a := analysis.New(analysis.Options{KeepRaw: true})
		src, err := capture.NewReader(bytes.NewReader(b), "fuzz.pcap", a.Warn)
		if err != nil {
			return
		}
		a.Read(src)
		src.Close()
		for _, c := range a.Finish().Calls {
			d := FromCall(c)
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, format := range []Format{Text, SVG} {
				if err := Render(io.Discard, d, format, Options{Width: 80}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// firstRecords cuts a little-endian pcap file after n packet records, to
// seed a fuzzer with something small enough to mutate quickly.
func firstRecords(b []byte, n int) []byte {
	off := 24
	for range n {
		if off+16 > len(b) {
			break
		}
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	return b[:min(off, len(b))]
}
