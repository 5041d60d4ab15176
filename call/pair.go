package call

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/sip"
)

// callState groups the legs of one call while it is in progress.
type callState struct {
	legs    []*legState
	live    int // legs not yet ended
	lastEnd time.Time
	tm      timer // emission, once every leg has ended
	emitted bool
}

// emitTime is when a call whose legs have all ended may be emitted: Linger
// after the last leg ended, or after the last transaction still open (a
// BYE or CANCEL being retransmitted) times out, whichever is later.
func (cs *callState) emitTime(linger time.Duration) time.Time {
	t := cs.lastEnd
	for _, ls := range cs.legs {
		if s := ls.leg.Status; (s == 401 || s == 407) && linger < AuthLinger {
			// A challenged INVITE is normally sent again with credentials
			// in the same dialog attempt (RFC 3261 §22.2), after the user
			// or the phone found them: hold the leg so the retry joins it.
			linger = AuthLinger
		}
		for _, r := range ls.pending {
			if r.deadline.After(t) {
				t = r.deadline
			}
		}
	}
	return t.Add(linger)
}

func (cs *callState) firstFrame() int {
	f := 0
	for _, ls := range cs.legs {
		if f == 0 || ls.leg.FirstFrame < f {
			f = ls.leg.FirstFrame
		}
	}
	return f
}

// linkState joins a leg to the upstream leg it was created for.
type linkState struct {
	parent     *legState
	server     netip.Addr
	basis      string
	conf       float64
	answerProp bool // the upstream leg was answered just after this one
	endProp    bool // the legs ended (BYE, CANCEL, failure) together
	across     bool // paired across two addresses of one server (pairAcross)
}

// propagation is how soon a B2BUA passes an answer or a hangup from one leg
// to the other for the two to count as one event.
const propagation = 2 * time.Second

// Pairing confidence by matching numbers (none, one, both of caller and
// dialled) and whether the INVITE went out within the pairing window.
var pairConfidence = [3][2]float64{
	{0.4, 0.6},
	{0.7, 0.85},
	{0.85, 0.95},
}

const (
	confCorrelation = 0.99
	confSameCallID  = 0.9
	confConfirm     = 0.05 // added per propagation seen
	confMax         = 0.99
	ambiguityFactor = 0.6
)

// Scan limits keep a busy server's candidate lists cheap to search.
const (
	maxCorrelated = 16
	maxScanRecent = 4096
	maxScanList   = 256
	maxCandidates = 64
)

// pairIndex finds the legs a server received, so that an INVITE the server
// sends can be paired with the INVITE that caused it.
type pairIndex struct {
	recent map[netip.Addr]*idxList // legs whose INVITE reached the host, oldest first
	byNum  map[numKey]*idxList     // the same legs by caller and dialled number
	local  map[netip.Addr]*idxList // legs the host answered itself
	stamp  uint64
}

type numKey struct {
	host netip.Addr
	num  string
}

const (
	kindRecent uint8 = iota
	kindNum
	kindLocal
)

type idxList struct {
	head, tail *idxNode
	n          int
}

type idxNode struct {
	ls         *legState
	prev, next *idxNode
	list       *idxList
	kind       uint8
	key        numKey
}

func newPairIndex() pairIndex {
	return pairIndex{
		recent: make(map[netip.Addr]*idxList),
		byNum:  make(map[numKey]*idxList),
		local:  make(map[netip.Addr]*idxList),
	}
}

func (x *pairIndex) list(kind uint8, key numKey) *idxList {
	var l *idxList
	switch kind {
	case kindRecent:
		if l = x.recent[key.host]; l == nil {
			l = &idxList{}
			x.recent[key.host] = l
		}
	case kindNum:
		if l = x.byNum[key]; l == nil {
			l = &idxList{}
			x.byNum[key] = l
		}
	default:
		if l = x.local[key.host]; l == nil {
			l = &idxList{}
			x.local[key.host] = l
		}
	}
	return l
}

