package sip

import (
	"errors"
	"strconv"
	"strings"
)

// compact maps the compact header forms (RFC 3261 §7.3.3, and RFC 3265,
// 3515, 3841, 3892, 4028, 4474) to long names, indexed by letter - 'a'.
var compact = [26]string{
	0: "Accept-Contact", 1: "Referred-By", 2: "Content-Type",
	3: "Request-Disposition", 4: "Content-Encoding", 5: "From",
	8: "Call-ID", 9: "Reject-Contact", 10: "Supported",
	11: "Content-Length", 12: "Contact", 13: "Identity-Info",
	14: "Event", 17: "Refer-To", 18: "Subject", 19: "To",
	20: "Allow-Events", 21: "Via", 23: "Session-Expires",
	24: "Identity",
}

// canonical spells well-known headers the way their RFCs do, keyed by the
// lower-case name.
var canonical = map[string]string{}

// multiValued lists the headers whose grammar is a comma-separated list
// (RFC 3261 §7.3.1), so that repeated headers and comma lists are the same
// thing. WWW-Authenticate, Authorization and their Proxy- forms are not:
// their values contain commas that do not separate values.
var multiValued = map[string]bool{}

func init() {
	for _, n := range []string{
		"Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info",
		"Allow", "Allow-Events", "Authentication-Info", "Authorization", "Call-ID",
		"Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Type", "CSeq", "Date",
		"Diversion", "Error-Info", "Event", "Expires", "From", "History-Info",
		"Identity", "Identity-Info", "In-Reply-To", "Max-Forwards", "MIME-Version",
		"Min-Expires", "Min-SE", "Organization", "P-Asserted-Identity",
		"P-Associated-URI", "P-Preferred-Identity", "Path", "Priority", "Privacy",
		"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck",
		"Reason", "Record-Route", "Refer-To", "Referred-By", "Reject-Contact",
		"Remote-Party-ID", "Replaces", "Reply-To", "Request-Disposition", "Require",
		"Retry-After", "Route", "RSeq", "Security-Client", "Security-Server",
		"Security-Verify", "Server", "Service-Route", "Session-Expires", "Subject",
		"Subscription-State", "Supported", "Timestamp", "To", "Unsupported",
		"User-Agent", "Via", "Warning", "WWW-Authenticate", "X-Asterisk-HangupCause",
	} {
		canonical[strings.ToLower(n)] = n
	}
	for _, n := range []string{
		"Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info",
		"Allow", "Allow-Events", "Call-Info", "Contact", "Content-Encoding",
		"Content-Language", "Diversion", "Error-Info", "History-Info", "In-Reply-To",
		"P-Asserted-Identity", "P-Associated-URI", "P-Preferred-Identity", "Path",
		"Proxy-Require", "Reason", "Record-Route", "Reject-Contact", "Request-Disposition",
		"Require", "Route", "Security-Client", "Security-Server", "Security-Verify",
		"Service-Route", "Supported", "Unsupported", "Via", "Warning",
	} {
		multiValued[n] = true
	}
}

// maxNameLen bounds the names looked up in the canonical table without
// allocating; longer names are never well-known ones.
const maxNameLen = 32

// CanonicalName returns the long, canonically spelled form of a header name:
// "i" and "call-id" both become "Call-ID". Unknown names get each
// dash-separated word capitalised, as net/textproto does. Well-known names
// cost no allocation.
func CanonicalName(name string) string {
	name = trimWS(name)
	if len(name) == 1 {
		if c := name[0] | 0x20; c >= 'a' && c <= 'z' && compact[c-'a'] != "" {
			return compact[c-'a']
		}
	}
	if len(name) <= maxNameLen {
		var buf [maxNameLen]byte
		for i := 0; i < len(name); i++ {
			buf[i] = lower(name[i])
		}
		if c, ok := canonical[string(buf[:len(name)])]; ok {
			return c
		}
	}
	return titleCase(name)
}

