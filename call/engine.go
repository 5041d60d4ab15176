// Package call is the call engine: it follows SIP transactions (RFC 3261
// §17), dialogs (§12) and offer/answer exchanges (RFC 3264) message by
// message, classifies re-INVITEs and UPDATEs, finds glare (§14.1), and
// joins the legs that B2BUAs create into calls. It reads a capture in one
// pass on packet time and keeps state only for calls in progress: a call is
// handed to Options.OnCall once all its legs have ended, then forgotten.
//
// The same engine is meant to sit behind endpoints that send real SIP, so it
// models the protocol (which side sent what, which transaction a message
// belongs to) rather than the capture.
package call

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

// RFC 3261 timer values for unreliable transports (§17.1.1.1, table 4).
const (
	t1 = 500 * time.Millisecond
	// timerB is Timer B and Timer F: 64*T1, the longest a client
	// transaction waits for a final response, and the time a UAS
	// retransmits a 2xx waiting for its ACK (§13.3.1.4).
	timerB = 64 * t1
	// duplicateWindow: a repeat sooner than this after the last copy is
	// no retransmission (Timers A, E and G start at T1) but a duplicate
	// made by the network or the capture.
	duplicateWindow = t1 / 2
	// clockStep is a gap between consecutive packets too long to be time
	// passing in a capture of live calls: a broken timestamp or files of
	// different days merged. Timers do not run across it.
	clockStep = 24 * time.Hour
)

// Defaults for Options fields left zero.
const (
	DefaultIdleTimeout = time.Hour
	// DefaultEarlyTimeout bounds a leg that has no 2xx yet; longer than
	// a proxy's Timer C (more than 3 minutes, RFC 3261 §16.6).
	DefaultEarlyTimeout = 5 * time.Minute
	DefaultMaxDialogs   = 100000
	// DefaultLinger is Timer K/T4: how long an unreliable transport may
	// still deliver retransmissions of a completed transaction (§17.1.2.2).
	DefaultLinger = 5 * time.Second
	// AuthLinger replaces Linger for a call whose last answer was a
	// 401 or 407 challenge, so that the INVITE sent again with
	// credentials joins the same leg.
	AuthLinger = 2 * time.Minute
	// DefaultPairWindow is how long after an INVITE reaches a server an
	// INVITE it sends may be paired with it on timing alone.
	DefaultPairWindow = 2 * time.Second
)

// Caps on what one leg keeps, so a pathological dialog stays bounded.
const (
	maxMessagesPerLeg = 5000
	maxTxnsPerLeg     = 128
	maxReqsPerLeg     = 256
	maxMethodKeys     = 64
)

// Options configure an Engine.
type Options struct {
	// CorrelateHeaders name headers that carry a value tying a B2BUA's
	// legs together, in addition to X-CID and X-Call-ID.
	CorrelateHeaders []string
	// KeepRaw keeps sip.Message.Raw in the Msgs of emitted calls (ladders
	// show it); otherwise it is dropped.
	KeepRaw bool
	// IdleTimeout expires a confirmed dialog idle this long in packet
	// time (default DefaultIdleTimeout). Legs without a 2xx expire after
	// the smaller of it and DefaultEarlyTimeout.
	IdleTimeout time.Duration
	// MaxDialogs caps the legs held at once (default DefaultMaxDialogs);
	// beyond it the least recently active call is emitted early, its legs
	// marked Evicted and counted.
	MaxDialogs int
	// Linger is how long after a call's last leg ended it is held for
	// late retransmissions and ACKs before it is emitted (default
	// DefaultLinger), in packet time.
	Linger time.Duration
	// PairWindow is how long after an INVITE reached a server an INVITE
	// from that server may be paired with it without matching numbers
	// (default DefaultPairWindow).
	PairWindow time.Duration
	// OnSDP receives every session description in a dialog message as it
	// arrives, retransmissions excepted.
	OnSDP func(SDPEvent)
	// OnReject receives the leg's Call-ID and the frame of an offer that
	// a final response of 300 or more refused (488, 491 after glare,
	// 5xx), so a media tracker can forget the addresses it announced.
	OnReject func(callID string, offerFrame int)
	// OnCall receives each call once all its legs have ended (or at
	// Finish), once; the engine forgets it afterwards.
	OnCall func(*Call)
}

