package filter

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

type namedPkt struct {
	name string
	p    pkt
}

// corpus is the packets the primitive tests run over: each case lists the
// ones its expression must accept, and every other one must be rejected.
var corpus = []namedPkt{
	{"udp4", pkt{src: "10.0.0.1", dst: "10.0.0.2", proto: protoUDP, sport: 5060, dport: 5080}},
	{"rtp4", pkt{src: "10.0.0.2", dst: "192.168.1.10", proto: protoUDP, sport: 10002, dport: 20000, payload: 172}},
	{"tcp4", pkt{src: "192.168.1.10", dst: "10.0.0.1", proto: protoTCP, sport: 5061, dport: 40000}},
	{"sctp4", pkt{src: "10.0.0.1", dst: "172.16.5.4", proto: protoSCTP, sport: 5060, dport: 2905}},
	{"icmp4", pkt{src: "10.0.0.1", dst: "10.0.0.2", proto: protoICMP}},
	{"opts4", pkt{src: "10.0.0.1", dst: "10.0.0.2", proto: protoUDP, sport: 5070, dport: 5080, options: 8}},
	{"frag4first", pkt{src: "10.0.0.1", dst: "10.0.0.2", proto: protoUDP, sport: 5060, dport: 6000, more: true, payload: 64}},
	{"frag4later", pkt{src: "10.0.0.1", dst: "10.0.0.2", proto: protoUDP, sport: 5060, dport: 6000, fragOff: 185, payload: 64}},
	{"udp6", pkt{src: "2001:db8::1", dst: "2001:db8::2", proto: protoUDP, sport: 5060, dport: 5062}},
	{"tcp6", pkt{src: "2001:db8:1::5", dst: "fe80::1", proto: protoTCP, sport: 443, dport: 10500}},
	{"frag6", pkt{src: "2001:db8::1", dst: "2001:db8::2", proto: protoUDP, sport: 5060, dport: 5062, v6frag: true, more: true}},
	{"icmp6", pkt{src: "2001:db8::2", dst: "2001:db8::1", proto: protoICMPv6}},
	{"arp", pkt{arp: etherARP, src: "10.0.0.1", dst: "10.0.0.2"}},
	{"rarp", pkt{arp: etherRARP, src: "192.168.1.10", dst: "172.16.5.4"}},
	{"vlan100", pkt{tags: []uint32{ether8021Q<<16 | 100}, src: "10.0.0.1", dst: "10.0.0.2", proto: protoUDP, sport: 5060, dport: 5080}},
	{"vlan200v6", pkt{tags: []uint32{ether8021Q<<16 | 0xa000 | 200}, src: "2001:db8::1", dst: "2001:db8::2", proto: protoUDP, sport: 5060, dport: 5062}},
	{"qinq", pkt{tags: []uint32{ether8021AD<<16 | 10, ether8021Q<<16 | 100}, src: "10.0.0.1", dst: "10.0.0.2", proto: protoUDP, sport: 5060, dport: 5080}},
	{"cut4", pkt{src: "10.0.0.3", dst: "10.0.0.4", proto: protoUDP, sport: 5060, dport: 5080, cut: 22}},
}

var allIPv4 = []string{"udp4", "rtp4", "tcp4", "sctp4", "icmp4", "opts4", "frag4first", "frag4later", "cut4"}

