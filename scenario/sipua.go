package scenario

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/sip"
)

// RFC 3261 timers for UDP (§17.1.1.1, table 4).
const (
	t1       = 500 * time.Millisecond
	t2       = 4 * time.Second
	timeout  = 64 * t1 // Timer B, F and H
	maxTxns  = 256     // transactions one endpoint keeps; older ones are forgotten
	maxDlgs  = 64      // dialogs one endpoint keeps
	sipAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
)

// app is what a host does with the requests its SIP stack hands up.
type app interface {
	// invite is a new INVITE outside any dialog.
	invite(st *serverTxn)
	// request is a request inside a dialog other than ACK and CANCEL,
	// after the stack has answered glare (491, 500) itself.
	request(d *dialog, st *serverTxn)
	// ack is the ACK of a 2xx the host sent; role is what the call
	// engine made of its session description, if any.
	ack(d *dialog, m *sip.Message, role call.Role)
	// cancel is a CANCEL of an INVITE not finally answered yet; the stack
	// has answered the CANCEL.
	cancel(st *serverTxn)
}

// style is how a stack makes its identifiers: chan_sip's or a phone's.
type style uint8

const (
	stylePhone style = iota
	styleAsterisk
)

// endpoint is one host's SIP stack on one UDP socket: client and server
// transactions with their retransmissions (RFC 3261 §17) and the
// identifiers of its dialogs (§12). Every message it sends or receives also
// goes to its own call engine (package call), the one the analyzer runs,
// which keeps the protocol state the stack acts on: each dialog's state,
// the requests and offers under way on each side (the glare rules of §14),
// who owns the Call-ID, the role of each session description; at the end
// it gives the host's own view of its calls.
type endpoint struct {
	n      *network
	host   string
	sock   *socket
	sentBy string // host:port this stack writes in Via and Contact
	user   string
	agent  string
	style  style
	rng    *rand.Rand
	app    app

	engine *call.Engine
	frame  int
	views  []*call.Call
	role   call.Role // of the session description in the message last fed

	clients map[string]*clientTxn
	servers map[string]*serverTxn
	order   []string // transaction keys, oldest first
	dialogs map[string]*dialog
	allow   string
	logf    func(string, ...any)
}

func newEndpoint(n *network, host string, sock *socket, sentBy netip.AddrPort, user, agent string, st style, rng *rand.Rand) *endpoint {
	ep := &endpoint{
		n: n, host: host, sock: sock, sentBy: sentBy.String(), user: user, agent: agent, style: st, rng: rng,
		clients: map[string]*clientTxn{}, servers: map[string]*serverTxn{}, dialogs: map[string]*dialog{},
		allow: sipAllow + ", UPDATE", logf: n.logf,
	}
	ep.engine = call.NewEngine(call.Options{
		OnSDP:  func(ev call.SDPEvent) { ep.role = ev.Role },
		OnCall: func(c *call.Call) { ep.views = append(ep.views, c) },
	})
	sock.recv = ep.receive
	return ep
}

// Identifiers. chan_sip writes Call-IDs of 32 hex digits and the host,
// tags "as" and 8 hex digits and branches z9hG4bK and 8 hex digits; the
// phones write shorter random strings.
func (ep *endpoint) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[ep.rng.IntN(16)]
	}
	return string(b)
}

func (ep *endpoint) newCallID() string {
	if ep.style == styleAsterisk {
		return ep.hex(32) + "@" + ep.sentBy
	}
	return ep.hex(16)
}

func (ep *endpoint) newTag() string {
	if ep.style == styleAsterisk {
		return "as" + ep.hex(8)
	}
	return ep.hex(10)
}

func (ep *endpoint) newBranch() string {
	if ep.style == styleAsterisk {
		return "z9hG4bK" + ep.hex(8)
	}
	return "z9hG4bK" + ep.hex(16)
}

func (ep *endpoint) contact() string { return "<sip:" + ep.user + "@" + ep.sentBy + ">" }

func (ep *endpoint) agentHeader(m *sip.Message) {
	if m.IsRequest() {
		m.Set("User-Agent", ep.agent)
	} else {
		m.Set("Server", ep.agent)
	}
}

// feed hands a message to the engine as seen on the wire at this host.
func (ep *endpoint) feed(m *sip.Message, src, dst netip.AddrPort) call.Role {
	ep.frame++
	ep.role = call.RoleNone
	ep.engine.Handle(m, &decode.Meta{Frame: ep.frame, Time: ep.n.now(), Src: src, Dst: dst, Transport: decode.UDP})
	return ep.role
}

