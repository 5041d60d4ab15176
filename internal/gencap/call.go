package gencap

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dialog is one SIP dialog (a leg) between a UAC and a UAS.
type dialog struct {
	callID           string
	uac, uas         netip.AddrPort
	fromNum, toNum   string
	fromTag, toTag   string
	uacAgent         string
	uasAgent         string
	uacRTP, uasRTP   netip.AddrPort
	uacSess, uasSess int64
}

// message is one SIP message of a call's script.
type message struct {
	at       time.Duration
	src, dst netip.AddrPort
	text     []byte
}

// signalling sends the SIP messages of one call, then starts the slot's
// next call when the Config asks for calls back to back.
type signalling struct {
	slot *slot
	msgs []message
	i    int
	ord  uint64
}

func (s *signalling) due() time.Duration { return s.msgs[s.i].at }
func (s *signalling) order() uint64      { return s.ord }

func (s *signalling) next(g *generator) error {
	m := &s.msgs[s.i]
	if err := g.send(m.at, m.src, m.dst, tosCS3, m.text); err != nil {
		return err
	}
	g.stats.SIP++
	s.i++
	if s.i < len(s.msgs) {
		g.fix()
		return nil
	}
	g.pop()
	if g.cfg.Hold > 0 {
		g.startCall(s.slot, m.at+g.between(500*time.Millisecond, 3*time.Second))
	}
	return nil
}

