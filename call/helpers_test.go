package call

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/sip"
)

// corpusDir finds shared/corpus/<sub> beside the repository root, and
// skips the test when absent.
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	p := findCorpus(sub)
	if p == "" {
		t.Skip("shared/corpus not found beside the repository")
	}
	return p
}

// findCorpus walks up from the working directory to shared/corpus/<sub>,
// returning "" when there is none.
func findCorpus(sub string) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "corpus", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// captured is one SIP message read from a capture file, or (data nil) a
// packet that only moves the clock.
type captured struct {
	meta decode.Meta
	data []byte
}

// readCapture reads a pcap or pcapng file and returns its SIP messages over
// UDP and TCP (messages spanning TCP segments are reassembled in order;
// IP fragments, HEP, WebSocket and SCTP are left out), plus one clock tick
// per other packet.
func readCapture(t testing.TB, path string) []captured {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var link layers.LinkType
	if binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src, link = r, r.LinkType()
	}
	type flowKey struct{ src, dst netip.AddrPort }
	type flow struct {
		buf   []byte
		next  uint32
		first int
	}
	flows := map[flowKey]*flow{}
	var out []captured
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Logf("%s: frame %d: %v", path, frame, err)
			break
		}
		tick := captured{meta: decode.Meta{Frame: frame, FirstFrame: frame, Time: ci.Timestamp}}
		p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true})
		var srcIP, dstIP netip.Addr
		fragment := false
		var payload []byte
		var sport, dport uint16
		var tcp *layers.TCP
		for _, l := range p.Layers() {
			switch l := l.(type) {
			case *layers.IPv4:
				srcIP, _ = netip.AddrFromSlice(l.SrcIP.To4())
				dstIP, _ = netip.AddrFromSlice(l.DstIP.To4())
				fragment = l.Flags&layers.IPv4MoreFragments != 0 || l.FragOffset != 0
			case *layers.IPv6:
				srcIP, _ = netip.AddrFromSlice(l.SrcIP)
				dstIP, _ = netip.AddrFromSlice(l.DstIP)
			case *layers.IPv6Fragment:
				fragment = true
			case *layers.UDP:
				sport, dport, payload, tcp = uint16(l.SrcPort), uint16(l.DstPort), l.Payload, nil
			case *layers.TCP:
				sport, dport, payload, tcp = uint16(l.SrcPort), uint16(l.DstPort), l.Payload, l
			}
		}
		if !srcIP.IsValid() || fragment || len(payload) == 0 {
			out = append(out, tick)
			continue
		}
		meta := tick.meta
		meta.Src, meta.Dst = netip.AddrPortFrom(srcIP, sport), netip.AddrPortFrom(dstIP, dport)
		if tcp == nil {
			if sip.LooksLike(payload) {
				out = append(out, captured{meta: meta, data: slices.Clone(payload)})
			} else {
				out = append(out, tick)
			}
			continue
		}
		meta.Transport = decode.TCP
		k := flowKey{meta.Src, meta.Dst}
		fl := flows[k]
		if fl == nil {
			fl = &flow{next: tcp.Seq}
			flows[k] = fl
		}
		switch d := int32(tcp.Seq - fl.next); {
		case d < 0:
			out = append(out, tick) // retransmitted segment
			continue
		case d > 0:
			fl.buf = nil // gap: start again at this segment
		}
		if len(fl.buf) == 0 {
			fl.first = frame
		}
		fl.buf = append(fl.buf, payload...)
		fl.next = tcp.Seq + uint32(len(payload))
		emitted := false
		for len(fl.buf) > 0 {
			skip, n, ok := sip.FrameLength(fl.buf)
			rest := fl.buf[skip:]
			if len(rest) >= 12 && !sip.LooksLike(rest) {
				fl.buf = nil
				break
			}
			if !ok {
				fl.buf = rest
				break
			}
			m := meta
			m.FirstFrame = fl.first
			out = append(out, captured{meta: m, data: slices.Clone(rest[:n])})
			emitted = true
			fl.buf = rest[n:]
			fl.first = frame
		}
		if !emitted {
			out = append(out, tick)
		}
	}
	return out
}

