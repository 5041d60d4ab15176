package scenario

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

// Bounds of the Asterisk model.
const (
	maxBridges    = 16  // calls one PBX host takes at once
	maxPortTries  = 100 // RTP port pairs tried when one is taken
	maxPlanSteps  = 64  // dialplan priorities run for one call
	mohLow        = 480 // music on hold: the two tones of a ringback-like chord, Hz
	mohHigh       = 620
	ringTimeout   = 60 * time.Second
	maxWaitSecond = 60
)

// Decision is what one B2BUA decided for one call: the policy model's
// decision for its two channels, taken when both were answered.
type Decision struct {
	Host string
	// Peers are the sip.conf peers of the caller's and the callee's
	// channel.
	Peers [2]string
	policy.Decision
	// Early is set when directrtpsetup put the media direct in the
	// initial INVITE.
	Early bool
	// Withheld counts direct-media requests glare mitigation held back,
	// Retries the requests sent again after 491.
	Withheld, Retries int
}

// pbx is a B2BUA that plays Asterisk with chan_sip: it matches each INVITE
// to a sip.conf peer, runs the dialled extension's Answer, Wait, Dial and
// Hangup, and bridges the two channels as the B2BUA policy model (package
// call/policy) decides: releasing the media with re-INVITE or UPDATE,
// directly from the first INVITE (directrtpsetup), relaying the RTP
// unchanged (native bridge, local mode) or running it through its core
// (transcoding, DTMF translation). It plays music on hold to a held
// party, re-anchoring its media first, and pulls released media back
// before it sends BYE, as Asterisk does.
type pbx struct {
	r       *runner
	h       *Host
	ep      *endpoint
	conf    *astconf.SIPConf
	next    uint16
	bridges []*bridge
}

func newPBX(r *runner, h *Host) (*pbx, error) {
	p := &pbx{r: r, h: h, conf: h.PBX.SIP, next: h.PBX.RTPStart &^ 1}
	sock, err := r.n.bind(h.SIP(), nil)
	if err != nil {
		return nil, err
	}
	p.ep = newEndpoint(r.n, h.Name, sock, h.SIP(), "asterisk", h.PBX.UserAgent, styleAsterisk, r.rng(h.Name))
	p.ep.app = p
	return p, nil
}

func (p *pbx) logf(format string, args ...any) { p.r.logf(p.h.Name+": "+format, args...) }

// idle reports whether every call of the host has ended.
func (p *pbx) idle() bool {
	for _, b := range p.bridges {
		if !b.done() {
			return false
		}
	}
	return true
}

// mode is how a bridge carries media.
type mode uint8

const (
	modeNone   mode = iota // not bridged yet
	modeRemote             // released: the phones send to each other
	modeLocal              // relayed unchanged (native bridge, local)
	modeCore               // through the core: own streams, transcoding
)

// bridge is one call through the PBX: the caller's channel and the
// channel Dial() made.
type bridge struct {
	p    *pbx
	ch   [2]*channel
	feat policy.Features
	dec  Decision
	mode mode
	// early: directrtpsetup put the caller's media address in the INVITE.
	early  bool
	holdBy int // index of the channel whose phone holds, -1 for none
	moh    *stream
	ending bool
	steps  int
	// plan is the dialled extension's lines, pc the next one to run.
	plan []astconf.Var
	pc   int
}

