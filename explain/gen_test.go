package explain

import (
	"bytes"
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/pcaptest"
)

// scenario writes a synthetic capture: SIP messages and RTP packets at
// chosen times, sorted into a pcap that the real pipeline reads.
type scenario struct {
	t    testing.TB
	now  time.Duration
	pkts []rawPkt
	n    int // branches and tags
}

type rawPkt struct {
	at       time.Duration
	order    int
	src, dst netip.AddrPort
	payload  []byte
}

var epoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func newScenario(t testing.TB) *scenario { return &scenario{t: t} }

// at moves the scenario's clock.
func (s *scenario) at(d time.Duration) *scenario {
	s.now = d
	return s
}

// after moves the clock forward.
func (s *scenario) after(d time.Duration) *scenario {
	s.now += d
	return s
}

func (s *scenario) send(src, dst netip.AddrPort, payload []byte) {
	s.pkts = append(s.pkts, rawPkt{at: s.now, order: len(s.pkts), src: src, dst: dst, payload: payload})
}

// rtp sends one RTP packet every 20 ms from..to (scenario time).
func (s *scenario) rtp(src, dst netip.AddrPort, ssrc uint32, pt uint8, from, to time.Duration) {
	seq := uint16(ssrc)
	ts := ssrc * 7
	for at := from; at < to; at += 20 * time.Millisecond {
		p := pcaptest.RTP(seq, ts, ssrc, pt, false, make([]byte, 160))
		s.pkts = append(s.pkts, rawPkt{at: at, order: len(s.pkts), src: src, dst: dst, payload: p})
		seq++
		ts += 160
	}
}

// source sorts the packets by time and returns them as a pcap capture.
func (s *scenario) source() capture.Source {
	s.t.Helper()
	pkts := slices.Clone(s.pkts)
	slices.SortStableFunc(pkts, func(a, b rawPkt) int {
		return cmp.Or(cmp.Compare(a.at, b.at), a.order-b.order)
	})
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, capture.LinkRaw, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(epoch.Add(p.at), pcaptest.UDP(p.src, p.dst, p.payload), 0); err != nil {
			s.t.Fatal(err)
		}
	}
	src, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "scenario.pcap", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return src
}

// analyze runs the scenario through the pipeline.
func (s *scenario) analyze() []Input {
	s.t.Helper()
	return newPipeline().run(s.t, s.source())
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// sdpSide describes one side's SDP.
type sdpSide struct {
	addr   netip.AddrPort
	codecs []string // PCMU, PCMA, G722
	te     bool     // telephone-event
	dir    string   // "" means sendrecv
	srtp   bool
}

var staticPT = map[string]int{"PCMU": 0, "PCMA": 8, "G722": 9}

func (m sdpSide) body(version int) string {
	ip := "IP4"
	if m.addr.Addr().Is6() {
		ip = "IP6"
	}
	proto := "RTP/AVP"
	if m.srtp {
		proto = "RTP/SAVP"
	}
	var pts []string
	var attrs []string
	for _, c := range m.codecs {
		pt := staticPT[c]
		pts = append(pts, fmt.Sprint(pt))
		attrs = append(attrs, fmt.Sprintf("a=rtpmap:%d %s/8000", pt, c))
	}
	if m.te {
		pts = append(pts, "101")
		attrs = append(attrs, "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16")
	}
	if m.srtp {
		attrs = append(attrs, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz")
	}
	dir := m.dir
	if dir == "" {
		dir = "sendrecv"
	}
	attrs = append(attrs, "a=ptime:20", "a="+dir)
	return fmt.Sprintf("v=0\r\no=- 1000 %d IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d %s %s\r\n%s\r\n",
		version, ip, m.addr.Addr(), ip, m.addr.Addr(), m.addr.Port(), proto, strings.Join(pts, " "), strings.Join(attrs, "\r\n"))
}

// ua is one SIP endpoint or server as it appears on the wire.
type ua struct {
	sig   netip.AddrPort // where its SIP comes from
	via   string         // Via sent-by when it differs from sig (NAT)
	agent string         // User-Agent / Server
	user  string
	// contact overrides the Contact host:port.
	contact string
}

// side of a dialog: the UAC sent the first INVITE.
type side int

const (
	uac side = iota
	uas
)

// dialog writes the SIP messages of one leg.
type dialog struct {
	s        *scenario
	callID   string
	ends     [2]ua
	fromUser string
	ruri     string
	tags     [2]string
	cseq     [2]int
	version  [2]int
	received bool // servers answer with received=/rport= of the source
	started  bool
}

// request is a request sent on a dialog, for its responses.
type request struct {
	from   side
	method string
	cseq   int
	via    string
	toTag  string
}

func (s *scenario) dialog(callID string, caller, callee ua, fromUser, ruriUser string) *dialog {
	s.n++
	return &dialog{
		s: s, callID: callID, ends: [2]ua{caller, callee}, fromUser: fromUser,
		ruri: "sip:" + ruriUser + "@" + callee.sig.String(),
		tags: [2]string{fmt.Sprintf("t%da", s.n), fmt.Sprintf("t%db", s.n)}, cseq: [2]int{100 * s.n, 1000 * s.n},
		received: true,
	}
}

func (d *dialog) contact(sd side) string {
	u := d.ends[sd]
	h := u.sig.String()
	if u.contact != "" {
		h = u.contact
	}
	user := u.user
	if user == "" {
		user = "x"
	}
	return "<sip:" + user + "@" + h + ">"
}

// send writes a request from one side; body may be empty. The first
// INVITE has no To tag.
func (d *dialog) send(from side, method, body string, extra ...string) *request {
	s := d.s
	s.n++
	u := d.ends[from]
	sentBy := u.sig.String()
	if u.via != "" {
		sentBy = u.via
	}
	r := &request{from: from, method: method}
	switch method {
	case "ACK":
		r.cseq = d.cseq[uac]
		if from == uas {
			r.cseq = d.cseq[uas]
		}
	default:
		d.cseq[from]++
		r.cseq = d.cseq[from]
	}
	r.via = fmt.Sprintf("SIP/2.0/UDP %s;branch=z9hG4bK%d;rport", sentBy, s.n)
	initial := method == "INVITE" && from == uac && !d.started
	d.started = true
	fromURI := "<sip:" + d.fromUser + "@" + d.ends[uac].sig.Addr().String() + ">;tag=" + d.tags[uac]
	toURI := "<" + d.ruri + ">"
	if !initial {
		toURI += ";tag=" + d.tags[uas]
	}
	uri := d.ruri
	if from == uas {
		fromURI, toURI = "<"+d.ruri+">;tag="+d.tags[uas], "<sip:"+d.fromUser+"@"+d.ends[uac].sig.Addr().String()+">;tag="+d.tags[uac]
		uri = strings.Trim(d.contact(uac), "<>")
	} else if !initial {
		uri = strings.Trim(d.contact(uas), "<>")
	}
	r.toTag = d.tags[uas]
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: %s\r\n",
		method, uri, r.via, fromURI, toURI, d.callID, r.cseq, method, d.contact(from))
	if u.agent != "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", u.agent)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	d.finish(&b, body)
	s.send(u.sig, d.ends[1-from].sig, []byte(b.String()))
	if initial {
		r.toTag = ""
	}
	return r
}

