package scenario

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

// maxSources bounds the SSRCs a phone remembers events of.
const maxSources = 64

// PhoneStats is what one phone saw of the call.
type PhoneStats struct {
	Host string
	// Sent and Received count RTP packets.
	Sent, Received int
	// Digits are the keys the phone understood, in order: RFC 4733
	// events it negotiated, tones in the audio when it is set to inband,
	// SIP INFO. UnnegotiatedEvents counts event packets with a payload
	// type it did not negotiate: DTMF it does not understand.
	Digits             string
	UnnegotiatedEvents int
	// Outcome is the final status of the phone's INVITE or of the INVITE
	// it answered (200 for an answered call, 0 for none).
	Outcome int
}

// phone is a SIP user agent with one line (RFC 3261 UA behaviour, RFC
// 3264 offer/answer, RFC 4733 DTMF) that sends a tone while in a call.
type phone struct {
	r     *runner
	h     *Host
	conf  *PhoneConf
	ep    *endpoint
	rtp   *socket
	rtcp  *socket
	media netip.AddrPort // where it receives RTP, as its SDP says
	sdp   offerer
	c     *phoneCall
	stats PhoneStats
	seen  map[uint32]uint32 // per SSRC, timestamp of the last event counted
	keys  keyDetector
	pcm   []int16
}

// phoneCall is the phone's call in progress.
type phoneCall struct {
	d       *dialog
	invite  *serverTxn // an INVITE being answered
	dialing *clientTxn // the INVITE the phone sent, which a CANCEL names
	ring    *timer
	codec   string
	te      int // negotiated telephone-event payload type, -1 without
	remote  netip.AddrPort
	rdir    sdp.Direction // the far end's direction
	holding bool
	out     *stream
	ended   bool
}

func newPhone(r *runner, h *Host) (*phone, error) {
	p := &phone{r: r, h: h, conf: h.Phone, seen: map[uint32]uint32{}}
	p.stats.Host = h.Name
	self := h.Addr
	if h.Phone.PrivateAddr.IsValid() {
		self = h.Phone.PrivateAddr
	}
	p.media = netip.AddrPortFrom(self, h.Phone.RTPPort)
	sipSock, err := r.n.bind(h.SIP(), nil)
	if err != nil {
		return nil, err
	}
	if p.rtp, err = r.n.bind(netip.AddrPortFrom(h.Addr, h.Phone.RTPPort), p.onRTP); err != nil {
		return nil, err
	}
	if p.rtcp, err = r.n.bind(netip.AddrPortFrom(h.Addr, h.Phone.RTPPort+1), func(netip.AddrPort, []byte) {}); err != nil {
		return nil, err
	}
	p.ep = newEndpoint(r.n, h.Name, sipSock, netip.AddrPortFrom(self, h.Port), h.Phone.User, h.Phone.UserAgent, stylePhone, r.rng(h.Name))
	p.ep.app = p
	if h.Phone.NoUpdate {
		p.ep.allow = sipAllow
	}
	p.sdp = offerer{origin: self, id: strconv.Itoa(1000000 + p.ep.rng.IntN(9000000)), name: "sipscope phone " + h.Name}
	return p, nil
}

func (p *phone) logf(format string, args ...any) { p.r.logf(p.h.Name+": "+format, args...) }

// idle reports whether the phone has no call.
func (p *phone) idle() bool { return p.c == nil || p.c.ended }

// description is the phone's SDP for the call: all its codecs in an
// offer, the negotiated one in an answer.
func (p *phone) description(c *phoneCall, offer bool, dir sdp.Direction) []byte {
	codecs := p.conf.Codecs
	te := p.conf.DTMF == DTMFRFC4733
	if !offer && c != nil {
		codecs = []string{c.codec}
		te = te && c.te >= 0
	}
	return p.sdp.describe(p.media, codecs, te, dir)
}

func (p *phone) allows(codec string) bool { return slices.Contains(p.conf.Codecs, codec) }

// dial calls number through the PBX at dst.
func (p *phone) dial(number string, dst netip.AddrPort) {
	if !p.idle() {
		return
	}
	domain := dst.Addr().String()
	d := p.ep.newDialog("<sip:"+p.conf.User+"@"+domain+">", "<sip:"+number+"@"+domain+">", "sip:"+number+"@"+dst.String(), dst, 1)
	c := &phoneCall{d: d, te: -1}
	p.c = c
	p.logf("dials %s at %s", number, dst)
	c.dialing = d.invite(p.description(c, true, sdp.SendRecv), func(ct *clientTxn, resp *sip.Message, role call.Role) {
		switch {
		case resp == nil:
			p.logf("no answer to INVITE")
			p.end(c, 408)
		case resp.StatusCode/100 == 2:
			p.stats.Outcome = resp.StatusCode
			if role != call.RoleAnswer && role != call.RoleRepeat || !p.apply(c, resp.Body) {
				p.logf("answer without a usable audio stream: hanging up")
				d.bye(nil)
				p.end(c, resp.StatusCode)
				return
			}
			p.follow(c)
		case resp.StatusCode >= 300:
			p.logf("call failed: %d %s", resp.StatusCode, resp.Reason)
			p.end(c, resp.StatusCode)
		}
	})
}

