package interop

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Every loopback scenario has its own 127.77.N.0/24 (.1 the caller, .2 the
// callee, .10 Kamailio, .20 rtpengine), on the loopback of a namespace of
// its own where namespaces are allowed, and its capture filter keeps to
// it where they are not.
func lo(n, host byte) netip.Addr { return netip.AddrFrom4([4]byte{127, 77, n, host}) }

func loNet(n byte) string { return fmt.Sprintf("net 127.77.%d.0/24", n) }

// sipAddr is a peer's SIP address as host:port.
func sipAddr(a netip.Addr) string { return netip.AddrPortFrom(a, sipPort).String() }

// dialling makes a caller call bob at the callee's address, wherever its
// first request goes.
func dialling(callee netip.Addr) []string {
	return []string{"-key", "dest", sipAddr(callee), "-s", "bob"}
}

// The talkspurts the peers play: fixed SSRCs and sequence numbers, so each
// stream can be told apart and a loss rule can pick packets.
var (
	callerTalk = talkspurt{SSRC: 0xa11ce001, Seq: 1000, TS: 16000, Packets: 50, Marker: true}
	calleeTalk = talkspurt{SSRC: 0xb0b0b001, Seq: 5000, TS: 80000, Packets: 50, Marker: true}
)

// basicCall writes the talkspurts of uac.xml and uas.xml.
func (r *run) basicCall() {
	r.talk("a1.pcap", callerTalk)
	r.talk("b1.pcap", calleeTalk)
}

// TestInteropDirect: a SIPp caller calls a SIPp callee directly, RTP both
// ways.
func TestInteropDirect(t *testing.T) {
	r := newRun(t, "sipp")
	ns := r.loopback()
	caller, callee := lo(1, 1), lo(1, 2)
	r.basicCall()
	s := r.capture(ns, "lo", loNet(1))
	b := r.sipp(peer{name: "callee", ns: ns, scenario: "uas.xml", addr: callee})
	a := r.sipp(peer{name: "caller", ns: ns, scenario: "uac.xml", addr: caller, remote: sipAddr(callee), args: dialling(callee)})
	r.waitAll(a, b)
	r.verify(direct, s)
}

// TestInteropProxy: the same call through Kamailio as a record-routing
// proxy; media stays direct.
func TestInteropProxy(t *testing.T) {
	r := newRun(t, "sipp", "kamailio")
	ns := r.loopback()
	caller, callee, proxy := lo(2, 1), lo(2, 2), lo(2, 10)
	r.basicCall()
	s := r.capture(ns, "lo", loNet(2))
	r.kamailio(ns, proxy)
	b := r.sipp(peer{name: "callee", ns: ns, scenario: "uas.xml", addr: callee})
	a := r.sipp(peer{name: "caller", ns: ns, scenario: "uac.xml", addr: caller, remote: sipAddr(proxy), args: dialling(callee)})
	r.waitAll(a, b)
	r.verify(proxied, s)
}

// TestInteropRelay: the same call through Kamailio driving rtpengine, which
// rewrites both SDPs to its own address and relays the RTP.
func TestInteropRelay(t *testing.T) {
	r := newRun(t, "sipp", "kamailio", "rtpengine")
	ns := r.loopback()
	caller, callee, proxy, relay := lo(3, 1), lo(3, 2), lo(3, 10), lo(3, 20)
	r.basicCall()
	s := r.capture(ns, "lo", loNet(3))
	r.rtpengine(ns, relay)
	r.kamailio(ns, proxy, "WITH_RTPENGINE", fmt.Sprintf("RTPENGINE_SOCK=\"udp:%s\"", netip.AddrPortFrom(relay, ngPort)))
	b := r.sipp(peer{name: "callee", ns: ns, scenario: "uas.xml", addr: callee})
	a := r.sipp(peer{name: "caller", ns: ns, scenario: "uac.xml", addr: caller, remote: sipAddr(proxy), args: dialling(callee)})
	r.waitAll(a, b)
	r.verify(relayed, s)
}

// TestInteropTCP: the direct call with SIP over TCP.
func TestInteropTCP(t *testing.T) {
	r := newRun(t, "sipp")
	ns := r.loopback()
	caller, callee := lo(4, 1), lo(4, 2)
	r.basicCall()
	s := r.capture(ns, "lo", loNet(4))
	b := r.sipp(peer{name: "callee", ns: ns, scenario: "uas.xml", addr: callee, transport: "t1"})
	a := r.sipp(peer{name: "caller", ns: ns, scenario: "uac.xml", addr: caller, remote: sipAddr(callee), transport: "t1", args: dialling(callee)})
	r.waitAll(a, b)
	r.verify(overTCP, s)
}

// TestInteropHold: the caller holds the call with a re-INVITE (sendonly),
// keeps sending, and resumes it (sendrecv); the callee falls silent on hold.
func TestInteropHold(t *testing.T) {
	r := newRun(t, "sipp")
	ns := r.loopback()
	caller, callee := lo(5, 1), lo(5, 2)
	a1 := callerTalk
	a2 := a1.after(25, talkGap)
	a3 := a2.after(50, talkGap)
	r.talk("a1.pcap", a1)
	r.talk("a2.pcap", a2)
	r.talk("a3.pcap", a3)
	r.talk("b1.pcap", calleeTalk)
	r.talk("b2.pcap", calleeTalk.after(50, holdGap))
	s := r.capture(ns, "lo", loNet(5))
	b := r.sipp(peer{name: "callee", ns: ns, scenario: "uas-hold.xml", addr: callee})
	a := r.sipp(peer{name: "caller", ns: ns, scenario: "uac-hold.xml", addr: caller, remote: sipAddr(callee), args: dialling(callee)})
	r.waitAll(a, b)
	r.verify(hold, s)
}

// holdGap is about how long the callee is silent on hold: from the end of
// its first second of audio to the resume, 4.5 s into the call by the
// pauses of uac-hold.xml. Its RTP timestamps jump by as much, as a real
// phone's would.
const holdGap = 3500 * time.Millisecond

// talkGap is the silence between the caller's talkspurts in uac-hold.xml:
// each pause outlasts the audio before it by 1.5 s.
const talkGap = 1500 * time.Millisecond

// TestInteropGlare: both ends re-INVITE at once, each answers the other's
// with 491, and both retry in their RFC 3261 §14.1 windows.
func TestInteropGlare(t *testing.T) {
	r := newRun(t, "sipp")
	ns := r.loopback()
	caller, callee := lo(6, 1), lo(6, 2)
	r.basicCall()
	s := r.capture(ns, "lo", loNet(6))
	b := r.sipp(peer{name: "callee", ns: ns, scenario: "glare-b.xml", addr: callee})
	a := r.sipp(peer{name: "caller", ns: ns, scenario: "glare-a.xml", addr: caller, remote: sipAddr(callee), args: dialling(callee)})
	r.waitAll(a, b)
	r.verify(glare, s)
}

// TestInteropRegister: a phone registers with Kamailio, is challenged with
// 401 and registers with credentials.
func TestInteropRegister(t *testing.T) {
	r := newRun(t, "sipp", "kamailio")
	ns := r.loopback()
	phone, registrar := lo(7, 1), lo(7, 10)
	s := r.capture(ns, "lo", loNet(7))
	r.kamailio(ns, registrar, "WITH_REGISTRAR")
	a := r.sipp(peer{name: "phone", ns: ns, scenario: "register.xml", addr: phone, remote: sipAddr(registrar),
		args: []string{"-s", "alice", "-au", "alice", "-ap", "secret"}})
	r.waitAll(a)
	r.verify(register, s)
}

// lossDropped are the caller's RTP sequence numbers the router drops in
// TestInteropLoss: a burst of two and a single packet.
var lossDropped = []uint16{1010, 1011, 1030}

// TestInteropLoss: the direct call between two namespaces joined by a
// router namespace whose nftables rule drops chosen RTP sequence numbers of
// the caller's stream. The match is on the raw transport header: the RTP
// sequence number is 16 bits at bit 80, after the 8-byte UDP header and
// the first two bytes of RTP. The capture is taken at the callee, after the
// router.
func TestInteropLoss(t *testing.T) {
	r := newRun(t, "sipp", "ip", "nft")
	callerNS, routerNS, calleeNS := r.netns("caller"), r.netns("router"), r.netns("callee")
	r.veth(callerNS, "eth0", "10.77.1.2/24", routerNS, "a0", "10.77.1.1/24")
	r.veth(calleeNS, "eth0", "10.77.2.2/24", routerNS, "b0", "10.77.2.1/24")
	r.cmd("ip", "-n", callerNS, "route", "add", "default", "via", "10.77.1.1")
	r.cmd("ip", "-n", calleeNS, "route", "add", "default", "via", "10.77.2.1")
	r.forward(routerNS)
	caller, callee := netip.MustParseAddr("10.77.1.2"), netip.MustParseAddr("10.77.2.2")
	seqs := make([]string, len(lossDropped))
	for i, s := range lossDropped {
		seqs[i] = fmt.Sprint(s)
	}
	r.nft(routerNS, fmt.Sprintf(`table inet loss {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr %s udp dport %d @th,80,16 { %s } counter drop
	}
}
`, caller, rtpPort, strings.Join(seqs, ", ")))
	r.basicCall()
	s := r.capture(calleeNS, "eth0", "udp")
	b := r.sipp(peer{name: "callee", ns: calleeNS, scenario: "uas.xml", addr: callee})
	a := r.sipp(peer{name: "caller", ns: callerNS, scenario: "uac.xml", addr: caller, remote: sipAddr(callee), args: dialling(callee)})
	r.waitAll(a, b)
	rules := r.cmd("ip", "netns", "exec", routerNS, "nft", "list", "table", "inet", "loss")
	if want := fmt.Sprintf("counter packets %d ", len(lossDropped)); !strings.Contains(rules, want) {
		t.Fatalf("the loss rule did not drop exactly %d packets:\n%s", len(lossDropped), rules)
	}
	r.verify(loss, s)
}

// TestInteropNAT: a phone in a private network behind a masquerading
// router registers (with a challenge) and calls through Kamailio on the
// public side. Kamailio answers to the address and port requests came from
// (received, rport), but the SDP still names the phone's private address,
// so the callee's RTP goes to an address the public side cannot reach: the
// router, like the Internet, drops it. The capture is taken on the public
// side, where a provider would take it.
func TestInteropNAT(t *testing.T) {
	r := newRun(t, "sipp", "kamailio", "ip", "nft")
	phoneNS, natNS, publicNS := r.netns("phone"), r.netns("nat"), r.netns("public")
	r.veth(phoneNS, "eth0", "192.168.77.2/24", natNS, "lan0", "192.168.77.1/24")
	r.veth(natNS, "wan0", "203.0.113.1/24", publicNS, "eth0", "203.0.113.10/24")
	r.cmd("ip", "-n", publicNS, "addr", "add", "203.0.113.11/24", "dev", "eth0")
	r.cmd("ip", "-n", phoneNS, "route", "add", "default", "via", "192.168.77.1")
	r.cmd("ip", "-n", publicNS, "route", "add", "default", "via", "203.0.113.1")
	r.forward(natNS)
	r.nft(natNS, `table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" oifname "wan0" accept
	}
}
`)
	phone := netip.MustParseAddr("192.168.77.2")
	proxy, callee := netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("203.0.113.11")
	r.basicCall()
	s := r.capture(publicNS, "any", "udp")
	r.kamailio(publicNS, proxy, "WITH_REGISTRAR")
	b := r.sipp(peer{name: "callee", ns: publicNS, scenario: "uas.xml", addr: callee})
	reg := r.sipp(peer{name: "register", ns: phoneNS, scenario: "register.xml", addr: phone, remote: sipAddr(proxy),
		args: []string{"-s", "alice", "-au", "alice", "-ap", "secret"}})
	r.waitAll(reg)
	a := r.sipp(peer{name: "caller", ns: phoneNS, scenario: "uac.xml", addr: phone, remote: sipAddr(proxy), args: dialling(callee)})
	r.waitAll(a, b)
	r.verify(nat, s)
}
