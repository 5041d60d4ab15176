package sip

import (
	"errors"
	"strings"
	"testing"
)

// crlf joins lines with CRLF and ends the last one with CRLF too.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// basicHeaders are the mandatory headers of a request (RFC 3261 §8.1.1).
var basicHeaders = []string{
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9",
	"Max-Forwards: 70",
	"From: Alice <sip:alice@example.com>;tag=9fxced76sl",
	"To: Bob <sip:bob@example.com>",
	"Call-ID: 3848276298220188511@example.com",
	"CSeq: 1 INVITE",
}

func invite(extra ...string) string {
	lines := append([]string{"INVITE sip:bob@example.com SIP/2.0"}, basicHeaders...)
	return crlf(append(lines, extra...)...)
}

func mustParse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// wantProblems checks that every problem listed contains one of the wanted
// fragments and every fragment is matched; nil means a clean message.
func wantProblems(t *testing.T, m *Message, want ...string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, p := range m.Problems {
			found = found || strings.Contains(p, w)
		}
		if !found {
			t.Errorf("no problem containing %q in %q", w, m.Problems)
		}
	}
	for _, p := range m.Problems {
		matched := false
		for _, w := range want {
			matched = matched || strings.Contains(p, w)
		}
		if !matched {
			t.Errorf("unexpected problem %q", p)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		check    func(t *testing.T, m *Message)
		problems []string
	}{
		{
			name: "request line and mandatory headers",
			in:   invite("Content-Length: 0", ""),
			check: func(t *testing.T, m *Message) {
				if !m.IsRequest() || m.Method != "INVITE" || m.RequestURI != "sip:bob@example.com" {
					t.Errorf("start line: %q %q", m.Method, m.RequestURI)
				}
				if m.CallID != "3848276298220188511@example.com" || m.CSeq != 1 || m.CSeqMethod != "INVITE" {
					t.Errorf("Call-ID %q CSeq %d %q", m.CallID, m.CSeq, m.CSeqMethod)
				}
				if m.From.Tag != "9fxced76sl" || m.From.Display != "Alice" || m.To.Tag != "" || m.To.URI != "sip:bob@example.com" {
					t.Errorf("From %+v To %+v", m.From, m.To)
				}
				if m.MaxForwards != 70 || m.ContentLength != 0 || m.Body != nil {
					t.Errorf("Max-Forwards %d Content-Length %d body %q", m.MaxForwards, m.ContentLength, m.Body)
				}
				if len(m.Via) != 1 || m.Via[0].Branch != "z9hG4bK74bf9" || m.Via[0].Port != 5060 {
					t.Errorf("Via %+v", m.Via)
				}
			},
		},
		{
			name: "status line with reason phrase",
			in:   crlf(append([]string{"SIP/2.0 486 Busy Here"}, append(basicHeaders, "Server: pbx 1.0", "")...)...),
			check: func(t *testing.T, m *Message) {
				if m.IsRequest() || m.StatusCode != 486 || m.Reason != "Busy Here" || m.Summary() != "486 Busy Here" {
					t.Errorf("status %d %q", m.StatusCode, m.Reason)
				}
				if m.UserAgent != "pbx 1.0" {
					t.Errorf("Server not taken as User-Agent: %q", m.UserAgent)
				}
			},
		},
		{
			name: "status line with empty reason phrase",
			in:   crlf(append([]string{"SIP/2.0 200 "}, append(basicHeaders, "")...)...),
			check: func(t *testing.T, m *Message) {
				if m.StatusCode != 200 || m.Reason != "" || m.Summary() != "200" {
					t.Errorf("status %d %q", m.StatusCode, m.Reason)
				}
			},
		},
		{
			name: "SIP version in lower case",
			in:   crlf(append([]string{"INVITE sip:bob@example.com sip/2.0"}, append(basicHeaders, "")...)...),
			check: func(t *testing.T, m *Message) {
				if m.Method != "INVITE" {
					t.Errorf("method %q", m.Method)
				}
			},
		},
		{
			name: "method in lower case is upper-cased",
			in:   crlf(append([]string{"invite sip:bob@example.com SIP/2.0"}, append(basicHeaders[:5], "CSeq: 1 invite", "")...)...),
			check: func(t *testing.T, m *Message) {
				if m.Method != "INVITE" || m.CSeqMethod != "INVITE" {
					t.Errorf("method %q CSeq method %q", m.Method, m.CSeqMethod)
				}
			},
		},
		{
			name: "compact header forms",
			in: crlf("SIP/2.0 200 OK",
				"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
				"f: <sip:alice@example.com>;tag=a",
				"t: <sip:bob@example.com>;tag=b",
				"i: compact-1",
				"CSeq: 2 BYE",
				"m: <sip:bob@192.0.2.2>",
				"k: timer, 100rel",
				"s: hello",
				"c: application/sdp",
				"l: 5",
				"", "v=0\r\n"),
			check: func(t *testing.T, m *Message) {
				if m.CallID != "compact-1" || m.From.Tag != "a" || m.To.Tag != "b" || len(m.Via) != 1 {
					t.Errorf("fields %q %+v %+v %+v", m.CallID, m.From, m.To, m.Via)
				}
				if m.Contact != "<sip:bob@192.0.2.2>" || m.ContentType != "application/sdp" || m.ContentLength != 5 {
					t.Errorf("Contact %q Content-Type %q Content-Length %d", m.Contact, m.ContentType, m.ContentLength)
				}
				if got := m.Values("Supported"); len(got) != 2 || got[1] != "100rel" {
					t.Errorf("Supported %q", got)
				}
				if m.Get("Subject") != "hello" || m.Headers[7].Name != "Subject" {
					t.Errorf("Subject %q, names %+v", m.Get("s"), m.Headers)
				}
				if string(m.Body) != "v=0\r\n" {
					t.Errorf("body %q", m.Body)
				}
			},
		},
		{
			name: "header names in any case",
			in: crlf("BYE sip:bob@example.com SIP/2.0",
				"VIA: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
				"from: <sip:alice@example.com>;tag=a",
				"tO: <sip:bob@example.com>;tag=b",
				"cAlL-iD: mixed",
				"CSEQ: 3 BYE",
				"x-custom-HEADER: 1",
				""),
			check: func(t *testing.T, m *Message) {
				if m.CallID != "mixed" || m.CSeq != 3 || len(m.Via) != 1 || m.To.Tag != "b" {
					t.Errorf("fields %q %d %+v %+v", m.CallID, m.CSeq, m.Via, m.To)
				}
				if m.Headers[5].Name != "X-Custom-Header" || m.Get("X-CUSTOM-header") != "1" {
					t.Errorf("extension header %+v", m.Headers[5])
				}
			},
		},
		{
			name: "whitespace before the colon",
			in: crlf("OPTIONS sip:bob@example.com SIP/2.0",
				"Via  : SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
				"From\t: <sip:alice@example.com>;tag=a",
				"To :<sip:bob@example.com>",
				"Call-ID :  spaced  ",
				"CSeq: 1 OPTIONS",
				""),
			check: func(t *testing.T, m *Message) {
				if m.CallID != "spaced" || len(m.Via) != 1 || m.From.Tag != "a" || m.To.URI != "sip:bob@example.com" {
					t.Errorf("fields %q %+v %+v %+v", m.CallID, m.Via, m.From, m.To)
				}
			},
		},
		{
			name: "folded lines are joined with one space",
			in: crlf("OPTIONS sip:bob@example.com SIP/2.0",
				"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1,",
				"  SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2",
				"From: <sip:alice@example.com>;tag=a",
				"To: <sip:bob@example.com>",
				"Call-ID: fold",
				"Subject: I know you're there,",
				"\tpretty sure",
				" ",
				"   about it",
				"CSeq: 1 OPTIONS",
				""),
			check: func(t *testing.T, m *Message) {
				if got := m.Get("Subject"); got != "I know you're there, pretty sure about it" {
					t.Errorf("Subject %q", got)
				}
				if len(m.Via) != 2 || m.Via[1].Host != "192.0.2.2" {
					t.Errorf("Via %+v", m.Via)
				}
				if m.CSeq != 1 {
					t.Errorf("CSeq after fold %d", m.CSeq)
				}
			},
		},
		{
			name: "repeated headers keep wire order in Values",
			in: invite(
				"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
				"Record-Route: <sip:rr1;lr>",
				"Route: <sip:p3.example.com;lr>",
				"Via: SIP/2.0/TCP 192.0.2.9;branch=z9hG4bK9",
				"Date: Sat, 13 Nov 2010 23:29:00 GMT",
				"Date: Sun, 14 Nov 2010 23:29:00 GMT",
				""),
			check: func(t *testing.T, m *Message) {
				want := []string{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"}
				if got := m.Values("route"); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("Route %q", got)
				}
				if got := m.Values("Date"); len(got) != 2 || !strings.HasPrefix(got[1], "Sun, 14") {
					t.Errorf("Date is not a list, got %q", got)
				}
				if len(m.Via) != 2 || m.Via[1].Transport != "TCP" {
					t.Errorf("Via %+v", m.Via)
				}
			},
		},
		{
			name: "lines ending in bare LF",
			in:   strings.ReplaceAll(invite("Content-Type: application/sdp", "Content-Length: 4", "", "v=0\n"), "\r\n", "\n"),
			check: func(t *testing.T, m *Message) {
				if m.CallID == "" || len(m.Via) != 1 || string(m.Body) != "v=0\n" {
					t.Errorf("fields %q %+v body %q", m.CallID, m.Via, m.Body)
				}
			},
			problems: []string{"LF, not CRLF"},
		},
		{
			name: "mixed CRLF and LF line ends",
			in:   strings.Replace(invite("Content-Length: 0", ""), "Max-Forwards: 70\r\n", "Max-Forwards: 70\n", 1),
			check: func(t *testing.T, m *Message) {
				if m.MaxForwards != 70 || m.CallID == "" {
					t.Errorf("fields %d %q", m.MaxForwards, m.CallID)
				}
			},
			problems: []string{"LF, not CRLF"},
		},
		{
			name: "missing final empty line",
			in:   invite("Content-Length: 0"),
			check: func(t *testing.T, m *Message) {
				if m.ContentLength != 0 || m.CallID == "" {
					t.Errorf("fields %d %q", m.ContentLength, m.CallID)
				}
			},
			problems: []string{"no empty line"},
		},
		{
			name: "last header without line end",
			in:   strings.TrimSuffix(invite("Content-Length: 0"), "\r\n"),
			check: func(t *testing.T, m *Message) {
				if m.ContentLength != 0 {
					t.Errorf("Content-Length %d", m.ContentLength)
				}
			},
			problems: []string{"no empty line"},
		},
		{
			name: "CRLF keep-alives before the start line are skipped",
			in:   "\r\n\r\n" + invite(""),
			check: func(t *testing.T, m *Message) {
				if m.Method != "INVITE" {
					t.Errorf("method %q", m.Method)
				}
			},
		},
		{
			name: "Content-Length absent takes the rest of the datagram",
			in:   invite("Content-Type: application/sdp", "") + "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n",
			check: func(t *testing.T, m *Message) {
				if m.ContentLength != -1 || string(m.Body) != "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n" {
					t.Errorf("Content-Length %d body %q", m.ContentLength, m.Body)
				}
			},
		},
		{
			name: "Content-Length shorter than the datagram discards the rest",
			in:   invite("c: application/sdp", "Content-Length: 5", "", "v=0\r\njunk after the body"),
			check: func(t *testing.T, m *Message) {
				if string(m.Body) != "v=0\r\n" {
					t.Errorf("body %q", m.Body)
				}
			},
		},
		{
			name: "Content-Length larger than the body is flagged",
			in:   invite("c: application/sdp", "Content-Length: 300", "") + "v=0\r\n",
			check: func(t *testing.T, m *Message) {
				if m.ContentLength != 300 || string(m.Body) != "v=0\r\n" {
					t.Errorf("Content-Length %d body %q", m.ContentLength, m.Body)
				}
			},
			problems: []string{"shorter than Content-Length 300"},
		},
		{
			name: "non-numeric Content-Length is flagged and the rest is body",
			in:   invite("c: text/plain", "Content-Length: xyz", "") + "abc",
			check: func(t *testing.T, m *Message) {
				if m.ContentLength != -1 || string(m.Body) != "abc" {
					t.Errorf("Content-Length %d body %q", m.ContentLength, m.Body)
				}
			},
			problems: []string{`Content-Length "xyz" is not a number`},
		},
		{
			name: "negative and huge Content-Length are flagged",
			in:   invite("Content-Length: -1", "l: 99999999999999999999", ""),
			problems: []string{
				`Content-Length "-1" is not a number`,
				`Content-Length "99999999999999999999" is not a number`,
			},
		},
		{
			name: "disagreeing Content-Length headers are flagged",
			in:   invite("c: text/plain", "Content-Length: 3", "Content-Length: 4", "", "abcd"),
			check: func(t *testing.T, m *Message) {
				if m.ContentLength != 3 || string(m.Body) != "abc" {
					t.Errorf("Content-Length %d body %q", m.ContentLength, m.Body)
				}
			},
			problems: []string{"Content-Length headers disagree: 3 and 4"},
		},
		{
			name:     "body without Content-Type is flagged",
			in:       invite("Content-Length: 4", "") + "v=0\n",
			problems: []string{`body of 4 bytes without Content-Type (RFC 3261 §20.15), starts "v=0\n"`},
		},
		{
			name: "blank lines after a body-less message are not a body",
			in:   invite("") + "\r\n\r\n",
			check: func(t *testing.T, m *Message) {
				if string(m.Body) != "\r\n\r\n" {
					t.Errorf("body %q", m.Body)
				}
			},
		},
		{
			name:     "missing mandatory headers are flagged",
			in:       crlf("REGISTER sip:192.0.2.1:5060 SIP/2.0", "Expires: 3600", ""),
			problems: []string{"no Call-ID", "no CSeq", "no From", "no To", "no Via"},
		},
		{
			name: "repeated single-valued headers are flagged and the first wins",
			in:   invite("From: <sip:mallory@example.com>;tag=x", "Call-ID: second", ""),
			check: func(t *testing.T, m *Message) {
				if m.From.Tag != "9fxced76sl" || m.CallID != "3848276298220188511@example.com" {
					t.Errorf("From %+v Call-ID %q", m.From, m.CallID)
				}
			},
			problems: []string{"more than one From", "more than one Call-ID"},
		},
		{
			name:     "CSeq method differing from the request method is flagged",
			in:       crlf(append([]string{"BYE sip:bob@example.com SIP/2.0"}, append(basicHeaders, "")...)...),
			problems: []string{"CSeq method INVITE differs from request method \"BYE\""},
		},
		{
			name:     "bad CSeq is flagged",
			in:       crlf(append([]string{"INVITE sip:bob@example.com SIP/2.0"}, append(basicHeaders[:5], "CSeq: one INVITE", "")...)...),
			problems: []string{`CSeq "one INVITE" is not a number and a method`},
		},
		{
			name: "header line without colon is flagged and skipped",
			in:   invite("this is not a header", ""),
			check: func(t *testing.T, m *Message) {
				if len(m.Headers) != len(basicHeaders) {
					t.Errorf("headers %+v", m.Headers)
				}
			},
			problems: []string{`header line "this is not a header" has no colon`},
		},
		{
			name:     "header name that is not a token is flagged",
			in:       invite("Max Forwards: 70", ": no name", ""),
			problems: []string{`header name "Max Forwards" is not a token`, `header name "" is not a token`},
		},
		{
			name: "control characters are kept and quoted in problems",
			in:   invite("X-Junk\x00\x1b[31m: \x00\xff\xfe", ""),
			check: func(t *testing.T, m *Message) {
				for _, p := range m.Problems {
					if strings.ContainsAny(p, "\x00\x1b") {
						t.Errorf("problem carries raw control characters: %q", p)
					}
				}
			},
			problems: []string{`header name "X-Junk\x00\x1b[31m" is not a token`, `header "X-Junk\x00\x1b[31m" has control characters in its value "\x00\xff\xfe"`},
		},
		{
			name:     "Request-URI without scheme is flagged",
			in:       crlf(append([]string{"INVITE bob@example.com SIP/2.0"}, append(basicHeaders, "")...)...),
			problems: []string{`Request-URI "bob@example.com" has no scheme`},
		},
		{
			name: "bad Via is flagged and good ones kept",
			in:   invite("Via: SIP/2.0/UDP, SIP/2.0/TCP 192.0.2.5:5061;branch=z9hG4bK5", ""),
			check: func(t *testing.T, m *Message) {
				if len(m.Via) != 2 || m.Via[1].Port != 5061 {
					t.Errorf("Via %+v", m.Via)
				}
			},
			problems: []string{`Via "SIP/2.0/UDP": no sent-by`},
		},
		{
			name:     "problems are bounded",
			in:       invite(strings.Repeat("junk\r\n", 100)),
			problems: []string{`header line "junk" has no colon`, "further problems not listed"},
			check: func(t *testing.T, m *Message) {
				if len(m.Problems) != maxProblems+1 {
					t.Errorf("%d problems", len(m.Problems))
				}
			},
		},
		{
			name: "continuation line before any header is flagged",
			in:   "OPTIONS sip:bob@example.com SIP/2.0\r\n folded start line\r\n" + strings.TrimPrefix(invite(""), "INVITE sip:bob@example.com SIP/2.0\r\n"),
			problems: []string{"continuation line \"folded start line\" before any header",
				"CSeq method INVITE differs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.in)
			if tt.check != nil {
				tt.check(t, m)
			}
			wantProblems(t, m, tt.problems...)
			if m.Malformed() != (len(tt.problems) > 0) {
				t.Errorf("Malformed() = %v", m.Malformed())
			}
		})
	}
}