// channel is one leg of a bridge.
type channel struct {
	b     *bridge
	idx   int
	peer  *astconf.SIPPeer
	pol   policy.Peer
	d     *dialog
	st    *serverTxn // the caller's INVITE until answered (channel 0)
	out   *clientTxn // the INVITE Dial() sent until answered (channel 1)
	rtp   *socket
	rtcp  *socket
	own   netip.AddrPort
	sdp   offerer
	far   netip.AddrPort // where the far end wants RTP (its SDP)
	src   netip.AddrPort // where its RTP comes from
	codec string
	// offered are the codecs the far end offered (the caller's channel).
	offered []string
	te      int // negotiated telephone-event payload type, -1 without
	nat     bool
	// announced is the media address of the last SDP sent to the far end.
	announced netip.AddrPort
	answered  bool
	ended     bool
	// withheld is the address glare mitigation held back a request for:
	// the next request goes only when the wanted address differs from it.
	withheld netip.AddrPort
	// retry is set while a request refused with 491 waits for its §14.1
	// delay; force sends the next request even if nothing changed, as
	// chan_sip sends its retry.
	retry   *timer
	force   bool
	refused bool
	// failed is the address of the last request the far end refused: it
	// is not asked again.
	failed netip.AddrPort
	// own stream (core bridge) and the last RFC 4733 event relayed.
	stream *stream
	lastEv uint32
	evSeen bool
	// onSettled runs once no request is pending on the dialog (hangup).
	onSettled func()
}

func (c *channel) other() *channel { return c.b.ch[1-c.idx] }

func (b *bridge) done() bool {
	for _, c := range b.ch {
		if c != nil && !c.ended {
			return false
		}
	}
	return true
}

// channelOf finds the channel of a dialog.
func (p *pbx) channelOf(d *dialog) *channel {
	for _, b := range p.bridges {
		for _, c := range b.ch {
			if c != nil && c.d == d {
				return c
			}
		}
	}
	return nil
}

// openMedia binds the channel's RTP and RTCP ports: the next free even
// port from rtpstart.
func (p *pbx) openMedia(c *channel) bool {
	for range maxPortTries {
		port := p.next
		p.next += 2
		if port == 0 || port >= 65534 {
			p.next = p.h.PBX.RTPStart &^ 1
			continue
		}
		rtp, err := p.r.n.bind(netip.AddrPortFrom(p.h.Addr, port), func(src netip.AddrPort, data []byte) { p.onRTP(c, src, data) })
		if err != nil {
			continue
		}
		rtcp, err := p.r.n.bind(netip.AddrPortFrom(p.h.Addr, port+1), func(netip.AddrPort, []byte) {})
		if err != nil {
			continue
		}
		c.rtp, c.rtcp, c.own = rtp, rtcp, rtp.addr
		c.announced = c.own
		c.sdp = offerer{origin: p.h.Addr, id: strconv.Itoa(100000000 + p.ep.rng.IntN(900000000)), name: "Asterisk PBX"}
		return true
	}
	return false
}

// invite takes a new call: the peer, its offer, the dialplan.
func (p *pbx) invite(st *serverTxn) {
	m := st.req
	st.respond(100, "", nil)
	peer, _ := p.conf.Match(st.src, m.From.User())
	if peer == nil {
		p.logf("INVITE from %s matches no peer: 403", st.src)
		st.respond(403, "", nil)
		return
	}
	if len(p.bridges) >= maxBridges {
		st.respond(503, "", nil)
		return
	}
	rm, ok := readMedia(m.Body)
	if !ok {
		st.respond(488, "", nil)
		return
	}
	codec, ok := pick(rm.codecs, peer.Codecs.Value.Allows)
	if !ok {
		p.logf("no codec of the offer (%s) is allowed for peer %s (%s): 488", strings.Join(rm.codecs, ","), peer.Name, peer.Codecs.Value)
		st.respond(488, "", nil)
		return
	}
	b := &bridge{p: p, holdBy: -1}
	c := &channel{b: b, idx: 0, peer: peer, pol: policy.FromSIPPeer(p.conf, peer), st: st, far: rm.addr, codec: codec, offered: rm.codecs, te: -1,
		nat: len(m.Via) > 0 && m.Via[0].Host != st.src.Addr().String()}
	if rm.te >= 0 && takesEvents(peer) {
		c.te = rm.te
	}
	if !p.openMedia(c) {
		st.respond(503, "", nil)
		return
	}
	b.ch[0] = c
	c.d = p.ep.acceptDialog(st)
	p.bridges = append(p.bridges, b)
	b.feat = policy.Features{Known: true}
	b.plan = extension(p.h.PBX.Dialplan, peer.Context.Value, sip.URIUser(m.RequestURI))
	if len(b.plan) == 0 {
		p.logf("no extension %s in [%s]: 404", sip.URIUser(m.RequestURI), peer.Context.Value)
		b.fail(404)
		return
	}
	b.step()
}

