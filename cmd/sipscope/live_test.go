package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/hep"
	"github.com/sipscope/sipscope/sip"
)

// syncBuffer is an output the live command writes from its goroutines
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveRun is the live command running in the background of a test.
type liveRun struct {
	stdout, stderr syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

// startLive runs the live command with flags f and filter args until the
// test stops it (stop) or it stops itself (wait).
func startLive(t *testing.T, f *liveFlags, args ...string) *liveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &liveRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- runLive(ctx, &r.stdout, &r.stderr, args, f) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("live did not stop within 10s of its context ending")
		}
	})
	return r
}

// stop ends the capture as Ctrl-C does and returns the command's result.
func (r *liveRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

func (r *liveRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(15 * time.Second):
		t.Fatalf("live did not stop; output so far:\n%s\n%s", r.stdout.String(), r.stderr.String())
		return nil
	}
}

// waitOutput polls the command's standard output until it matches re.
func (r *liveRun) waitOutput(t *testing.T, re *regexp.Regexp, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !re.MatchString(r.stdout.String()) {
		select {
		case err := <-r.done:
			t.Fatalf("live ended (%v) before printing %q:\n%s\n%s", err, re, r.stdout.String(), r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v; output so far:\n%s\n%s", re, within, r.stdout.String(), r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ua is one SIP endpoint of the test's UA pair, on a UDP socket.
type ua struct {
	t    *testing.T
	conn *net.UDPConn
	addr netip.AddrPort
}

func newUA(t *testing.T, addr string) *ua {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatalf("UA on %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &ua{t: t, conn: c, addr: ap}
}

func (u *ua) send(to netip.AddrPort, msg []byte) {
	u.t.Helper()
	if _, err := u.conn.WriteToUDPAddrPort(msg, to); err != nil {
		u.t.Fatalf("%s sending to %s: %v", u.addr, to, err)
	}
}

// recv reads the next SIP message, skipping responses below minStatus
// (a UAC waiting for the final response).
func (u *ua) recv(minStatus int) (*sip.Message, netip.AddrPort) {
	u.t.Helper()
	buf := make([]byte, 65536)
	for {
		u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			u.t.Fatalf("%s waiting for a SIP message: %v", u.addr, err)
		}
		m, err := sip.Parse(buf[:n], sip.Options{})
		if err != nil {
			u.t.Fatalf("%s received something that is not SIP: %v", u.addr, err)
		}
		if m.IsRequest() || m.StatusCode >= minStatus {
			return m, from
		}
	}
}

// drain discards what is waiting on the socket.
func (u *ua) drain() {
	buf := make([]byte, 65536)
	for {
		u.conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, _, err := u.conn.ReadFromUDPAddrPort(buf); err != nil {
			return
		}
	}
}

// testCall is one call the UA pair places: caller and callee on their SIP
// sockets, requests sent to next (the callee, or a proxy), RTP between two
// ports, packets of it each way.
type testCall struct {
	callID     string
	caller     *ua
	callee     *ua
	next       netip.AddrPort
	rtpA, rtpB netip.AddrPort
	packets    int
}

func offer(media netip.AddrPort, sess int) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
		sess, media.Addr(), media.Addr(), media.Port()))
}

func (c *testCall) request(method string, cseq int, toTag string, body []byte) []byte {
	to := "<sip:bob@" + c.callee.addr.String() + ">"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	m := sip.NewRequest(method, "sip:bob@"+c.callee.addr.String())
	m.Add("Via", "SIP/2.0/UDP "+c.caller.addr.String()+";branch="+sip.NewBranch()+";rport")
	m.Add("Max-Forwards", "70")
	m.Add("From", "<sip:alice@"+c.caller.addr.String()+">;tag=a-"+c.callID)
	m.Add("To", to)
	m.Add("Call-ID", c.callID)
	m.Add("CSeq", fmt.Sprintf("%d %s", cseq, method))
	m.Add("Contact", "<sip:alice@"+c.caller.addr.String()+">")
	m.Add("User-Agent", "sipscope-live-test")
	if body != nil {
		m.SetBody("application/sdp", body)
	}
	return m.Bytes()
}

func (c *testCall) respond(req *sip.Message, to netip.AddrPort, code int, body []byte) {
	r := sip.NewResponse(req, code, "")
	r.Add("Contact", "<sip:bob@"+c.callee.addr.String()+">")
	if body != nil {
		r.SetBody("application/sdp", body)
	}
	c.callee.send(to, r.Bytes())
}

// place runs the call: INVITE, 100, 180, 200 with SDP, ACK, RTP both ways
// 20 ms apart, BYE from the caller, 200.
func (c *testCall) place(t *testing.T) {
	t.Helper()
	c.caller.send(c.next, c.request("INVITE", 1, "", offer(c.rtpA, 1)))
	inv, from := c.callee.recv(0)
	c.respond(inv, from, 100, nil)
	c.respond(inv, from, 180, nil)
	c.respond(inv, from, 200, offer(c.rtpB, 2))
	ok, _ := c.caller.recv(200)
	if ok.StatusCode != 200 {
		t.Fatalf("call %s: final response %d", c.callID, ok.StatusCode)
	}
	c.caller.send(c.next, c.request("ACK", 1, ok.To.Tag, nil))
	if ack, _ := c.callee.recv(0); ack.Method != "ACK" {
		t.Fatalf("call %s: callee got %s, want ACK", c.callID, ack.Method)
	}

	var wg sync.WaitGroup
	for _, dir := range [][2]netip.AddrPort{{c.rtpA, c.rtpB}, {c.rtpB, c.rtpA}} {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(dir[0]))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Add(1)
		go func(to netip.AddrPort) {
			defer wg.Done()
			sendRTP(conn, to, c.packets, uint32(dir[0].Port()))
		}(dir[1])
	}
	wg.Wait()

	c.caller.send(c.next, c.request("BYE", 2, ok.To.Tag, nil))
	bye, from := c.callee.recv(0)
	if bye.Method != "BYE" {
		t.Fatalf("call %s: callee got %s, want BYE", c.callID, bye.Method)
	}
	c.respond(bye, from, 200, nil)
	if r, _ := c.caller.recv(200); r.StatusCode != 200 || r.CSeqMethod != "BYE" {
		t.Fatalf("call %s: BYE answered %d %s", c.callID, r.StatusCode, r.CSeqMethod)
	}
}

