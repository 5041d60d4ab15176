package report

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/internal/goldentest"

	"github.com/sipscope/sipscope/ladder"
)

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// syntheticCall builds call i of a capture: a call through a B2BUA with
// two legs, RTP both ways on both legs, a reason, and a jitter and loss
// series per stream. Addresses are documentation ranges (RFC 5737). With
// payload set, every packet-derived field carries markup and script.
func syntheticCall(i int, payload string) Call {
	start := t0.Add(time.Duration(i) * 1500 * time.Millisecond)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	f := i*40 + 1
	legA := fmt.Sprintf("a%06d@192.0.2.10%s", i, payload)
	legB := fmt.Sprintf("b%06d@192.0.2.1", i)
	ext := 1000 + i%9000
	raw := func(first, callID string, frame int) string {
		return first + "\r\n" +
			"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK" + fmt.Sprint(frame) + "\r\n" +
			"From: \"Caller " + payload + "\" <sip:" + fmt.Sprint(ext) + "@example.com>;tag=" + fmt.Sprint(i) + "\r\n" +
			"To: <sip:" + fmt.Sprint(ext+1) + "@example.com>\r\n" +
			"Call-ID: " + callID + "\r\n" +
			"CSeq: 1 INVITE\r\n" +
			"User-Agent: softphone 1.0" + payload + "\r\n" +
			"Contact: <sip:" + fmt.Sprint(ext) + "@192.0.2.10:5060>\r\n" +
			"Content-Length: 0\r\n\r\n"
	}
	m := func(df, ms int, from, to, label string, kind ladder.MessageKind, leg, sdp string) ladder.Message {
		first := label + " sip:" + fmt.Sprint(ext+1) + "@example.com SIP/2.0"
		if kind != ladder.Request {
			first = "SIP/2.0 " + label
		}
		return ladder.Message{Frame: f + df, Time: at(ms), From: from, To: to, Label: label, Kind: kind, Leg: leg, SDP: sdp, Raw: raw(first, leg, f+df)}
	}
	d := &ladder.Diagram{
		Title: "Call " + legA,
		Hosts: []ladder.Host{
			{ID: "a", Addr: "192.0.2.10:5060", Role: ladder.RolePhone, Label: "softphone" + payload},
			{ID: "pbx", Addr: "192.0.2.1:5060", Role: ladder.RoleAsterisk, Label: "Asterisk 20"},
			{ID: "b", Addr: "192.0.2.20:5060", Role: ladder.RolePhone},
		},
		Messages: []ladder.Message{
			m(0, 0, "a", "pbx", "INVITE", ladder.Request, legA, "192.0.2.10:4000 PCMU sendrecv"+payload),
			m(1, 2, "pbx", "a", "100 Trying", ladder.Response, legA, ""),
			m(2, 5, "pbx", "b", "INVITE", ladder.Request, legB, "192.0.2.1:10000 PCMU sendrecv"),
			m(3, 50, "b", "pbx", "180 Ringing", ladder.Response, legB, ""),
			m(4, 52, "pbx", "a", "180 Ringing"+payload, ladder.Response, legA, ""),
			m(5, 2000, "b", "pbx", "200 OK", ladder.Response, legB, "192.0.2.20:6000 PCMU sendrecv"),
			m(6, 2001, "pbx", "b", "ACK", ladder.Request, legB, ""),
			m(7, 2002, "pbx", "a", "200 OK", ladder.Response, legA, "192.0.2.1:10002 PCMU sendrecv"),
			m(8, 2010, "a", "pbx", "ACK", ladder.Request, legA, ""),
			m(30, 62000, "a", "pbx", "BYE", ladder.Request, legA, ""),
			m(31, 62001, "pbx", "a", "200 OK", ladder.Response, legA, ""),
			m(32, 62002, "pbx", "b", "BYE", ladder.Request, legB, ""),
			m(33, 62010, "b", "pbx", "200 OK", ladder.Response, legB, ""),
		},
		Spans: []ladder.Span{
			{FromFrame: f + 9, ToFrame: f + 26, Start: at(2020), End: at(61990), From: "a", To: "pbx", Label: "PCMU 3000 pkts, loss 0.0%, jitter 0.9 ms", SSRC: uint32(i)},
			{FromFrame: f + 10, ToFrame: f + 27, Start: at(2021), End: at(61991), From: "pbx", To: "a", Label: "PCMU 2990 pkts, loss 0.3%, jitter 4.1 ms", SSRC: uint32(i) + 1},
		},
		Reasons: []ladder.Reason{
			{Code: "anchored", Text: "Asterisk answered both legs with its own address, so media is anchored there." + payload, Frames: []int{f + 5, f + 7}},
		},
	}
	var plots []Stream
	for s, label := range []string{"PCMU 192.0.2.10:4000 → 192.0.2.1:10002", "PCMU 192.0.2.1:10002 → 192.0.2.10:4000"} {
		st := Stream{Label: label + payload, From: "192.0.2.10:4000", To: "192.0.2.1:10002", SSRC: uint32(i*2 + s)}
		lost := 0
		for k := 0; k < 60; k++ {
			if (k*7+i+s)%23 == 0 {
				lost += 1 + s
			}
			st.Points = append(st.Points, Point{Time: at(2020 + k*1000), JitterMS: float64((k*13+i)%40)/10 + float64(s)*2, Lost: lost})
		}
		plots = append(plots, st)
	}
	return Call{
		ID: legA, Row: i + 1, FirstFrame: f, Start: start,
		From: fmt.Sprint(ext) + payload, To: fmt.Sprint(ext + 1), Status: []string{"200 OK", "486 Busy Here", "487 Request Terminated"}[i%3],
		Duration: 60 * time.Second, Legs: 2, Streams: 2, WorstLoss: float64(i%7) / 10, WorstJitter: float64(i%50) / 10,
		Verdict: []string{"anchored", "direct", "one-way"}[i%3], Headline: "Answered after 2.0 s; media anchored at Asterisk." + payload,
		Ladder: d, Plots: plots,
	}
}