func TestParseRejectsNonSIP(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"short junk", "\x00\x01\x02\x03"},
		{"only keep-alives", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n"},
		{"HTTP response", "HTTP/1.1 200 OK\r\n\r\n"},
		{"HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"status code too small", "SIP/2.0 099 Odd\r\n\r\n"},
		{"status code of four digits", "SIP/2.0 2000 OK\r\n\r\n"},
		{"status code not numeric", "SIP/2.0 2x0 OK\r\n\r\n"},
		{"other SIP version", "INVITE sip:bob@example.com SIP/3.0\r\n\r\n"},
		{"request line without URI", "INVITE SIP/2.0\r\n\r\n"},
		{"request line with four parts", "INVITE sip:bob@example.com extra SIP/2.0\r\n\r\n"},
		{"method with a bad character", "INV{TE sip:bob@example.com SIP/2.0\r\n\r\n"},
		{"control character in the Request-URI", "INVITE sip:bob\x01@example.com SIP/2.0\r\n\r\n"},
		{"overlong method", strings.Repeat("A", 33) + " sip:bob@example.com SIP/2.0\r\n\r\n"},
		{"overlong start line", "INVITE sip:" + strings.Repeat("a", maxStartLine) + " SIP/2.0\r\n\r\n"},
		{"RTP-like binary", "\x80\x00\x12\x34\x00\x00\x00\xa0\xde\xad\xbe\xef\xff\xff\xff\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in), Options{})
			if !errors.Is(err, ErrNotSIP) || m != nil {
				t.Fatalf("Parse = %v, %v; want ErrNotSIP", m, err)
			}
			if LooksLike([]byte(tt.in)) {
				t.Error("LooksLike accepted it")
			}
		})
	}
}