// sendRTP sends n PCMU packets of 20 ms, 20 ms apart.
func sendRTP(conn *net.UDPConn, to netip.AddrPort, n int, ssrc uint32) {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	for i := range 160 {
		pkt[12+i] = 0xff
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range n {
		binary.BigEndian.PutUint16(pkt[2:], uint16(1000+i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(160*i))
		conn.WriteToUDPAddrPort(pkt, to)
		<-tick.C
	}
}

// needLiveCapture skips a test that opens a packet socket without the
// privilege to.
func needLiveCapture(t *testing.T) {
	t.Helper()
	l, err := capture.OpenLive("lo", capture.LiveOptions{Filter: "udp port 9"})
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			t.Skipf("live capture needs root or CAP_NET_RAW: %v", err)
		}
		t.Skipf("no live capture on lo here: %v", err)
	}
	l.Close()
}

var callLine = regexp.MustCompile(`(?m)^CALL #\d+ \S+ (\S+) .*\| media (\S+) \| (\S+)$`)

// calls lists the Call-ID, media verdict and end of each CALL line.
func calls(out string) map[string][2]string {
	got := map[string][2]string{}
	for _, m := range callLine.FindAllStringSubmatch(out, -1) {
		got[m[1]] = [2]string{m[2], m[3]}
	}
	return got
}