// apply takes the far end's SDP (an answer, or an offer already accepted)
// as the media of the call.
func (p *phone) apply(c *phoneCall, body []byte) bool {
	rm, ok := readMedia(body)
	if !ok {
		return false
	}
	codec, ok := pick(rm.codecs, p.allows)
	if !ok {
		return false
	}
	c.codec, c.remote, c.rdir = codec, rm.addr, rm.dir
	c.te = -1
	if p.conf.DTMF == DTMFRFC4733 {
		c.te = rm.te
	}
	return true
}

// follow starts, moves or stops the phone's RTP to match the call state:
// it sends while it does not hold and the far end wants RTP.
func (p *phone) follow(c *phoneCall) {
	send := !c.ended && !c.holding && receives(c.rdir) && c.remote.Port() != 0 && !c.remote.Addr().IsUnspecified()
	if c.out == nil {
		r := p.ep.rng
		c.out = newStream(p.r.n, p.rtp, p.rtcp, r.Uint32(), uint16(r.IntN(1<<15)), r.Uint32(), p.conf.User+"@"+p.media.Addr().String())
		osc := newOscillator(float64(p.conf.Tone))
		c.out.source = osc.frame
	}
	c.out.codec, c.out.te = c.codec, c.te
	c.out.dst = c.remote
	if send {
		c.out.run()
	} else {
		c.out.pause()
	}
}

func (p *phone) end(c *phoneCall, outcome int) {
	if c.ended {
		return
	}
	c.ended = true
	if outcome != 0 && p.stats.Outcome == 0 {
		p.stats.Outcome = outcome
	}
	c.ring.stop()
	if c.out != nil {
		c.out.pause()
		p.stats.Sent += int(c.out.packets)
	}
	p.r.changed()
}

// invite answers a new call: 180 at once, 200 after the script's ring
// time, 486 when busy and 488 without a codec in common.
func (p *phone) invite(st *serverTxn) {
	if !p.idle() {
		st.respond(486, "", nil)
		return
	}
	rm, ok := readMedia(st.req.Body)
	if ok {
		if _, ok = pick(rm.codecs, p.allows); !ok {
			st.respond(488, "", nil)
			return
		}
	}
	d := p.ep.acceptDialog(st)
	c := &phoneCall{d: d, te: -1, invite: st}
	p.c = c
	offered := ok
	if offered {
		p.apply(c, st.req.Body)
	} else {
		c.codec = p.conf.Codecs[0]
	}
	st.respond(180, "", nil)
	c.ring = p.r.n.after(p.r.s.Script.AnswerAfter, func() {
		if c.ended {
			return
		}
		c.invite = nil
		p.stats.Outcome = 200
		dir := sdp.SendRecv
		if offered {
			dir = answerDir(c.rdir, false)
		}
		d.answer(st, p.description(c, !offered, dir), func() {
			p.logf("no ACK for 200: hanging up")
			d.bye(nil)
			p.end(c, 0)
		})
		p.follow(c)
	})
}

func (p *phone) cancel(st *serverTxn) {
	st.respond(487, "", nil)
	if c := p.c; c != nil && c.invite == st {
		p.end(c, 487)
	}
}

func (p *phone) ack(d *dialog, m *sip.Message, role call.Role) {
	c := p.c
	if c == nil || c.d != d || role != call.RoleAnswer {
		return
	}
	if p.apply(c, m.Body) {
		p.follow(c)
	}
}

// request handles requests inside the call's dialog.
func (p *phone) request(d *dialog, st *serverTxn) {
	c := p.c
	if c == nil || c.d != d {
		st.respond(481, "", nil)
		return
	}
	switch st.req.Method {
	case "INVITE", "UPDATE":
		p.reoffer(c, st)
	case "BYE":
		st.respond(200, "", nil)
		p.logf("call ended by the far end")
		p.end(c, 0)
	case "INFO":
		if strings.EqualFold(st.req.ContentType, "application/dtmf-relay") {
			p.stats.Digits += digitsOf(st.req.Body)
		}
		st.respond(200, "", nil)
	case "OPTIONS":
		st.respond(200, "", nil)
	default:
		st.respond(405, "", nil)
	}
}

// reoffer answers a re-INVITE or UPDATE: 501 to UPDATE when the phone
// does not take it, 488 when it refuses to move its media or shares no
// codec, else the answer, and the RTP follows the new SDP.
func (p *phone) reoffer(c *phoneCall, st *serverTxn) {
	m := st.req
	if m.Method == "UPDATE" && p.conf.NoUpdate {
		st.respond(501, "", nil)
		return
	}
	if len(m.Body) == 0 {
		body := p.description(c, true, answerDir(sdp.SendRecv, c.holding))
		if m.Method == "INVITE" {
			c.d.answer(st, body, nil)
		} else {
			st.respond(200, "", nil, body)
		}
		return
	}
	rm, ok := readMedia(m.Body)
	codec, common := pick(rm.codecs, p.allows)
	moved := ok && rm.addr != c.remote && rm.addr.Port() != 0
	if st.role != call.RoleOffer {
		p.logf("the %s's SDP is no offer (%s): 488", m.Method, st.role)
		st.respond(488, "", nil)
		return
	}
	if !ok || !common || p.conf.RefuseReinvite && moved {
		p.logf("refuses the %s to %s", m.Method, rm.addr)
		st.respond(488, "", nil)
		return
	}
	c.codec, c.remote, c.rdir = codec, rm.addr, rm.dir
	c.te = -1
	if p.conf.DTMF == DTMFRFC4733 {
		c.te = rm.te
	}
	body := p.description(c, false, answerDir(rm.dir, c.holding))
	if m.Method == "INVITE" {
		c.d.answer(st, body, nil)
	} else {
		st.respond(200, "", nil, body)
	}
	p.follow(c)
}