// hostilePayload is markup and script that must stay text: if any of it
// ran, window.pwned would be set or an alert would open.
const hostilePayload = `"><script>window.pwned=1</script><img src=x onerror="window.pwned=2;alert(2)"></script><!--<svg onload=window.pwned=3>` + "\u2028\x1b[2J"

func model(n int, payload string) *Model {
	m := &Model{Title: "capture.pcap" + payload}
	for i := 0; i < n; i++ {
		m.Calls = append(m.Calls, syntheticCall(i, payload))
	}
	m.Calls = append(m.Calls, Call{ID: "no-detail@192.0.2.99", Row: n + 1, FirstFrame: n*40 + 1, Status: "OPTIONS", Verdict: "none", Headline: "Signalling only."})
	m.Warnings = []Warning{
		{Frame: 17, Text: "truncated packet" + payload},
		{Text: "3 packets with bad UDP checksums"},
	}
	return m
}

func TestWriteMatchesGoldenFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
	}{
		{"small.html", ""},
		{"hostile.html", hostilePayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, model(3, tc.payload)); err != nil {
				t.Fatal(err)
			}
			goldentest.Check(t, tc.name, b.Bytes())
			goldentest.Check(t, strings.TrimSuffix(tc.name, ".html")+".details.txt", details(t, b.Bytes(), true))
		})
	}
}