// titleCase capitalises each dash-separated word, returning name itself
// when it already is.
func titleCase(name string) string {
	up := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if up && c >= 'a' && c <= 'z' || !up && c >= 'A' && c <= 'Z' {
			return titleCaseCopy(name)
		}
		up = c == '-'
	}
	return name
}

func titleCaseCopy(name string) string {
	b := []byte(name)
	up := true
	for i, c := range b {
		switch {
		case up && c >= 'a' && c <= 'z':
			b[i] = c - 0x20
		case !up && c >= 'A' && c <= 'Z':
			b[i] = c + 0x20
		}
		up = c == '-'
	}
	return string(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 0x20
	}
	return c
}

func isWS(c byte) bool { return c == ' ' || c == '\t' }

func trimWS(s string) string {
	for len(s) > 0 && isWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// isTokenChar reports whether c may appear in an RFC 3261 §25.1 token.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// SplitList splits a comma-separated header value into its trimmed items.
// Commas inside quoted strings (with backslash escapes) and inside angle
// brackets do not split.
func SplitList(v string) []string {
	var out []string
	for i := 0; i < len(v); {
		var item string
		item, i = nextItem(v, i)
		if item != "" {
			out = append(out, item)
		}
	}
	return out
}

// nextItem returns the comma-separated item of v that starts at i, trimmed,
// and the index after its comma.
func nextItem(v string, i int) (string, int) {
	start, depth, quoted := i, 0, false
	for ; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			switch c {
			case '\\':
				i++
			case '"':
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '<':
			depth++
		case c == '>':
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			return trimWS(v[start:i]), i + 1
		}
	}
	return trimWS(v[start:]), len(v)
}

// nextParam reads the ;-separated parameter of s that starts at i:
// name, value (quotes removed) and whether it had "=". It returns the index
// after the parameter's semicolon. Semicolons inside quoted strings do not
// separate parameters.
func nextParam(s string, i int) (name, value string, hasValue bool, next int) {
	start, quoted := i, false
	for ; i < len(s); i++ {
		c := s[i]
		if quoted {
			switch c {
			case '\\':
				i++
			case '"':
				quoted = false
			}
			continue
		}
		if c == '"' {
			quoted = true
		} else if c == ';' {
			break
		}
	}
	end := min(i, len(s))
	p := s[start:end]
	next = end + 1
	name, value, hasValue = strings.Cut(p, "=")
	name, value = trimWS(name), trimWS(value)
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = unquote(value[1 : len(value)-1])
	}
	return name, value, hasValue, next
}

// unquote resolves the backslash escapes of a quoted-string's content
// (RFC 3261 §25.1 quoted-pair).
func unquote(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}

// Param returns the value of the named ;parameter in s (name compared
// case-insensitively, surrounding quotes removed), or "" when it is absent
// or has no value. s may be a whole header value: text before the first
// semicolon is not taken for a parameter unless it has the form name=value.
func Param(s, name string) string {
	v, _ := param(s, name)
	return v
}

