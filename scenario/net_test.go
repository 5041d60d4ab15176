package scenario

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/sip"
)

func TestSendStaysOnLoopback(t *testing.T) {
	tests := []struct {
		name  string
		allow string
		dst   string
		want  bool
	}{
		{"loopback", "", "127.0.0.31:40000", true},
		{"another loopback net", "", "127.200.1.2:5060", true},
		{"private address", "", "192.168.1.30:40000", false},
		{"public address", "", "198.51.100.7:5060", false},
		{"the allowed target", "198.51.100.7:5060", "198.51.100.7:5060", true},
		{"another port of the target", "198.51.100.7:5060", "198.51.100.7:5061", false},
		{"any port of the target", "198.51.100.7:0", "198.51.100.7:10000", true},
		{"another address than the target", "198.51.100.7:0", "198.51.100.8:5060", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(true, fixedStart, t.Logf)
			if tc.allow != "" {
				n.allow = netip.MustParseAddrPort(tc.allow)
				n.allowAny = n.allow.Port() == 0
			}
			if got := n.allowed(netip.MustParseAddrPort(tc.dst)); got != tc.want {
				t.Errorf("allowed(%s) = %v", tc.dst, got)
			}
		})
	}
}

func TestRefusedSendIsNotRecorded(t *testing.T) {
	n := newNetwork(true, fixedStart, t.Logf)
	s, err := n.bind(netip.AddrPortFrom(subnet(203, 9).Addr().Next(), 40000), func(netip.AddrPort, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	err = s.send(netip.MustParseAddrPort("192.168.1.30:40000"), []byte("x"))
	if !errors.Is(err, errRefused) || n.refused != 1 || len(n.records) != 0 {
		t.Errorf("err %v, refused %d, recorded %d", err, n.refused, len(n.records))
	}
}

func TestRunRefusesANonlocalPBX(t *testing.T) {
	s, err := Load("direct-media")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), s, RunOptions{PBX: netip.MustParseAddrPort("198.51.100.7:5060")})
	if err == nil || !strings.Contains(err.Error(), "outside 127.0.0.0/8") {
		t.Errorf("error %v", err)
	}
	if _, err := Run(context.Background(), s, RunOptions{Fast: true, PBX: netip.MustParseAddrPort("127.0.0.1:5060")}); err == nil {
		t.Error("a real PBX ran in fast mode")
	}
}

// TestCapturesStayOnLoopback: every datagram of every catalogue capture
// went between loopback addresses, with the NAT scenario's refused
// packets to alice's private address counted and absent.
func TestCapturesStayOnLoopback(t *testing.T) {
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			res, _ := catalogued(t, s.Name)
			src, err := capture.NewReader(bytes.NewReader(res.Capture), s.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			var p capture.Packet
			frames := 0
			for {
				if err := src.Next(&p); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatal(err)
					}
					break
				}
				frames++
				if p.LinkType != capture.LinkEthernet || len(p.Data) < ethLen+ipv4Len || binary.BigEndian.Uint16(p.Data[12:]) != 0x0800 {
					t.Fatalf("frame %d is not Ethernet/IPv4", frames)
				}
				ip := p.Data[ethLen:]
				for _, a := range [][]byte{ip[12:16], ip[16:20]} {
					if a[0] != 127 {
						t.Fatalf("frame %d: %v outside 127.0.0.0/8", frames, net.IP(a))
					}
				}
			}
			if frames != res.Packets {
				t.Errorf("%d frames, %d recorded", frames, res.Packets)
			}
			if s.Name == "nat-nonat" && res.Refused == 0 {
				t.Error("no packet to alice's private address was refused")
			}
		})
	}
}

// TestPlayingAgainstAPBX runs the phones alone against a PBX started
// separately, the way --pbx plays them against a real Asterisk, in real
// time: the phones' capture holds the whole call, what the PBX sent
// recorded as the phones received it.
func TestPlayingAgainstAPBX(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	text := strings.Replace(strings.Replace(catalogText(t, "direct-media"), "hangup_at = 8s", "hangup_at = 1.5s", 1), "answer_after = 0.5s", "answer_after = 0.2s", 1)
	s, err := Parse("pbx-test.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if s, err = s.Relocate(subnet(203, 1)); err != nil {
		t.Fatal(err)
	}
	pbxAddr := s.Host("pbx1").SIP()
	ctx, stopPBX := context.WithCancel(context.Background())
	defer stopPBX()
	type out struct {
		res *Result
		err error
	}
	pbxDone := make(chan out, 1)
	go func() {
		res, err := Run(ctx, s, RunOptions{Only: []string{"pbx1"}, Seed: 3})
		pbxDone <- out{res, err}
	}()
	qualify(t, pbxAddr, subnet(203, 1).Addr().Next())
	phones, err := Run(context.Background(), s, RunOptions{PBX: pbxAddr, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stopPBX()
	pbx := <-pbxDone
	if pbx.err != nil {
		t.Fatal(pbx.err)
	}
	if len(phones.Decisions) != 0 || len(pbx.res.Decisions) != 1 {
		t.Errorf("decisions: phones' run %d, PBX's run %d", len(phones.Decisions), len(pbx.res.Decisions))
	}
	o, err := Analyze(s, phones.Capture)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	o.WriteComparison(&b)
	t.Logf("phones' capture: %d packets over %s\n%s", phones.Packets, phones.Span.Round(time.Millisecond), b.String())
	if !o.Agrees() {
		t.Errorf("analysis of the phones' capture: %v", o.Problems)
	}
	if a, b := sipDatagrams(t, phones.Capture), sipDatagrams(t, pbx.res.Capture)-2; a != b {
		t.Errorf("the phones' capture has %d SIP messages, the PBX's %d besides the OPTIONS ping", a, b)
	}
}

// sipDatagrams counts the SIP messages of a capture.
func sipDatagrams(t *testing.T, pcap []byte) int {
	t.Helper()
	src, err := capture.NewReader(bytes.NewReader(pcap), "capture", nil)
	if err != nil {
		t.Fatal(err)
	}
	var p capture.Packet
	n := 0
	for src.Next(&p) == nil {
		if len(p.Data) > ethLen+ipv4Len+udpLen && sip.LooksLike(p.Data[ethLen+ipv4Len+udpLen:]) {
			n++
		}
	}
	return n
}

func catalogText(t *testing.T, name string) string {
	t.Helper()
	s, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Source)
}

// qualify waits until a SIP server answers OPTIONS at addr (as
// Asterisk's qualify does), sending from the address from.
func qualify(t *testing.T, addr netip.AddrPort, from netip.Addr) {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	req := sip.NewRequest("OPTIONS", "sip:"+addr.String())
	req.Add("Via", "SIP/2.0/UDP "+local.String()+";branch="+sip.NewBranch()+";rport")
	req.Add("Max-Forwards", "70")
	req.Add("From", "<sip:qualify@"+local.Addr().String()+">;tag="+sip.NewTag())
	req.Add("To", "<sip:"+addr.String()+">")
	req.Add("Call-ID", sip.NewTag())
	req.Add("CSeq", "1 OPTIONS")
	buf := make([]byte, 4096)
	for range 100 {
		c.WriteToUDPAddrPort(req.Bytes(), addr)
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, _, err := c.ReadFromUDPAddrPort(buf); err == nil {
			if m, err := sip.Parse(buf[:n], sip.Options{}); err == nil && m.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s does not answer OPTIONS", addr)
}