// Role is what a session description is in the offer/answer model.
type Role uint8

// Roles.
const (
	RoleNone    Role = iota // outside the rules (SDP where none was expected)
	RoleOffer               // an offer (RFC 3264 §5)
	RoleAnswer              // the answer to the pending offer (§6)
	RolePreview             // an answer in an unreliable provisional response (RFC 6337 §3.1.1)
	RoleRepeat              // a copy of an answer already given (2xx after a reliable 1xx)
)

func (r Role) String() string {
	switch r {
	case RoleOffer:
		return "offer"
	case RoleAnswer:
		return "answer"
	case RolePreview:
		return "preview"
	case RoleRepeat:
		return "repeat"
	}
	return "none"
}

// SDPEvent is one session description seen in a dialog.
type SDPEvent struct {
	CallID string
	// Dialog is the UAS tag, "" for the offer in an INVITE that has none yet.
	Dialog string
	Role   Role
	SDP    *SDPRef
	Msg    *Msg
}

// Stats counts what the engine saw.
type Stats struct {
	Messages, Requests, Responses int
	Malformed                     int
	// Unplaceable counts messages without a Call-ID or CSeq: they cannot
	// be tied to any dialog or transaction.
	Unplaceable int
	// Retransmissions counts repeats sent again by a SIP timer,
	// Duplicates repeats the capture or network made (Msg.Duplicate).
	Retransmissions int
	Duplicates      int
	BadSDP          int
	// Methods counts requests by method, Statuses responses by code.
	Methods  map[string]int
	Statuses map[int]int

	// Transactions outside INVITE dialogs, by method.
	Register, Options, Subscribe, Notify, Message, Publish, OtherNonCall Outcomes
	// NonInviteDialogs counts SUBSCRIBE and REFER requests outside a
	// dialog answered 2xx with a To tag (RFC 6665, RFC 3515).
	NonInviteDialogs int

	// Legs and Calls count what was emitted.
	Legs, Calls int
	// LiveLegs is the number of legs held now, MaxLiveLegs its high-water mark.
	LiveLegs, MaxLiveLegs int
	// Expired counts legs ended for being idle past the timeout, Evicted
	// legs ended early to stay within MaxDialogs.
	Expired, Evicted int
	// Late counts messages of calls already emitted (retransmissions past
	// the linger time).
	Late int
}

// Outcomes counts the transactions of one method and how they ended.
type Outcomes struct {
	Transactions int
	OK           int // 2xx
	Challenged   int // 401 or 407 (RFC 3261 §22)
	Failed       int // any other 3xx-6xx
	Unanswered   int // no final response within 64*T1
}

// Engine follows calls through SIP messages. It is not safe for concurrent use.
type Engine struct {
	opt        Options
	idle       time.Duration
	early      time.Duration
	linger     time.Duration
	window     time.Duration
	maxLegs    int
	corrHeader []string

	legs    map[string]*legState // by Call-ID; legs sharing one are chained
	lruHead *legState
	lruTail *legState

	byCorr map[string][]*legState // legs by correlation header value
	index  pairIndex

	timers timerHeap
	nc     nonCall
	tombs  tombstones

	last  time.Time     // latest packet time seen
	skew  time.Duration // clock steps skipped so far
	now   time.Time     // the engine's clock: packet time less skew
	next  time.Time
	stats Stats
}

// NewEngine returns an Engine with the given options.
func NewEngine(opt Options) *Engine {
	e := &Engine{
		opt:     opt,
		idle:    opt.IdleTimeout,
		linger:  opt.Linger,
		window:  opt.PairWindow,
		maxLegs: opt.MaxDialogs,
		legs:    make(map[string]*legState),
		byCorr:  make(map[string][]*legState),
		index:   newPairIndex(),
		nc:      newNonCall(),
		tombs:   newTombstones(),
	}
	if e.idle <= 0 {
		e.idle = DefaultIdleTimeout
	}
	e.early = min(e.idle, DefaultEarlyTimeout)
	if e.linger <= 0 {
		e.linger = DefaultLinger
	}
	if e.window <= 0 {
		e.window = DefaultPairWindow
	}
	if e.maxLegs <= 0 {
		e.maxLegs = DefaultMaxDialogs
	}
	e.corrHeader = append([]string{"X-CID", "X-Call-ID"}, opt.CorrelateHeaders...)
	e.stats.Methods = make(map[string]int)
	e.stats.Statuses = make(map[int]int)
	return e
}