func param(s, name string) (string, bool) {
	for i := 0; i < len(s); {
		var k, v string
		k, v, _, i = nextParam(s, i)
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// NameAddr is a From, To, Contact, Route or similar value
// (RFC 3261 §20.10, name-addr or addr-spec) with its tag.
type NameAddr struct {
	Display string // display name, unquoted
	URI     string // the URI inside the angle brackets, or the bare addr-spec
	Tag     string // tag parameter (RFC 3261 §19.3)
	Raw     string // the whole value as it appeared
}

// User returns the user part of the URI ("alice" in sip:alice@host).
func (n NameAddr) User() string { return URIUser(n.URI) }

// String formats the display name, URI and tag as a name-addr; other
// parameters of Raw are not included.
func (n NameAddr) String() string {
	var b strings.Builder
	if n.Display != "" {
		b.WriteByte('"')
		for i := 0; i < len(n.Display); i++ {
			if c := n.Display[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(n.Display[i])
		}
		b.WriteString(`" `)
	}
	b.WriteByte('<')
	b.WriteString(n.URI)
	b.WriteByte('>')
	if n.Tag != "" {
		b.WriteString(";tag=")
		b.WriteString(n.Tag)
	}
	return b.String()
}

// ParseNameAddr parses a From, To or Contact value:
// `"Alice" <sip:alice@host>;tag=1`, `Alice <sip:alice@host>` or
// `sip:alice@host;tag=1`. Without angle brackets the parameters belong to
// the header, not to the URI (RFC 3261 §20.10). A quoted display name may
// contain '<', ',' and ';'.
func ParseNameAddr(v string) NameAddr {
	n := NameAddr{Raw: v}
	s := trimWS(v)
	var params string
	rest := s
	if strings.HasPrefix(s, `"`) {
		end := closingQuote(s)
		if end < 0 {
			n.Display = unquote(s[1:])
			return n
		}
		n.Display = unquote(s[1:end])
		rest = s[end+1:]
	}
	if lt := strings.IndexByte(rest, '<'); lt >= 0 {
		if n.Display == "" {
			n.Display = trimWS(rest[:lt])
		}
		uri := rest[lt+1:]
		gt := strings.IndexByte(uri, '>')
		if gt < 0 {
			n.URI = trimWS(uri)
			return n
		}
		n.URI, params = trimWS(uri[:gt]), uri[gt+1:]
	} else {
		uri := rest
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			uri, params = rest[:i], rest[i:]
		}
		n.URI = trimWS(uri)
	}
	n.Tag = Param(params, "tag")
	return n
}

// closingQuote returns the index of the quote that ends the quoted string
// starting at s[0], or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// splitURI splits a URI into its user part and host[:port]. The user part
// stops at ':' (password) and ';' (user parameters); a tel: URI has the
// subscriber number as user and no host. Surrounding angle brackets are
// allowed.
func splitURI(uri string) (user, hostport string) {
	u := trimWS(uri)
	if strings.HasPrefix(u, "<") {
		u = u[1:]
		if i := strings.IndexByte(u, '>'); i >= 0 {
			u = u[:i]
		}
	}
	if i := strings.IndexByte(u, ':'); i > 0 && isScheme(u[:i]) {
		scheme := u[:i]
		u = u[i+1:]
		if strings.EqualFold(scheme, "tel") {
			if j := strings.IndexAny(u, ";?"); j >= 0 {
				u = u[:j]
			}
			return u, ""
		}
		u = strings.TrimPrefix(u, "//")
	}
	if at := strings.IndexByte(u, '@'); at >= 0 {
		user = u[:at]
		if j := strings.IndexAny(user, ":;"); j >= 0 {
			user = user[:j]
		}
		u = u[at+1:]
	}
	if j := strings.IndexAny(u, ";?> \t/"); j >= 0 {
		u = u[:j]
	}
	return user, u
}

// isScheme reports whether s is a URI scheme (RFC 3986 §3.1).
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// URIUser returns the user part of a sip:, sips: or similar URI ("alice"
// in sip:alice:secret@host;transport=udp), without password or user
// parameters, or the number of a tel: URI (RFC 3966). It returns "" when
// the URI has no user part.
func URIUser(uri string) string {
	u, _ := splitURI(uri)
	return u
}

// URIHost returns the host[:port] part of a URI as written, IPv6
// references keeping their brackets ("[2001:db8::1]:5060"), or "" for a
// tel: URI.
func URIHost(uri string) string {
	_, h := splitURI(uri)
	return h
}

// SplitHostPort splits "host:port", "[v6]:port", "host", "[v6]" or a bare
// IPv6 address into the host (without brackets) and the port, 0 when
// absent. Whitespace around the colon is allowed (RFC 3261 §25.1 COLON).
// ok is false when a port is present but is not a number in 1..65535.
func SplitHostPort(s string) (host string, port int, ok bool) {
	s = trimWS(s)
	var portStr string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return s, 0, false
		}
		host = s[1:end]
		rest := trimWS(s[end+1:])
		if rest == "" {
			return host, 0, true
		}
		if rest[0] != ':' {
			return host, 0, false
		}
		portStr = rest[1:]
	} else {
		i := strings.IndexByte(s, ':')
		if i < 0 || strings.IndexByte(s[i+1:], ':') >= 0 {
			return s, 0, true
		}
		host, portStr = trimWS(s[:i]), s[i+1:]
	}
	p, ok := parseDigits(trimWS(portStr), 65535)
	if !ok || p == 0 {
		return host, 0, false
	}
	return host, p, true
}