func (d *dialog) finish(b *strings.Builder, body string) {
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(b, "Content-Length: %d\r\n\r\n%s", len(body), body)
}

// reply writes a response to r from the other side.
func (d *dialog) reply(r *request, code int, reason, body string) {
	s := d.s
	from := 1 - r.from
	u := d.ends[from]
	via := r.via
	if d.received {
		src := d.ends[r.from].sig
		via = strings.Replace(via, ";rport", fmt.Sprintf(";received=%s;rport=%d", src.Addr(), src.Port()), 1)
	}
	fromURI := "<sip:" + d.fromUser + "@" + d.ends[uac].sig.Addr().String() + ">;tag=" + d.tags[uac]
	toURI := "<" + d.ruri + ">"
	if code > 100 {
		toURI += ";tag=" + d.tags[uas]
	}
	if r.from == uas {
		fromURI, toURI = "<"+d.ruri+">;tag="+d.tags[uas], "<sip:"+d.fromUser+"@"+d.ends[uac].sig.Addr().String()+">;tag="+d.tags[uac]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n",
		code, reason, via, fromURI, toURI, d.callID, r.cseq, r.method)
	if code >= 200 && code < 300 && r.method == "INVITE" {
		fmt.Fprintf(&b, "Contact: %s\r\n", d.contact(from))
	}
	if u.agent != "" {
		fmt.Fprintf(&b, "Server: %s\r\n", u.agent)
	}
	d.finish(&b, body)
	s.send(u.sig, d.ends[r.from].sig, []byte(b.String()))
}

// sdp writes a side's SDP with its next version.
func (d *dialog) sdp(sd side, m sdpSide) string {
	d.version[sd]++
	return m.body(d.version[sd])
}

// final ends the INVITE transaction r: the final response and, a
// millisecond later, the ACK.
func (d *dialog) final(r *request, code int, reason, body string) {
	d.reply(r, code, reason, body)
	d.s.after(time.Millisecond)
	d.send(r.from, "ACK", "")
}

// exchange runs a whole INVITE transaction: request with offer, 200 with
// answer, ACK, each a millisecond apart.
func (d *dialog) exchange(from side, offer, answer sdpSide) {
	r := d.send(from, "INVITE", d.sdp(from, offer))
	d.s.after(time.Millisecond)
	d.final(r, 200, "OK", d.sdp(1-from, answer))
	d.s.after(time.Millisecond)
}

// update runs an UPDATE transaction with an offer.
func (d *dialog) update(from side, offer, answer sdpSide) {
	r := d.send(from, "UPDATE", d.sdp(from, offer))
	d.s.after(time.Millisecond)
	d.reply(r, 200, "OK", d.sdp(1-from, answer))
	d.s.after(time.Millisecond)
}

// refuse runs an INVITE transaction that the far side refuses.
func (d *dialog) refuse(from side, offer sdpSide, code int, reason string) {
	r := d.send(from, "INVITE", d.sdp(from, offer))
	d.s.after(time.Millisecond)
	d.final(r, code, reason, "")
	d.s.after(time.Millisecond)
}

func (d *dialog) bye(from side) {
	r := d.send(from, "BYE", "")
	d.s.after(time.Millisecond)
	d.reply(r, 200, "OK", "")
	d.s.after(time.Millisecond)
}
