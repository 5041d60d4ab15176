package sip

import (
	"reflect"
	"strings"
	"testing"
)

// reparse serialises m and parses the result.
func reparse(t *testing.T, m *Message) *Message {
	t.Helper()
	got, err := Parse(m.Bytes(), Options{})
	if err != nil {
		t.Fatalf("Parse(Bytes()) of %q: %v", m.Bytes(), err)
	}
	return got
}

func newInvite() *Message {
	m := NewRequest("INVITE", "sip:bob@example.com")
	m.Add("Via", Via{Transport: "UDP", Host: "192.0.2.1", Port: 5060, Branch: "z9hG4bKabc", HasRPort: true}.String())
	m.Add("Max-Forwards", "70")
	m.Add("From", NameAddr{Display: "Alice", URI: "sip:alice@example.com", Tag: "ftag"}.String())
	m.Add("To", "<sip:bob@example.com>")
	m.Add("Call-ID", "call-1@192.0.2.1")
	m.Add("CSeq", "1 INVITE")
	m.Add("Contact", "<sip:alice@192.0.2.1:5060>")
	m.Add("Record-Route", "<sip:proxy.example.com;lr>")
	m.Add("Timestamp", "54")
	m.SetBody("application/sdp", []byte(testSDP))
	return m
}

func TestBuiltRequestRoundTrips(t *testing.T) {
	m := newInvite()
	if m.CallID != "call-1@192.0.2.1" || m.CSeq != 1 || m.From.Tag != "ftag" || len(m.Via) != 1 || m.ContentLength != len(testSDP) {
		t.Fatalf("derived fields not set: %+v", m)
	}
	got := reparse(t, m)
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, m)
	}
}

func TestBytesWritesContentLengthFromBody(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *Message)
		want string
	}{
		{"no header, no body", func(m *Message) { m.Del("Content-Length"); m.Body = nil }, "Content-Length: 0\r\n\r\n"},
		{"stale header replaced in place", func(m *Message) { m.Set("Content-Length", "999"); m.Body = []byte("abc") }, "Content-Length: 3\r\n\r\nabc"},
		{"duplicate headers written once", func(m *Message) { m.Add("l", "7"); m.Body = []byte("abcd") }, "Content-Length: 4\r\n\r\nabcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newInvite()
			tt.edit(m)
			b := string(m.Bytes())
			if !strings.HasSuffix(b, tt.want) || strings.Count(b, "Content-Length") != 1 {
				t.Errorf("Bytes() = %q", b)
			}
		})
	}
}

func TestBytesCannotInjectHeaders(t *testing.T) {
	m := newInvite()
	m.Set("Subject", "hi\r\nVia: SIP/2.0/UDP evil")
	m.Reason = "x"
	got := reparse(t, m)
	if len(got.Via) != 1 || got.Get("Subject") != "hi  Via: SIP/2.0/UDP evil" {
		t.Errorf("Via %+v Subject %q", got.Via, got.Get("Subject"))
	}
}