// transmit sends a serialised message and feeds the engine with what went
// out.
func (ep *endpoint) transmit(raw []byte, dst netip.AddrPort) {
	if err := ep.sock.send(dst, raw); err != nil {
		ep.logf("%s: %v", ep.host, err)
		return
	}
	if m, err := sip.Parse(raw, sip.Options{}); err == nil {
		ep.feed(m, ep.sock.addr, dst)
	}
}

func (ep *endpoint) remember(key string) {
	ep.order = append(ep.order, key)
	for len(ep.order) > maxTxns {
		delete(ep.clients, ep.order[0])
		delete(ep.servers, ep.order[0])
		ep.order = ep.order[1:]
	}
}

// receive handles one datagram on the SIP socket.
func (ep *endpoint) receive(src netip.AddrPort, data []byte) {
	if !sip.LooksLike(data) {
		return
	}
	m, err := sip.Parse(data, sip.Options{})
	if err != nil || m.CallID == "" || m.CSeqMethod == "" || len(m.Via) == 0 {
		return
	}
	if m.IsRequest() {
		ep.request(m, src)
	} else {
		ep.response(m, ep.feed(m, src, ep.sock.addr))
	}
}

func txnKey(branch, method string) string { return branch + " " + method }

func (ep *endpoint) response(m *sip.Message, role call.Role) {
	ct := ep.clients[txnKey(m.Via[0].Branch, m.CSeqMethod)]
	if ct == nil {
		if m.CSeqMethod == "INVITE" && m.StatusCode/100 == 2 {
			if d := ep.dialogs[dialogKey(m.CallID, m.From.Tag)]; d != nil {
				d.reack(m.CSeq)
			}
		}
		return
	}
	ct.receive(m, role)
}

// request handles a request. A UAS judges a request in a dialog by the
// dialog as it stood when the request came (RFC 3261 §12.2.2, §14.2), so
// the engine's view of it is read before the engine takes the request in.
func (ep *endpoint) request(m *sip.Message, src netip.AddrPort) {
	var d *dialog
	var v call.DialogView
	if m.To.Tag != "" {
		if d = ep.dialogs[dialogKey(m.CallID, m.To.Tag)]; d != nil {
			v = d.view()
		}
	}
	role := ep.feed(m, src, ep.sock.addr)
	key := txnKey(m.Via[0].Branch, m.Method)
	switch m.Method {
	case "ACK":
		if st := ep.servers[txnKey(m.Via[0].Branch, "INVITE")]; st != nil && st.final >= 300 {
			st.acked()
			return
		}
		if d != nil && v.AwaitingACK && v.ACKCSeq == m.CSeq {
			d.acked()
			ep.app.ack(d, m, role)
		}
		return
	case "CANCEL":
		st := &serverTxn{ep: ep, req: m, src: src, role: role}
		inv := ep.servers[txnKey(m.Via[0].Branch, "INVITE")]
		if inv == nil {
			st.respond(481, "", nil)
			return
		}
		st.respond(200, "", nil)
		if inv.final == 0 {
			ep.app.cancel(inv)
		}
		return
	}
	if st := ep.servers[key]; st != nil {
		st.retransmit()
		return
	}
	st := &serverTxn{ep: ep, req: m, src: src, role: role}
	ep.servers[key] = st
	ep.remember(key)
	if m.To.Tag == "" {
		switch m.Method {
		case "INVITE":
			ep.app.invite(st)
		case "OPTIONS":
			st.respond(200, "", nil)
		default:
			st.respond(405, "", nil)
		}
		return
	}
	if d == nil || v.State == call.Terminated {
		st.respond(481, "", nil)
		return
	}
	if m.CSeq <= v.Side(v.Remote()).CSeq {
		st.respond(500, "Out of order", nil)
		return
	}
	st.dialog = d
	if c := m.Contact; c != "" && m.Method == "INVITE" {
		d.target = sip.ParseNameAddr(c).URI
	}
	switch v.Conflict(m.Method, len(m.SDP()) > 0) {
	case 500:
		st.respond(500, "", map[string]string{"Retry-After": strconv.Itoa(ep.rng.IntN(10))})
		return
	case 491:
		st.respond(491, "", nil)
		return
	}
	ep.app.request(d, st)
}

// clientTxn is a client transaction (RFC 3261 §17.1).
type clientTxn struct {
	ep  *endpoint
	req *sip.Message
	raw []byte
	dst netip.AddrPort
	key string
	// d is the dialog whose 2xx retransmissions the transaction
	// acknowledges again.
	d       *dialog
	onResp  func(ct *clientTxn, resp *sip.Message, role call.Role)
	resend  *timer
	expire  *timer
	wait    time.Duration
	final   int
	gotResp bool
}