func TestParseErrorNamesInput(t *testing.T) {
	_, err := Parse([]byte("HTTP/1.1 200 OK\r\n\r\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), `"HTTP/1.1 200 OK\r\n\r\n"`) {
		t.Errorf("error %v does not quote the input", err)
	}
}

func TestLooksLike(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"request", "INVITE sip:bob@example.com SIP/2.0\r\n", true},
		{"response", "SIP/2.0 180 Ringing\r\n", true},
		{"extension method", "X-CUSTOM sip:bob@example.com SIP/2.0\r\n", true},
		{"start line without line end", "ACK sip:bob@example.com SIP/2.0", true},
		{"after keep-alives", "\r\n\r\nBYE sip:bob@example.com SIP/2.0\r\n", true},
		{"lower-case version", "SIP/2.0 200 OK\r\n", true},
		{"tabs between the parts", "BYE\tsip:bob@example.com\tSIP/2.0\r\n", true},
		{"too short", "SIP/2.0 200", false},
		{"HTTP", "HTTP/1.1 200 OK\r\n", false},
		{"request line ending in text", "INVITE sip:bob@example.com SIP/2.0 x\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLike([]byte(tt.in)); got != tt.want {
				t.Errorf("LooksLike = %v", got)
			}
			_, err := Parse([]byte(tt.in), Options{})
			if (err == nil) != tt.want {
				t.Errorf("Parse error %v disagrees with LooksLike", err)
			}
		})
	}
}