// insert adds the leg to a list; with renew it moves it to the list's end
// if already there (a new INVITE of the leg, after a challenge, restarts
// its timing).
func (x *pairIndex) insert(ls *legState, kind uint8, key numKey, renew bool) {
	for _, n := range ls.nodes {
		if n.kind == kind && n.key == key {
			if l := n.list; renew && l.tail != n {
				unlink(n)
				l.n++
				n.prev, n.next = l.tail, nil
				l.tail.next = n
				l.tail = n
			}
			return
		}
	}
	l := x.list(kind, key)
	n := &idxNode{ls: ls, list: l, kind: kind, key: key, prev: l.tail}
	if l.tail != nil {
		l.tail.next = n
	} else {
		l.head = n
	}
	l.tail = n
	l.n++
	ls.nodes = append(ls.nodes, n)
}

// addServer registers a leg as received by host; renew marks a new INVITE
// of the leg.
func (x *pairIndex) addServer(ls *legState, host netip.Addr, renew bool) {
	if !host.IsValid() {
		return
	}
	x.insert(ls, kindRecent, numKey{host: host}, renew)
	for _, n := range ls.callers {
		x.insert(ls, kindNum, numKey{host, indexKey(n)}, renew)
	}
	for _, n := range ls.dialled {
		x.insert(ls, kindNum, numKey{host, indexKey(n)}, renew)
		// Indexed by the number alone too, for a server that sends from
		// another of its addresses (pairAcross).
		x.insert(ls, kindNum, numKey{num: indexKey(n)}, renew)
	}
}

// unlink takes a node out of its list.
func unlink(n *idxNode) {
	l := n.list
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	l.n--
}

func (x *pairIndex) remove(ls *legState) {
	for _, n := range ls.nodes {
		l := n.list
		unlink(n)
		if l.n == 0 {
			switch n.kind {
			case kindRecent:
				delete(x.recent, n.key.host)
			case kindNum:
				delete(x.byNum, n.key)
			default:
				delete(x.local, n.key.host)
			}
		}
	}
	ls.nodes = nil
}

// receivedBy reports whether the leg's INVITE reached host.
func (ls *legState) receivedBy(host netip.Addr) bool {
	for _, n := range ls.nodes {
		if n.kind == kindRecent && n.key.host == host {
			return true
		}
	}
	return false
}

// identities returns the normalised caller numbers (From,
// P-Asserted-Identity, Remote-Party-ID) and dialled numbers (Request-URI,
// To) of an INVITE.
func identities(m *sip.Message) (callers, dialled []string) {
	addUnique := func(list []string, uri string) []string {
		n := normNumber(sip.URIUser(uri))
		if n == "" {
			return list
		}
		for _, v := range list {
			if v == n {
				return list
			}
		}
		return append(list, n)
	}
	callers = addUnique(callers, m.From.URI)
	for _, name := range []string{"P-Asserted-Identity", "Remote-Party-ID"} {
		if vs := sip.SplitList(header(m, name)); len(vs) > 0 {
			callers = addUnique(callers, sip.ParseNameAddr(vs[0]).URI)
		}
	}
	dialled = addUnique(dialled, m.RequestURI)
	dialled = addUnique(dialled, m.To.URI)
	return callers, dialled
}

// normNumber reduces a URI user part to what pairing compares: a telephone
// number without its visual separators and '+' (RFC 3966 §5.1.1), or the
// user name in lower case. Anonymous callers match nothing.
func normNumber(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	switch u {
	case "", "anonymous", "unknown", "unavailable", "restricted", "private", "invalid":
		return ""
	}
	digits := make([]byte, 0, len(u))
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '+' || c == '-' || c == '.' || c == '(' || c == ')' || c == ' ':
		default:
			return u
		}
	}
	if len(digits) == 0 {
		return u
	}
	return string(digits)
}

// numberSuffix is how many trailing digits identify a number across the
// prefixes servers add and strip (national, international, trunk codes).
const numberSuffix = 7

