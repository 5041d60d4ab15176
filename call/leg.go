package call

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/sip"
)

// legState is the engine's working state for one Leg.
type legState struct {
	leg       *Leg
	callerTag string
	callerURI string
	call      *callState
	sameID    *legState // next leg with the same Call-ID

	lruPrev, lruNext *legState
	tm               timer // its slot in the timer heap
	gone             bool  // forgotten after its call was emitted
	lastActivity     time.Time

	txns    []*txn
	reqs    []*request
	dialogs []*dialogState
	pending []*request // requests waiting for a final response

	initial   *request  // latest INVITE without a To tag from the UAC
	inviteAt  time.Time // when it was first seen
	initOffer *SDPRef   // the offer it carried
	hopVias   int       // fewest Vias on the initial INVITE seen (-1: none)
	maxVias   int
	cancelled bool
	reasonHdr string // Reason header (RFC 3326) of a BYE or CANCEL
	ended     bool
	glares    []*glareState

	// pairing
	parent   *legState
	children []*legState
	link     *linkState
	callers  []string
	dialled  []string
	nodes    []*idxNode
	stamp    uint64
	answered netip.Addr // host that sent the first 2xx
}

// txn is one transaction at one hop (RFC 3261 §17): its key is the top Via's
// branch and sent-by with the method, plus the CSeq number when the branch
// lacks the RFC 3261 magic cookie (§17.2.3 fallback for RFC 2543 peers).
type txn struct {
	key      txnKey
	req      *request
	src, dst netip.AddrPort // the request's direction
	haveReq  bool
	last     time.Time // when the request was last seen at this hop
	ackSeen  bool      // ACK of a non-2xx final (part of this INVITE transaction)
	ackLast  time.Time
	resps    []respSeen
}

type txnKey struct {
	branch string
	host   string
	port   int
	method string
	cseq   int
}

func txnKeyOf(m *sip.Message, method string) txnKey {
	k := txnKey{method: method}
	if len(m.Via) > 0 {
		v := &m.Via[0]
		k.branch, k.host, k.port = v.Branch, v.Host, v.Port
	}
	if !strings.HasPrefix(k.branch, "z9hG4bK") {
		k.cseq = m.CSeq
	}
	return k
}

// respKey tells responses of one request apart: a retransmission repeats
// status, To tag and RSeq (RFC 3262 §3 numbers reliable provisionals).
type respKey struct {
	status int
	toTag  string
	rseq   int
}

type respSeen struct {
	key      respKey
	src, dst netip.AddrPort
	msg      *Msg
	role     Role
	last     time.Time
}

// request is one request across hops and retransmissions: the same side,
// dialog, CSeq and method.
type request struct {
	method string
	cseq   int
	side   Side
	dialog string
	first  *Msg
	at     time.Time
	role   Role

	resps    []respSeen // one per distinct response
	hops     []hopPair  // where copies were seen (ACKs only)
	final    int
	deadline time.Time // Timer B/F; zero once a response stops it
	timedOut bool

	initial bool
	offer   *SDPRef      // the SDP the request carried as an offer
	neg     *Negotiation // the exchange the request opened
	mid     *Request
}

type hopPair struct {
	src, dst netip.AddrPort
	last     time.Time
}

// dialogState is the engine's working state for one Dialog.
type dialogState struct {
	d        *Dialog
	initNeg  *Negotiation // the exchange of the dialog-creating INVITE
	pending  *Negotiation // an offer waiting for its answer
	uac, uas *SDPRef      // SDP each side has established
	ackDue   time.Time
	ackCSeq  int
	refused  [3]*refusal // last 491 per Side, until that side retries
	crossing []*glareState
}

// refusal remembers a 491 so the refused side's next request is its retry.
type refusal struct {
	req   *request
	at    time.Time
	glare *glareState
}

type glareState struct {
	reqs    [2]*request
	resp491 []int
	retries []retryState
	listed  bool
	dialog  string
}

type retryState struct {
	req   *request
	by    Side
	delay time.Duration
}

const (
	maxHops      = 32
	maxDialogs   = 64
	maxCrossings = 32
	maxFrames    = 64
	maxMidDialog = 1024
	maxExchanges = 1024 // negotiations recorded per dialog
)

