package filter

import (
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// FuzzCompile checks that no expression makes the compiler panic, and
// that every program it produces is one the kernel and x/net/bpf accept:
// within the instruction limit, decodable, jumps inside the program,
// ending in a return, and runnable over packets.
func FuzzCompile(f *testing.F) {
	for _, c := range primitiveCases {
		f.Add(c.expr, uint8(0))
	}
	for _, s := range []string{
		"udp port 5060 or portrange 10000-20000", "vlan and vlan and udp", "host 1.2.3.4 or udp or 5.6.7.8",
		"net 10.0.0.0 mask 255.0.0.0", "port sip", "portrange sip-5070", "((((udp))))", "!!!udp",
		"src or dst port 5", "udp[8] = 1", "ip6 net ::/0", "less 0x10 or greater 010", "proto \\icmp6",
		"host ::ffff:1.2.3.4", "net 10/8", "vlan 4095 && ip", "port 1 && ", "host fe80::1%eth0",
	} {
		f.Add(s, uint8(1))
	}
	r := rand.New(rand.NewPCG(9, 10))
	g := &exprGen{r: r, vlan: true}
	for i := 0; i < 20; i++ {
		f.Add(g.expr(4), uint8(i))
	}
	var packets [][]byte
	for _, n := range corpus {
		packets = append(packets, n.p.ethernet(f))
	}
	for i := 0; i < 10; i++ {
		packets = append(packets, randomPacket(r, true).ethernet(f))
	}
	links := []uint16{linktypeEthernet, linktypeSLL, linktypeSLL2, linktypeRaw, linktypeIPv4, linktypeIPv6}
	f.Fuzz(func(t *testing.T, expr string, sel uint8) {
		link := links[int(sel)%len(links)]
		prog, err := Compile(expr, link, int(sel))
		if err == nil {
			checkProgram(t, expr, prog)
			ins, _ := bpf.Disassemble(prog)
			vm, err := bpf.NewVM(ins)
			if err != nil {
				t.Fatalf("%q: VM refuses the program: %v", expr, err)
			}
			for _, p := range packets {
				if _, err := vm.Run(p); err != nil {
					t.Fatalf("%q: %v", expr, err)
				}
			}
		} else if !strings.Contains(err.Error(), "filter") {
			t.Fatalf("error %q does not say it is about the filter", err)
		}
		s := Socket{Devices: []Device{{1, linktypeEthernet}, {0xfffe, linktypeRaw}}, SkipOutgoing: []int{1}}
		if sel&1 == 1 {
			s = Socket{Link: linktypeEthernet}
		}
		sock, err := CompileSocket(expr, s)
		if err != nil {
			return
		}
		checkProgram(t, expr, sock)
		for _, p := range packets {
			stripped, m := stripOuterTag(p)
			m.hatype = 1
			if _, err := kernelRun(sock, stripped, m); err != nil {
				t.Fatalf("%q: %v", expr, err)
			}
		}
	})
}

func checkProgram(t *testing.T, expr string, prog []bpf.RawInstruction) {
	t.Helper()
	if len(prog) == 0 || len(prog) > maxInstructions {
		t.Fatalf("%q: program of %d instructions", expr, len(prog))
	}
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("%q: program does not disassemble", expr)
	}
	for i, in := range ins {
		var far int
		switch in := in.(type) {
		case bpf.Jump:
			far = int(in.Skip)
		case bpf.JumpIf:
			far = int(max(in.SkipTrue, in.SkipFalse))
		default:
			continue
		}
		if i+1+far >= len(ins) {
			t.Fatalf("%q: instruction %d jumps out of the program", expr, i)
		}
	}
	switch ins[len(ins)-1].(type) {
	case bpf.RetConstant, bpf.RetA:
	default:
		t.Fatalf("%q: program does not end with a return", expr)
	}
}