func TestLooksLikeAllocatesNothing(t *testing.T) {
	inputs := [][]byte{
		[]byte(invite("")),
		[]byte("SIP/2.0 200 OK\r\n\r\n"),
		[]byte("\r\n\r\nX-EXT sip:a SIP/2.0\r\n"),
		[]byte(strings.Repeat("x", 10000)),
	}
	for _, b := range inputs {
		if n := testing.AllocsPerRun(100, func() { LooksLike(b) }); n != 0 {
			t.Errorf("LooksLike(%.20q) allocates %v times", b, n)
		}
	}
}

func TestParseKeepRaw(t *testing.T) {
	in := "\r\n" + invite("Content-Length: 3", "", "abcdef")
	m, err := Parse([]byte(in), Options{KeepRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Raw) != in || string(m.Body) != "abc" {
		t.Fatalf("Raw %q Body %q", m.Raw, m.Body)
	}
	m.Body = append(m.Body, 'X')
	if string(m.Raw) != in {
		t.Error("appending to Body overwrote Raw")
	}
}

func TestParseDoesNotAliasInput(t *testing.T) {
	b := []byte(invite("Content-Length: 3", "", "abc"))
	m := mustParse(t, string(b))
	m2, _ := Parse(b, Options{})
	for i := range b {
		b[i] = 'X'
	}
	if m2.CallID != m.CallID || string(m2.Body) != "abc" || m2.Headers[0].Value != m.Headers[0].Value {
		t.Errorf("message changed with its input: %+v", m2)
	}
}