// primitiveCases pairs expressions with the corpus packets they accept.
var primitiveCases = []struct {
	expr string
	want []string
}{
	{"", names(corpus)},
	{"udp", []string{"udp4", "rtp4", "opts4", "frag4first", "frag4later", "udp6", "frag6"}},
	{"tcp", []string{"tcp4", "tcp6"}},
	{"sctp", []string{"sctp4"}},
	{"icmp", []string{"icmp4"}},
	{"icmp6", []string{"icmp6"}},
	{"ip", allIPv4},
	{"ip6", []string{"udp6", "tcp6", "frag6", "icmp6"}},
	{"arp", []string{"arp"}},
	{"rarp", []string{"rarp"}},
	{"proto 17", []string{"udp4", "rtp4", "opts4", "frag4first", "frag4later", "udp6", "frag6"}},
	{"ip proto 6", []string{"tcp4"}},
	{"ip6 proto \\udp", []string{"udp6", "frag6"}},
	{"host 10.0.0.1", []string{"udp4", "tcp4", "sctp4", "icmp4", "opts4", "frag4first", "frag4later", "arp"}},
	{"ip host 10.0.0.1", []string{"udp4", "tcp4", "sctp4", "icmp4", "opts4", "frag4first", "frag4later"}},
	{"arp host 10.0.0.1", []string{"arp"}},
	{"src host 10.0.0.1", []string{"udp4", "sctp4", "icmp4", "opts4", "frag4first", "frag4later", "arp"}},
	{"dst host 10.0.0.1", []string{"tcp4"}},
	{"src and dst host 10.0.0.1", nil},
	{"src or dst host 192.168.1.10", []string{"rtp4", "tcp4", "rarp"}},
	{"host 2001:db8::1", []string{"udp6", "frag6", "icmp6"}},
	{"src host 2001:db8::1", []string{"udp6", "frag6"}},
	{"ip6 dst host fe80::1", []string{"tcp6"}},
	{"net 10.0.0.0/8", []string{"udp4", "rtp4", "tcp4", "sctp4", "icmp4", "opts4", "frag4first", "frag4later", "arp"}},
	{"net 192.168.0.0 mask 255.255.0.0", []string{"rtp4", "tcp4", "rarp"}},
	{"net 192.168", []string{"rtp4", "tcp4", "rarp"}},
	{"dst net 172.16.0.0/12", []string{"sctp4", "rarp"}},
	{"net 2001:db8::/32", []string{"udp6", "tcp6", "frag6", "icmp6"}},
	{"net 2001:db8::/48", []string{"udp6", "frag6", "icmp6"}},
	{"ip6 net fe80::/10", []string{"tcp6"}},
	{"port 5060", []string{"udp4", "sctp4", "frag4first", "udp6"}},
	{"udp port 5060", []string{"udp4", "frag4first", "udp6"}},
	{"tcp port 5061", []string{"tcp4"}},
	{"sctp port 5060", []string{"sctp4"}},
	{"src port 5060", []string{"udp4", "sctp4", "frag4first", "udp6"}},
	{"dst port 5080", []string{"udp4", "opts4"}},
	{"port 5070", []string{"opts4"}},
	{"port 6000", []string{"frag4first"}},
	{"portrange 10000-20000", []string{"rtp4", "tcp6"}},
	{"udp portrange 20000-10000", []string{"rtp4"}},
	{"dst portrange 5061-5062", []string{"udp6"}},
	{"tcp dst portrange 39999-40001", []string{"tcp4"}},
	{"port 5060 or 5061", []string{"udp4", "sctp4", "frag4first", "udp6", "tcp4"}},
	{"udp port 5060 or 5080", []string{"udp4", "frag4first", "udp6", "opts4"}},
	{"udp port 5060 || 5080", []string{"udp4", "frag4first", "udp6", "opts4"}},
	{"host 10.0.0.1 or 2001:db8::1", []string{"udp4", "tcp4", "sctp4", "icmp4", "opts4", "frag4first", "frag4later", "arp", "udp6", "frag6", "icmp6"}},
	{"not host 10.0.0.1 and 10.0.0.2", []string{"rtp4"}},
	{"host 10.0.0.2 and (192.168.1.10 or 172.16.5.4)", []string{"rtp4"}},
	{"tcp or udp and not port 5060", []string{"tcp4", "tcp6", "rtp4", "opts4", "frag4later", "frag6"}},
	{"!(udp || tcp)", []string{"sctp4", "icmp4", "icmp6", "arp", "rarp", "vlan100", "vlan200v6", "qinq"}},
	{"udp && !ip6", []string{"udp4", "rtp4", "opts4", "frag4first", "frag4later"}},
	{"vlan", []string{"vlan100", "vlan200v6", "qinq"}},
	{"vlan 100", []string{"vlan100"}},
	{"vlan 10 and vlan 100", []string{"qinq"}},
	{"vlan and udp port 5060", []string{"vlan100", "vlan200v6"}},
	{"vlan and vlan and udp", []string{"qinq"}},
	{"vlan 200 and ip6", []string{"vlan200v6"}},
	{"vlan and host 10.0.0.1", []string{"vlan100"}},
	// libpcap's rule: a vlan keyword moves every later primitive, even
	// across or.
	{"udp or vlan and udp", []string{"vlan100", "vlan200v6"}},
}

func TestCompileMatchesPrimitives(t *testing.T) {
	for _, c := range primitiveCases {
		for _, link := range []uint16{linktypeEthernet, linktypeSLL, linktypeSLL2, linktypeRaw, linktypeIPv4, linktypeIPv6} {
			prog, err := Compile(c.expr, link, 0)
			if strings.Contains(c.expr, "vlan") && link != linktypeEthernet {
				if err == nil {
					t.Errorf("Compile(%q, %d) = nil error, want no VLAN support", c.expr, link)
				}
				continue
			}
			if err != nil {
				t.Errorf("Compile(%q, %d): %v", c.expr, link, err)
				continue
			}
			for _, n := range corpus {
				if link != linktypeEthernet && len(n.p.tags) > 0 {
					continue
				}
				data, ok := inLink(n.p.ethernet(t), link)
				if !ok {
					continue
				}
				if got, want := vmAccepts(t, prog, data), slices.Contains(c.want, n.name); got != want {
					t.Errorf("link %d: %q on %s (%v) = %v, want %v", link, c.expr, n.name, n.p, got, want)
				}
			}
		}
	}
}