// Handle takes one SIP message. The engine keeps m (do not reuse it); meta
// is copied.
func (e *Engine) Handle(m *sip.Message, meta *decode.Meta) {
	if m == nil || meta == nil {
		return
	}
	e.Advance(meta.Time)
	e.count(m)
	if !e.opt.KeepRaw {
		m.Raw = nil
	}
	if m.CallID == "" || m.CSeqMethod == "" {
		e.stats.Unplaceable++
		return
	}
	msg := &Msg{
		Frame: meta.Frame, FirstFrame: meta.FirstFrame, Time: meta.Time,
		Src: meta.Src, Dst: meta.Dst, Transport: meta.Transport, Message: m,
		clock: meta.Time.Add(-e.skew),
	}
	if msg.FirstFrame == 0 {
		msg.FirstFrame = msg.Frame
	}
	method := m.Method
	if !m.IsRequest() {
		method = m.CSeqMethod
	}
	ls := e.lookup(m)
	if ls == nil {
		switch {
		case !dialogMethod(method):
			e.nc.handle(e, msg)
			e.refreshNext()
			return
		case e.tombs.has(m.CallID) && !initialInvite(m):
			e.stats.Late++
			return
		}
		ls = e.newLeg(msg)
	}
	e.touch(ls, msg.clock)
	if m.IsRequest() {
		e.onRequest(ls, msg)
	} else {
		e.onResponse(ls, msg)
	}
	ls.add(msg)
	e.schedule(ls)
	if cs := ls.call; cs.live == 0 && !cs.emitted {
		// A final response may have closed the last open transaction.
		if at := cs.emitTime(e.linger); at.Before(cs.tm.at) {
			e.timers.set(&cs.tm, at)
		}
	}
	e.refreshNext()
}

func (e *Engine) count(m *sip.Message) {
	s := &e.stats
	s.Messages++
	if m.Malformed() {
		s.Malformed++
	}
	if m.IsRequest() {
		s.Requests++
		if _, ok := s.Methods[m.Method]; ok || len(s.Methods) < maxMethodKeys {
			s.Methods[m.Method]++
		} else {
			s.Methods["other"]++
		}
	} else {
		s.Responses++
		s.Statuses[m.StatusCode]++
	}
}

// dialogMethod reports whether a message with this (CSeq) method belongs to
// an INVITE dialog even when the engine has not seen the dialog start.
func dialogMethod(method string) bool {
	switch method {
	case "INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE":
		return true
	}
	return false
}

func initialInvite(m *sip.Message) bool {
	return m.IsRequest() && m.Method == "INVITE" && m.To.Tag == ""
}

// lookup finds the leg of a message: the leg whose caller tag is the From
// tag (a request from the UAC side or a response to one) or the To tag (the
// other direction).
func (e *Engine) lookup(m *sip.Message) *legState {
	head := e.legs[m.CallID]
	for ls := head; ls != nil; ls = ls.sameID {
		if ls.callerTag == m.From.Tag && (m.From.Tag != "" || sameURI(ls.callerURI, m.From.URI)) {
			return ls
		}
	}
	for ls := head; ls != nil; ls = ls.sameID {
		if ls.callerTag == m.To.Tag && (m.To.Tag != "" || sameURI(ls.callerURI, m.To.URI)) {
			return ls
		}
	}
	return nil
}

// sameURI compares the user and host of two URIs, which is what RFC 2543
// peers without tags leave to tell the ends of a dialog apart.
func sameURI(a, b string) bool {
	return sip.URIUser(a) == sip.URIUser(b) && sip.URIHost(a) == sip.URIHost(b)
}