// contactHost is the host of a Contact value.
func contactHost(contact string) string {
	h, _, _ := sip.SplitHostPort(sip.URIHost(sip.ParseNameAddr(contact).URI))
	return h
}

// takesEvents reports whether a peer's dtmfmode uses RFC 4733.
func takesEvents(peer *astconf.SIPPeer) bool {
	m := peer.DTMF.Value
	return m == astconf.DTMFRFC4733 || m == astconf.DTMFAuto
}

// extension returns the lines of exten in ctx: an exact match, else the
// first pattern that matches.
func extension(plan *astconf.File, ctx, exten string) []astconf.Var {
	if plan == nil {
		return nil
	}
	s := plan.Section(ctx)
	if s == nil {
		return nil
	}
	var exact, pattern []astconf.Var
	cur, patName := "", ""
	for _, v := range s.Vars {
		switch strings.ToLower(v.Key) {
		case "exten":
			name, rest, _ := strings.Cut(v.Value, ",")
			cur = strings.TrimSpace(name)
			v.Value = rest
		case "same":
		default:
			continue
		}
		switch {
		case cur == exten:
			exact = append(exact, v)
		case (patName == "" || patName == cur) && astconf.MatchExten(cur, exten):
			patName = cur
			pattern = append(pattern, v)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return pattern
}

// application splits "1,Dial(SIP/bob)" into "dial" and "SIP/bob".
func application(v astconf.Var) (string, string) {
	_, rest, ok := strings.Cut(v.Value, ",")
	if !ok {
		return "", ""
	}
	rest = strings.TrimSpace(rest)
	open := strings.IndexByte(rest, '(')
	if open < 0 {
		return strings.ToLower(rest), ""
	}
	args := rest[open+1:]
	if end := strings.LastIndexByte(args, ')'); end >= 0 {
		args = args[:end]
	}
	return strings.ToLower(strings.TrimSpace(rest[:open])), args
}

// step runs the dialplan from the current priority until an application
// that waits.
func (b *bridge) step() {
	for b.pc < len(b.plan) && !b.ending {
		if b.steps++; b.steps > maxPlanSteps {
			break
		}
		v := b.plan[b.pc]
		b.pc++
		app, args := application(v)
		switch app {
		case "answer":
			b.answerCaller()
		case "wait":
			secs, err := strconv.ParseFloat(strings.TrimSpace(args), 64)
			if err != nil || secs < 0 || secs > maxWaitSecond {
				secs = 0
			}
			b.p.r.n.after(time.Duration(secs*float64(time.Second)), b.step)
			return
		case "dial":
			b.dial(args, v)
			return
		case "hangup":
			b.hangup(nil)
			return
		case "mixmonitor", "monitor":
			b.feat.Recording, b.feat.RecordingOption = true, policy.OptionOf(v)
		case "set":
			if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(args)), "JITTERBUFFER(") {
				b.feat.JitterBuffer, b.feat.JitterBufferOption = true, policy.OptionOf(v)
			}
		case "ringing":
			if c := b.ch[0]; c.st != nil {
				c.st.respond(180, "", nil)
			}
		}
	}
	if !b.ending && (b.ch[1] == nil || !b.ch[1].answered) {
		b.hangup(nil)
	}
}

// fail refuses the caller's INVITE.
func (b *bridge) fail(code int) {
	c := b.ch[0]
	if c.st != nil {
		c.st.respond(code, "", nil)
		c.st = nil
	}
	c.ended = true
	if b.ch[1] != nil {
		b.ch[1].ended = true
	}
	b.ending = true
	b.p.r.changed()
}