func TestLiveOnLoopbackShowsCallsAsTheyHappenAndSavesThem(t *testing.T) {
	needLiveCapture(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "live.pcap")
	caller := newUA(t, "127.0.0.221:5060")
	callee := newUA(t, "127.0.0.222:5060")
	f := &liveFlags{iface: "lo", write: pcap, queueMiB: 8, hepNetwork: "udp", every: time.Second}
	r := startLive(t, f, "udp and (host 127.0.0.221 or host 127.0.0.222)")

	// The capture is open once a probe shows up in the output.
	probe := func() {
		caller.send(callee.addr, []byte("OPTIONS sip:bob@127.0.0.222 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.221:5060;branch="+sip.NewBranch()+
			"\r\nFrom: <sip:probe@127.0.0.221>;tag=p\r\nTo: <sip:bob@127.0.0.222>\r\nCall-ID: probe-"+sip.NewTag()+"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"))
		callee.recv(0)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stdout.String(), "OPTIONS") {
		if time.Now().After(deadline) {
			t.Fatalf("the capture showed no probe within 10s:\n%s\n%s", r.stdout.String(), r.stderr.String())
		}
		probe()
		time.Sleep(100 * time.Millisecond)
	}

	ids := []string{"live-call-1@test", "live-call-2@test"}
	for i, id := range ids {
		c := testCall{callID: id, caller: caller, callee: callee, next: callee.addr,
			rtpA:    netip.AddrPortFrom(caller.addr.Addr(), uint16(40000+4*i)),
			rtpB:    netip.AddrPortFrom(callee.addr.Addr(), uint16(40002+4*i)),
			packets: 50}
		c.place(t)
	}
	// A call is summarized once its linger (5s of packet time) has passed
	// since its end: a later packet moves the clock.
	time.Sleep(5500 * time.Millisecond)
	probe()
	r.waitOutput(t, regexp.MustCompile(`CALL #\d+ .*live-call-2@test`), 5*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatalf("live ended with %v, want success as after Ctrl-C", err)
	}
	out, errOut := r.stdout.String(), r.stderr.String()
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)

	for _, id := range ids {
		for _, want := range []string{
			`127\.0\.0\.221:5060 → 127\.0\.0\.222:5060 UDP INVITE sip:bob@127\.0\.0\.222:5060 Call-ID ` + id + ` SDP audio 127\.0\.0\.221:\d+ PCMU\+DTMF`,
			`127\.0\.0\.222:5060 → 127\.0\.0\.221:5060 UDP 180 Ringing \(INVITE\) Call-ID ` + id,
			`127\.0\.0\.222:5060 → 127\.0\.0\.221:5060 UDP 200 OK \(INVITE\) Call-ID ` + id + ` SDP audio 127\.0\.0\.222:\d+ PCMU\+DTMF`,
			`127\.0\.0\.221:5060 → 127\.0\.0\.222:5060 UDP ACK sip:bob@127\.0\.0\.222:5060 Call-ID ` + id,
			`127\.0\.0\.221:5060 → 127\.0\.0\.222:5060 UDP BYE sip:bob@127\.0\.0\.222:5060 Call-ID ` + id,
			`127\.0\.0\.222:5060 → 127\.0\.0\.221:5060 UDP 200 OK \(BYE\) Call-ID ` + id,
		} {
			if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6} ` + want + `$`).MatchString(out) {
				t.Errorf("no line matching %q", want)
			}
		}
	}
	// Both calls were summarized as they ended, before the stop.
	before, _, _ := strings.Cut(out, "-- capture stopped")
	got := calls(before)
	for _, id := range ids {
		if got[id] != [2]string{"direct", "caller-hangup"} {
			t.Errorf("call %s summarized as %v before the stop; want direct, caller-hangup", id, got[id])
		}
	}
	if !regexp.MustCompile(`live-call-1@test .*\| 200 OK \| .*, 1 leg, 2 streams \|`).MatchString(out) {
		t.Error("the call summary does not give the status and the two RTP streams")
	}
	if !regexp.MustCompile(` 0 dropped by kernel, 0 dropped by sipscope`).MatchString(errOut) {
		t.Error("the counters report drops, or are missing")
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d stats: \d+ packets \(\d+/s\), 0 dropped by kernel, 0 dropped by sipscope, \d+ calls, \d+\.\d MiB heap$`).MatchString(errOut) {
		t.Error("no --stats line with the counters and the heap")
	}

	// The saved capture analyzes to the same calls.
	rep, err := analysis.Files([]string{pcap}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	saved := map[string]string{}
	for _, c := range rep.Calls {
		saved[c.ID] = string(c.Media.Verdict)
		if !strings.HasPrefix(c.ID, "probe-") && len(c.Media.Streams) != 2 {
			t.Errorf("saved call %s has %d streams, want 2", c.ID, len(c.Media.Streams))
		}
	}
	for _, id := range ids {
		if saved[id] != "direct" {
			t.Errorf("the saved pcap gives call %s verdict %q, want direct (calls %v)", id, saved[id], saved)
		}
	}
	if want := regexp.MustCompile(`(\d+) packets captured`).FindStringSubmatch(errOut); want == nil || fmt.Sprint(rep.Summary.Packets) != want[1] {
		t.Errorf("the pcap holds %d packets; the counters say %v", rep.Summary.Packets, want)
	}
}