func indexKey(n string) string {
	if len(n) > numberSuffix && isDigits(n) {
		return n[len(n)-numberSuffix:]
	}
	return n
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// sameNumber compares normalised numbers; digit strings also match when
// the shorter (of at least numberSuffix-1 digits) ends the longer, as when
// a server adds or strips a prefix.
func sameNumber(a, b string) bool {
	if a == b {
		return true
	}
	if !isDigits(a) || !isDigits(b) {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= numberSuffix-1 && strings.HasSuffix(b, a)
}

func matchAny(a, b []string) string {
	for _, x := range a {
		for _, y := range b {
			if sameNumber(x, y) {
				return x
			}
		}
	}
	return ""
}

type candidate struct {
	ls              *legState
	caller, dialled string
	dt              time.Duration
	inWindow, free  bool
	local           bool
	n               int
}

func (c *candidate) better(o *candidate) bool {
	switch {
	case c.n != o.n:
		return c.n > o.n
	case c.inWindow != o.inWindow:
		return c.inWindow
	case c.free != o.free:
		return c.free
	}
	return c.dt < o.dt
}

// pair finds the upstream leg of a leg that starts with an INVITE: by a
// correlation header, by a Call-ID kept across a B2BUA, or by the server
// role (the INVITE comes from a host that recently received an INVITE),
// preferring matching numbers, then timing.
func (e *Engine) pair(ls *legState, msg *Msg) {
	host := addrHost(msg.Src)
	if v := ls.leg.Correlation; v != "" {
		// Of the legs sharing the value, the one the sender received (a
		// chain of servers passing the header on), else the first.
		list := e.byCorr[v]
		var p *legState
		for i := len(list) - 1; i >= 0 && p == nil; i-- {
			if c := list[i]; !c.ended && c.receivedBy(host) {
				p = c
			}
		}
		for i := 0; i < len(list) && p == nil; i++ {
			if !list[i].ended {
				p = list[i]
			}
		}
		basis := "correlation header value shared with an earlier leg"
		if p == nil && v != ls.leg.CallID {
			if head := e.legs[v]; head != nil && !head.ended {
				p, basis = head, "correlation header names the upstream leg's Call-ID"
			}
		}
		if len(list) < maxCorrelated {
			e.byCorr[v] = append(list, ls)
		}
		if p != nil && p.call != ls.call {
			server := netip.Addr{}
			if p.receivedBy(host) {
				server = host
			}
			e.link(p, ls, server, basis, confCorrelation)
			return
		}
	}
	for p := e.legs[ls.leg.CallID]; p != nil; p = p.sameID {
		if p != ls && !p.ended && !p.leg.Partial {
			e.link(p, ls, addrHost(msg.Src), "same Call-ID with a new From tag (a B2BUA that keeps the Call-ID)", confSameCallID)
			return
		}
	}
	cands := e.candidates(ls, host, msg.Time)
	if len(cands) == 0 {
		e.pairAcross(ls, msg)
		return
	}
	best := &cands[0]
	for i := 1; i < len(cands); i++ {
		if cands[i].better(best) {
			best = &cands[i]
		}
	}
	ties := 0
	for i := range cands {
		c := &cands[i]
		if c != best && c.n == best.n && c.inWindow == best.inWindow {
			ties++
		}
	}
	conf := pairConfidence[best.n][b2i(best.inWindow)]
	var b strings.Builder
	b.WriteString("B2BUA " + host.String() + ": ")
	if best.local && !best.inWindow {
		b.WriteString("answered the upstream leg itself and sent this INVITE " + roundDur(best.dt) + " after it arrived")
	} else {
		b.WriteString("sent this INVITE " + roundDur(best.dt) + " after the upstream INVITE arrived")
	}
	if best.caller != "" {
		b.WriteString("; caller " + best.caller + " matches")
	}
	if best.dialled != "" {
		b.WriteString("; dialled " + best.dialled + " matches")
	}
	if best.n == 0 {
		b.WriteString("; no number matches")
	}
	if ties > 0 {
		conf *= ambiguityFactor
		b.WriteString("; ambiguous: " + strconv.Itoa(ties) + " other legs at this server fit as well, chose the nearest in time")
	}
	e.link(best.ls, ls, host, b.String(), conf)
}

// candidates lists the live legs that host received and that could have
// caused the leg starting at 'at'.
func (e *Engine) candidates(ls *legState, host netip.Addr, at time.Time) []candidate {
	x := &e.index
	x.stamp++
	var out []candidate
	consider := func(c *legState) {
		if c.stamp == x.stamp || c == ls || c.ended || c.gone || c.call == ls.call || c.inviteAt.After(at) {
			return
		}
		c.stamp = x.stamp
		k := candidate{ls: c, dt: at.Sub(c.inviteAt)}
		k.caller, k.dialled = matchAny(ls.callers, c.callers), matchAny(ls.dialled, c.dialled)
		k.n = b2i(k.caller != "") + b2i(k.dialled != "")
		k.inWindow = k.dt <= e.window
		k.local = c.answered == host
		k.free = !c.hasLiveChild()
		// Without a number in common and past the window, only a leg that
		// a known server (a PBX, not a phone answering and then placing a
		// call of its own) answered itself still waits for its outgoing leg.
		if !k.inWindow && k.n == 0 && !(k.local && len(c.children) == 0 && c.leg.UASAgent.Server) {
			return
		}
		if len(out) < maxCandidates {
			out = append(out, k)
		}
	}
	if l := x.recent[host]; l != nil {
		i := 0
		for n := l.tail; n != nil && i < maxScanRecent; n, i = n.prev, i+1 {
			if at.Sub(n.ls.inviteAt) > e.window {
				break
			}
			consider(n.ls)
		}
	}
	for _, nums := range [][]string{ls.callers, ls.dialled} {
		for _, num := range nums {
			l := x.byNum[numKey{host, indexKey(num)}]
			if l == nil {
				continue
			}
			i := 0
			for n := l.tail; n != nil && i < maxScanList; n, i = n.prev, i+1 {
				consider(n.ls)
			}
		}
	}
	if l := x.local[host]; l != nil {
		i := 0
		for n := l.tail; n != nil && i < maxScanList; n, i = n.prev, i+1 {
			consider(n.ls)
		}
	}
	return out
}

// acrossWindow is how soon after an INVITE reached one address of a server
// the server's INVITE from another address may be paired with it: a B2BUA
// relaying a call sends its INVITE at once, and without the server role to
// go by, only a short delay is evidence.
const acrossWindow = time.Second

// acrossFactor lowers the confidence of a pairing across two addresses of
// one server: nothing in the packets says the addresses are one machine.
const acrossFactor = 0.75

// pairAcross pairs a leg that no leg at its sender fits with one that
// reached another address just before, for the same dialled number: an SBC
// or a PBX with a public and a private side receives on one address and
// sends from the other. Nothing in the packets says the two addresses are
// one machine, so it refuses whatever else could explain the INVITE: a
// sender whose User-Agent names a phone, and any leg that is already
// answered, reached or came from the sender or the destination of the new
// INVITE (two phones calling one server), has a live downstream leg, shows
// another caller, or was answered by other software than the sender's.
// It pairs only when exactly one leg is left.
func (e *Engine) pairAcross(ls *legState, msg *Msg) {
	// The leg's agent is observed after pairing: read the INVITE's own.
	agent := Identify(msg.Message.UserAgent)
	if agent.Product != "" && !agent.Server {
		return
	}
	src, dst := addrHost(msg.Src), addrHost(msg.Dst)
	x := &e.index
	x.stamp++
	var best *legState
	var bestDialled string
	fits := 0
	for _, num := range ls.dialled {
		l := x.byNum[numKey{num: indexKey(num)}]
		if l == nil {
			continue
		}
		i := 0
		for n := l.tail; n != nil && i < maxScanList; n, i = n.prev, i+1 {
			c := n.ls
			dt := msg.Time.Sub(c.inviteAt)
			if dt > acrossWindow {
				break
			}
			if c.stamp == x.stamp || c == ls || c.ended || c.gone || c.call == ls.call || dt < 0 || c.leg.Status != 0 {
				continue
			}
			c.stamp = x.stamp
			d := matchAny(ls.dialled, c.dialled)
			if d == "" || c.touches(src) || c.touches(dst) || c.hasLiveChild() ||
				(len(ls.callers) > 0 && len(c.callers) > 0 && matchAny(ls.callers, c.callers) == "") ||
				(agent.Product != "" && c.leg.UASAgent.Product != "" && agent.Product != c.leg.UASAgent.Product) {
				continue
			}
			fits++
			best, bestDialled = c, d
		}
	}
	if fits != 1 {
		return
	}
	at := addrHost(best.leg.UAS)
	caller := matchAny(ls.callers, best.callers)
	var b strings.Builder
	b.WriteString("sent from " + src.String() + " " + roundDur(msg.Time.Sub(best.inviteAt)) + " after the upstream INVITE reached " + at.String() +
		", and no other leg fits: taken as two addresses of one server (an SBC or a PBX with a public and a private side)")
	b.WriteString("; dialled " + bestDialled + " matches")
	n := 1
	if caller != "" {
		b.WriteString("; caller " + caller + " matches")
		n++
	}
	e.link(best, ls, netip.Addr{}, b.String(), pairConfidence[n][1]*acrossFactor)
	ls.link.across = true
}

// touches reports whether any hop of the leg starts or ends at host.
func (ls *legState) touches(host netip.Addr) bool {
	for _, h := range ls.leg.Hops {
		if addrHost(h.Src) == host || addrHost(h.Dst) == host {
			return true
		}
	}
	return false
}

func (ls *legState) hasLiveChild() bool {
	for _, ch := range ls.children {
		if !ch.ended {
			return true
		}
	}
	return false
}

// link makes child part of parent's call, downstream of it.
func (e *Engine) link(parent, child *legState, server netip.Addr, basis string, conf float64) {
	child.parent = parent
	parent.children = append(parent.children, child)
	child.link = &linkState{parent: parent, server: server, basis: basis, conf: conf}
	pc, cc := parent.call, child.call
	if pc == cc {
		return
	}
	for _, l := range cc.legs {
		l.call = pc
		pc.legs = append(pc.legs, l)
	}
	pc.live += cc.live
	if cc.lastEnd.After(pc.lastEnd) {
		pc.lastEnd = cc.lastEnd
	}
	cc.legs, cc.emitted = nil, true
	e.timers.remove(&cc.tm)
}

// answered notes the first 2xx to a leg's INVITE: whether the server that
// received it answered it itself (so a later outgoing leg may still pair),
// and whether it passes on the answer of a downstream leg.
func (e *Engine) answered(ls *legState, msg *Msg) {
	host := addrHost(msg.Src)
	ls.answered = host
	if len(ls.children) == 0 && !ls.leg.Partial && ls.receivedBy(host) {
		e.index.insert(ls, kindLocal, numKey{host: host}, false)
	}
	for _, c := range ls.children {
		if c.link == nil || c.leg.Answer.IsZero() {
			continue
		}
		if d := msg.Time.Sub(c.leg.Answer); d >= 0 && d <= propagation {
			c.link.answerProp = true
		}
	}
}

// confirmByEnd notes a leg ending together with a leg linked to it: a
// B2BUA passing on a hangup, a cancel or a failure.
func (e *Engine) confirmByEnd(ls *legState) {
	if !signalled(ls.leg.EndReason) {
		return
	}
	check := func(other *legState, l *linkState) {
		if other == nil || l == nil || !other.ended || !signalled(other.leg.EndReason) {
			return
		}
		d := ls.leg.End.Sub(other.leg.End)
		if d < 0 {
			d = -d
		}
		if d <= propagation {
			l.endProp = true
		}
	}
	check(ls.parent, ls.link)
	for _, c := range ls.children {
		check(c, c.link)
	}
}

func signalled(r EndReason) bool {
	return r == CallerHangup || r == CalleeHangup || r == Cancelled || r == Failed
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