func names(ns []namedPkt) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.name)
	}
	return out
}

func TestCompileLengthPrimitives(t *testing.T) {
	for _, link := range []uint16{linktypeEthernet, linktypeSLL2, linktypeRaw} {
		for _, n := range corpus {
			data, ok := inLink(n.p.ethernet(t), link)
			if !ok || (link != linktypeEthernet && len(n.p.tags) > 0) {
				continue
			}
			for _, limit := range []int{len(data) - 1, len(data), len(data) + 1} {
				for _, greater := range []bool{false, true} {
					word, want := "less", len(data) <= limit
					if greater {
						word, want = "greater", len(data) >= limit
					}
					expr := word + " " + strconv.Itoa(limit)
					prog, err := Compile(expr, link, 0)
					if err != nil {
						t.Fatalf("Compile(%q): %v", expr, err)
					}
					if got := vmAccepts(t, prog, data); got != want {
						t.Errorf("link %d: %q on %d-byte %s = %v, want %v", link, expr, len(data), n.name, got, want)
					}
				}
			}
		}
	}
}

func TestCompileReturnsSnaplen(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, MaxSnaplen}, {-1, MaxSnaplen}, {96, 96}, {MaxSnaplen + 1, MaxSnaplen}} {
		prog, err := Compile("udp", linktypeEthernet, c.in)
		if err != nil {
			t.Fatal(err)
		}
		ins, _ := bpf.Disassemble(prog)
		vm, err := bpf.NewVM(ins)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := vm.Run(corpus[0].p.ethernet(t))
		if n != c.want {
			t.Errorf("snaplen %d: program returns %d, want %d", c.in, n, c.want)
		}
	}
}

func TestCompileErrorsNamePosition(t *testing.T) {
	cases := []struct {
		expr string
		link uint16
		col  int
		msg  string
	}{
		{"udp prot 5060", linktypeEthernet, 5, `unexpected "prot"`},
		{"host", linktypeEthernet, 5, "expected an address"},
		{"port 70000", linktypeEthernet, 6, "up to 65535"},
		{"host 10.0.0.0/8", linktypeEthernet, 6, "mask syntax for networks only"},
		{"net 10.0.0.1/8", linktypeEthernet, 5, "non-network bits"},
		{"net 2001:db8::1/32", linktypeEthernet, 5, "non-network bits"},
		{"(udp", linktypeEthernet, 5, `expected ")"`},
		{"udp)", linktypeEthernet, 4, `unexpected ")"`},
		{"vlan 4096", linktypeEthernet, 6, "greater than maximum 4095"},
		{"tcp host 1.2.3.4", linktypeEthernet, 10, "'tcp' modifier applied to host"},
		{"ip port 5", linktypeEthernet, 9, "illegal qualifier of 'port'"},
		{"ip6 host 1.2.3.4", linktypeEthernet, 10, "'ip6' modifier applied to ip host"},
		{"arp host ::1", linktypeEthernet, 10, "'arp' modifier applied to ip6 host"},
		{"host sip.example.com", linktypeEthernet, 6, "host names are not resolved"},
		{"5060", linktypeEthernet, 1, "needs a qualifier"},
		{"host 1.2.3.4 or udp or 5.6.7.8", linktypeEthernet, 24, "needs a qualifier"},
		{"vlan 100 or 200", linktypeEthernet, 13, "needs a qualifier"},
		{"udp[8] = 1", linktypeEthernet, 4, "unexpected character '['"},
		{"ether host 1:2:3:4:5:6", linktypeEthernet, 1, `"ether" is not supported`},
		{"port 1 & port 2", linktypeEthernet, 8, "must be doubled"},
		{"vlan and udp", linktypeRaw, 1, "no VLAN support for raw IP"},
		{"vlan", linktypeSLL, 1, "no VLAN support for Linux cooked v1"},
		{"portrange 1-", linktypeEthernet, 11, "not a port range"},
		{"not", linktypeEthernet, 4, "expected a primitive"},
		{"port 5060 or", linktypeEthernet, 13, "expected a primitive"},
		{"net 10.0.0.0 mask 255.0.0.0.0", linktypeEthernet, 19, "netmask"},
		{"proto 256", linktypeEthernet, 7, "up to 255"},
		{"src proto 6", linktypeEthernet, 11, "direction cannot qualify proto"},
		{"host 1.2.3.4 and", linktypeEthernet, 17, "expected a primitive"},
		{strings.Repeat("(", 101) + "udp" + strings.Repeat(")", 101), linktypeEthernet, 101, "nested more than 100"},
		{strings.Repeat("not ", 101) + "udp", linktypeEthernet, 401, "nested more than 100"},
		{"udp " + strings.Repeat(" ", maxExprLen), linktypeEthernet, maxExprLen + 1, "longer than"},
	}
	for _, c := range cases {
		_, err := Compile(c.expr, c.link, 0)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%.40q) = %v, want *Error", c.expr, err)
			continue
		}
		if fe.Pos+1 != c.col || !strings.Contains(fe.Msg, c.msg) || fe.Expr != c.expr {
			t.Errorf("Compile(%.40q) = column %d %q, want column %d containing %q", c.expr, fe.Pos+1, fe.Msg, c.col, c.msg)
		}
		if !strings.Contains(err.Error(), "column") {
			t.Errorf("error text %q does not give the column", err)
		}
	}
}

