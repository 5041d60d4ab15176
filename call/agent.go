package call

import (
	"strings"

	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

// Agent is the software at one end of a leg, as far as the messages it sent
// tell: the User-Agent or Server header, and the fingerprints SIP stacks
// leave in Via branches, tags, Call-IDs and SDP origin lines.
type Agent struct {
	// Product is the recognised product ("Asterisk", "FreeSWITCH",
	// "Kamailio", "baresip", ...), "" when unknown.
	Product string
	// Stack names the SIP stack where it tells products apart, such as
	// Asterisk's "chan_sip" or "PJSIP".
	Stack   string
	Version string
	// Server is set for PBXs, proxies, SBCs and gateways, as opposed to
	// phones and test tools.
	Server bool
	// Header is the User-Agent or Server value as sent.
	Header string
}

// Kind is the product and stack as one label: "Asterisk (chan_sip)".
func (a Agent) Kind() string {
	switch {
	case a.Product == "":
		return ""
	case a.Stack == "":
		return a.Product
	}
	return a.Product + " (" + a.Stack + ")"
}

// Asterisk reports whether the product is Asterisk or a distribution of it.
func (a Agent) Asterisk() bool { return a.Product == "Asterisk" || a.Product == "FreePBX" }

// products maps a lower-case substring of User-Agent/Server (or of the SDP
// s=/o= lines) to the product it names, most specific first.
var products = []struct {
	key, product string
	server       bool
}{
	{"freepbx", "FreePBX", true},
	{"fpbx", "FreePBX", true},
	{"asterisk", "Asterisk", true},
	{"freeswitch", "FreeSWITCH", true},
	{"kamailio", "Kamailio", true},
	{"openser", "Kamailio", true},
	{"opensips", "OpenSIPS", true},
	{"sip-router", "Kamailio", true},
	{"3cx", "3CX", true},
	{"yate", "Yate", true},
	{"sems", "SEMS", true},
	{"drachtio", "drachtio", true},
	{"broadworks", "BroadWorks", true},
	{"cisco-sipgateway", "Cisco gateway", true},
	{"cisco-cucm", "Cisco CUCM", true},
	{"audiocodes", "AudioCodes", true},
	{"acme packet", "Oracle SBC", true},
	{"ribbon", "Ribbon SBC", true},
	{"sonus", "Ribbon SBC", true},
	{"mitel", "Mitel", true},
	{"avaya", "Avaya", true},
	{"rtpengine", "rtpengine", true},
	{"baresip", "baresip", false},
	{"linphone", "Linphone", false},
	{"yealink", "Yealink", false},
	{"polycom", "Polycom", false},
	{"poly ", "Polycom", false},
	{"grandstream", "Grandstream", false},
	{"snom", "snom", false},
	{"microsip", "MicroSIP", false},
	{"zoiper", "Zoiper", false},
	{"bria", "Bria", false},
	{"x-lite", "X-Lite", false},
	{"jitsi", "Jitsi", false},
	{"sipp", "SIPp", false},
	{"pjsua", "pjsua", false},
	{"cisco", "Cisco", false},
}

// Identify recognises a product from a User-Agent or Server value.
func Identify(header string) Agent {
	a := Agent{Header: header}
	lower := strings.ToLower(header)
	for _, p := range products {
		i := strings.Index(lower, p.key)
		if i < 0 {
			continue
		}
		a.Product, a.Server = p.product, p.server
		a.Version = versionAfter(header[i+len(p.key):])
		break
	}
	return a
}

// versionAfter returns the first version-like token in s: digits and dots
// with at least one dot, after a space, dash, slash, parenthesis or 'v'
// ("Asterisk PBX 20.9.3", "Asterisk-20.9.3-ast1", "baresip v1.0.0").
func versionAfter(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '-' || r == '/' || r == '(' || r == ')' || r == '_'
	})
	for i, f := range fields {
		if i >= 6 {
			break
		}
		f = strings.TrimPrefix(strings.TrimPrefix(f, "v"), "V")
		end := 0
		for end < len(f) && (f[end] >= '0' && f[end] <= '9' || f[end] == '.') {
			end++
		}
		if v := strings.Trim(f[:end], "."); end > 0 && f[0] != '.' && strings.Contains(v, ".") {
			return v
		}
	}
	return ""
}

// observe refines a from one message its side sent: the header when none
// was seen yet, the stack from the fingerprints, the product from SDP when
// the headers named none.
func (a *Agent) observe(m *sip.Message, s *sdp.Session, tag string) {
	if a.Header == "" && m.UserAgent != "" {
		stack := a.Stack
		*a = Identify(m.UserAgent)
		a.Stack = stack
	}
	if a.Product == "" && s != nil {
		if p := Identify(s.Name + " " + s.OriginUser); p.Product != "" {
			a.Product, a.Server, a.Version = p.Product, p.Server, p.Version
		}
	}
	if a.Stack == "" && a.Asterisk() {
		a.Stack = asteriskStack(m, tag)
	}
}

// asteriskStack tells chan_sip from res_pjsip by what each generates:
// PJSIP branches start "z9hG4bKPj" and its tags and Call-IDs are UUIDs;
// chan_sip tags are "as" and 8 hex digits.
func asteriskStack(m *sip.Message, tag string) string {
	if m.IsRequest() && len(m.Via) > 0 && strings.HasPrefix(m.Via[0].Branch, "z9hG4bKPj") {
		return "PJSIP"
	}
	if len(tag) == 10 && strings.HasPrefix(tag, "as") && isHex(tag[2:]) {
		return "chan_sip"
	}
	if len(tag) == 36 && strings.Count(tag, "-") == 4 {
		return "PJSIP"
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