func TestLiveWithHEPListenAnalyzesWhatAgentsSend(t *testing.T) {
	port := freePort(t, "127.0.0.231")
	listen := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.231"), port)
	pcap := filepath.Join(t.TempDir(), "hep.pcap")
	f := &liveFlags{hepListen: listen.String(), queueMiB: 8, hepNetwork: "udp", write: pcap}
	r := startLive(t, f)

	// An agent sends one call over TCP as HEP3: the caller's and callee's
	// messages with the times it captured them.
	var s *hep.Sender
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if s, err = hep.Dial("tcp", listen.String(), hep.SenderOptions{NodeID: 2001}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	caller := netip.MustParseAddrPort("192.0.2.10:5060")
	callee := netip.MustParseAddrPort("192.0.2.20:5060")
	// Agents keep their clocks in time: the messages were captured just
	// before they arrive.
	start := time.Now().UTC().Truncate(time.Second).Add(-time.Second)
	for i, m := range scriptedCall("hep-call-1@test", caller, callee) {
		meta := decode.Meta{Src: m.src, Dst: m.dst, Time: start.Add(time.Duration(i) * 100 * time.Millisecond), Transport: decode.UDP}
		s.SIP(&meta, "hep-call-1@test", m.text)
	}
	s.Close()
	r.waitOutput(t, regexp.MustCompile(`(?m)^\S+ 192\.0\.2\.20:5060 → 192\.0\.2\.10:5060 UDP/HEP 200 OK \(BYE\) Call-ID hep-call-1@test$`), 5*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out, errOut := r.stdout.String(), r.stderr.String()
	if !strings.Contains(out, start.Format("15:04:05.000000")+" 192.0.2.10:5060 → 192.0.2.20:5060 UDP/HEP INVITE") {
		t.Errorf("the INVITE line does not carry the agent's time and addresses:\n%s", out)
	}
	if got := calls(out)["hep-call-1@test"]; got[1] != "caller-hangup" {
		t.Errorf("the call was summarized as %v:\n%s", got, out)
	}
	if !strings.Contains(errOut, "6 HEP packets received (1 TCP connections), 0 dropped") {
		t.Errorf("counters:\n%s", errOut)
	}
	rep, err := analysis.Files([]string{pcap}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.HEPPackets != 6 || len(rep.Calls) != 1 || rep.Calls[0].ID != "hep-call-1@test" {
		t.Errorf("the saved pcap has %d HEP packets and calls %v", rep.Summary.HEPPackets, rep.Calls)
	}
}

type scripted struct {
	src, dst netip.AddrPort
	text     []byte
}

// scriptedCall is a complete call without media as a capture agent sees
// it: INVITE, 180, 200, ACK, BYE, 200.
func scriptedCall(callID string, caller, callee netip.AddrPort) []scripted {
	c := testCall{callID: callID, caller: &ua{addr: caller}, callee: &ua{addr: callee}}
	inv, _ := sip.Parse(c.request("INVITE", 1, "", offer(netip.AddrPortFrom(caller.Addr(), 4000), 1)), sip.Options{})
	resp := func(req *sip.Message, code int, body []byte) []byte {
		r := sip.NewResponse(req, code, "")
		if body != nil {
			r.SetBody("application/sdp", body)
		}
		return r.Bytes()
	}
	ok, _ := sip.Parse(resp(inv, 200, nil), sip.Options{})
	bye, _ := sip.Parse(c.request("BYE", 2, ok.To.Tag, nil), sip.Options{})
	return []scripted{
		{caller, callee, inv.Bytes()},
		{callee, caller, resp(inv, 180, nil)},
		{callee, caller, resp(inv, 200, offer(netip.AddrPortFrom(callee.Addr(), 5000), 2))},
		{caller, callee, c.request("ACK", 1, ok.To.Tag, nil)},
		{caller, callee, bye.Bytes()},
		{callee, caller, resp(bye, 200, nil)},
	}
}

// sendScriptedCall sends a call (scriptedCall between 192.0.2.10 and
// 192.0.2.20) as a HEP agent would, over TCP to live's --hep-listen
// address, once live listens; the messages are stamped from now on.
func sendScriptedCall(t *testing.T, listen netip.AddrPort, callID string) ([]scripted, time.Time) {
	t.Helper()
	var agent *hep.Sender
	var err error
	for deadline := time.Now().Add(5 * time.Second); agent == nil; time.Sleep(10 * time.Millisecond) {
		if agent, err = hep.Dial("tcp", listen.String(), hep.SenderOptions{NodeID: 1}); err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	defer agent.Close()
	script := scriptedCall(callID, netip.MustParseAddrPort("192.0.2.10:5060"), netip.MustParseAddrPort("192.0.2.20:5060"))
	now := time.Now().UTC()
	for i, m := range script {
		meta := decode.Meta{Src: m.src, Dst: m.dst, Time: now.Add(time.Duration(i) * time.Millisecond), Transport: decode.UDP}
		agent.SIP(&meta, callID, m.text)
	}
	return script, now
}

// freePort finds a port free for both UDP and TCP on addr.
func freePort(t *testing.T, addr string) uint16 {
	t.Helper()
	l, err := hep.Listen(addr+":0", hep.ListenOptions{})
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	port := l.Addr().Port()
	l.Close()
	return port
}

// kamailioModules finds the directory of Kamailio's modules.
func kamailioModules(t *testing.T) string {
	t.Helper()
	for _, pattern := range []string{"/usr/lib/*/kamailio/modules", "/usr/lib/kamailio/modules", "/usr/local/lib*/kamailio/modules"} {
		matches, _ := filepath.Glob(filepath.Join(pattern, "siptrace.so"))
		if len(matches) > 0 {
			return filepath.Dir(matches[0])
		}
	}
	t.Skip("Kamailio's siptrace module is not installed (Debian: kamailio)")
	return ""
}

// kamailioConfig is a stateless proxy that forwards every request to the
// callee and mirrors every SIP message it receives and sends to a HEP
// collector with siptrace.
const kamailioConfig = `#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:%[1]s
mpath="%[2]s"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "siptrace.so"
modparam("siptrace", "duplicate_uri", "sip:%[3]s")
modparam("siptrace", "hep_mode_on", 1)
modparam("siptrace", "hep_version", 3)
modparam("siptrace", "hep_capture_id", 2001)
modparam("siptrace", "trace_to_database", 0)
modparam("siptrace", "trace_on", 1)
modparam("siptrace", "trace_mode", 1)

request_route {
	$du = "sip:%[4]s";
	forward();
	exit;
}
`

// startKamailio runs Kamailio in the foreground with the configuration
// text, logging to the returned buffer, until the test ends (SIGTERM, then
// SIGKILL after 5 s); exited is closed if it stops by itself.
func startKamailio(t *testing.T, bin, dir, config string) (kout *syncBuffer, exited chan struct{}) {
	t.Helper()
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	kout = &syncBuffer{}
	cmd := exec.Command(bin, "-DD", "-E", "-f", cfg, "-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"), "-m", "32", "-M", "8")
	cmd.Stdout, cmd.Stderr = kout, kout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited = make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	return kout, exited
}

func TestLiveReceivesHEPFromKamailioSiptrace(t *testing.T) {
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		t.Skip("kamailio is not installed (Debian: kamailio)")
	}
	mpath := kamailioModules(t)
	dir := t.TempDir()
	port := freePort(t, "127.0.0.241")
	collector := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.241"), port)
	proxy := netip.MustParseAddrPort("127.0.0.242:5060")
	caller := newUA(t, "127.0.0.243:5060")
	callee := newUA(t, "127.0.0.244:5060")

	r := startLive(t, &liveFlags{hepListen: collector.String(), queueMiB: 8, hepNetwork: "udp"})

	kout, exited := startKamailio(t, bin, dir, fmt.Sprintf(kamailioConfig, proxy, mpath, collector, callee.addr))

	// Kamailio is ready once it answers: OPTIONS to the callee through it.
	ready := time.Now().Add(10 * time.Second)
	for {
		caller.send(proxy, []byte("OPTIONS sip:bob@"+callee.addr.String()+" SIP/2.0\r\nVia: SIP/2.0/UDP "+caller.addr.String()+";branch="+sip.NewBranch()+
			"\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.243>;tag=p\r\nTo: <sip:bob@127.0.0.244>\r\nCall-ID: probe-"+sip.NewTag()+"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"))
		callee.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 4096)
		if _, _, err := callee.conn.ReadFromUDPAddrPort(buf); err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("kamailio exited:\n%s", kout.String())
		default:
		}
		if time.Now().After(ready) {
			t.Fatalf("kamailio forwarded nothing within 10s:\n%s", kout.String())
		}
	}

	// Probes that were slower than the one answered must not be taken
	// for the calls' messages.
	time.Sleep(300 * time.Millisecond)
	callee.drain()

	ids := []string{"kam-call-1@test", "kam-call-2@test"}
	for i, id := range ids {
		c := testCall{callID: id, caller: caller, callee: callee, next: proxy,
			rtpA:    netip.AddrPortFrom(caller.addr.Addr(), uint16(41000+4*i)),
			rtpB:    netip.AddrPortFrom(callee.addr.Addr(), uint16(41002+4*i)),
			packets: 5}
		c.place(t)
	}
	r.waitOutput(t, regexp.MustCompile(`(?m)UDP/HEP 200 OK \(BYE\) Call-ID kam-call-2@test$`), 5*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out, errOut := r.stdout.String(), r.stderr.String()
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	got := calls(out)
	for _, id := range ids {
		// Both hops of each message: caller to Kamailio and Kamailio to
		// callee, and back.
		for _, hop := range []string{
			`127\.0\.0\.243:5060 → 127\.0\.0\.242:5060 UDP/HEP INVITE sip:bob@127\.0\.0\.244:5060 Call-ID ` + id,
			`127\.0\.0\.242:5060 → 127\.0\.0\.244:5060 UDP/HEP INVITE sip:bob@127\.0\.0\.244:5060 Call-ID ` + id,
			`127\.0\.0\.244:5060 → 127\.0\.0\.242:5060 UDP/HEP 200 OK \(INVITE\) Call-ID ` + id,
			`127\.0\.0\.242:5060 → 127\.0\.0\.243:5060 UDP/HEP 200 OK \(INVITE\) Call-ID ` + id,
		} {
			if !regexp.MustCompile(hop).MatchString(out) {
				t.Errorf("no line matching %q", hop)
			}
		}
		if got[id][1] != "caller-hangup" {
			t.Errorf("call %s summarized as %v, want ended by the caller's BYE", id, got[id])
		}
	}
}

func TestHandoffKeepsPacketsInOrderAndCountsWhatDoesNotFit(t *testing.T) {
	h := newHandoff(1000)
	pkt := func(frame, n int) *capture.Packet {
		return &capture.Packet{Frame: frame, Data: bytes.Repeat([]byte{byte(frame)}, n), OrigLen: n}
	}
	// 300+300+300 fill the ring but for 100 bytes: a fourth of 300 does
	// not fit until the first is released.
	for i := 1; i <= 4; i++ {
		h.put(pkt(i, 300))
	}
	if d := h.drops.Load(); d != 1 {
		t.Fatalf("%d drops with the ring full, want 1", d)
	}
	first := <-h.slots
	h.release(first)
	// The next packet does not fit in the 100 bytes at the end: it wraps
	// to the start, where the first packet was.
	h.put(pkt(5, 250))
	h.put(pkt(6, 1001))
	if d := h.drops.Load(); d != 2 {
		t.Fatalf("%d drops after a packet larger than the ring, want 2", d)
	}
	close(h.slots)
	frames := []int{first.p.Frame}
	for s := range h.slots {
		if len(s.p.Data) == 0 || !bytes.Equal(s.p.Data, bytes.Repeat([]byte{byte(s.p.Frame)}, len(s.p.Data))) {
			t.Errorf("packet %d came out altered", s.p.Frame)
		}
		frames = append(frames, s.p.Frame)
		h.release(s)
	}
	if fmt.Sprint(frames) != "[1 2 3 5]" {
		t.Errorf("frames out of the ring: %v, want [1 2 3 5]", frames)
	}
}

func TestHandoffStartsAgainAtTheBeginningOnceEmpty(t *testing.T) {
	h := newHandoff(1000)
	for i := 1; i <= 3; i++ {
		h.put(&capture.Packet{Frame: i, Data: make([]byte, 301)})
		s := <-h.slots
		h.release(s)
		if &s.p.Data[0] != &h.data[0] {
			t.Errorf("packet %d was not put at the start of the empty ring", i)
		}
	}
	// After the restart the whole ring is free again: what lay between
	// the last packet and the end does not count as taken.
	for i := range 3 {
		h.put(&capture.Packet{Frame: 4 + i, Data: make([]byte, 333)})
	}
	if d := h.drops.Load(); d != 0 {
		t.Errorf("%d packets dropped from a ring that had room", d)
	}
}

func TestHandoffUnderConcurrentUseLosesNothingItDoesNotCount(t *testing.T) {
	h := newHandoff(64 << 10)
	const total = 200000
	got := make(chan int)
	go func() {
		n := 0
		for s := range h.slots {
			want := byte(s.p.Frame)
			for _, b := range s.p.Data {
				if b != want {
					t.Errorf("packet %d altered in the ring", s.p.Frame)
					break
				}
			}
			n++
			h.release(s)
		}
		got <- n
	}()
	data := make([]byte, 1500)
	for i := range total {
		n := 60 + i%1400
		for j := range n {
			data[j] = byte(i)
		}
		h.put(&capture.Packet{Frame: i, Data: data[:n]})
	}
	close(h.slots)
	n := <-got
	if uint64(n)+h.drops.Load() != total {
		t.Errorf("%d packets out and %d dropped of %d put", n, h.drops.Load(), total)
	}
	t.Logf("%d of %d packets passed a 64 KiB ring, %d dropped", n, total, h.drops.Load())
}

func TestHandoffCountsDropsWhenSlotsRunOut(t *testing.T) {
	h := newHandoff(16 * avgPacketBytes)
	for i := range 20 {
		h.put(&capture.Packet{Frame: i + 1, Data: []byte{1}})
	}
	if got := len(h.slots); got != 16 {
		t.Errorf("%d packets queued, want 16", got)
	}
	if d := h.drops.Load(); d != 4 {
		t.Errorf("%d drops, want 4", d)
	}
}

func TestLiveFlagsRefuseNonsense(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      liveFlags
		filter string
		want   string
	}{
		{"no source", liveFlags{}, "", "needs an interface"},
		{"filter on HEP", liveFlags{hepListen: ":9060"}, "port 5060", "not to --hep-listen"},
		{"negative count", liveFlags{iface: "lo", count: -1}, "", "zero or more"},
		{"rotation without a file", liveFlags{iface: "lo", fileSize: 10}, "", "-C needs -w"},
		{"ring without a size", liveFlags{iface: "lo", write: "x", fileCount: 3}, "", "-W needs -C"},
		{"stdout", liveFlags{iface: "lo", write: "-"}, "", "not supported"},
		{"HEP over SCTP", liveFlags{iface: "lo", hepNetwork: "sctp"}, "", "want udp or tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.queueMiB == 0 {
				tc.f.queueMiB = defaultQueueMiB
			}
			if tc.f.hepNetwork == "" {
				tc.f.hepNetwork = "udp"
			}
			err := tc.f.check(tc.filter)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("check gave %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestLiveReportsABadFilterBeforeCapturing(t *testing.T) {
	_, stderr, code := runCLI(t, "live", "-i", "lo", "udp", "port", "fivethousand")
	if code != exitUsage || !strings.Contains(stderr, "fivethousand") {
		t.Errorf("exit %d, stderr %q; want a usage error naming the bad word", code, stderr)
	}
}

func TestSDPSummary(t *testing.T) {
	for _, tc := range []struct{ name, sdp, want string }{
		{"offer", string(offer(netip.MustParseAddrPort("192.0.2.1:4000"), 1)), "SDP audio 192.0.2.1:4000 PCMU+DTMF"},
		{"hold", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0\r\na=sendonly\r\n", "SDP audio 192.0.2.1:4000 PCMA,PCMU sendonly"},
		{"rejected with video", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\nm=video 5000 RTP/AVP 96\r\n", "SDP audio rejected +video"},
		{"SRTP", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n", "SDP audio 192.0.2.1:4000 PCMU SRTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sdpSummary([]byte(tc.sdp)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLiveLinesStripControlCharacters(t *testing.T) {
	raw := "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: evil\x1b]0;pwned\x07@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.Parse([]byte(raw), sip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := &livePrinter{w: bufio.NewWriter(&out)}
	meta := decode.Meta{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.2:5060"), Time: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)}
	p.message(m, &meta)
	p.flush()
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Errorf("control characters reached the terminal: %q", out.String())
	}
	if want := "03:04:05.000006 192.0.2.1:5060 → 192.0.2.2:5060 UDP INVITE sip:bob@example.com Call-ID evil@x [malformed]\n"; out.String() != want {
		t.Errorf("line %q, want %q", out.String(), want)
	}
}

func TestLiveOnAnyStopsAfterCountPackets(t *testing.T) {
	needLiveCapture(t)
	sender := newUA(t, "127.0.0.251:5060")
	r := startLive(t, &liveFlags{iface: "any", count: 3, queueMiB: 8, hepNetwork: "udp"}, "udp and dst host 127.0.0.252")
	options := func(i int) []byte {
		return []byte(fmt.Sprintf("OPTIONS sip:x@127.0.0.252 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.251:5060;branch=z9hG4bK-%d\r\n"+
			"From: <sip:a@127.0.0.251>;tag=1\r\nTo: <sip:x@127.0.0.252>\r\nCall-ID: count-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", i, i))
	}
	// Until the capture shows the first packet, it may not be open yet.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stdout.String(), "Call-ID count-0") {
		if time.Now().After(deadline) {
			t.Fatalf("nothing captured within 10s:\n%s", r.stderr.String())
		}
		sender.send(netip.MustParseAddrPort("127.0.0.252:5060"), options(0))
		time.Sleep(50 * time.Millisecond)
	}
	for i := 1; i <= 5; i++ {
		sender.send(netip.MustParseAddrPort("127.0.0.252:5060"), options(i))
	}
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`(?m)^\S+ 127\.0\.0\.251:5060 → 127\.0\.0\.252:5060 UDP OPTIONS `).FindAllString(r.stdout.String(), -1)
	if len(lines) != 3 || !strings.Contains(r.stderr.String(), "3 packets captured") {
		t.Errorf("-c 3 printed %d messages; stderr:\n%s", len(lines), r.stderr.String())
	}
}

func TestLiveForwardsWhatItSeesToAHEPCollector(t *testing.T) {
	collector, err := hep.Listen("127.0.0.233:0", hep.ListenOptions{})
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.233: %v", err)
	}
	defer collector.Close()
	in := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.234"), freePort(t, "127.0.0.234"))
	r := startLive(t, &liveFlags{hepListen: in.String(), hepSend: collector.Addr().String(), hepNetwork: "udp",
		hepNode: 3003, hepPassword: "pw", queueMiB: 8, duration: 20 * time.Second})

	script, _ := sendScriptedCall(t, in, "fwd-call@test")

	got := make(chan []capture.Packet, 1)
	go func() {
		var pkts []capture.Packet
		var p capture.Packet
		for range script {
			if collector.Next(&p) != nil {
				break
			}
			p.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, p)
		}
		got <- pkts
	}()
	var pkts []capture.Packet
	select {
	case pkts = <-got:
	case <-time.After(10 * time.Second):
		t.Fatalf("the collector received nothing within 10s:\n%s", r.stderr.String())
	}
	for i, p := range pkts {
		var h decode.HEPPacket
		if err := decode.ParseHEP(p.Data[28:], &h); err != nil {
			t.Fatal(err)
		}
		if h.CaptureID != 3003 || string(h.AuthKey) != "pw" || string(h.CorrelationID) != "fwd-call@test" ||
			h.Src != script[i].src || h.Dst != script[i].dst || !bytes.Equal(h.Payload, script[i].text) {
			t.Errorf("forwarded packet %d: node %d key %q correlation %q %v > %v", i, h.CaptureID, h.AuthKey, h.CorrelationID, h.Src, h.Dst)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stderr.String(), "HEP: 6 sent, 0 dropped, 0 send errors") {
		t.Errorf("counters:\n%s", r.stderr.String())
	}
}

func TestLiveRotatesTheSavedCaptureBySize(t *testing.T) {
	in := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.235"), freePort(t, "127.0.0.235"))
	base := filepath.Join(t.TempDir(), "ring.pcap")
	r := startLive(t, &liveFlags{hepListen: in.String(), write: base, fileSize: 1, fileCount: 2, quiet: true,
		every: 20 * time.Millisecond, queueMiB: 8, hepNetwork: "udp"})
	var agent *hep.Sender
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for agent == nil {
		if agent, err = hep.Dial("tcp", in.String(), hep.SenderOptions{}); err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// 2,500 messages of about 1,200 bytes: 3 MB, three files' worth.
	msg := scriptedCall("rotate@test", netip.MustParseAddrPort("192.0.2.10:5060"), netip.MustParseAddrPort("192.0.2.20:5060"))[0]
	text := append(append([]byte(nil), msg.text...), bytes.Repeat([]byte("a=x-padding\r\n"), 60)...)
	const total = 2500
	for range total {
		meta := decode.Meta{Src: msg.src, Dst: msg.dst, Time: time.Now()}
		agent.SIP(&meta, "rotate@test", text)
	}
	agent.Close()
	// Once the listener has all of them, stopping it leaves them queued
	// for the file.
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stderr.String(), fmt.Sprintf(" %d HEP packets", total)) {
		if time.Now().After(deadline) {
			t.Fatalf("the listener did not get %d packets within 10s:\n%s", total, r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(base + "*")
	if fmt.Sprint(names) != fmt.Sprint([]string{base + "0", base + "1"}) {
		t.Fatalf("files %v, want %s0 and %s1", names, base, base)
	}
	packets := 0
	for _, n := range names {
		st, err := os.Stat(n)
		if err != nil {
			t.Fatal(err)
		}
		// A file passes the size by at most one packet before the next
		// one begins.
		if st.Size() > 1_000_000+2000 {
			t.Errorf("%s has %d bytes, more than -C 1 allows", n, st.Size())
		}
		rep, err := analysis.Files([]string{n}, analysis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		packets += rep.Summary.Packets
	}
	if packets == 0 || packets >= total {
		t.Errorf("the two files hold %d packets; the ring should have overwritten the first of %d", packets, total)
	}
}

// kamailioCaptureConfig is a HOMER-style capture node: Kamailio's
// sipcapture decodes every HEP packet it receives and the script logs the
// chunks it found and the payload, one line per packet.
const kamailioCaptureConfig = `#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:%s
mpath="%s"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "db_text.so"
loadmodule "sipcapture.so"
modparam("sipcapture", "hep_capture_on", 1)
modparam("sipcapture", "nonsip_hook", 1)
modparam("sipcapture", "db_url", "text://%s")
event_route[sipcapture:request] {
	xlog("L_ALERT", "HEPCHUNKS ver=$hep(version) family=$hep(0x001) proto=$hep(0x002) src=$hep(0x003):$hep(0x007) dst=$hep(0x004):$hep(0x008) sec=$hep(0x009) type=$hep(0x00b) node=$hep(0x00c) key=$hep(0x00e) corr=$hep(0x011) payload=[$hep(0x00f)]\n");
	return 0;
}
request_route {
	drop;
}
`

// TestLiveHEPSendIsReadByKamailioSipcapture sends what live forwards to a
// real HEP receiver, Kamailio's sipcapture, and checks every chunk it
// decoded: version, address family, IP protocol, addresses and ports,
// time, protocol type, node ID, password, Call-ID correlation and payload.
func TestLiveHEPSendIsReadByKamailioSipcapture(t *testing.T) {
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		t.Skip("kamailio is not installed (Debian: kamailio)")
	}
	mpath := kamailioModules(t)
	if _, err := os.Stat(filepath.Join(mpath, "sipcapture.so")); err != nil {
		t.Skip("Kamailio's sipcapture module is not installed (Debian: kamailio)")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	node := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.245"), freePort(t, "127.0.0.245"))
	kout, exited := startKamailio(t, bin, dir, fmt.Sprintf(kamailioCaptureConfig, node, mpath, db))

	// The node is up once it logs a probe of ours.
	probe, err := hep.Dial("udp", node.String(), hep.SenderOptions{NodeID: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(kout.String(), "corr=probe@test"); {
		meta := decode.Meta{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.2:5060"), Time: time.Now(), Transport: decode.UDP}
		probe.SIP(&meta, "probe@test", []byte("OPTIONS sip:x@192.0.2.2 SIP/2.0\r\nCall-ID: probe@test\r\n\r\n"))
		select {
		case <-exited:
			t.Fatalf("kamailio exited:\n%s", kout.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio logged no HEP within 10s:\n%s", kout.String())
		}
	}

	in := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.246"), freePort(t, "127.0.0.246"))
	r := startLive(t, &liveFlags{hepListen: in.String(), hepSend: node.String(), hepNetwork: "udp",
		hepNode: 3003, hepPassword: "pw", queueMiB: 8, duration: 20 * time.Second})
	script, now := sendScriptedCall(t, in, "kam-capture@test")

	line := regexp.MustCompile(`HEPCHUNKS ver=3 family=2 proto=17 src=(\S+) dst=(\S+) sec=(\d+) type=1 node=3003 key=pw corr=kam-capture@test payload=\[([^\]]*)\]`)
	var got [][]string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got = line.FindAllStringSubmatch(kout.String(), -1); len(got) >= len(script) || time.Now().After(deadline) {
			break
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(script) {
		t.Fatalf("kamailio decoded %d of the %d forwarded messages:\n%s\nsipscope:\n%s", len(got), len(script), kout.String(), r.stderr.String())
	}
	for i, g := range got {
		sec, _ := strconv.ParseInt(g[3], 10, 64)
		if g[1] != script[i].src.String() || g[2] != script[i].dst.String() || sec < now.Unix() || sec > now.Unix()+1 ||
			g[4] != string(script[i].text) {
			t.Errorf("message %d as kamailio decoded it: %s > %s at %d, payload %q", i, g[1], g[2], sec, g[4])
		}
	}
}