func TestCompileRejectsUnknownLinkType(t *testing.T) {
	if _, err := Compile("udp", uint16(147), 0); err == nil || !strings.Contains(err.Error(), "147") {
		t.Errorf("Compile for link type 147 = %v, want an error naming it", err)
	}
}

func TestCompileTooLongProgram(t *testing.T) {
	var b strings.Builder
	b.WriteString("port 1")
	for i := 2; i < 500; i++ {
		b.WriteString(" or host 10.0.")
		b.WriteString(strconv.Itoa(i / 256))
		b.WriteString(".")
		b.WriteString(strconv.Itoa(i % 256))
	}
	_, err := Compile(b.String(), linktypeEthernet, 0)
	if err == nil || !strings.Contains(err.Error(), "limit of 4096") {
		t.Fatalf("Compile of a huge expression = %v, want the instruction limit", err)
	}
	if len(err.Error()) > 300 {
		t.Errorf("error quotes %d bytes of the expression: %.100s...", len(err.Error()), err)
	}
}

// A program longer than 255 instructions needs conditional jumps that
// reach further than their 8-bit offsets: they go through ja.
func TestCompileLongJumps(t *testing.T) {
	var b strings.Builder
	b.WriteString("(host 10.0.0.1")
	for i := 0; i < 60; i++ {
		b.WriteString(" or 10.9.9.")
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString(") and udp port 5080")
	prog, err := Compile(b.String(), linktypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 300 {
		t.Fatalf("program has %d instructions; the test needs more than 255", len(prog))
	}
	for _, n := range corpus {
		want := slices.Contains([]string{"udp4", "opts4"}, n.name)
		if got := vmAccepts(t, prog, n.p.ethernet(t)); got != want {
			t.Errorf("%s: %v, want %v", n.name, got, want)
		}
	}
}

func TestCompileSharesLoads(t *testing.T) {
	prog, err := Compile("udp port 5060", linktypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	// libpcap needs 20; reloading every field would need 25.
	if len(prog) > 21 {
		ins, _ := bpf.Disassemble(prog)
		t.Errorf("udp port 5060 compiles to %d instructions:\n%v", len(prog), ins)
	}
}

func TestKernelInterpreterAgreesWithVM(t *testing.T) {
	for _, expr := range []string{"udp port 5060", "host 10.0.0.1 or net 2001:db8::/32", "vlan and vlan and udp", "less 60 or greater 100", "portrange 10000-20000"} {
		prog, err := Compile(expr, linktypeEthernet, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range corpus {
			data := n.p.ethernet(t)
			k, err := kernelRun(prog, data, meta{})
			if err != nil {
				t.Fatalf("%q: %v", expr, err)
			}
			if got, want := k > 0, vmAccepts(t, prog, data); got != want {
				t.Errorf("%q on %s: kernel interpreter %v, x/net VM %v", expr, n.name, got, want)
			}
		}
	}
}

func TestCompilePortNamesFromServices(t *testing.T) {
	if _, err := net.LookupPort("udp", "sip"); err != nil {
		t.Skip("the services database does not know sip")
	}
	for _, c := range [][2]string{{"udp port sip", "udp port 5060"}, {"portrange sip-5070", "portrange 5060-5070"}} {
		byName, err := Compile(c[0], linktypeEthernet, 0)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c[0], err)
		}
		byNumber, err := Compile(c[1], linktypeEthernet, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(byName, byNumber) {
			t.Errorf("%q compiles differently from %q", c[0], c[1])
		}
	}
	if _, err := Compile("port no-such-service-x", linktypeEthernet, 0); err == nil || !strings.Contains(err.Error(), "unknown port name") {
		t.Errorf("unknown port name: %v", err)
	}
}