func (ls *legState) add(msg *Msg) {
	if len(ls.leg.Messages) >= maxMessagesPerLeg {
		ls.leg.MessagesDropped++
		return
	}
	ls.leg.Messages = append(ls.leg.Messages, msg)
}

// sideOf says which side sent a request with this From (or received a
// response with it): the UAC's From carries the caller tag.
func (ls *legState) sideOf(from sip.NameAddr) Side {
	if from.Tag == ls.callerTag && (from.Tag != "" || sameURI(from.URI, ls.callerURI)) {
		return UAC
	}
	return UAS
}

// hop returns the index in Leg.Hops of the address pair the message was
// seen between, adding it when new.
func (ls *legState) hop(msg *Msg) int {
	src, dst := msg.Src, msg.Dst
	if msg.Direction == UAS {
		src, dst = dst, src
	}
	hops := ls.leg.Hops
	for i := range hops {
		if hops[i].Src == src && hops[i].Dst == dst {
			return i
		}
	}
	if len(hops) >= maxHops {
		return -1
	}
	ls.leg.Hops = append(hops, Hop{Src: src, Dst: dst, FirstFrame: msg.Frame, Vias: len(msg.Via)})
	return len(ls.leg.Hops) - 1
}

func (ls *legState) findTxn(k txnKey) *txn {
	for i := len(ls.txns) - 1; i >= 0; i-- {
		if ls.txns[i].key == k {
			return ls.txns[i]
		}
	}
	return nil
}

func (ls *legState) newTxn(k txnKey, req *request) *txn {
	if len(ls.txns) >= maxTxnsPerLeg {
		copy(ls.txns, ls.txns[1:])
		ls.txns = ls.txns[:len(ls.txns)-1]
	}
	t := &txn{key: k, req: req}
	ls.txns = append(ls.txns, t)
	return t
}

func (ls *legState) findReq(side Side, dialog string, cseq int, method string) *request {
	for i := len(ls.reqs) - 1; i >= 0; i-- {
		r := ls.reqs[i]
		if r.cseq == cseq && r.side == side && r.method == method && r.dialog == dialog {
			return r
		}
	}
	return nil
}

func (ls *legState) newReq(side Side, dialog string, cseq int, method string) *request {
	if len(ls.reqs) >= maxReqsPerLeg {
		copy(ls.reqs, ls.reqs[1:])
		ls.reqs = ls.reqs[:len(ls.reqs)-1]
	}
	r := &request{side: side, dialog: dialog, cseq: cseq, method: method}
	ls.reqs = append(ls.reqs, r)
	return r
}

func (ls *legState) addPending(r *request) {
	for _, p := range ls.pending {
		if p == r {
			return
		}
	}
	if len(ls.pending) >= maxReqsPerLeg {
		ls.pending = append(ls.pending[:0], ls.pending[1:]...)
	}
	ls.pending = append(ls.pending, r)
}

func (ls *legState) dropPending(r *request) {
	r.deadline = time.Time{}
	for i, p := range ls.pending {
		if p == r {
			ls.pending = append(ls.pending[:i], ls.pending[i+1:]...)
			return
		}
	}
}

// dialog returns the dialog with the UAS tag, creating it. Beyond the cap,
// further tags share the last dialog, which keeps state bounded.
func (ls *legState) dialog(tag string, msg *Msg) *dialogState {
	for _, ds := range ls.dialogs {
		if ds.d.Tag == tag {
			return ds
		}
	}
	if len(ls.dialogs) >= maxDialogs {
		return ls.dialogs[len(ls.dialogs)-1]
	}
	ds := &dialogState{d: &Dialog{Tag: tag, FirstFrame: msg.Frame}}
	ls.dialogs = append(ls.dialogs, ds)
	ls.leg.Dialogs = append(ls.leg.Dialogs, ds.d)
	return ds
}

// inDialog returns the dialog an in-dialog request names, nil when it
// names none (no UAS tag, and no tagless RFC 2543 dialog).
func (ls *legState) inDialog(msg *Msg) *dialogState {
	if msg.Dialog == "" {
		return ls.findDialog("")
	}
	return ls.dialog(msg.Dialog, msg)
}