// answerCaller answers the caller's INVITE, with the callee's media
// address when directrtpsetup made the call direct from the start.
func (b *bridge) answerCaller() {
	c := b.ch[0]
	if c.st == nil || c.answered {
		return
	}
	addr := c.own
	if b.early && b.ch[1] != nil && b.ch[1].far.IsValid() {
		addr = b.ch[1].far
	}
	st := c.st
	c.st = nil
	c.answered = true
	c.announced = addr
	c.d.answer(st, c.sdp.describe(addr, []string{c.codec}, c.te >= 0, sdp.SendRecv), func() { b.hangup(nil) })
}

// dial runs Dial(): one channel to the first target, SIP/peer or
// SIP/peer/extension.
func (b *bridge) dial(args string, line astconf.Var) {
	p := b.p
	d := policy.ParseDial(args)
	b.feat.Dial, b.feat.DialOption, b.feat.Targets = d.Options, policy.OptionOf(line), len(d.Targets)
	if len(d.Targets) == 0 {
		b.step()
		return
	}
	tech, rest, _ := strings.Cut(d.Targets[0], "/")
	name, exten, _ := strings.Cut(rest, "/")
	peer := p.conf.Peer(name)
	if !strings.EqualFold(tech, "SIP") || peer == nil || !peer.Host.Value.Addr.IsValid() {
		p.logf("Dial(%s): no such chan_sip peer with an address", d.Targets[0])
		b.step()
		return
	}
	if exten == "" {
		exten = peer.DefaultUser.Value
		if exten == "" {
			exten = peer.Name
		}
	}
	in := b.ch[0]
	c := &channel{b: b, idx: 1, peer: peer, pol: policy.FromSIPPeer(p.conf, peer), te: -1}
	if !p.openMedia(c) {
		b.step()
		return
	}
	b.ch[1] = c
	if in.st != nil && !peer.Codecs.Value.Allows(in.codec) {
		// The caller is not answered yet: take an offered codec both
		// peers allow, rather than transcode.
		for _, name := range in.offered {
			if in.peer.Codecs.Value.Allows(name) && peer.Codecs.Value.Allows(name) {
				in.codec = name
				break
			}
		}
	}
	dec := policy.Decide(b.leg(0), policy.Leg{Peer: c.pol, Outgoing: true}, b.feat)
	b.early = dec.Release && dec.Requests[1].Method == policy.MethodInitialInvite
	dst := netip.AddrPortFrom(peer.Host.Value.Addr, peer.Port.Value)
	caller := in.d.remoteURI
	user := sip.URIUser(strings.Trim(caller, "<>"))
	c.d = p.ep.newDialog("<sip:"+user+"@"+p.h.Addr.String()+">", "<sip:"+exten+"@"+dst.Addr().String()+">",
		"sip:"+exten+"@"+dst.String(), dst, 102)
	// The INVITE offers the peer's codecs, the caller's first; with the
	// media direct from the start only those the caller's channel can
	// carry, since the callee will send to the caller.
	var codecs []string
	if peer.Codecs.Value.Allows(in.codec) {
		codecs = append(codecs, in.codec)
	}
	for _, name := range []string{"ulaw", "alaw"} {
		if name != in.codec && peer.Codecs.Value.Allows(name) && (!b.early || slices.Contains(in.offered, name) && in.peer.Codecs.Value.Allows(name)) {
			codecs = append(codecs, name)
		}
	}
	if len(codecs) == 0 {
		p.logf("peer %s allows no G.711 codec the call can use", peer.Name)
		b.step()
		return
	}
	addr := c.own
	te := takesEvents(peer)
	if b.early {
		addr, te = in.far, te && in.te >= 0
		p.logf("directrtpsetup: INVITE to %s carries %s's media address %s", peer.Name, in.peer.Name, addr)
	}
	c.announced = addr
	c.out = c.d.invite(c.sdp.describe(addr, codecs, te, sdp.SendRecv), func(ct *clientTxn, resp *sip.Message, role call.Role) {
		b.dialed(c, resp, role)
	})
	c.out.expire.stop()
	c.out.expire = p.r.n.after(ringTimeout, func() {
		if !c.answered && !c.ended {
			p.ep.send(sip.NewCancel(c.out.req), c.d.remote, nil, nil)
		}
	})
}