// hexID returns n random hex digits.
func (g *generator) hexID(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

// startCall plans a call of slot s starting at offset at: its signalling
// and its RTP streams go into the queue. A call that would not fit in
// the capture is not started.
func (g *generator) startCall(s *slot, at time.Duration) {
	d := g.cfg.Duration
	room := min(setupRoom, d/2)
	if at > d-room {
		return
	}
	g.stats.Calls++
	s.calls++
	ringMax := min(1500*time.Millisecond, d/10)
	ring := g.between(ringMax/5, ringMax)
	tail := g.between(min(200*time.Millisecond, d/50), min(1200*time.Millisecond, d/20))
	var c callPlan
	c.callerNum = strconv.Itoa(100000 + s.n)
	c.calleeNum = strconv.Itoa(200000 + s.n)
	a := netip.AddrPortFrom(s.caller(), sipPort)
	b := netip.AddrPortFrom(g.callee(s), sipPort)
	// A slot's phones move to new RTP ports with every call, as phones
	// do, so two calls of a slot never share a flow.
	port := uint16(10000 + 2*(s.calls%20000))
	if !g.cfg.B2BUA {
		leg := g.newDialog(a, b, c.callerNum, c.calleeNum, phoneAgent, phoneAgent)
		leg.uacRTP = netip.AddrPortFrom(s.caller(), port)
		leg.uasRTP = g.calleeMedia(s, port)
		ans := at + ring
		end := g.endTime(ans, tail)
		c.direct(g, leg, at, ans, end)
		g.streams(leg, ans, end)
	} else {
		p := netip.AddrPortFrom(pbx, sipPort)
		// The PBX's ports are shared by every slot, so they come from
		// the call counter.
		pp := uint16(20000 + 4*(g.stats.Calls%10000))
		in := g.newDialog(a, p, c.callerNum, c.calleeNum, phoneAgent, pbxAgent)
		in.uacRTP = netip.AddrPortFrom(s.caller(), port)
		in.uasRTP = netip.AddrPortFrom(pbx, pp)
		outside := pbx
		if g.cfg.PBXOutside {
			outside = pbxOutside
		}
		out := g.newDialog(netip.AddrPortFrom(outside, sipPort), b, c.callerNum, c.calleeNum, pbxAgent, phoneAgent)
		out.uacRTP = netip.AddrPortFrom(outside, pp+2)
		out.uasRTP = g.calleeMedia(s, port)
		t1 := at + g.between(5*time.Millisecond, 30*time.Millisecond)
		ans := t1 + ring
		end := g.endTime(ans, tail)
		c.bridged(g, in, out, at, t1, ans, end)
		g.streams(in, ans, end)
		g.streams(out, ans, end)
	}
	slices.SortStableFunc(c.msgs, func(x, y message) int { return cmp.Compare(x.at, y.at) })
	g.push(&signalling{slot: s, msgs: c.msgs, ord: g.nextOrder()})
}

// endTime is when a call answered at ans hangs up: after Config.Hold,
// varied, and before the capture ends.
func (g *generator) endTime(ans, tail time.Duration) time.Duration {
	last := g.cfg.Duration - tail
	if g.cfg.Hold <= 0 {
		return max(last, ans+ptime)
	}
	hold := g.cfg.Hold/2 + time.Duration(g.rng.Int64N(int64(g.cfg.Hold)+1))
	return max(min(ans+hold, last), ans+ptime)
}

const (
	phoneAgent = "gencap-phone/1.0"
	pbxAgent   = "Asterisk PBX 20.5.0"
)

func (g *generator) newDialog(uac, uas netip.AddrPort, from, to, uacAgent, uasAgent string) *dialog {
	g.stats.Legs++
	return &dialog{
		callID:   g.hexID(32) + "@" + uac.Addr().String(),
		uac:      uac,
		uas:      uas,
		fromNum:  from,
		toNum:    to,
		fromTag:  g.hexID(10),
		toTag:    g.hexID(10),
		uacAgent: uacAgent,
		uasAgent: uasAgent,
		uacSess:  g.rng.Int64N(1 << 30),
		uasSess:  g.rng.Int64N(1 << 30),
	}
}

// callPlan collects the messages of one call.
type callPlan struct {
	callerNum, calleeNum string
	msgs                 []message
}

func (c *callPlan) add(at time.Duration, src, dst netip.AddrPort, text string) {
	c.msgs = append(c.msgs, message{at: at, src: src, dst: dst, text: []byte(text)})
}

// direct is a call from phone to phone: INVITE, 100, 180, 200, ACK, and
// a BYE from either side.
func (c *callPlan) direct(g *generator, d *dialog, at, ans, end time.Duration) {
	inv := g.request(d, "INVITE", 102, true)
	c.add(at, d.uac, d.uas, inv.text)
	c.add(at+g.between(time.Millisecond, 5*time.Millisecond), d.uas, d.uac, g.response(d, inv, 100, "Trying", false))
	c.add(at+g.between(20*time.Millisecond, 80*time.Millisecond), d.uas, d.uac, g.response(d, inv, 180, "Ringing", false))
	c.add(ans, d.uas, d.uac, g.response(d, inv, 200, "OK", true))
	c.add(ans+g.between(time.Millisecond, 10*time.Millisecond), d.uac, d.uas, g.request(d, "ACK", 102, false).text)
	c.hangup(g, d, end, g.rng.IntN(2) == 0)
}

// bridged is a call through the B2BUA: the incoming leg in, the outgoing
// leg out, each answer and hangup passed on within milliseconds.
func (c *callPlan) bridged(g *generator, in, out *dialog, at, t1, ans, end time.Duration) {
	ms := time.Millisecond
	inv := g.request(in, "INVITE", 102, true)
	c.add(at, in.uac, in.uas, inv.text)
	c.add(at+g.between(ms, 3*ms), in.uas, in.uac, g.response(in, inv, 100, "Trying", false))
	inv2 := g.request(out, "INVITE", 102, true)
	c.add(t1, out.uac, out.uas, inv2.text)
	c.add(t1+g.between(ms, 5*ms), out.uas, out.uac, g.response(out, inv2, 100, "Trying", false))
	r := t1 + g.between(20*ms, 80*ms)
	c.add(r, out.uas, out.uac, g.response(out, inv2, 180, "Ringing", false))
	c.add(r+g.between(ms/5, 2*ms), in.uas, in.uac, g.response(in, inv, 180, "Ringing", false))
	c.add(ans, out.uas, out.uac, g.response(out, inv2, 200, "OK", true))
	c.add(ans+g.between(ms/2, 3*ms), out.uac, out.uas, g.request(out, "ACK", 102, false).text)
	a1 := ans + g.between(ms/5, 2*ms)
	c.add(a1, in.uas, in.uac, g.response(in, inv, 200, "OK", true))
	c.add(a1+g.between(ms, 10*ms), in.uac, in.uas, g.request(in, "ACK", 102, false).text)
	// The hangup starts at one phone and the PBX passes it on.
	first, second := in, out
	callerHangs := g.rng.IntN(2) == 0
	if !callerHangs {
		first, second = out, in
	}
	c.hangup(g, first, end, first == in)
	c.hangup(g, second, end+g.between(ms, 3*ms), second == out)
}

// hangup adds a BYE sent by the UAC (or the UAS) of d at t, and its 200.
func (c *callPlan) hangup(g *generator, d *dialog, t time.Duration, byUAC bool) {
	bye := g.request(d, "BYE", 103, false)
	src, dst := d.uac, d.uas
	if !byUAC {
		bye = g.reverseBye(d)
		src, dst = d.uas, d.uac
	}
	c.add(t, src, dst, bye.text)
	c.add(t+g.between(time.Millisecond, 5*time.Millisecond), dst, src, g.response(d, bye, 200, "OK", false))
}

// request is a request and the header lines its responses copy.
type request struct {
	text     string
	sender   netip.Addr // where it is sent from: its responses' Via received=
	via      string
	from, to string
	cseq     string
}

func sdpBody(ip netip.Addr, port uint16, sess int64) string {
	a := ip.String()
	s := strconv.FormatInt(sess, 10)
	return "v=0\r\no=- " + s + " " + s + " IN IP4 " + a + "\r\ns=-\r\nc=IN IP4 " + a + "\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(int(port)) + " RTP/AVP 0 8 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
}

func (g *generator) request(d *dialog, method string, cseq int, offer bool) request {
	r := request{
		sender: d.uac.Addr(),
		via:    "Via: SIP/2.0/UDP " + d.uac.String() + ";rport;branch=z9hG4bK" + g.hexID(16),
		from:   "From: \"" + d.fromNum + "\" <sip:" + d.fromNum + "@" + d.uac.Addr().String() + ">;tag=" + d.fromTag,
		to:     "To: <sip:" + d.toNum + "@" + d.uas.Addr().String() + ">",
		cseq:   "CSeq: " + strconv.Itoa(cseq) + " " + method,
	}
	if method != "INVITE" {
		r.to += ";tag=" + d.toTag
	}
	var b strings.Builder
	b.WriteString(method + " sip:" + d.toNum + "@" + d.uas.String() + " SIP/2.0\r\n")
	b.WriteString(r.via + "\r\nMax-Forwards: 70\r\n" + r.from + "\r\n" + r.to + "\r\n")
	b.WriteString("Call-ID: " + d.callID + "\r\n" + r.cseq + "\r\n")
	if method == "INVITE" {
		b.WriteString("Contact: <sip:" + d.fromNum + "@" + d.uac.String() + ">\r\n")
		b.WriteString("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY\r\nSupported: replaces, timer\r\n")
	}
	b.WriteString("User-Agent: " + d.uacAgent + "\r\n")
	body := ""
	if offer {
		body = sdpBody(d.uacRTP.Addr(), d.uacRTP.Port(), d.uacSess)
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	r.text = b.String()
	return r
}

// reverseBye is a BYE sent by the UAS of d, its From and To swapped.
func (g *generator) reverseBye(d *dialog) request {
	r := request{
		sender: d.uas.Addr(),
		via:    "Via: SIP/2.0/UDP " + d.uas.String() + ";rport;branch=z9hG4bK" + g.hexID(16),
		from:   "From: <sip:" + d.toNum + "@" + d.uas.Addr().String() + ">;tag=" + d.toTag,
		to:     "To: \"" + d.fromNum + "\" <sip:" + d.fromNum + "@" + d.uac.Addr().String() + ">;tag=" + d.fromTag,
		cseq:   "CSeq: 1 BYE",
	}
	r.text = "BYE sip:" + d.fromNum + "@" + d.uac.String() + " SIP/2.0\r\n" + r.via + "\r\nMax-Forwards: 70\r\n" +
		r.from + "\r\n" + r.to + "\r\nCall-ID: " + d.callID + "\r\n" + r.cseq + "\r\nUser-Agent: " + d.uasAgent +
		"\r\nContent-Length: 0\r\n\r\n"
	return r
}

func (g *generator) response(d *dialog, req request, code int, reason string, answer bool) string {
	to := req.to
	if code > 100 && !strings.Contains(to, ";tag=") {
		to += ";tag=" + d.toTag
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n")
	b.WriteString(req.via + ";received=" + req.sender.String() + "\r\n" + req.from + "\r\n" + to + "\r\n")
	b.WriteString("Call-ID: " + d.callID + "\r\n" + req.cseq + "\r\n")
	if code > 100 && strings.HasSuffix(req.cseq, "INVITE") {
		b.WriteString("Contact: <sip:" + d.toNum + "@" + d.uas.String() + ">\r\n")
	}
	b.WriteString("Server: " + d.uasAgent + "\r\n")
	body := ""
	if answer {
		body = sdpBody(d.uasRTP.Addr(), d.uasRTP.Port(), d.uasSess)
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	return b.String()
}

// streams starts the two RTP streams of a dialog answered at ans, to end
// at end.
func (g *generator) streams(d *dialog, ans, end time.Duration) {
	up := g.newStream(d.uacRTP, d.uasRTP, ans+g.between(5*time.Millisecond, 30*time.Millisecond), end)
	down := g.newStream(d.uasRTP, d.uacRTP, ans+g.between(time.Millisecond, 20*time.Millisecond), end)
	up.peer, down.peer = down, up
	g.push(up)
	g.push(down)
}

// stream is one RTP stream with its RTCP sender reports.
type stream struct {
	src, dst netip.AddrPort
	ssrc     uint32
	seq0     uint16
	ts0      uint32
	start    time.Duration // nominal time of the first packet
	end      time.Duration // no packet at or after it
	k        int           // packets sent or lost so far
	at       time.Duration // arrival of the next RTP packet
	rtcpAt   time.Duration
	lost     int
	sent     uint32
	peer     *stream
	cname    string
	ord      uint64
}

func (g *generator) newStream(src, dst netip.AddrPort, start, end time.Duration) *stream {
	return &stream{
		src: src, dst: dst,
		ssrc:   g.rng.Uint32(),
		seq0:   uint16(g.rng.Uint32()),
		ts0:    g.rng.Uint32(),
		start:  start,
		end:    end,
		at:     start,
		rtcpAt: start + rtcpEvery - g.between(0, time.Second),
		cname:  src.Addr().String(),
		ord:    g.nextOrder(),
	}
}

func (s *stream) due() time.Duration { return min(s.at, s.rtcpAt) }
func (s *stream) order() uint64      { return s.ord }

func (s *stream) next(g *generator) error {
	if s.rtcpAt < s.at {
		if err := s.report(g); err != nil {
			return err
		}
		s.rtcpAt += rtcpEvery
	} else {
		if g.cfg.Loss > 0 && g.rng.Float64()*100 < g.cfg.Loss {
			s.lost++
			g.stats.Lost++
		} else if err := s.rtp(g); err != nil {
			return err
		}
		s.k++
		s.at = s.start + time.Duration(s.k)*ptime
		if g.cfg.Jitter > 0 {
			s.at += time.Duration(g.rng.Int64N(int64(g.cfg.Jitter)))
		}
	}
	if s.at >= s.end {
		s.at = s.end
		if s.rtcpAt >= s.end {
			g.pop()
			return nil
		}
	}
	g.fix()
	return nil
}

func (s *stream) seq() uint16 { return s.seq0 + uint16(s.k) }
func (s *stream) ts() uint32  { return s.ts0 + uint32(s.k)*payloadLen }

// rtp sends packet k: PCMU, the marker on the first (RFC 3551 §4.1).
func (s *stream) rtp(g *generator) error {
	b := append(g.pay[:0], 0x80, 0)
	if s.k == 0 {
		b[1] = 0x80
	}
	b = binary.BigEndian.AppendUint16(b, s.seq())
	b = binary.BigEndian.AppendUint32(b, s.ts())
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	off := int(uint32(s.k)*7919+s.ssrc) & (noiseLen - 1)
	b = append(b, g.noise[off:off+payloadLen]...)
	g.pay = b
	s.sent++
	g.stats.RTP++
	return g.send(s.at, s.src, s.dst, tosEF, b)
}

// ntpEpoch is the NTP era's start in Unix seconds (RFC 5905 §6).
const ntpEpoch = 2208988800

// report sends an SR with one report block about the peer stream, and an
// SDES with the CNAME (RFC 3550 §6.4.1, §6.5), to the RTCP port: the RTP
// port plus one.
func (s *stream) report(g *generator) error {
	t := g.cfg.Start.Add(s.rtcpAt)
	ntp := uint64(t.Unix()+ntpEpoch)<<32 | uint64(t.Nanosecond())<<32/1e9
	k := max(0, int((s.rtcpAt-s.start)/ptime))
	b := append(g.pay[:0], 0x81, 200, 0, 12)
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = binary.BigEndian.AppendUint64(b, ntp)
	b = binary.BigEndian.AppendUint32(b, s.ts0+uint32(k)*payloadLen)
	b = binary.BigEndian.AppendUint32(b, s.sent)
	b = binary.BigEndian.AppendUint32(b, s.sent*payloadLen)
	p := s.peer
	b = binary.BigEndian.AppendUint32(b, p.ssrc)
	lost := min(p.lost, 0x7fffff)
	b = binary.BigEndian.AppendUint32(b, uint32(lost)) // fraction lost 0: a whole-call figure is not tracked
	b = binary.BigEndian.AppendUint32(b, uint32(p.seq0)+uint32(max(p.k-1, 0)))
	b = binary.BigEndian.AppendUint32(b, uint32(g.rng.IntN(40)))
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // no SR received yet: LSR and DLSR zero
	// SDES: one chunk with the CNAME, ended by a null item and padded to
	// a word.
	n := 4 + 2 + len(s.cname) + 1
	n = (n + 3) &^ 3
	b = append(b, 0x81, 202)
	b = binary.BigEndian.AppendUint16(b, uint16(n/4))
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = append(b, 1, byte(len(s.cname)))
	b = append(b, s.cname...)
	for pad := n - (4 + 2 + len(s.cname)); pad > 0; pad-- {
		b = append(b, 0)
	}
	g.pay = b
	g.stats.RTCP++
	src := netip.AddrPortFrom(s.src.Addr(), s.src.Port()+1)
	dst := netip.AddrPortFrom(s.dst.Addr(), s.dst.Port()+1)
	return g.send(s.rtcpAt, src, dst, tosEF, b)
}