func (ls *legState) findDialog(tag string) *dialogState {
	for _, ds := range ls.dialogs {
		if ds.d.Tag == tag {
			return ds
		}
	}
	return nil
}

func (ls *legState) confirmed() bool {
	for _, ds := range ls.dialogs {
		if ds.d.State == Confirmed {
			return true
		}
	}
	return false
}

// taglessConfirmed reports a confirmed dialog with a UAS that sends no tag
// (RFC 2543), in which an INVITE without a To tag is a re-INVITE.
func (ls *legState) taglessConfirmed() bool {
	ds := ls.findDialog("")
	return ds != nil && ds.d.State == Confirmed
}

// deadline is the next time the leg's timers need a look: the earliest
// transaction timeout, missing ACK, or the idle limit.
func (ls *legState) deadline(e *Engine) time.Time {
	idle := e.early
	if ls.confirmed() {
		idle = e.idle
	}
	d := ls.lastActivity.Add(idle)
	for _, r := range ls.pending {
		if !r.deadline.IsZero() && r.deadline.Before(d) {
			d = r.deadline
		}
	}
	for _, ds := range ls.dialogs {
		if !ds.ackDue.IsZero() && ds.ackDue.Before(d) {
			d = ds.ackDue
		}
	}
	return d
}

func (ls *legState) observeAgent(msg *Msg) {
	if msg.Retransmission {
		return
	}
	m := msg.Message
	switch msg.Direction {
	case UAC:
		ls.leg.UACAgent.observe(m, msg.SDP, ls.callerTag)
	case UAS:
		// A proxy's 100 Trying carries no tag and speaks for the proxy.
		if msg.Dialog != "" {
			ls.leg.UASAgent.observe(m, msg.SDP, msg.Dialog)
		}
	}
}

func (ds *dialogState) complete(n *Negotiation) {
	if n.Offerer == UAC {
		ds.uac, ds.uas = n.Offer, n.Answer
	} else {
		ds.uac, ds.uas = n.Answer, n.Offer
	}
	if ds.pending == n {
		ds.pending = nil
	}
}

func (ds *dialogState) established(s Side) *SDPRef {
	if s == UAC {
		return ds.uac
	}
	return ds.uas
}

// offer opens a new exchange in the dialog.
func (ds *dialogState) offer(by Side, method string, cseq int, ref *SDPRef) *Negotiation {
	n := &Negotiation{Method: method, CSeq: cseq, Offerer: by, Offer: ref}
	ds.record(n)
	ds.pending = n
	return n
}

// record adds an exchange to the dialog's history, up to a cap.
func (ds *dialogState) record(n *Negotiation) {
	if len(ds.d.Negotiations) < maxExchanges {
		ds.d.Negotiations = append(ds.d.Negotiations, n)
	}
}

// header returns the first value of a header by its canonical name without
// the allocation of sip.Message.Get.
func header(m *sip.Message, canonical string) string {
	for i := range m.Headers {
		if m.Headers[i].Name == canonical {
			return m.Headers[i].Value
		}
	}
	return ""
}

func rseqOf(m *sip.Message) int {
	if m.StatusCode < 101 || m.StatusCode > 199 {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(header(m, "RSeq")))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func sdpRef(msg *Msg) *SDPRef {
	if msg.SDP == nil {
		return nil
	}
	carrier := msg.Method
	if !msg.IsRequest() {
		carrier = strconv.Itoa(msg.StatusCode) + " " + msg.CSeqMethod
	}
	return &SDPRef{
		Frame: msg.Frame, Time: msg.Time, Carrier: carrier, Sender: msg.Direction,
		Src: msg.Src, Session: msg.SDP, Media: mediaStateOf(msg.SDP),
	}
}

// sameSession reports whether two SDPs are one version of one session
// (RFC 3264 §8: a changed description increments the o= version).
func sameSession(a, b *SDPRef) bool {
	if a == nil || b == nil || a.Session == nil || b.Session == nil {
		return false
	}
	return a.Session.SessionID == b.Session.SessionID && a.Session.Version == b.Session.Version &&
		a.Session.OriginUser == b.Session.OriginUser
}