// dialed handles the responses to Dial()'s INVITE.
func (b *bridge) dialed(c *channel, resp *sip.Message, role call.Role) {
	in := b.ch[0]
	switch {
	case resp == nil || resp.StatusCode >= 300:
		code := 408
		if resp != nil {
			code = resp.StatusCode
		}
		c.ended = true
		b.p.logf("Dial() to %s failed: %d", c.peer.Name, code)
		if in.st != nil && !b.ending {
			b.fail(code)
			return
		}
		b.step()
	case resp.StatusCode < 200:
		if resp.StatusCode == 180 && in.st != nil {
			in.st.respond(180, "", nil)
		}
	default:
		rm, ok := readMedia(resp.Body)
		codec, common := pick(rm.codecs, c.peer.Codecs.Value.Allows)
		if role != call.RoleAnswer || !ok || !common {
			b.p.logf("the 200 from %s answers with no usable codec: hanging up", c.peer.Name)
			c.d.bye(nil)
			c.ended = true
			b.hangup(c)
			return
		}
		c.far, c.codec, c.answered = rm.addr, codec, true
		if in.st != nil && codec != in.codec && slices.Contains(in.offered, codec) && in.peer.Codecs.Value.Allows(codec) {
			// The caller is not answered yet: answer it with the codec
			// the callee chose, when it offered it, rather than transcode.
			in.codec = codec
		}
		c.nat = contactHost(resp.Contact) != c.d.remote.Addr().String()
		if rm.te >= 0 && takesEvents(c.peer) {
			c.te = rm.te
		}
		if b.ending {
			c.d.bye(func() { c.ended = true; b.p.r.changed() })
			return
		}
		b.answerCaller()
		b.bridgeUp()
	}
}

// leg is what the policy model needs of channel i.
func (b *bridge) leg(i int) policy.Leg {
	c := b.ch[i]
	f := policy.Facts{Ptime: int(frameTime.Milliseconds()), SRTP: policy.No, ICE: policy.No, T38: policy.No, Family: 4}
	if c.codec != "" {
		f.Codecs = []string{c.codec}
	}
	if c.far.IsValid() {
		f.MediaAddr = c.far.Addr()
		f.TelephoneEvent = policy.TriOf(c.te >= 0)
		f.NAT = policy.TriOf(c.nat)
		if c.nat {
			f.NATEvidence = "its Via sent-by differs from the address its requests come from"
		}
	}
	return policy.Leg{Peer: c.pol, Outgoing: c.idx == 1, Facts: f}
}

// bridgeUp joins the two answered channels as the policy model decides.
func (b *bridge) bridgeUp() {
	dec := policy.Decide(b.leg(0), b.leg(1), b.feat)
	b.dec = Decision{Host: b.p.h.Name, Peers: [2]string{b.ch[0].peer.Name, b.ch[1].peer.Name}, Decision: dec, Early: b.early}
	switch dec.Bridge {
	case policy.NativeRemote:
		b.mode = modeRemote
	case policy.NativeLocal:
		b.mode = modeLocal
	default:
		b.mode = modeCore
	}
	var codes []string
	for _, r := range dec.Reasons {
		if r.Effect == policy.Blocks || r.Effect == policy.Shapes || r.Effect == policy.Permits {
			codes = append(codes, r.Code)
		}
	}
	b.p.logf("bridge %s <-> %s: %s bridge, release %v by %s (%s)", b.ch[0].peer.Name, b.ch[1].peer.Name, dec.Bridge, dec.Release, dec.Method, strings.Join(codes, ", "))
	if b.mode == modeCore {
		for _, c := range b.ch {
			b.ownStream(c)
		}
	}
	b.reconcile()
}