// send starts a client transaction for req to dst. onResp receives every
// distinct response, and nil when Timer B or F expires.
func (ep *endpoint) send(req *sip.Message, dst netip.AddrPort, d *dialog, onResp func(*clientTxn, *sip.Message, call.Role)) *clientTxn {
	ct := &clientTxn{ep: ep, req: req, dst: dst, d: d, onResp: onResp, wait: t1}
	ct.raw = req.Bytes()
	ct.key = txnKey(req.Via[0].Branch, req.Method)
	ep.clients[ct.key] = ct
	ep.remember(ct.key)
	ep.transmit(ct.raw, dst)
	ct.resend = ep.n.after(ct.wait, ct.retransmit)
	ct.expire = ep.n.after(timeout, func() {
		if ct.final == 0 {
			ct.final = 408
			ct.resend.stop()
			if ct.onResp != nil {
				ct.onResp(ct, nil, call.RoleNone)
			}
		}
	})
	return ct
}

// retransmit is Timer A (INVITE, doubling until a response) or Timer E
// (others, doubling up to T2).
func (ct *clientTxn) retransmit() {
	if ct.final != 0 || (ct.req.Method == "INVITE" && ct.gotResp) {
		return
	}
	ct.ep.transmit(ct.raw, ct.dst)
	ct.wait *= 2
	if ct.req.Method != "INVITE" || ct.gotResp {
		ct.wait = min(ct.wait, t2)
	}
	ct.resend = ct.ep.n.after(ct.wait, ct.retransmit)
}

func (ct *clientTxn) receive(m *sip.Message, role call.Role) {
	ct.gotResp = true
	if ct.final != 0 {
		if ct.req.Method == "INVITE" && m.StatusCode >= 300 {
			ct.ep.transmit(sip.NewAck(ct.req, m).Bytes(), ct.dst)
		}
		if ct.req.Method == "INVITE" && m.StatusCode/100 == 2 && ct.d != nil {
			ct.d.reack(m.CSeq)
		}
		return
	}
	if m.StatusCode < 200 {
		if ct.req.Method == "INVITE" {
			// Proceeding: no more retransmissions, and Timer B no
			// longer runs (RFC 3261 §17.1.1.2); the call rings as long as
			// the far end lets it.
			ct.resend.stop()
			ct.expire.stop()
		}
		if ct.onResp != nil {
			ct.onResp(ct, m, role)
		}
		return
	}
	ct.final = m.StatusCode
	ct.resend.stop()
	ct.expire.stop()
	if ct.req.Method == "INVITE" && m.StatusCode >= 300 {
		ct.ep.transmit(sip.NewAck(ct.req, m).Bytes(), ct.dst)
	}
	if ct.onResp != nil {
		ct.onResp(ct, m, role)
	}
}

// serverTxn is a server transaction (RFC 3261 §17.2).
type serverTxn struct {
	ep     *endpoint
	req    *sip.Message
	src    netip.AddrPort
	role   call.Role // what the call engine made of the request's session description
	dialog *dialog
	last   []byte
	final  int
	resend *timer
	wait   time.Duration
}

// respond sends a response: a To tag from the dialog (or derived from the
// request), Contact on responses that create or refresh a dialog, received
// and rport on the top Via (RFC 3261 §18.2.1, RFC 3581 §4), and the body
// as SDP when there is one.
func (st *serverTxn) respond(code int, reason string, headers map[string]string, body ...[]byte) *sip.Message {
	r := sip.NewResponse(st.req, code, reason)
	if st.dialog != nil && st.req.To.Tag == "" && code > 100 {
		r.SetToTag(st.dialog.localTag)
	}
	stampVia(r, st.src)
	if code > 100 && code < 300 && (st.req.Method == "INVITE" || st.req.Method == "UPDATE") {
		r.Set("Contact", st.ep.contact())
	}
	if code/100 == 2 && (st.req.Method == "INVITE" || st.req.Method == "OPTIONS") || code == 405 {
		r.Set("Allow", st.ep.allow)
	}
	for _, k := range sortedKeys(headers) {
		r.Set(k, headers[k])
	}
	st.ep.agentHeader(r)
	if len(body) > 0 && body[0] != nil {
		r.SetBody("application/sdp", body[0])
	} else {
		r.SetBody("", nil)
	}
	raw := r.Bytes()
	st.last = raw
	if code >= 200 {
		st.final = code
	}
	st.ep.transmit(raw, st.src)
	if code >= 300 && st.req.Method == "INVITE" {
		st.wait = t1
		st.resend = st.ep.n.after(st.wait, st.again)
		st.ep.n.after(timeout, func() { st.resend.stop() })
	}
	return r
}