// Advance runs the timers due by now (packet time). It is cheap when
// nothing is due, so it may be called for every packet. A forward gap of
// more than a day between packets is taken as a step of the capture's
// clock: timers run on packet time with such steps left out.
func (e *Engine) Advance(now time.Time) {
	// Comparisons rather than Sub, whose overflow check costs more than
	// the rest of a packet's Advance.
	if e.last.IsZero() {
		e.last = now
	} else if now.After(e.last) {
		if now.After(e.last.Add(clockStep)) {
			e.skew += now.Sub(e.last)
		}
		e.last = now
	}
	if e.skew != 0 {
		now = now.Add(-e.skew)
	}
	if now.After(e.now) {
		e.now = now
	}
	if e.next.IsZero() || now.Before(e.next) {
		return
	}
	for len(e.timers) > 0 && !now.Before(e.timers[0].at) {
		t := e.timers.pop()
		switch {
		case t.cs != nil:
			cs := t.cs
			if cs.emitted || cs.live != 0 {
				continue
			}
			if at := cs.emitTime(e.linger); at.After(t.at) {
				e.timers.set(&cs.tm, at)
				continue
			}
			e.emit(cs)
		case t.ls != nil && !t.ls.gone:
			e.fire(t.ls, t.at)
			e.schedule(t.ls)
		}
	}
	e.nc.expire(e, now)
	e.tombs.expire(now)
	e.refreshNext()
}

func (e *Engine) refreshNext() {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if len(e.timers) > 0 {
		consider(e.timers[0].at)
	}
	consider(e.nc.nextDeadline())
	consider(e.tombs.nextDeadline())
	e.next = next
}

// Finish ends every leg still open (CaptureEnded) and emits every call
// still held, in order of first frame.
func (e *Engine) Finish() {
	var calls []*callState
	seen := map[*callState]bool{}
	for _, head := range e.legs {
		for ls := head; ls != nil; ls = ls.sameID {
			if !seen[ls.call] {
				seen[ls.call] = true
				calls = append(calls, ls.call)
			}
		}
	}
	slices.SortStableFunc(calls, func(a, b *callState) int {
		if fa, fb := a.firstFrame(), b.firstFrame(); fa != fb {
			return fa - fb
		}
		la, lb := a.legs[0], b.legs[0]
		if c := la.leg.Start.Compare(lb.leg.Start); c != 0 {
			return c
		}
		if c := strings.Compare(la.leg.CallID, lb.leg.CallID); c != 0 {
			return c
		}
		return strings.Compare(la.callerTag, lb.callerTag)
	})
	for _, cs := range calls {
		for _, ls := range cs.legs {
			switch {
			case ls.ended:
			case ls.cancelled && !ls.confirmed():
				e.end(ls, Cancelled, nil, e.now)
			default:
				e.end(ls, CaptureEnded, nil, e.now)
			}
		}
		e.emit(cs)
	}
	e.nc.flush(e)
	e.next = time.Time{}
}

// Stats returns the counts so far. The maps are copies.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Methods = make(map[string]int, len(e.stats.Methods))
	for k, v := range e.stats.Methods {
		s.Methods[k] = v
	}
	s.Statuses = make(map[int]int, len(e.stats.Statuses))
	for k, v := range e.stats.Statuses {
		s.Statuses[k] = v
	}
	return s
}

// newLeg starts a leg from the first message seen of it. A leg begun by
// anything but an INVITE without a To tag is Partial: the side that sent
// the first request seen is taken as the UAC.
func (e *Engine) newLeg(msg *Msg) *legState {
	m := msg.Message
	leg := &Leg{
		CallID: m.CallID, From: m.From, To: m.To, RequestURI: m.RequestURI,
		FirstFrame: msg.Frame, Start: msg.Time, Transport: msg.Transport,
	}
	leg.To.Tag = ""
	ls := &legState{leg: leg, callerTag: m.From.Tag, callerURI: m.From.URI, hopVias: -1}
	ls.tm = timer{ls: ls, idx: -1}
	if m.IsRequest() {
		leg.UAC, leg.UAS = msg.Src, msg.Dst
	} else {
		leg.UAC, leg.UAS = msg.Dst, msg.Src
		leg.RequestURI = ""
	}
	leg.Partial = !initialInvite(m)
	for _, name := range e.corrHeader {
		if v := m.Get(name); v != "" {
			leg.Correlation = v
			break
		}
	}
	if head := e.legs[m.CallID]; head != nil {
		ls.sameID = head.sameID
		head.sameID = ls
	} else {
		e.legs[m.CallID] = ls
	}
	e.stats.LiveLegs++
	e.stats.MaxLiveLegs = max(e.stats.MaxLiveLegs, e.stats.LiveLegs)
	e.lruPush(ls)
	ls.call = &callState{legs: []*legState{ls}, live: 1}
	ls.call.tm = timer{cs: ls.call, idx: -1}
	if !leg.Partial {
		ls.callers, ls.dialled = identities(m)
		e.pair(ls, msg)
	}
	// Make room, never by evicting the call the new leg just joined.
	for n := e.stats.LiveLegs; e.stats.LiveLegs > e.maxLegs && n > 0; n-- {
		victim := e.lruHead
		for victim != nil && victim.call == ls.call {
			victim = victim.lruNext
		}
		if victim == nil {
			break
		}
		e.evict(victim.call)
	}
	return ls
}