// runCapture feeds a capture through an engine the way the pipeline does:
// Advance on every packet, Handle on every SIP message, Finish at the end.
func runCapture(t testing.TB, path string, opt Options) ([]*Call, *Engine, []*Msg) {
	t.Helper()
	var calls []*Call
	user := opt.OnCall
	opt.OnCall = func(c *Call) {
		calls = append(calls, c)
		if user != nil {
			user(c)
		}
	}
	e := NewEngine(opt)
	for _, c := range readCapture(t, path) {
		if c.data == nil {
			e.Advance(c.meta.Time)
			continue
		}
		m, err := sip.Parse(c.data, sip.Options{KeepRaw: opt.KeepRaw})
		if err != nil {
			continue
		}
		meta := c.meta
		e.Handle(m, &meta)
	}
	e.Finish()
	slices.SortStableFunc(calls, func(a, b *Call) int { return a.FirstFrame - b.FirstFrame })
	var msgs []*Msg
	for _, c := range calls {
		for _, l := range c.Legs {
			msgs = append(msgs, l.Messages...)
		}
	}
	return calls, e, msgs
}

// harness drives an engine with SIP text written by the test.
type harness struct {
	t     testing.TB
	e     *Engine
	frame int
	base  time.Time
	now   time.Duration
	calls []*Call
	sdps  []SDPEvent
	sent  []*wire
}

func newHarness(t testing.TB, opt Options) *harness {
	h := &harness{t: t, base: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	opt.OnCall = func(c *Call) { h.calls = append(h.calls, c) }
	opt.OnSDP = func(ev SDPEvent) { h.sdps = append(h.sdps, ev) }
	h.e = NewEngine(opt)
	return h
}

// at sets the clock to d after the start.
func (h *harness) at(d time.Duration) *harness {
	h.now = d
	return h
}

func (h *harness) time() time.Time { return h.base.Add(h.now) }

// advance moves the clock and runs the engine's timers.
func (h *harness) advance(d time.Duration) {
	h.now = d
	h.e.Advance(h.time())
}

// wire is a message as sent: its text, addresses and parsed form.
type wire struct {
	text     string
	src, dst string
	m        *sip.Message
	frame    int
	at       time.Duration // clock offset it was sent at
}

func (h *harness) send(src, dst, text string) *wire {
	h.t.Helper()
	m, err := sip.Parse([]byte(text), sip.Options{})
	if err != nil {
		h.t.Fatalf("test message does not parse: %v\n%s", err, text)
	}
	if m.Malformed() {
		h.t.Fatalf("test message malformed: %v\n%s", m.Problems, text)
	}
	h.frame++
	h.e.Handle(m, &decode.Meta{
		Frame: h.frame, FirstFrame: h.frame, Time: h.time(),
		Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst),
	})
	w := &wire{text: text, src: src, dst: dst, m: m, frame: h.frame, at: h.now}
	h.sent = append(h.sent, w)
	return w
}

// resend sends the same bytes again between the same addresses.
func (h *harness) resend(w *wire) *wire { return h.send(w.src, w.dst, w.text) }

// forward sends a request on as a proxy does: its own Via on top.
func (h *harness) forward(w *wire, proxy, dst, branch string) *wire {
	via := "SIP/2.0/UDP " + proxy + ";branch=" + branch
	return h.send(proxy, dst, rebuild(w.m, []string{via}, 0))
}

// forwardResponse sends a response on as a proxy does: its Via removed.
func (h *harness) forwardResponse(w *wire, proxy, dst string) *wire {
	return h.send(proxy, dst, rebuild(w.m, nil, 1))
}

func (h *harness) finish() []*Call {
	h.e.Finish()
	slices.SortStableFunc(h.calls, func(a, b *Call) int { return a.FirstFrame - b.FirstFrame })
	return h.calls
}

// rebuild writes a parsed message out again with Vias added on top or
// removed from the top.
func rebuild(m *sip.Message, addVia []string, dropVia int) string {
	var b strings.Builder
	if m.IsRequest() {
		b.WriteString(m.Method + " " + m.RequestURI + " SIP/2.0\r\n")
	} else {
		b.WriteString("SIP/2.0 " + strconv.Itoa(m.StatusCode) + " " + m.Reason + "\r\n")
	}
	vias := append(slices.Clone(addVia), m.Values("Via")[dropVia:]...)
	for _, v := range vias {
		b.WriteString("Via: " + v + "\r\n")
	}
	for _, hd := range m.Headers {
		if hd.Name == "Via" || hd.Name == "Content-Length" {
			continue
		}
		b.WriteString(hd.Name + ": " + hd.Value + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(m.Body)) + "\r\n\r\n")
	b.Write(m.Body)
	return b.String()
}

