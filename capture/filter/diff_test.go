package filter

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// libpcapProgram asks tcpdump for libpcap's compilation of expr for the
// link type of the (empty) capture file at path. ok is false when
// libpcap refuses the expression; "expression rejects all packets" comes
// back as a program that rejects everything.
func libpcapProgram(t *testing.T, tcpdump, path, expr string) (prog []bpf.RawInstruction, msg string, ok bool) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tcpdump, "-r", path, "-ddd", expr)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "expression rejects all packets") {
			return []bpf.RawInstruction{{Op: 0x06, K: 0}}, "", true
		}
		return nil, msg, false
	}
	sc := bufio.NewScanner(&stdout)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if first {
			first = false
			continue
		}
		var in bpf.RawInstruction
		if _, err := fmt.Sscanf(line, "%d %d %d %d", &in.Op, &in.Jt, &in.Jf, &in.K); err != nil {
			t.Fatalf("tcpdump -ddd %q: line %q: %v", expr, line, err)
		}
		prog = append(prog, in)
	}
	return prog, "", true
}

// emptyPcap writes a capture file with no packets, so that tcpdump knows
// the link type to compile for.
func emptyPcap(t *testing.T, link uint16) string {
	t.Helper()
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], MaxSnaplen)
	binary.LittleEndian.PutUint32(h[20:], uint32(link))
	path := filepath.Join(t.TempDir(), fmt.Sprintf("link%d.pcap", link))
	if err := os.WriteFile(path, h, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCompileBehavesLikeLibpcap compiles each expression with this
// package and with libpcap (through tcpdump -ddd) and runs both programs
// over the same packets: every packet must get the same verdict from
// both. Instructions are not compared, only behaviour. The expressions
// are the primitive table's and random ones from the same grammar; the
// packets are the primitive corpus plus random ones (VLAN stacks,
// fragments, IPv4 options, IPv6 fragment headers, ARP and RARP).
func TestCompileBehavesLikeLibpcap(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed: no libpcap to compare with")
	}
	table := []string{
		"udp port 5060 or portrange 10000-20000",
		"host 10.0.0.1 or 10.0.0.2", "port 5060 or 5061", "not host 10.0.0.1 and 10.0.0.2",
		"src or dst port 5060", "src and dst net 10.0.0.0/8", "udp or vlan and udp",
		"vlan 100 and (udp port 5060 or tcp port 5061)", "ip6 and not icmp6",
		"net 192.168 or net 172.16.0.0 mask 255.240.0.0", "sctp or icmp",
	}
	for _, c := range primitiveCases {
		table = append(table, c.expr)
	}
	r := rand.New(rand.NewPCG(1, 2))
	links := []struct {
		link  uint16
		exprs int
	}{
		{linktypeEthernet, 250}, {linktypeSLL, 60}, {linktypeSLL2, 60},
		{linktypeRaw, 60}, {linktypeIPv4, 40}, {linktypeIPv6, 40},
	}
	var compared, matched, refused int
	for _, l := range links {
		path := emptyPcap(t, l.link)
		isEth := l.link == linktypeEthernet
		var packets [][]byte
		var descs []string
		add := func(p pkt) {
			data, ok := inLink(p.ethernet(t), l.link)
			if !ok || (!isEth && len(p.tags) > 0) {
				return
			}
			packets = append(packets, data)
			descs = append(descs, p.String())
		}
		for _, n := range corpus {
			if n.p.cut == 0 {
				add(n.p)
			}
		}
		for i := 0; i < 400; i++ {
			add(randomPacket(r, isEth))
		}
		g := &exprGen{r: r, vlan: isEth}
		exprs := append([]string(nil), table...)
		for i := 0; i < l.exprs; i++ {
			exprs = append(exprs, g.expr(3))
		}
		for _, expr := range exprs {
			ours, err := Compile(expr, l.link, 0)
			theirs, msg, ok := libpcapProgram(t, tcpdump, path, expr)
			if !ok || err != nil {
				if ok != (err == nil) && !(hasVLAN(expr) && !isEth) {
					t.Errorf("link %d: %q: ours %v, libpcap %q", l.link, expr, err, msg)
				}
				refused++
				continue
			}
			a, b := newVMProg(t, ours), newVMProg(t, theirs)
			for i, data := range packets {
				got, want := a.accepts(t, data), b.accepts(t, data)
				compared++
				if want {
					matched++
				}
				if got != want {
					t.Errorf("link %d: %q on %s: ours %v, libpcap %v", l.link, expr, descs[i], got, want)
				}
			}
		}
	}
	t.Logf("%d verdicts compared (%d accepts), %d expressions refused by both", compared, matched, refused)
	if matched == 0 {
		t.Error("no packet matched any expression: the comparison proves nothing")
	}
}
