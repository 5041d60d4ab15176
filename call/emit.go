package call

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RFC 3261 §14.1 retry windows after 491 Request Pending.
const (
	ownerRetryMin = 2100 * time.Millisecond
	ownerRetryMax = 4 * time.Second
	otherRetryMax = 2 * time.Second
)

// RetryWindowOK reports whether a retry delay after 491 falls in the RFC
// 3261 §14.1 window: 2.1-4 s for the UA that owns the Call-ID (generated
// it), 0-2 s for the other.
func RetryWindowOK(delay time.Duration, callIDOwner bool) bool {
	if callIDOwner {
		return delay >= ownerRetryMin && delay <= ownerRetryMax
	}
	return delay >= 0 && delay <= otherRetryMax
}

// emit builds the Call from its legs, hands it to OnCall and forgets it.
func (e *Engine) emit(cs *callState) {
	if cs.emitted {
		return
	}
	cs.emitted = true
	e.timers.remove(&cs.tm)
	order := orderLegs(cs.legs)
	if len(order) == 0 {
		return
	}
	for _, ls := range order {
		ls.expire(e.now)
	}
	c := buildCall(order)
	if e.opt.OnCall != nil {
		e.opt.OnCall(c)
	}
	for _, ls := range order {
		e.forget(ls)
	}
	e.stats.Calls++
	e.stats.Legs += len(order)
}

// orderLegs puts legs caller side first: each root (a leg with no upstream
// in the call) by first frame, then depth first its downstream legs by
// first frame.
func orderLegs(legs []*legState) []*legState {
	byFrame := func(a, b *legState) int { return a.leg.FirstFrame - b.leg.FirstFrame }
	in := make(map[*legState]bool, len(legs))
	for _, ls := range legs {
		in[ls] = true
	}
	var roots []*legState
	for _, ls := range legs {
		if ls.parent == nil || !in[ls.parent] {
			roots = append(roots, ls)
		}
	}
	slices.SortStableFunc(roots, byFrame)
	out := make([]*legState, 0, len(legs))
	done := make(map[*legState]bool, len(legs))
	var visit func(ls *legState, depth int)
	visit = func(ls *legState, depth int) {
		if done[ls] || depth > len(legs) {
			return
		}
		done[ls] = true
		out = append(out, ls)
		kids := slices.Clone(ls.children)
		slices.SortStableFunc(kids, byFrame)
		for _, k := range kids {
			if in[k] {
				visit(k, depth+1)
			}
		}
	}
	for _, r := range roots {
		visit(r, 0)
	}
	return out
}

func buildCall(order []*legState) *Call {
	c := &Call{ID: order[0].leg.CallID}
	idx := make(map[*legState]int, len(order))
	for i, ls := range order {
		idx[ls] = i
		l := ls.leg
		c.Legs = append(c.Legs, l)
		if c.FirstFrame == 0 || l.FirstFrame < c.FirstFrame {
			c.FirstFrame = l.FirstFrame
		}
		if c.Start.IsZero() || l.Start.Before(c.Start) {
			c.Start = l.Start
		}
		if l.End.After(c.End) {
			c.End = l.End
		}
	}
	c.Pairing = Pairing{Basis: "single leg", Confidence: 1}
	var bases []string
	for i, ls := range order {
		k := ls.link
		if k == nil {
			continue
		}
		up, ok := idx[k.parent]
		if !ok {
			continue
		}
		conf, basis := k.conf, k.basis
		if k.answerProp {
			conf += confConfirm
			basis += "; confirmed by answer propagation"
		}
		if k.endProp {
			conf += confConfirm
			basis += "; confirmed by end propagation"
		}
		conf = min(conf, confMax)
		link := Link{Upstream: up, Downstream: i, Server: k.server, Basis: basis, Confidence: conf}
		if k.across {
			// The addresses the legs end at, once the capture has shown
			// every hop.
			link.Server, link.Alias = addrHost(c.Legs[up].UAS), addrHost(c.Legs[i].UAC)
		}
		c.Links = append(c.Links, link)
		bases = append(bases, "leg "+strconv.Itoa(up+1)+"→"+strconv.Itoa(i+1)+": "+basis)
		if len(c.Links) == 1 || conf < c.Pairing.Confidence {
			c.Pairing.Confidence = conf
		}
	}
	if len(bases) > 0 {
		c.Pairing.Basis = strings.Join(bases, " | ")
	}
	servers := c.serverSet()
	endpoints := map[netip.Addr]bool{}
	for i, ls := range order {
		if ls.parent == nil || !hasKey(idx, ls.parent) {
			endpoints[addrHost(c.Legs[i].UAC)] = true
		}
		if len(ls.children) == 0 {
			endpoints[addrHost(c.Legs[i].UAS)] = true
		}
	}
	for h := range servers {
		delete(endpoints, h)
	}
	for _, l := range c.Legs {
		for _, r := range l.MidDialog {
			r.Target, r.TargetAddr = target(r.Offer, servers, endpoints)
		}
	}
	for i, ls := range order {
		for _, g := range ls.glares {
			c.Glare = append(c.Glare, buildGlare(g, i, ls, servers))
		}
	}
	slices.SortStableFunc(c.Glare, func(a, b Glare) int { return firstRequestFrame(a) - firstRequestFrame(b) })
	return c
}

