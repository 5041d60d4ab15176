package filter

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// dir is a direction qualifier.
type dir uint8

const (
	dirSrcOrDst dir = iota // the default
	dirSrc
	dirDst
	dirSrcAndDst
)

// qual is the qualifiers of a primitive: "udp src port" is proto "udp",
// dir src, typ "port". An identifier written alone takes the qualifiers
// of the primitive before it ("port 5060 or 5061").
type qual struct {
	proto string // "", ip, ip6, arp, rarp, tcp, udp, sctp
	dir   dir
	typ   string // "", host, net, port, portrange, proto
	valid bool   // false when nothing can be inherited
}

// Limits that keep compiling bounded on any input.
const (
	maxExprLen = 16 << 10
	maxNesting = 100
)

var (
	protoQualifiers = map[string]bool{"ip": true, "ip6": true, "arp": true, "rarp": true, "tcp": true, "udp": true, "sctp": true}
	typeQualifiers  = map[string]bool{"host": true, "net": true, "port": true, "portrange": true, "proto": true}
	// keywords can never be an identifier.
	keywords = map[string]bool{
		"ip": true, "ip6": true, "arp": true, "rarp": true, "tcp": true, "udp": true, "sctp": true,
		"icmp": true, "icmp6": true, "host": true, "net": true, "port": true, "portrange": true,
		"proto": true, "src": true, "dst": true, "vlan": true, "less": true, "greater": true, "mask": true,
	}
	// unsupported lists libpcap keywords this compiler does not have, so
	// that the error says so instead of calling them unknown words.
	unsupported = map[string]bool{
		"ether": true, "gateway": true, "broadcast": true, "multicast": true, "inbound": true,
		"outbound": true, "mpls": true, "pppoed": true, "pppoes": true, "geneve": true, "vxlan": true,
		"len": true, "protochain": true, "igmp": true, "igrp": true, "pim": true, "vrrp": true,
		"carp": true, "ah": true, "esp": true, "atalk": true, "aarp": true, "decnet": true, "iso": true,
		"stp": true, "ipx": true, "netbeui": true, "lat": true, "moprc": true, "mopdl": true,
		"wlan": true, "link": true, "ppp": true, "slip": true, "fddi": true, "tr": true, "radio": true,
		"llc": true, "ifname": true, "on": true, "rnr": true, "rulenum": true, "reason": true,
		"rset": true, "ruleset": true, "srnr": true, "subrulenum": true, "action": true, "type": true,
		"subtype": true, "ra": true, "ta": true, "addr1": true, "addr2": true, "addr3": true,
		"addr4": true, "dir": true, "clnp": true, "esis": true, "isis": true, "hopopt": true,
		"ip6multicast": true, "ip6protochain": true,
	}
)

type parser struct {
	toks  []token
	i     int
	g     *gen
	last  qual
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// parse compiles a whole expression into a condition. and and or have
// the same precedence and group from the left; not binds tighter; as in
// pcap-filter(7).
func parse(expr string, g *gen) (*node, error) {
	if len(expr) > maxExprLen {
		return nil, errorAt(maxExprLen, "expression longer than %d bytes", maxExprLen)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, g: g}
	if p.peek().kind == tEOF {
		return nodeTrue, nil
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errorAt(t.pos, "unexpected %s", t)
	}
	return n, nil
}

func (p *parser) expr() (*node, error) {
	n, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek().kind
		if op != tAnd && op != tOr {
			return n, nil
		}
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		if op == tAnd {
			n = and(n, r)
		} else {
			n = or(n, r)
		}
	}
}

func (p *parser) unary() (*node, error) {
	t := p.peek()
	switch t.kind {
	case tNot, tLParen:
		if p.depth >= maxNesting {
			return nil, errorAt(t.pos, "nested more than %d deep", maxNesting)
		}
		p.depth++
		defer func() { p.depth-- }()
		p.next()
		if t.kind == tNot {
			n, err := p.unary()
			if err != nil {
				return nil, err
			}
			return not(n), nil
		}
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, errorAt(c.pos, "expected \")\" to close the \"(\" at column %d, found %s", t.pos+1, c)
		}
		return n, nil
	case tWord:
		return p.primitive()
	}
	return nil, errorAt(t.pos, "expected a primitive, found %s", t)
}