// touch records activity on a leg and keeps the LRU order.
func (e *Engine) touch(ls *legState, at time.Time) {
	if at.After(ls.lastActivity) {
		ls.lastActivity = at
	}
	e.lruRemove(ls)
	e.lruPush(ls)
}

func (e *Engine) lruPush(ls *legState) {
	ls.lruPrev, ls.lruNext = e.lruTail, nil
	if e.lruTail != nil {
		e.lruTail.lruNext = ls
	} else {
		e.lruHead = ls
	}
	e.lruTail = ls
}

func (e *Engine) lruRemove(ls *legState) {
	if ls.lruPrev != nil {
		ls.lruPrev.lruNext = ls.lruNext
	} else if e.lruHead == ls {
		e.lruHead = ls.lruNext
	}
	if ls.lruNext != nil {
		ls.lruNext.lruPrev = ls.lruPrev
	} else if e.lruTail == ls {
		e.lruTail = ls.lruPrev
	}
	ls.lruPrev, ls.lruNext = nil, nil
}

// evict emits a call early to make room: its open legs end as Evicted.
func (e *Engine) evict(cs *callState) {
	for _, ls := range cs.legs {
		if !ls.ended {
			e.stats.Evicted++
			e.end(ls, Evicted, nil, e.now)
		}
	}
	e.emit(cs)
}

// forget drops a leg from every table once its call is emitted.
func (e *Engine) forget(ls *legState) {
	ls.gone = true
	e.timers.remove(&ls.tm)
	e.lruRemove(ls)
	e.index.remove(ls)
	if v := ls.leg.Correlation; v != "" {
		list := slices.DeleteFunc(e.byCorr[v], func(x *legState) bool { return x == ls })
		if len(list) == 0 {
			delete(e.byCorr, v)
		} else {
			e.byCorr[v] = list
		}
	}
	id := ls.leg.CallID
	if head := e.legs[id]; head == ls {
		if ls.sameID != nil {
			e.legs[id] = ls.sameID
		} else {
			delete(e.legs, id)
			e.tombs.add(id, e.now.Add(timerB), e.maxLegs)
		}
	} else {
		for p := head; p != nil; p = p.sameID {
			if p.sameID == ls {
				p.sameID = ls.sameID
				break
			}
		}
	}
	ls.sameID = nil
	e.stats.LiveLegs--
}

// parseSDP parses the session description a message carries, if any.
func (e *Engine) parseSDP(m *sip.Message) *sdp.Session {
	b := m.SDP()
	if len(b) == 0 {
		return nil
	}
	s, err := sdp.Parse(b)
	if err != nil {
		e.stats.BadSDP++
		return nil
	}
	return s
}

func (e *Engine) sdpEvent(ls *legState, msg *Msg, ref *SDPRef, role Role) {
	if e.opt.OnSDP == nil || ref == nil {
		return
	}
	e.opt.OnSDP(SDPEvent{CallID: ls.leg.CallID, Dialog: msg.Dialog, Role: role, SDP: ref, Msg: msg})
}

// wall turns a time on the engine's clock back into packet time.
func (e *Engine) wall(t time.Time) time.Time { return t.Add(e.skew) }

// addrHost is the address without port, unmapped so IPv4 compares equal
// however it was captured.
func addrHost(a netip.AddrPort) netip.Addr { return a.Addr().Unmap() }