// ownStream makes the PBX's own RTP stream towards a channel.
func (b *bridge) ownStream(c *channel) *stream {
	if c.stream == nil {
		r := b.p.ep.rng
		c.stream = newStream(b.p.r.n, c.rtp, c.rtcp, r.Uint32(), uint16(r.IntN(1<<15)), r.Uint32(), "asterisk@"+b.p.h.Addr.String())
	}
	c.stream.codec, c.stream.te = c.codec, c.te
	c.stream.dst = c.sendTo()
	return c.stream
}

// sendTo is where the PBX sends a channel's RTP: where it comes from with
// symmetric RTP (nat=comedia or yes), once it has come; the SDP address
// otherwise.
func (c *channel) sendTo() netip.AddrPort {
	if c.pol.Symmetric.Value && c.src.IsValid() {
		return c.src
	}
	return c.far
}

// want is the media address the far end of c should have: the other
// phone's when the bridge has released the media, the PBX's own
// otherwise.
func (c *channel) want() netip.AddrPort {
	b := c.b
	o := c.other()
	if b.mode == modeRemote && !b.ending && b.holdBy < 0 && o != nil && o.far.IsValid() && !o.refused && !c.refused {
		return o.far
	}
	return c.own
}

// reconcile sends each channel the request that brings its media where it
// should be, when its dialog allows one now. Glare mitigation
// (directmedia=outgoing) holds back the first release request of a
// dialog until the wanted address changes again.
func (b *bridge) reconcile() {
	for i, c := range b.ch {
		if c == nil || c.ended || !c.answered || b.holdBy == i && !b.ending {
			continue
		}
		want := c.want()
		if b.mode == modeNone || want == c.announced && !c.force || want == c.failed {
			b.settled(c)
			continue
		}
		if c.retry != nil && !c.retry.dead || !c.d.view().Ready() {
			continue
		}
		req := b.dec.Requests[i]
		if req.Withheld && want != c.own && !c.withheld.IsValid() {
			c.withheld = want
			b.dec.Withheld++
			b.p.logf("directmedia=outgoing: withholds the release request to %s (an incoming dialog)", c.peer.Name)
			continue
		}
		if c.withheld.IsValid() && want == c.withheld && !c.force {
			continue
		}
		b.send(c, want, req.Method)
	}
}

// settled runs what waited for the channel's requests to finish.
func (b *bridge) settled(c *channel) {
	if f := c.onSettled; f != nil && c.d.view().Ready() {
		c.onSettled = nil
		f()
	}
}

// send sends the re-INVITE (or UPDATE) that points c's far end at addr.
// reconcile calls it only once the dialog is ready, so confirmed.
func (b *bridge) send(c *channel, addr netip.AddrPort, m policy.Method) {
	c.force = false
	body := c.sdp.describe(addr, []string{c.codec}, c.te >= 0, sdp.SendRecv)
	b.p.logf("%s to %s: media to %s", methodName(m), c.peer.Name, addr)
	onResp := func(_ *clientTxn, resp *sip.Message, role call.Role) {
		switch {
		case resp == nil:
			c.failed = addr
			b.refused(c, addr)
		case resp.StatusCode < 200:
			return
		case resp.StatusCode/100 == 2:
			c.announced, c.failed = addr, netip.AddrPort{}
			if rm, ok := readMedia(resp.Body); role == call.RoleAnswer && ok && rm.addr != c.far && rm.addr.Port() != 0 {
				c.far = rm.addr
			}
		case resp.StatusCode == 491:
			delay, owner := c.d.retryDelay()
			b.dec.Retries++
			b.p.logf("491 from %s: retrying in %s (RFC 3261 §14.1, Call-ID owner: %v)", c.peer.Name, delay, owner)
			c.retry = b.p.r.n.after(delay, func() {
				c.force = true
				b.reconcile()
			})
			return
		default:
			b.p.logf("%s to %s refused: %d", methodName(m), c.peer.Name, resp.StatusCode)
			c.failed = addr
			b.refused(c, addr)
		}
		b.reconcile()
		b.follow()
	}
	if m == policy.MethodUpdate {
		c.d.update(body, onResp)
		return
	}
	c.d.invite(body, onResp)
}