// details inflates the page's compressed blocks of call details into
// plain text, one section per call, so that golden diffs can be read;
// with messages, each call's message texts follow its markup.
func details(t *testing.T, page []byte, messages bool) []byte {
	t.Helper()
	var out bytes.Buffer
	n := 0
	for _, m := range blockRE.FindAllSubmatch(page, -1) {
		z, err := base64.StdEncoding.DecodeString(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		var block []*detail
		if err := json.NewDecoder(zr).Decode(&block); err != nil {
			t.Fatal(err)
		}
		for _, d := range block {
			fmt.Fprintf(&out, "==== call %d\n", n)
			n++
			if d == nil {
				out.WriteString("(no detail)\n")
				continue
			}
			out.WriteString(d.HTML + "\n")
			if !messages {
				continue
			}
			for _, m := range d.Messages {
				fmt.Fprintf(&out, "---- %s\n%s", m.Head, m.Text)
			}
		}
	}
	return out.Bytes()
}

var blockRE = regexp.MustCompile(`<script type="application/gzip" id="d-\d+">([A-Za-z0-9+/=]*)</script>`)

func TestWriteKeepsPacketTextInert(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, model(2, hostilePayload)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	// Exactly our two kinds of script element, and nothing from packets
	// in a form the HTML parser would read as markup.
	if n := strings.Count(page, "<script"); n != 3 {
		t.Errorf("page has %d <script elements, want 3 (rows, 1 block of details, code)", n)
	}
	for _, bad := range []string{"<img", "<svg onload", "<!--", "\u2028", "\x1b", "onerror=\"window"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q from packet data", bad)
		}
	}
	// The details are inserted as markup when a call opens: in them too,
	// packet text must be escaped. (Message texts are set as text.)
	det := string(details(t, b.Bytes(), false))
	for _, bad := range []string{"<script", "<img", "<svg onload", "<!--", "\u2028", "\x1b"} {
		if strings.Contains(det, bad) {
			t.Errorf("call details contain %q from packet data", bad)
		}
	}
}

// TestDetailListsEachReasonOnce checks that an opened call says each
// reason once, in the "Why" list with its frames, and not again in a
// legend under the ladder; the ladder's arrows keep the reasons' numbers.
func TestDetailListsEachReasonOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reasons []ladder.Reason
	}{
		{"one reason", nil},
		{"two reasons", []ladder.Reason{{Code: "second", Text: "The second reason, cited at the INVITE.", Frames: []int{1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := syntheticCall(0, "")
			c.Ladder.Reasons = append(c.Ladder.Reasons, tc.reasons...)
			var b strings.Builder
			if err := writeDetail(&b, &c); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			for i, r := range c.Ladder.Reasons {
				if n := strings.Count(html, r.Text); n != 1 {
					t.Errorf("reason %d appears %d times, want once", i+1, n)
				}
				if mark := fmt.Sprintf("[%d]", i+1); !strings.Contains(html, mark) {
					t.Errorf("no arrow carries the mark %s", mark)
				}
			}
			if strings.Contains(html, `class="legend"`) {
				t.Error("the ladder has a legend of its own")
			}
		})
	}
}

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ v, top, step float64 }{
		{0, 1, 0.2},
		{-3, 1, 0.2},
		{math.NaN(), 1, 0.2},
		{math.Inf(1), 1, 0.2},
		{0.9, 1, 0.2},
		{4.1, 5, 1},
		{12.4, 15, 5},
		{60, 60, 20},
		{997, 1000, 200},
	} {
		if top, step := niceScale(tc.v); top != tc.top || step != tc.step {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.v, top, step, tc.top, tc.step)
		}
	}
}

func TestReduceKeepsPeaksAndTheLastLoss(t *testing.T) {
	var pts []Point
	for i := 0; i < 1000; i++ {
		pts = append(pts, Point{Time: t0.Add(time.Duration(i) * 20 * time.Millisecond), JitterMS: 1, Lost: i / 100})
	}
	pts[555].JitterMS = 80
	got := reduce(pts, 100)
	if len(got) != 100 {
		t.Fatalf("reduce to 100 gives %d points", len(got))
	}
	peak := 0.0
	for _, p := range got {
		peak = math.Max(peak, p.JitterMS)
	}
	if peak != 80 || got[len(got)-1].Lost != 9 {
		t.Errorf("reduced series has peak %v and last loss %d, want 80 and 9", peak, got[len(got)-1].Lost)
	}
}