func (p *parser) primitive() (*node, error) {
	t := p.peek()
	w := t.text
	switch w {
	case "vlan":
		return p.vlan()
	case "less", "greater":
		p.next()
		a := p.next()
		n, err := number(a, 0xffffffff)
		if err != nil {
			return nil, err
		}
		p.last = qual{}
		return length(w == "greater", n), nil
	case "icmp":
		p.next()
		p.last = qual{}
		return p.g.transport(protoICMP, true, false), nil
	case "icmp6":
		p.next()
		p.last = qual{}
		return p.g.transport(protoICMPv6, false, true), nil
	}
	if unsupported[w] {
		return nil, errorAt(t.pos, "%q is not supported (see the package documentation for the expressions that are)", w)
	}

	var q qual
	explicit := false
	if protoQualifiers[w] {
		n := p.peekAt(1)
		if n.kind != tWord || !(typeQualifiers[n.text] || n.text == "src" || n.text == "dst") {
			p.next()
			p.last = qual{}
			return p.protoAbbrev(w), nil
		}
		q.proto = w
		p.next()
		explicit = true
	}
	if w := p.peek().text; p.peek().kind == tWord && (w == "src" || w == "dst") {
		q.dir = p.direction()
		explicit = true
	}
	if w := p.peek().text; p.peek().kind == tWord && typeQualifiers[w] {
		q.typ = w
		p.next()
		explicit = true
	}
	id := p.peek()
	if id.kind != tWord || keywords[id.text] {
		if explicit {
			return nil, errorAt(id.pos, "expected an address, number or name, found %s", id)
		}
		return nil, errorAt(id.pos, "expected a primitive, found %s", id)
	}
	if !explicit {
		if !p.last.valid {
			if isName(id.text) {
				return nil, errorAt(id.pos, "unknown word %q", id.text)
			}
			return nil, errorAt(id.pos, "%q needs a qualifier such as host, net or port", id.text)
		}
		q = p.last
	}
	q.valid = true
	p.next()
	n, err := p.id(q, id)
	if err != nil {
		return nil, err
	}
	p.last = q
	return n, nil
}

// isName reports whether a bare word is a name rather than a
// number or address.
func isName(w string) bool {
	c := w[0]
	return ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') && !strings.Contains(w, ":")
}

// direction parses src, dst, "src or dst" and "src and dst" (either
// order).
func (p *parser) direction() dir {
	first := p.next().text
	other := "dst"
	d := dirSrc
	if first == "dst" {
		other, d = "src", dirDst
	}
	op, w := p.peek(), p.peekAt(1)
	if (op.kind == tOr || op.kind == tAnd) && w.kind == tWord && w.text == other {
		p.next()
		p.next()
		if op.kind == tOr {
			return dirSrcOrDst
		}
		return dirSrcAndDst
	}
	return d
}

func (p *parser) protoAbbrev(w string) *node {
	switch w {
	case "ip":
		return p.g.etherProto(etherIPv4)
	case "ip6":
		return p.g.etherProto(etherIPv6)
	case "arp":
		return p.g.etherProto(etherARP)
	case "rarp":
		return p.g.etherProto(etherRARP)
	case "tcp":
		return p.g.transport(protoTCP, true, true)
	case "udp":
		return p.g.transport(protoUDP, true, true)
	}
	return p.g.transport(protoSCTP, true, true)
}

func (p *parser) vlan() (*node, error) {
	t := p.next()
	if !p.g.socket && p.g.link != linkEthernet {
		return nil, errorAt(t.pos, "no VLAN support for %s", p.g.link)
	}
	id := -1
	if a := p.peek(); a.kind == tWord && a.text[0] >= '0' && a.text[0] <= '9' {
		p.next()
		n, err := number(a, 0xffffffff)
		if err != nil {
			return nil, err
		}
		if n > 4095 {
			return nil, errorAt(a.pos, "VLAN ID %d greater than maximum 4095", n)
		}
		id = int(n)
	}
	p.last = qual{}
	return p.g.vlan(id), nil
}