// party is one SIP endpoint: where it sends from and its address of record.
type party struct {
	addr string // ip:port
	uri  string
}

// dlg writes the messages of one dialog between a (UAC) and b (UAS).
type dlg struct {
	h              *harness
	callID         string
	a, b           party
	aTag, bTag     string
	aCSeq, bCSeq   int
	ruri           string
	branches       int
	inviteHeaders  []string
	noBranchCookie bool
}

func (h *harness) dialog(callID string, a, b party) *dlg {
	return &dlg{h: h, callID: callID, a: a, b: b, aTag: "t" + tagOf(callID) + "a", bTag: "t" + tagOf(callID) + "b",
		aCSeq: 100, bCSeq: 500, ruri: b.uri}
}

func tagOf(s string) string {
	var sum uint32
	for i := 0; i < len(s); i++ {
		sum = sum*31 + uint32(s[i])
	}
	return strconv.FormatUint(uint64(sum), 16)
}

func (d *dlg) branch() string {
	d.branches++
	if d.noBranchCookie {
		return d.callID + "-" + strconv.Itoa(d.branches)
	}
	return "z9hG4bK" + tagOf(d.callID) + "x" + strconv.Itoa(d.branches)
}

// ends returns the sender's and receiver's addresses and the From/To
// header values for a request the given side sends in the dialog.
func (d *dlg) ends(from Side, withTo bool) (src, dst, fromHdr, toHdr string) {
	if from == UAC {
		toHdr = "<" + d.b.uri + ">"
		if withTo && d.bTag != "" {
			toHdr += ";tag=" + d.bTag
		}
		fromHdr = "<" + d.a.uri + ">"
		if d.aTag != "" {
			fromHdr += ";tag=" + d.aTag
		}
		return d.a.addr, d.b.addr, fromHdr, toHdr
	}
	fromHdr = "<" + d.b.uri + ">"
	if d.bTag != "" {
		fromHdr += ";tag=" + d.bTag
	}
	toHdr = "<" + d.a.uri + ">"
	if d.aTag != "" {
		toHdr += ";tag=" + d.aTag
	}
	return d.b.addr, d.a.addr, fromHdr, toHdr
}

func (d *dlg) request(from Side, method string, cseq int, inDialog bool, body string, extra ...string) *wire {
	src, dst, f, to := d.ends(from, inDialog)
	ruri := d.ruri
	if from == UAS {
		ruri = d.a.uri
	}
	var b strings.Builder
	b.WriteString(method + " " + ruri + " SIP/2.0\r\n")
	b.WriteString("Via: SIP/2.0/UDP " + src + ";branch=" + d.branch() + "\r\n")
	b.WriteString("From: " + f + "\r\nTo: " + to + "\r\nCall-ID: " + d.callID + "\r\n")
	b.WriteString("CSeq: " + strconv.Itoa(cseq) + " " + method + "\r\n")
	b.WriteString("Max-Forwards: 70\r\n")
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	writeBody(&b, body)
	return d.h.send(src, dst, b.String())
}

