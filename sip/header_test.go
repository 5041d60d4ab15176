package sip

import (
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"i", "Call-ID"},
		{"I", "Call-ID"},
		{"call-id", "Call-ID"},
		{"CALL-ID", "Call-ID"},
		{" Call-ID\t", "Call-ID"},
		{"cseq", "CSeq"},
		{"www-authenticate", "WWW-Authenticate"},
		{"v", "Via"},
		{"l", "Content-Length"},
		{"x-asterisk-hangupcause", "X-Asterisk-HangupCause"},
		{"x-my-header", "X-My-Header"},
		{"X-MY-HEADER", "X-My-Header"},
		{"X-My-Header", "X-My-Header"},
		{"q", "Q"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := CanonicalName(tt.in); got != tt.want {
				t.Errorf("CanonicalName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanonicalNameOfKnownNamesAllocatesNothing(t *testing.T) {
	for _, name := range []string{"call-id", "VIA", "m", "Content-Length", "X-Already-Canonical"} {
		if n := testing.AllocsPerRun(100, func() { CanonicalName(name) }); n != 0 {
			t.Errorf("CanonicalName(%q) allocates %v times", name, n)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain list", "a, b ,c", []string{"a", "b", "c"}},
		{"empty items dropped", " , a,, ", []string{"a"}},
		{"comma inside angle brackets", "<sip:a@h;x=1,2>, <sip:b@h>", []string{"<sip:a@h;x=1,2>", "<sip:b@h>"}},
		{"comma, semicolon and bracket inside quotes", `"Doe, John; <x>" <sip:j@h>;q=1, <sip:k@h>`, []string{`"Doe, John; <x>" <sip:j@h>;q=1`, "<sip:k@h>"}},
		{"escaped quote inside quotes", `"a \" , b" <sip:a@h>, <sip:b@h>`, []string{`"a \" , b" <sip:a@h>`, "<sip:b@h>"}},
		{"escaped backslash ends the quote", `"a\\", <sip:b@h>`, []string{`"a\\"`, "<sip:b@h>"}},
		{"unterminated quote swallows the rest", `"a, b`, []string{`"a, b`}},
		{"stray closing bracket", "a>, b", []string{"a>", "b"}},
		{"Via list", "SIP/2.0/UDP a;branch=1, SIP/2.0/TCP [2001:db8::1]:5060;branch=2", []string{"SIP/2.0/UDP a;branch=1", "SIP/2.0/TCP [2001:db8::1]:5060;branch=2"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SplitList(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseNameAddr(t *testing.T) {
	tests := []struct {
		name                  string
		in                    string
		display, uri, tag, us string
	}{
		{"quoted display name", `"Alice" <sip:alice@example.com>;tag=1`, "Alice", "sip:alice@example.com", "1", "alice"},
		{"token display name", `Alice Smith <sip:alice@example.com>;tag=1`, "Alice Smith", "sip:alice@example.com", "1", "alice"},
		{"no display name", `<sip:alice@example.com;transport=tcp>;tag=abc`, "", "sip:alice@example.com;transport=tcp", "abc", "alice"},
		{"addr-spec with header parameters", `sip:alice@example.com;tag=xyz;foo=bar`, "", "sip:alice@example.com", "xyz", "alice"},
		{"angle bracket inside the quoted name", `"Bob <the boss>" <sip:bob@example.com>;tag=2`, "Bob <the boss>", "sip:bob@example.com", "2", "bob"},
		{"comma and semicolon inside the quoted name", `"Doe, John; Jr" <sips:john@example.com>;tag=3`, "Doe, John; Jr", "sips:john@example.com", "3", "john"},
		{"escaped quote in the name", `"say \"hi\"" <sip:x@h>;tag=4`, `say "hi"`, "sip:x@h", "4", "x"},
		{"tag name in any case and quoted value", `<sip:a@h>;TAG="q;v"`, "", "sip:a@h", "q;v", "a"},
		{"tag inside the URI is not the header tag", `<sip:a@h;tag=inner>`, "", "sip:a@h;tag=inner", "", "a"},
		{"tel URI", `<tel:+1-212-555-0101;phone-context=example.com>;tag=5`, "", "tel:+1-212-555-0101;phone-context=example.com", "5", "+1-212-555-0101"},
		{"IPv6 host", `<sip:alice@[2001:db8::1]:5060>;tag=6`, "", "sip:alice@[2001:db8::1]:5060", "6", "alice"},
		{"unterminated angle bracket", `Alice <sip:alice@h`, "Alice", "sip:alice@h", "", "alice"},
		{"unterminated quote", `"Alice <sip:alice@h>`, "Alice <sip:alice@h>", "", "", ""},
		{"wildcard contact", `*`, "", "*", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := ParseNameAddr(tt.in)
			if n.Display != tt.display || n.URI != tt.uri || n.Tag != tt.tag || n.Raw != tt.in || n.User() != tt.us {
				t.Errorf("ParseNameAddr(%q) = %+v user %q", tt.in, n, n.User())
			}
		})
	}
}

func TestNameAddrStringReadsBack(t *testing.T) {
	for _, n := range []NameAddr{
		{URI: "sip:a@h"},
		{Display: "Alice", URI: "sip:alice@h", Tag: "t1"},
		{Display: `say "hi" \o/`, URI: "sips:x@[2001:db8::1]", Tag: "t2"},
	} {
		got := ParseNameAddr(n.String())
		got.Raw = ""
		if got != n {
			t.Errorf("ParseNameAddr(%q) = %+v, want %+v", n.String(), got, n)
		}
	}
}

func TestParam(t *testing.T) {
	tests := []struct {
		name, in, param, want string
	}{
		{"present", ";tag=a;x=1", "tag", "a"},
		{"name in any case", ";Branch=z9hG4bK1", "branch", "z9hG4bK1"},
		{"whitespace around", " ; tag = a ", "tag", "a"},
		{"quoted with semicolon", `;x="a;b";tag=c`, "tag", "c"},
		{"quoted value unquoted", `;x="a;b"`, "x", "a;b"},
		{"valueless", ";lr;x=1", "lr", ""},
		{"absent", ";x=1", "tag", ""},
		{"whole header value", "SIP/2.0/UDP h;branch=b", "branch", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Param(tt.in, tt.param); got != tt.want {
				t.Errorf("Param(%q, %q) = %q, want %q", tt.in, tt.param, got, tt.want)
			}
		})
	}
}

func TestParseVia(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Via
	}{
		{"host and port", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
			Via{Transport: "UDP", Host: "192.0.2.1", Port: 5060, Branch: "z9hG4bK1"}},
		{"host without port", "SIP/2.0/TLS proxy.example.com;branch=z9hG4bK2",
			Via{Transport: "TLS", Host: "proxy.example.com", Branch: "z9hG4bK2"}},
		{"transport in lower case", "SIP/2.0/tcp h:5060", Via{Transport: "TCP", Host: "h", Port: 5060}},
		{"whitespace around slashes and colon", "SIP / 2.0 / UDP  h : 5062 ; branch = z9hG4bK3",
			Via{Transport: "UDP", Host: "h", Port: 5062, Branch: "z9hG4bK3"}},
		{"IPv6 reference with port", "SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bK4",
			Via{Transport: "UDP", Host: "2001:db8::9:1", Port: 5070, Branch: "z9hG4bK4"}},
		{"IPv6 reference without port", "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK5",
			Via{Transport: "UDP", Host: "2001:db8::1", Branch: "z9hG4bK5"}},
		{"parameter names in any case", "SIP/2.0/UDP h;BRANCH=z9hG4bK6;Received=192.0.2.7;RPORT=1234",
			Via{Transport: "UDP", Host: "h", Branch: "z9hG4bK6", Received: "192.0.2.7", RPort: 1234, HasRPort: true}},
		{"rport without value", "SIP/2.0/UDP h;rport;branch=z9hG4bK7",
			Via{Transport: "UDP", Host: "h", Branch: "z9hG4bK7", HasRPort: true}},
		{"rport with empty value", "SIP/2.0/UDP h;rport=;branch=z9hG4bK7",
			Via{Transport: "UDP", Host: "h", Branch: "z9hG4bK7", HasRPort: true}},
		{"received IPv6", "SIP/2.0/UDP [2001:db8::1];received=2001:db8::2;rport=5060",
			Via{Transport: "UDP", Host: "2001:db8::1", Received: "2001:db8::2", RPort: 5060, HasRPort: true}},
		{"received IPv6 in brackets", "SIP/2.0/UDP h;received=[2001:db8::2]",
			Via{Transport: "UDP", Host: "h", Received: "2001:db8::2"}},
		{"WebSocket transport", "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf",
			Via{Transport: "WSS", Host: "df7jal23ls0d.invalid", Branch: "z9hG4bKasudf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVia(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseVia(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseViaRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"SIP/2.0/UDP",
		"SIP/2.0/UDP ",
		"SIP/2.0 h",
		"garbage",
		"SIP/2.0/UDP h:port",
		"SIP/2.0/UDP h:70000",
		"SIP/2.0/UDP h:0",
		"SIP/2.0/UDP [2001:db8::1",
		"SIP/2.0/UDP h;rport=abc",
		"SIP/2.0/UDPh",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseVia(in)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), quote(in)) {
				t.Errorf("error %q does not name the input", err)
			}
		})
	}
}

func TestViaStringReadsBack(t *testing.T) {
	for _, v := range []Via{
		{Transport: "UDP", Host: "192.0.2.1", Port: 5060, Branch: "z9hG4bK1"},
		{Transport: "TCP", Host: "2001:db8::1", Port: 5061, Branch: "z9hG4bK2", HasRPort: true},
		{Transport: "UDP", Host: "2001:db8::1", Branch: "z9hG4bK3", Received: "2001:db8::2", RPort: 4000, HasRPort: true},
	} {
		got, err := ParseVia(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVia(%q) = %+v, %v", v.String(), got, err)
		}
	}
	if got := (Via{Host: "2001:db8::1", Port: 5060}).SentBy(); got != "[2001:db8::1]:5060" {
		t.Errorf("SentBy %q", got)
	}
	if got := (Via{Host: "2001:db8::1"}).SentBy(); got != "[2001:db8::1]" {
		t.Errorf("SentBy %q", got)
	}
}

func TestURIUserAndHost(t *testing.T) {
	tests := []struct {
		name, in, user, host string
	}{
		{"sip", "sip:alice@example.com", "alice", "example.com"},
		{"sips with port", "sips:alice@example.com:5061", "alice", "example.com:5061"},
		{"scheme in upper case", "SIP:alice@example.com", "alice", "example.com"},
		{"password", "sip:alice:secret@example.com;transport=tcp", "alice", "example.com"},
		{"user parameters", "sip:+15551234;npdi;rn=+15550000@gw.example.com;user=phone", "+15551234", "gw.example.com"},
		{"no user", "sip:example.com;lr", "", "example.com"},
		{"IPv6 reference", "sip:bob@[2001:db8::1]:5060;transport=udp", "bob", "[2001:db8::1]:5060"},
		{"IPv6 without user", "sip:[2001:db8::1]", "", "[2001:db8::1]"},
		{"headers part", "sip:bob@example.com?Subject=hi", "bob", "example.com"},
		{"angle brackets", "<sip:bob@example.com>;tag=1", "bob", "example.com"},
		{"tel", "tel:+1-212-555-0101;phone-context=example.com", "+1-212-555-0101", ""},
		{"tel in upper case", "TEL:911", "911", ""},
		{"no scheme", "alice@example.com:5060", "alice", "example.com:5060"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if u, h := URIUser(tt.in), URIHost(tt.in); u != tt.user || h != tt.host {
				t.Errorf("URIUser, URIHost(%q) = %q, %q; want %q, %q", tt.in, u, h, tt.user, tt.host)
			}
		})
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
		ok   bool
	}{
		{"example.com", "example.com", 0, true},
		{"example.com:5060", "example.com", 5060, true},
		{"[2001:db8::1]:5060", "2001:db8::1", 5060, true},
		{"[2001:db8::1]", "2001:db8::1", 0, true},
		{"2001:db8::1", "2001:db8::1", 0, true},
		{"h : 5060", "h", 5060, true},
		{"h:", "h", 0, false},
		{"h:99999", "h", 0, false},
		{"[2001:db8::1]x", "2001:db8::1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, p, ok := SplitHostPort(tt.in)
			if h != tt.host || p != tt.port || ok != tt.ok {
				t.Errorf("SplitHostPort(%q) = %q, %d, %v", tt.in, h, p, ok)
			}
		})
	}
}