// id compiles an identifier under its qualifiers.
func (p *parser) id(q qual, t token) (*node, error) {
	if q.dir != dirSrcOrDst && q.typ == "proto" {
		return nil, errorAt(t.pos, "a direction cannot qualify proto")
	}
	switch q.typ {
	case "port", "portrange":
		switch q.proto {
		case "", "tcp", "udp", "sctp":
		default:
			return nil, errorAt(t.pos, "illegal qualifier of '%s': '%s'", q.typ, q.proto)
		}
		lo, hi, err := portRange(t, q)
		if err != nil {
			return nil, err
		}
		return p.g.ports(q, lo, hi), nil
	case "proto":
		switch q.proto {
		case "", "ip", "ip6":
		default:
			return nil, errorAt(t.pos, "'%s' cannot qualify proto", q.proto)
		}
		n, err := protoNumber(t)
		if err != nil {
			return nil, err
		}
		return p.g.transport(n, q.proto != "ip6", q.proto != "ip"), nil
	}
	switch q.proto {
	case "", "ip", "ip6", "arp", "rarp":
	default:
		return nil, errorAt(t.pos, "'%s' modifier applied to %s", q.proto, orDefault(q.typ, "host"))
	}
	return p.address(q, t)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// address compiles host and net primitives.
func (p *parser) address(q qual, t token) (*node, error) {
	w := t.text
	isNet := q.typ == "net" || (q.typ == "" && strings.Contains(w, "/"))
	if q.typ == "host" && strings.Contains(w, "/") {
		return nil, errorAt(t.pos, "mask syntax for networks only")
	}
	if strings.Contains(w, ":") {
		pfx, err := ipv6Prefix(t)
		if err != nil {
			return nil, err
		}
		if q.proto != "" && q.proto != "ip6" {
			return nil, errorAt(t.pos, "'%s' modifier applied to ip6 %s", q.proto, orDefault(q.typ, "host"))
		}
		return p.g.host6(q, pfx), nil
	}
	if q.proto == "ip6" {
		return nil, errorAt(t.pos, "'ip6' modifier applied to ip %s", orDefault(q.typ, "host"))
	}
	if !isNet {
		a, err := netip.ParseAddr(w)
		if err != nil || !a.Is4() {
			if isName(w) {
				return nil, errorAt(t.pos, "%q is not an IP address (host names are not resolved)", w)
			}
			return nil, errorAt(t.pos, "%q is not an IP address", w)
		}
		b := a.As4()
		return p.g.host4(q, be32(b), 0xffffffff), nil
	}
	addr, mask, err := ipv4Net(t)
	if err != nil {
		return nil, err
	}
	if m := p.peek(); m.kind == tWord && m.text == "mask" {
		if strings.Contains(w, "/") {
			return nil, errorAt(m.pos, "both a /length and a mask")
		}
		p.next()
		mt := p.next()
		ma, err := netip.ParseAddr(mt.text)
		if mt.kind != tWord || err != nil || !ma.Is4() {
			return nil, errorAt(mt.pos, "expected an IPv4 netmask after mask, found %s", mt)
		}
		b := ma.As4()
		mask = be32(b)
	}
	if addr&^mask != 0 {
		return nil, errorAt(t.pos, "non-network bits set in %q", w)
	}
	return p.g.host4(q, addr&mask, mask), nil
}

func be32(b [4]byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// ipv4Net parses "a.b.c.d", the class-style abbreviations "a", "a.b",
// "a.b.c" (a /8, /16, /24 as in libpcap), each optionally with "/len".
func ipv4Net(t token) (addr, mask uint32, err error) {
	w, lenStr, hasLen := strings.Cut(t.text, "/")
	parts := strings.Split(w, ".")
	if len(parts) > 4 || w == "" {
		return 0, 0, errorAt(t.pos, "%q is not an IPv4 network", t.text)
	}
	for i, s := range parts {
		v, err := strconv.ParseUint(s, 10, 8)
		if err != nil || s == "" {
			return 0, 0, errorAt(t.pos, "%q is not an IPv4 network", t.text)
		}
		addr |= uint32(v) << (24 - 8*i)
	}
	bits := 8 * len(parts)
	if hasLen {
		v, err := strconv.ParseUint(lenStr, 10, 8)
		if err != nil || v > 32 {
			return 0, 0, errorAt(t.pos, "bad prefix length in %q", t.text)
		}
		bits = int(v)
	}
	if bits > 0 {
		mask = ^uint32(0) << (32 - bits)
	}
	return addr, mask, nil
}

func ipv6Prefix(t token) (netip.Prefix, error) {
	w := t.text
	if strings.Contains(w, "%") {
		return netip.Prefix{}, errorAt(t.pos, "zoned address %q", w)
	}
	if !strings.Contains(w, "/") {
		a, err := netip.ParseAddr(w)
		if err != nil || !a.Is6() {
			return netip.Prefix{}, errorAt(t.pos, "%q is not an IPv6 address", w)
		}
		return netip.PrefixFrom(a, 128), nil
	}
	pfx, err := netip.ParsePrefix(w)
	if err != nil || !pfx.Addr().Is6() {
		return netip.Prefix{}, errorAt(t.pos, "%q is not an IPv6 prefix", w)
	}
	if pfx.Masked() != pfx {
		return netip.Prefix{}, errorAt(t.pos, "non-network bits set in %q", w)
	}
	return pfx, nil
}

// number parses an unsigned number the way libpcap does: 0x hexadecimal,
// a leading 0 octal, else decimal.
func number(t token, max uint64) (uint32, error) {
	if t.kind != tWord {
		return 0, errorAt(t.pos, "expected a number, found %s", t)
	}
	s, base := t.text, 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	v, err := strconv.ParseUint(s, base, 32)
	if err != nil || v > max {
		return 0, errorAt(t.pos, "%q is not a number up to %d", t.text, max)
	}
	return uint32(v), nil
}

// portRange parses "N" for port, "A-B" for portrange (either order), where
// each side is a number or a service name from the system's services
// database.
func portRange(t token, q qual) (lo, hi uint16, err error) {
	if q.typ == "port" {
		v, err := port(t, t.text, q.proto)
		return v, v, err
	}
	w := t.text
	for i := 1; i < len(w)-1; i++ {
		if w[i] != '-' {
			continue
		}
		a, err1 := port(t, w[:i], q.proto)
		b, err2 := port(t, w[i+1:], q.proto)
		if err1 == nil && err2 == nil {
			if a > b {
				a, b = b, a
			}
			return a, b, nil
		}
	}
	return 0, 0, errorAt(t.pos, "%q is not a port range like 10000-20000", w)
}

func port(t token, s, proto string) (uint16, error) {
	if s == "" {
		return 0, errorAt(t.pos, "empty port in %q", t.text)
	}
	if c := s[0]; '0' <= c && c <= '9' {
		v, err := number(token{kind: tWord, text: s, pos: t.pos}, 65535)
		return uint16(v), err
	}
	var found []int
	for _, network := range []string{"tcp", "udp"} {
		if proto != "" && proto != "sctp" && proto != network {
			continue
		}
		if v, err := net.LookupPort(network, s); err == nil {
			found = append(found, v)
		}
	}
	switch {
	case len(found) == 0:
		return 0, errorAt(t.pos, "unknown port name %q", s)
	case len(found) == 2 && found[0] != found[1]:
		return 0, errorAt(t.pos, "port name %q is %d for tcp and %d for udp; give the number", s, found[0], found[1])
	}
	return uint16(found[0]), nil
}

// protoNumber parses the argument of proto: a number or an escaped name
// (\tcp, \udp, \sctp, \icmp, \icmp6), as in pcap-filter(7).
func protoNumber(t token) (uint8, error) {
	names := map[string]uint8{"icmp": protoICMP, "tcp": protoTCP, "udp": protoUDP, "sctp": protoSCTP, "icmp6": protoICMPv6}
	if strings.HasPrefix(t.text, "\\") {
		if v, ok := names[t.text[1:]]; ok {
			return v, nil
		}
		return 0, errorAt(t.pos, "unknown protocol %q", t.text)
	}
	v, err := number(t, 255)
	return uint8(v), err
}

// Error is an expression that does not compile. Pos is the byte offset in
// Expr where the problem is.
type Error struct {
	Expr string
	Pos  int
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("filter %s: column %d: %s", excerpt(e.Expr, e.Pos), e.Pos+1, e.Msg)
}

// excerpt quotes an expression for an error message, only around pos
// when it is long.
func excerpt(expr string, pos int) string {
	const side = 40
	if len(expr) <= 2*side+20 {
		return strconv.Quote(expr)
	}
	from, to := max(pos-side, 0), min(pos+side, len(expr))
	s := strconv.Quote(expr[from:to])
	if from > 0 {
		s = "..." + s
	}
	if to < len(expr) {
		s += "..."
	}
	return s
}

// errorAt makes an Error whose Expr the caller fills in.
func errorAt(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