func methodName(m policy.Method) string {
	if m == policy.MethodUpdate {
		return "UPDATE"
	}
	return "re-INVITE"
}

// refused handles a release request to addr the far end did not take:
// the media of the bridge stays on the PBX, relayed.
func (b *bridge) refused(c *channel, addr netip.AddrPort) {
	if addr == c.own {
		return
	}
	c.refused = true
	if b.mode == modeRemote {
		b.mode = modeLocal
		b.p.logf("release refused by %s: the media stays on %s", c.peer.Name, b.p.h.Name)
	}
}

// follow points the PBX's own streams at where the channels now are.
func (b *bridge) follow() {
	for _, c := range b.ch {
		if c != nil && c.stream != nil {
			c.stream.dst = c.sendTo()
		}
	}
	if b.moh != nil && b.holdBy >= 0 {
		b.moh.dst = b.ch[1-b.holdBy].sendTo()
	}
}

// ack handles the ACK of a 2xx the PBX sent: the answer when the 2xx
// carried an offer.
func (p *pbx) ack(d *dialog, m *sip.Message, role call.Role) {
	c := p.channelOf(d)
	if c == nil {
		return
	}
	if rm, ok := readMedia(m.Body); ok && role == call.RoleAnswer && rm.addr.Port() != 0 {
		c.far = rm.addr
	}
	c.b.reconcile()
	c.b.follow()
}

// cancel handles the caller's CANCEL before the answer.
func (p *pbx) cancel(st *serverTxn) {
	for _, b := range p.bridges {
		if c := b.ch[0]; c.st == st {
			st.respond(487, "", nil)
			c.st = nil
			c.ended = true
			b.hangup(c)
			return
		}
	}
	st.respond(481, "", nil)
}

// request handles requests inside a channel's dialog.
func (p *pbx) request(d *dialog, st *serverTxn) {
	c := p.channelOf(d)
	if c == nil {
		st.respond(481, "", nil)
		return
	}
	switch st.req.Method {
	case "INVITE", "UPDATE":
		c.b.reoffer(c, st)
	case "BYE":
		st.respond(200, "", nil)
		c.ended = true
		c.b.hangup(c)
	case "INFO", "OPTIONS":
		st.respond(200, "", nil)
	default:
		st.respond(405, "", nil)
	}
}

// reoffer answers a re-INVITE or UPDATE from a channel's far end: a hold
// or resume (RFC 3264 §8.4), or a new media address (the far B2BUA
// releasing its media), and brings the other channel along.
func (b *bridge) reoffer(c *channel, st *serverTxn) {
	m := st.req
	answer := func(body []byte) {
		if m.Method == "INVITE" {
			c.d.answer(st, body, nil)
		} else {
			st.respond(200, "", nil, body)
		}
	}
	if len(m.Body) == 0 {
		answer(c.sdp.describe(c.announced, []string{c.codec}, c.te >= 0, sdp.SendRecv))
		return
	}
	rm, ok := readMedia(m.Body)
	codec, common := pick(rm.codecs, c.peer.Codecs.Value.Allows)
	if st.role != call.RoleOffer || !ok || !common {
		st.respond(488, "", nil)
		return
	}
	c.codec = codec
	if rm.addr.Port() != 0 && !rm.addr.Addr().IsUnspecified() {
		c.far = rm.addr
	}
	hold := rm.dir == sdp.SendOnly || rm.dir == sdp.Inactive
	switch {
	case hold && b.holdBy < 0:
		b.holdBy = c.idx
		b.p.logf("%s holds: music on hold to %s", c.peer.Name, c.other().peer.Name)
	case !hold && b.holdBy == c.idx:
		b.holdBy = -1
		b.p.logf("%s resumes", c.peer.Name)
	}
	addr := c.announced
	if b.holdBy != c.idx {
		addr = c.want()
	}
	c.announced = addr
	answer(c.sdp.describe(addr, []string{c.codec}, c.te >= 0, answerDir(rm.dir, false)))
	b.music()
	b.reconcile()
	b.follow()
}