func writeBody(b *strings.Builder, body string) {
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// invite sends the dialog-creating INVITE from a.
func (d *dlg) invite(body string, extra ...string) *wire {
	d.aCSeq++
	return d.request(UAC, "INVITE", d.aCSeq, false, body, append(slices.Clone(d.inviteHeaders), extra...)...)
}

// in sends an in-dialog request from the given side with its next CSeq.
func (d *dlg) in(from Side, method, body string, extra ...string) *wire {
	cseq := &d.aCSeq
	if from == UAS {
		cseq = &d.bCSeq
	}
	*cseq++
	return d.request(from, method, *cseq, true, body, extra...)
}

// reply answers a request from the other end, adding the UAS tag to the To
// of a dialog-creating request (except on 100 Trying).
func (d *dlg) reply(req *wire, code int, body string, extra ...string) *wire {
	return d.replyTag(req, code, d.bTag, body, extra...)
}

func (d *dlg) replyTag(req *wire, code int, tag, body string, extra ...string) *wire {
	m := req.m
	var b strings.Builder
	b.WriteString("SIP/2.0 " + strconv.Itoa(code) + " " + reasonText(code) + "\r\n")
	for _, v := range m.Values("Via") {
		b.WriteString("Via: " + v + "\r\n")
	}
	to := m.Get("To")
	if m.To.Tag == "" && code > 100 && tag != "" {
		to += ";tag=" + tag
	}
	b.WriteString("From: " + m.Get("From") + "\r\nTo: " + to + "\r\nCall-ID: " + m.CallID + "\r\n")
	b.WriteString("CSeq: " + m.Get("CSeq") + "\r\n")
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	writeBody(&b, body)
	return d.h.send(req.dst, req.src, b.String())
}

// ack sends the ACK of a 2xx: a new transaction with the INVITE's CSeq.
func (d *dlg) ack(inv *wire, body string) *wire {
	from := UAC
	if inv.m.From.Tag == d.bTag && d.bTag != "" {
		from = UAS
	}
	return d.request(from, "ACK", inv.m.CSeq, true, body)
}

// ackFailure sends the ACK of a non-2xx final: same branch as the INVITE.
func (d *dlg) ackFailure(inv *wire, resp *wire) *wire {
	m := inv.m
	var b strings.Builder
	b.WriteString("ACK " + m.RequestURI + " SIP/2.0\r\n")
	b.WriteString("Via: " + m.Values("Via")[0] + "\r\n")
	b.WriteString("From: " + m.Get("From") + "\r\nTo: " + resp.m.Get("To") + "\r\nCall-ID: " + m.CallID + "\r\n")
	b.WriteString("CSeq: " + strconv.Itoa(m.CSeq) + " ACK\r\nContent-Length: 0\r\n\r\n")
	return d.h.send(inv.src, inv.dst, b.String())
}

// cancel sends a CANCEL of an INVITE: same branch and CSeq number.
func (d *dlg) cancel(inv *wire, extra ...string) *wire {
	m := inv.m
	var b strings.Builder
	b.WriteString("CANCEL " + m.RequestURI + " SIP/2.0\r\n")
	b.WriteString("Via: " + m.Values("Via")[0] + "\r\n")
	b.WriteString("From: " + m.Get("From") + "\r\nTo: " + m.Get("To") + "\r\nCall-ID: " + m.CallID + "\r\n")
	b.WriteString("CSeq: " + strconv.Itoa(m.CSeq) + " CANCEL\r\n")
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return d.h.send(inv.src, inv.dst, b.String())
}

func reasonText(code int) string {
	switch code {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 401:
		return "Unauthorized"
	case 407:
		return "Proxy Authentication Required"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 491:
		return "Request Pending"
	}
	return "Status"
}

var sdpVersion uint64

// sdpBody writes an SDP offering audio at ip:port with the payload types
// (0 PCMU, 8 PCMA, 9 G722, 18 G729, 101 telephone-event) and a direction.
func sdpBody(ip string, port int, dir string, pts ...int) string {
	sdpVersion++
	var b bytes.Buffer
	fmt.Fprintf(&b, "v=0\r\no=- 4242 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", sdpVersion, ip, ip)
	b.WriteString("m=audio " + strconv.Itoa(port) + " RTP/AVP")
	for _, pt := range pts {
		b.WriteString(" " + strconv.Itoa(pt))
	}
	b.WriteString("\r\n")
	names := map[int]string{0: "PCMU/8000", 8: "PCMA/8000", 9: "G722/8000", 18: "G729/8000", 101: "telephone-event/8000"}
	for _, pt := range pts {
		if n, ok := names[pt]; ok {
			fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", pt, n)
		}
	}
	if slices.Contains(pts, 101) {
		b.WriteString("a=fmtp:101 0-16\r\n")
	}
	if dir != "" {
		b.WriteString("a=" + dir + "\r\n")
	}
	return b.String()
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func onlyCall(t testing.TB, calls []*Call) *Call {
	t.Helper()
	if len(calls) != 1 {
		for _, c := range calls {
			t.Logf("call %s legs=%d", c.ID, len(c.Legs))
		}
		t.Fatalf("got %d calls, want 1", len(calls))
	}
	return calls[0]
}