func firstRequestFrame(g Glare) int {
	if len(g.Requests) == 0 {
		return 0
	}
	return g.Requests[0].Frame
}

func hasKey(m map[*legState]int, k *legState) bool {
	_, ok := m[k]
	return ok
}

// target says where an offer points the media, by the roles addresses
// play in the call.
func target(offer *SDPRef, servers, endpoints map[netip.Addr]bool) (Target, netip.AddrPort) {
	if offer == nil || !offer.Media.Addr.IsValid() || offer.Media.Addr.Addr().IsUnspecified() {
		return TargetUnknown, netip.AddrPort{}
	}
	a := offer.Media.Addr
	h := a.Addr().Unmap()
	switch {
	case h == addrHost(offer.Src):
		return TargetSender, a
	case servers[h]:
		return TargetServer, a
	case endpoints[h]:
		return TargetEndpoint, a
	}
	return TargetUnknown, a
}

func buildGlare(g *glareState, legIdx int, ls *legState, servers map[netip.Addr]bool) Glare {
	out := Glare{CallID: ls.leg.CallID, Leg: legIdx, Dialog: g.dialog, Responses491: slices.Clone(g.resp491)}
	release := true
	for _, r := range g.reqs {
		if r.mid == nil {
			continue
		}
		out.Requests = append(out.Requests, r.mid)
		if o := r.mid.Offer; o == nil || o.Media.Addr.Addr().Unmap() == addrHost(o.Src) {
			release = false
		}
	}
	slices.SortStableFunc(out.Requests, func(a, b *Request) int { return a.Frame - b.Frame })
	slices.Sort(out.Responses491)
	out.MediaRelease = release && len(out.Requests) == 2
	out.BetweenServers = servers[addrHost(ls.leg.UAC)] && servers[addrHost(ls.leg.UAS)]
	for _, rs := range g.retries {
		if rs.req.mid == nil {
			continue
		}
		owner := rs.by == UAC
		out.Retries = append(out.Retries, Retry{
			Frame: rs.req.mid.Frame, By: rs.by, Delay: rs.delay, CallIDOwner: owner,
			WindowOK: RetryWindowOK(rs.delay, owner), Status: rs.req.mid.Status,
		})
	}
	slices.SortStableFunc(out.Retries, func(a, b Retry) int { return a.Frame - b.Frame })
	return out
}

func (c *Call) serverSet() map[netip.Addr]bool {
	s := map[netip.Addr]bool{}
	for _, k := range c.Links {
		for _, a := range [2]netip.Addr{k.Server, k.Alias} {
			if a.IsValid() {
				s[a] = true
			}
		}
	}
	return s
}

// B2BUAs returns the hosts that bridged legs of the call: each was UAS of
// one leg and UAC of the next. Ordered caller side first.
func (c *Call) B2BUAs() []netip.Addr {
	var out []netip.Addr
	for _, k := range c.Links {
		for _, a := range [2]netip.Addr{k.Server, k.Alias} {
			if a.IsValid() && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// IsB2BUA reports whether the host bridged legs of the call.
func (c *Call) IsB2BUA(a netip.Addr) bool {
	return c.serverSet()[a.Unmap()]
}

// Leg returns the leg with the Call-ID, or nil.
func (c *Call) Leg(callID string) *Leg {
	for _, l := range c.Legs {
		if l.CallID == callID {
			return l
		}
	}
	return nil
}