// hold and resume send a re-INVITE with sendonly, then sendrecv (RFC 3264
// §8.4); the phone stops its RTP while it holds. A 491 is retried after
// RFC 3261 §14.1's delay.
func (p *phone) hold(on bool) {
	c := p.c
	if p.idle() {
		return
	}
	v := c.d.view()
	if v.State != call.Confirmed {
		return
	}
	if !v.Ready() {
		p.r.n.after(frameTime, func() { p.hold(on) })
		return
	}
	c.holding = on
	dir := sdp.SendRecv
	if on {
		dir = sdp.SendOnly
		p.logf("puts the call on hold")
	} else {
		p.logf("takes the call off hold")
	}
	p.follow(c)
	c.d.invite(p.description(c, false, dir), func(ct *clientTxn, resp *sip.Message, role call.Role) {
		switch {
		case resp == nil || c.ended:
		case resp.StatusCode == 491:
			delay, _ := c.d.retryDelay()
			p.logf("491 to its re-INVITE: retrying in %s", delay)
			p.r.n.after(delay, func() { p.hold(on) })
		case resp.StatusCode/100 == 2:
			if role == call.RoleAnswer && p.apply(c, resp.Body) {
				p.follow(c)
			}
		case resp.StatusCode >= 300:
			c.holding = !on
			p.follow(c)
		}
	})
}

// press sends digits: RFC 4733 events when the call negotiated them,
// SIP INFO (application/dtmf-relay) when the phone is set to, tones in
// the audio otherwise.
func (p *phone) press(digits string) {
	c := p.c
	if p.idle() || c.out == nil {
		return
	}
	p.logf("presses %s (%s)", digits, p.dtmfWay(c))
	if p.conf.DTMF == DTMFInfo {
		for _, d := range digits {
			c.d.info("application/dtmf-relay", fmt.Appendf(nil, "Signal=%c\r\nDuration=%d\r\n", d, digitTime.Milliseconds()))
		}
		return
	}
	c.out.press(digits)
}

func (p *phone) dtmfWay(c *phoneCall) string {
	switch {
	case p.conf.DTMF == DTMFInfo:
		return "SIP INFO"
	case p.conf.DTMF == DTMFRFC4733 && c.te >= 0:
		return "RFC 4733 events"
	}
	return "in-band tones"
}

// hangup ends the call: BYE when it is up, CANCEL while it rings out.
func (p *phone) hangup() {
	c := p.c
	if p.idle() {
		return
	}
	p.logf("hangs up")
	v := c.d.view()
	switch {
	case v.State == call.Confirmed:
		c.d.bye(func() { p.r.changed() })
		p.end(c, 0)
	case c.invite != nil:
		c.invite.respond(480, "", nil)
		p.end(c, 480)
	case c.dialing != nil && v.Side(v.Local).Invite:
		p.ep.send(sip.NewCancel(c.dialing.req), c.d.remote, nil, nil)
		p.end(c, 487)
	}
}

// onRTP counts what the phone receives and reads RFC 4733 events.
func (p *phone) onRTP(src netip.AddrPort, data []byte) {
	pkt, ok := parseRTP(data)
	if !ok {
		return
	}
	p.stats.Received++
	c := p.c
	if c == nil {
		return
	}
	if codec := codecOfPT(pkt.pt); codec != "" && p.conf.DTMF == DTMFInband {
		p.pcm = decodeG711(codec, pkt.payload, p.pcm[:0])
		if key, ok := p.keys.frame(p.pcm); ok {
			p.stats.Digits += string(key)
		}
		return
	}
	if pkt.pt < 96 || len(pkt.payload) < 4 {
		return
	}
	if c.te < 0 || int(pkt.pt) != c.te {
		p.stats.UnnegotiatedEvents++
		return
	}
	if pkt.payload[1]&0x80 == 0 {
		return
	}
	if last, ok := p.seen[pkt.ssrc]; ok && last == pkt.ts {
		return
	}
	if len(p.seen) >= maxSources {
		clear(p.seen)
	}
	p.seen[pkt.ssrc] = pkt.ts
	p.stats.Digits += string(eventDigit(pkt.payload[0]))
}

// digitsOf reads the keys of a SIP INFO body (application/dtmf-relay).
func digitsOf(body []byte) string {
	for _, line := range strings.Split(string(body), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
