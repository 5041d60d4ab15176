package astconf

import (
	"net/netip"
	"strconv"
	"strings"
)

// Setting is one typed option value and the line that decided it.
type Setting[T any] struct {
	Value T `json:"value"`
	// Var is the deciding line: its key as written (canreinvite or
	// directmedia), raw value and source. Var.Source.Line is 0 for a
	// built-in default.
	Var Var `json:"var"`
}

// IsDefault reports whether no line set the value.
func (s Setting[T]) IsDefault() bool { return s.Var.Source.Line == 0 }

func builtin[T any](key, text string, v T) Setting[T] {
	return Setting[T]{Value: v, Var: Var{Key: key, Value: text}}
}

// isTrue and isFalse are Asterisk's ast_true and ast_false.
func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "y", "t", "1", "on":
		return true
	}
	return false
}

func isFalse(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "no", "false", "n", "f", "0", "off":
		return true
	}
	return false
}

// DTMFMode is how a peer or endpoint carries DTMF.
type DTMFMode uint8

// DTMF modes of chan_sip (dtmfmode) and pjsip (dtmf_mode). RFC 2833 and
// RFC 4733 are the same telephone-event payload.
const (
	DTMFRFC4733   DTMFMode = iota // rfc2833 / rfc4733
	DTMFInband                    // audio tones, detected by a DSP
	DTMFInfo                      // SIP INFO
	DTMFShortInfo                 // chan_sip shortinfo: SIP INFO without durations
	DTMFAuto                      // RFC 4733 if the peer offers telephone-event, else inband
	DTMFAutoInfo                  // pjsip: RFC 4733 if offered, else SIP INFO
	DTMFNone                      // pjsip none
)

var dtmfNames = [...]string{"rfc4733", "inband", "info", "shortinfo", "auto", "auto_info", "none"}

func (m DTMFMode) String() string {
	if int(m) < len(dtmfNames) {
		return dtmfNames[m]
	}
	return "unknown"
}

func parseDTMF(s string) (DTMFMode, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "rfc2833", "rfc4733":
		return DTMFRFC4733, true
	case "inband":
		return DTMFInband, true
	case "info":
		return DTMFInfo, true
	case "shortinfo":
		return DTMFShortInfo, true
	case "auto":
		return DTMFAuto, true
	case "auto_info":
		return DTMFAutoInfo, true
	case "none":
		return DTMFNone, true
	}
	return DTMFRFC4733, false
}

// ACLRule is one permit or deny line (directmediapermit, directmediadeny).
type ACLRule struct {
	Permit bool         `json:"permit"`
	Prefix netip.Prefix `json:"prefix"`
	Negate bool         `json:"negate,omitempty"` // "!addr": the rule applies to addresses outside Prefix
	Var    Var          `json:"var"`
}

// ACL is an ordered list of rules evaluated as ast_apply_ha: the last rule
// that matches decides, and an address no rule matches is permitted.
type ACL []ACLRule

// Permits reports whether the ACL lets addr through, and the deciding rule
// (nil when no rule matched).
func (a ACL) Permits(addr netip.Addr) (bool, *ACLRule) {
	addr = addr.Unmap()
	ok := true
	var by *ACLRule
	for i := range a {
		r := &a[i]
		if r.Prefix.Addr().Is4() != addr.Is4() {
			continue
		}
		if r.Prefix.Contains(addr) != r.Negate {
			ok, by = r.Permit, r
		}
	}
	return ok, by
}

// parsePrefix reads "addr", "addr/bits" or "addr/dotted.mask".
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	a, m, hasMask := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(strings.Trim(a, "[]"))
	if err != nil {
		return netip.Prefix{}, false
	}
	addr = addr.Unmap()
	if !hasMask {
		return netip.PrefixFrom(addr, addr.BitLen()), true
	}
	if bits, err := strconv.Atoi(m); err == nil {
		p, err := addr.Prefix(bits)
		return p, err == nil
	}
	mask, err := netip.ParseAddr(m)
	if err != nil || !mask.Is4() || !addr.Is4() {
		return netip.Prefix{}, false
	}
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return netip.Prefix{}, false
	}
	p, err := addr.Prefix(bits)
	return p, err == nil
}

// parseHostPort reads "addr", "addr:port", "[v6]" or "[v6]:port"; other
// text is a host name. port is 0 when not given.
func parseHostPort(s string) (addr netip.Addr, name string, port uint16) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), "", ap.Port()
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), "", 0
	}
	host := s
	if h, p, ok := strings.Cut(s, ":"); ok && !strings.Contains(p, ":") {
		if n, err := strconv.ParseUint(p, 10, 16); err == nil {
			host, port = h, uint16(n)
		}
	}
	return netip.Addr{}, strings.ToLower(host), port
}

// splitList splits a comma-separated option value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