func TestSetAddPrependDel(t *testing.T) {
	m := newInvite()
	m.Add("v", "SIP/2.0/TCP 192.0.2.3;branch=z9hG4bK3")
	m.Prepend("Via", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2")
	if len(m.Via) != 3 || m.Via[0].Host != "192.0.2.2" || m.Via[2].Host != "192.0.2.3" || m.Headers[0].Name != "Via" {
		t.Fatalf("Via after Add and Prepend: %+v", m.Via)
	}
	m.Prepend("Route", "<sip:edge;lr>")
	if m.Headers[0].Name != "Route" {
		t.Errorf("Prepend of a new header did not go first: %+v", m.Headers[0])
	}
	m.Set("via", "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK9")
	if len(m.Via) != 1 || m.Via[0].Host != "192.0.2.9" || len(m.Values("Via")) != 1 {
		t.Errorf("Via after Set: %+v", m.Via)
	}
	m.Set("i", "call-2")
	if m.CallID != "call-2" || m.Get("Call-ID") != "call-2" {
		t.Errorf("Call-ID after Set: %q", m.CallID)
	}
	m.Del("Via")
	if m.Via != nil || m.Get("Via") != "" {
		t.Errorf("Via after Del: %+v", m.Via)
	}
	m.Set("X-New", "1")
	if last := m.Headers[len(m.Headers)-1]; last != (Header{"X-New", "1"}) {
		t.Errorf("Set of a new header did not append: %+v", last)
	}
}

func TestNewResponse(t *testing.T) {
	req := reparse(t, newInvite())
	tests := []struct {
		code        int
		reason      string
		wantReason  string
		toTagged    bool
		recordRoute bool
		timestamp   bool
	}{
		{100, "", "Trying", false, false, true},
		{180, "", "Ringing", true, true, false},
		{200, "OK", "OK", true, true, false},
		{486, "Busy", "Busy", true, false, false},
	}
	tags := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.wantReason, func(t *testing.T) {
			r := NewResponse(req, tt.code, tt.reason)
			if r.StatusCode != tt.code || r.Reason != tt.wantReason {
				t.Errorf("status %d %q", r.StatusCode, r.Reason)
			}
			if r.CallID != req.CallID || r.CSeq != 1 || r.CSeqMethod != "INVITE" || r.From != req.From ||
				!reflect.DeepEqual(r.Via, req.Via) || r.To.URI != req.To.URI {
				t.Errorf("copied fields differ: %+v", r)
			}
			if (r.To.Tag != "") != tt.toTagged {
				t.Errorf("To tag %q", r.To.Tag)
			}
			if r.To.Tag != "" {
				tags[r.To.Tag] = true
			}
			if (r.Get("Record-Route") != "") != tt.recordRoute || (r.Get("Timestamp") != "") != tt.timestamp {
				t.Errorf("Record-Route %q Timestamp %q", r.Get("Record-Route"), r.Get("Timestamp"))
			}
			if r.Get("Contact") != "" || r.Body != nil {
				t.Error("response copied Contact or body")
			}
			got := reparse(t, r)
			if got.Malformed() || got.To != r.To || got.StatusCode != tt.code {
				t.Errorf("reparsed response: %+v", got)
			}
		})
	}
	if len(tags) != 1 {
		t.Errorf("responses to one request carry different To tags: %v", tags)
	}
	other := reparse(t, newInvite())
	other.Set("Via", Via{Transport: "UDP", Host: "192.0.2.1", Branch: "z9hG4bKother"}.String())
	if r := NewResponse(other, 200, ""); tags[r.To.Tag] {
		t.Error("a different request got the same To tag")
	}
}

func TestNewResponseKeepsExistingToTag(t *testing.T) {
	req := newInvite()
	req.Set("To", "<sip:bob@example.com>;tag=existing")
	if r := NewResponse(req, 200, ""); r.To.Tag != "existing" {
		t.Errorf("To %+v", r.To)
	}
}

func TestSetToTag(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<sip:bob@example.com>", "<sip:bob@example.com>;tag=t"},
		{"Bob <sip:bob@example.com>;tag=old;x=1", "Bob <sip:bob@example.com>;x=1;tag=t"},
		{`"a;b>" <sip:bob@example.com;tag=uri>`, `"a;b>" <sip:bob@example.com;tag=uri>;tag=t`},
		{"sip:bob@example.com;TAG=old", "sip:bob@example.com;tag=t"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m := NewResponse(newInvite(), 100, "")
			m.Set("To", tt.in)
			m.SetToTag("t")
			if got := m.Get("To"); got != tt.want || m.To.Tag != "t" {
				t.Errorf("To %q tag %q, want %q", got, m.To.Tag, tt.want)
			}
		})
	}
}

func TestNewCancelAndAck(t *testing.T) {
	req := newInvite()
	req.Prepend("Via", "SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKtop")
	req.Add("Route", "<sip:p1;lr>")
	resp := NewResponse(req, 486, "")

	c := NewCancel(req)
	a := NewAck(req, resp)
	for _, m := range []*Message{c, a} {
		t.Run(m.Method, func(t *testing.T) {
			if m.RequestURI != req.RequestURI || m.CallID != req.CallID || m.From != req.From || m.CSeq != req.CSeq || m.CSeqMethod != m.Method {
				t.Errorf("fields %+v", m)
			}
			if len(m.Via) != 1 || m.Via[0].Branch != "z9hG4bKtop" || m.Get("Route") != "<sip:p1;lr>" || m.MaxForwards != 70 {
				t.Errorf("Via %+v Route %q", m.Via, m.Get("Route"))
			}
			if got := reparse(t, m); got.Malformed() {
				t.Errorf("problems %q", got.Problems)
			}
		})
	}
	if c.To.Tag != "" || a.To.Tag != resp.To.Tag || a.To.Tag == "" {
		t.Errorf("CANCEL To %+v, ACK To %+v", c.To, a.To)
	}
}

func TestNewBranchAndTag(t *testing.T) {
	b1, b2 := NewBranch(), NewBranch()
	if b1 == b2 || !(Via{Branch: b1}).RFC3261Branch() {
		t.Errorf("branches %q %q", b1, b2)
	}
	if t1, t2 := NewTag(), NewTag(); t1 == t2 || len(t1) < 8 {
		t.Errorf("tags %q %q", t1, t2)
	}
}

func TestStatusText(t *testing.T) {
	for code, want := range map[int]string{180: "Ringing", 491: "Request Pending", 699: ""} {
		if got := StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q", code, got)
		}
	}
}