// music plays music on hold to the party of a held call, and stops it.
func (b *bridge) music() {
	if b.holdBy < 0 || b.ending {
		if b.moh != nil {
			b.moh.pause()
		}
		return
	}
	o := b.ch[1-b.holdBy]
	if b.moh == nil {
		r := b.p.ep.rng
		b.moh = newStream(b.p.r.n, o.rtp, o.rtcp, r.Uint32(), uint16(r.IntN(1<<15)), r.Uint32(), "asterisk@"+b.p.h.Addr.String())
		osc := newOscillator(mohLow, mohHigh)
		b.moh.source = osc.frame
	}
	b.moh.codec, b.moh.te = o.codec, -1
	b.moh.dst = o.sendTo()
	b.moh.run()
}

// hangup ends the call after one channel ended (from), or both (nil):
// released media is pulled back to the PBX first (a re-INVITE), then the
// other channel gets BYE.
func (b *bridge) hangup(from *channel) {
	if b.ending && from == nil {
		return
	}
	b.ending = true
	if b.moh != nil {
		b.moh.pause()
	}
	for _, c := range b.ch {
		if c != nil && c.stream != nil {
			c.stream.pause()
		}
	}
	for _, c := range b.ch {
		if c == nil || c == from || c.ended {
			continue
		}
		switch {
		case c.idx == 0 && c.st != nil:
			c.st.respond(480, "", nil)
			c.st = nil
			c.ended = true
		case !c.answered && c.out != nil:
			b.p.ep.send(sip.NewCancel(c.out.req), c.d.remote, nil, nil)
			c.ended = true
		case c.d.view().State == call.Confirmed:
			cc := c
			cc.onSettled = func() {
				cc.d.bye(func() { b.p.r.changed() })
				cc.ended = true
			}
		default:
			c.ended = true
		}
	}
	b.reconcile()
	b.p.r.changed()
}

// onRTP handles RTP a channel's far end sent to the PBX.
func (p *pbx) onRTP(c *channel, src netip.AddrPort, data []byte) {
	c.src = src
	b := c.b
	if c.stream != nil && c.stream.dst != c.sendTo() {
		b.follow()
	}
	o := c.other()
	if o == nil || !o.answered || o.ended || b.ending || b.holdBy >= 0 {
		return
	}
	switch b.mode {
	case modeLocal:
		if dst := o.sendTo(); dst.IsValid() {
			o.rtp.send(dst, data)
		}
	case modeCore:
		b.core(c, o, data)
	}
}

// core carries one packet through the PBX's core: audio decoded and
// encoded again in the other channel's codec, RFC 4733 events passed on
// as events when the other channel negotiated them and as tones when not.
func (b *bridge) core(c, o *channel, data []byte) {
	pkt, ok := parseRTP(data)
	if !ok || o.stream == nil {
		return
	}
	s := o.stream
	s.dst = o.sendTo()
	if c.te >= 0 && int(pkt.pt) == c.te && len(pkt.payload) >= 4 {
		if s.te >= 0 {
			s.relayEvent(pkt)
			return
		}
		if pkt.payload[1]&0x80 != 0 {
			if c.evSeen && c.lastEv == pkt.ts {
				return
			}
			c.evSeen, c.lastEv = true, pkt.ts
		}
		lo, hi := dtmfFreqs(eventDigit(pkt.payload[0]))
		newOscillator(lo, hi).frame(s.pcm)
		s.send(s.pcm)
		return
	}
	codec := codecOfPT(pkt.pt)
	if codec == "" {
		return
	}
	pcm := decodeG711(codec, pkt.payload, s.pcm[:0])
	s.send(pcm)
}