// parseDigits parses a non-empty run of decimal digits no larger than max.
func parseDigits(s string, max int) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

// Via is one Via header value (RFC 3261 §20.42).
type Via struct {
	Transport string // "UDP", "TCP", "TLS", "WS", ... upper case
	Host      string // sent-by host, IPv6 without brackets
	Port      int    // sent-by port, 0 when absent
	Branch    string
	Received  string // received= parameter (RFC 3261 §18.2.1), IPv6 without brackets
	RPort     int    // rport= value (RFC 3581), 0 when absent or empty
	HasRPort  bool   // rport present, with or without a value
}

// SentBy returns host[:port] as the Via states it, IPv6 in brackets.
func (v Via) SentBy() string {
	host := v.Host
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if v.Port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(v.Port)
}

// RFC3261Branch reports whether the branch carries the RFC 3261 magic cookie,
// which makes it usable alone as a transaction key (§17.2.3).
func (v Via) RFC3261Branch() bool { return strings.HasPrefix(v.Branch, "z9hG4bK") }

// String formats the Via as a header value that ParseVia reads back.
func (v Via) String() string {
	s := "SIP/2.0/" + v.Transport + " " + v.SentBy()
	if v.Branch != "" {
		s += ";branch=" + v.Branch
	}
	if v.Received != "" {
		s += ";received=" + v.Received
	}
	if v.HasRPort {
		s += ";rport"
		if v.RPort != 0 {
			s += "=" + strconv.Itoa(v.RPort)
		}
	}
	return s
}

// ParseVia parses one Via value: `SIP/2.0/UDP host:port;branch=...`. It
// allows whitespace around the slashes and the colon (RFC 3261 §25.1 SLASH,
// COLON), IPv6 references, parameter names in any case, rport with or
// without a value and received= with or without brackets.
func ParseVia(v string) (Via, error) {
	var via Via
	s := trimWS(v)
	name, rest, ok := strings.Cut(s, "/")
	if !ok || !isToken(trimWS(name)) {
		return via, viaError(v, "no protocol name")
	}
	version, rest, ok := strings.Cut(rest, "/")
	if !ok || !isToken(trimWS(version)) {
		return via, viaError(v, "no protocol version")
	}
	rest = trimWS(rest)
	n := 0
	for n < len(rest) && isTokenChar(rest[n]) {
		n++
	}
	if n == 0 {
		return via, viaError(v, "no transport")
	}
	via.Transport = strings.ToUpper(rest[:n])
	rest = rest[n:]
	if rest == "" || !isWS(rest[0]) {
		return via, viaError(v, "no sent-by")
	}
	sentBy, params, _ := strings.Cut(rest, ";")
	host, port, ok := SplitHostPort(sentBy)
	if !ok || host == "" || strings.ContainsAny(host, " \t") {
		return via, viaError(v, "bad sent-by")
	}
	via.Host, via.Port = host, port
	for i := 0; i < len(params); {
		var k, val string
		var hasValue bool
		k, val, hasValue, i = nextParam(params, i)
		switch {
		case strings.EqualFold(k, "branch"):
			via.Branch = val
		case strings.EqualFold(k, "received"):
			via.Received = strings.TrimSuffix(strings.TrimPrefix(val, "["), "]")
		case strings.EqualFold(k, "rport"):
			via.HasRPort = true
			if hasValue && val != "" {
				p, ok := parseDigits(val, 65535)
				if !ok {
					return via, viaError(v, "bad rport")
				}
				via.RPort = p
			}
		}
	}
	return via, nil
}

func viaError(v, why string) error {
	return errors.New("sip: Via " + quote(v) + ": " + why)
}

// quote quotes attacker-controlled text for a problem or error message,
// escaping control characters and cutting it short.
func quote(s string) string {
	const max = 60
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