// again is Timer G: a non-2xx final response to INVITE is sent again until
// its ACK.
func (st *serverTxn) again() {
	st.ep.transmit(st.last, st.src)
	st.wait = min(2*st.wait, t2)
	st.resend = st.ep.n.after(st.wait, st.again)
}

func (st *serverTxn) acked() { st.resend.stop() }

func (st *serverTxn) retransmit() {
	if st.last != nil {
		st.ep.transmit(st.last, st.src)
	}
}

// stampVia adds received and rport to the top Via of a response.
func stampVia(r *sip.Message, src netip.AddrPort) {
	for i, h := range r.Headers {
		if h.Name != "Via" {
			continue
		}
		items := sip.SplitList(h.Value)
		if len(items) == 0 {
			return
		}
		v, err := sip.ParseVia(items[0])
		if err != nil {
			return
		}
		if v.HasRPort {
			v.RPort = int(src.Port())
			v.Received = src.Addr().String()
		} else if v.Host != src.Addr().String() {
			v.Received = src.Addr().String()
		}
		items[0] = v.String()
		r.Headers[i].Value = strings.Join(items, ", ")
		return
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// dialog is one SIP dialog (RFC 3261 §12) of this endpoint: what the stack
// needs to build its requests. Its state, and what each side has under way
// in it, are the call engine's (view).
type dialog struct {
	ep                  *endpoint
	callID              string
	localTag, remoteTag string
	localURI, remoteURI string // name-addr without tag
	target              string // remote target: the Request-URI of requests
	remote              netip.AddrPort
	cseq                int // the number this endpoint's next request follows
	// awaiting retransmits a 2xx sent until its ACK.
	awaiting *pending2xx
	acks     map[int][]byte
}

func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }

// newDialog starts a dialog of which this endpoint is the UAC.
func (ep *endpoint) newDialog(localURI, remoteURI, target string, remote netip.AddrPort, cseq int) *dialog {
	d := &dialog{
		ep: ep, callID: ep.newCallID(), localTag: ep.newTag(), localURI: localURI, remoteURI: remoteURI,
		target: target, remote: remote, cseq: cseq - 1, acks: map[int][]byte{},
	}
	ep.addDialog(d)
	return d
}

// acceptDialog starts the dialog of an incoming INVITE (this endpoint is
// its UAS).
func (ep *endpoint) acceptDialog(st *serverTxn) *dialog {
	m := st.req
	d := &dialog{
		ep: ep, callID: m.CallID, localTag: ep.newTag(), remoteTag: m.From.Tag,
		localURI: "<" + m.To.URI + ">", remoteURI: "<" + m.From.URI + ">", target: sip.ParseNameAddr(m.Contact).URI,
		remote: st.src, cseq: ep.rng.IntN(100) + 100, acks: map[int][]byte{},
	}
	if d.target == "" {
		d.target = m.From.URI
	}
	st.dialog = d
	ep.addDialog(d)
	return d
}

func (ep *endpoint) addDialog(d *dialog) {
	if len(ep.dialogs) >= maxDlgs {
		for k, old := range ep.dialogs {
			if old.view().State == call.Terminated {
				delete(ep.dialogs, k)
			}
		}
	}
	ep.dialogs[dialogKey(d.callID, d.localTag)] = d
}

// view is the call engine's account of the dialog now, on the network's
// clock. A dialog the engine holds nothing of (its INVITE never went out,
// or its call is over and forgotten) reads as terminated.
func (d *dialog) view() call.DialogView {
	d.ep.engine.Advance(d.ep.n.now())
	v, ok := d.ep.engine.Dialog(call.DialogID{CallID: d.callID, LocalTag: d.localTag, RemoteTag: d.remoteTag})
	if !ok {
		v.State = call.Terminated
	}
	return v
}

// request builds a request of the dialog (RFC 3261 §12.2.1.1).
func (d *dialog) request(method string) *sip.Message {
	ep := d.ep
	m := sip.NewRequest(method, d.target)
	m.Add("Via", "SIP/2.0/UDP "+ep.sentBy+";branch="+ep.newBranch()+";rport")
	m.Add("Max-Forwards", "70")
	from := d.localURI + ";tag=" + d.localTag
	to := d.remoteURI
	if d.remoteTag != "" {
		to += ";tag=" + d.remoteTag
	}
	m.Add("From", from)
	m.Add("To", to)
	m.Add("Call-ID", d.callID)
	if method != "ACK" {
		d.cseq++
	}
	m.Add("CSeq", strconv.Itoa(d.cseq)+" "+method)
	if method == "INVITE" || method == "UPDATE" {
		m.Add("Contact", ep.contact())
		m.Add("Allow", ep.allow)
	}
	ep.agentHeader(m)
	return m
}

// invite sends an INVITE (the initial one or a re-INVITE) with an SDP offer.
func (d *dialog) invite(offer []byte, onResp func(*clientTxn, *sip.Message, call.Role)) *clientTxn {
	m := d.request("INVITE")
	m.SetBody("application/sdp", offer)
	creating := d.remoteTag == ""
	return d.ep.send(m, d.remote, d, func(ct *clientTxn, resp *sip.Message, role call.Role) {
		if resp != nil {
			d.learn(resp, creating)
		}
		if onResp != nil {
			onResp(ct, resp, role)
		}
	})
}

// update sends an UPDATE with an SDP offer (RFC 3311).
func (d *dialog) update(offer []byte, onResp func(*clientTxn, *sip.Message, call.Role)) *clientTxn {
	m := d.request("UPDATE")
	m.SetBody("application/sdp", offer)
	return d.ep.send(m, d.remote, d, onResp)
}

// learn takes the remote tag and target from the responses to the INVITE
// that creates the dialog (RFC 3261 §12.1.2), and acknowledges a 2xx.
func (d *dialog) learn(resp *sip.Message, creating bool) {
	code := resp.StatusCode
	if creating && resp.To.Tag != "" && code > 100 && code < 300 {
		d.remoteTag = resp.To.Tag
		if c := resp.Contact; c != "" {
			d.target = sip.ParseNameAddr(c).URI
		}
	}
	if code/100 == 2 {
		ack := d.request("ACK")
		ack.Set("CSeq", strconv.Itoa(resp.CSeq)+" ACK")
		raw := ack.Bytes()
		d.acks[resp.CSeq] = raw
		d.ep.transmit(raw, d.remote)
	}
}

// reack sends again the ACK of a 2xx that was retransmitted.
func (d *dialog) reack(cseq int) {
	if raw := d.acks[cseq]; raw != nil {
		d.ep.transmit(raw, d.remote)
	}
}

// retryDelay draws the wait before a request refused with 491 is sent
// again: RFC 3261 §14.1's window for this side, which depends on whether
// it owns the Call-ID (the engine's view says), in steps of 10 ms as
// chan_sip draws it.
func (d *dialog) retryDelay() (delay time.Duration, owner bool) {
	owner = d.view().CallIDOwner()
	lo, hi := policy.RetryWindow(owner)
	steps := int((hi - lo) / policy.RetryGranularity)
	return lo + time.Duration(d.ep.rng.IntN(steps))*policy.RetryGranularity, owner
}

// pending2xx retransmits a 2xx to INVITE until its ACK (RFC 3261
// §13.3.1.4).
type pending2xx struct {
	resend *timer
	expire *timer
}

func (p *pending2xx) stop() {
	p.resend.stop()
	p.expire.stop()
}

// answer sends a 2xx to the dialog's pending INVITE and retransmits it
// until the ACK; onLost runs if none comes within 64*T1.
func (d *dialog) answer(st *serverTxn, body []byte, onLost func()) {
	st.respond(200, "", nil, body)
	p := &pending2xx{}
	wait := t1
	var again func()
	again = func() {
		st.retransmit()
		wait = min(2*wait, t2)
		p.resend = d.ep.n.after(wait, again)
	}
	p.resend = d.ep.n.after(wait, again)
	p.expire = d.ep.n.after(timeout, func() {
		p.resend.stop()
		if d.awaiting == p {
			d.awaiting = nil
			if onLost != nil {
				onLost()
			}
		}
	})
	d.awaiting = p
}

// acked stops the retransmissions of the 2xx the ACK acknowledged.
func (d *dialog) acked() {
	if p := d.awaiting; p != nil {
		p.stop()
		d.awaiting = nil
	}
}

// bye ends the dialog with a BYE.
func (d *dialog) bye(onDone func()) {
	if d.view().State == call.Terminated {
		return
	}
	d.ep.send(d.request("BYE"), d.remote, d, func(_ *clientTxn, resp *sip.Message, _ call.Role) {
		if (resp == nil || resp.StatusCode >= 200) && onDone != nil {
			onDone()
		}
	})
}

// info sends an INFO with a body.
func (d *dialog) info(contentType string, body []byte) {
	m := d.request("INFO")
	m.SetBody(contentType, body)
	d.ep.send(m, d.remote, d, nil)
}
