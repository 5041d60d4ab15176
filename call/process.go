package call

import (
	"time"
)

// onRequest places a request in its transaction, recognises
// retransmissions, and applies it to the leg's dialogs.
func (e *Engine) onRequest(ls *legState, msg *Msg) {
	m := msg.Message
	side := ls.sideOf(m.From)
	msg.Direction = side
	if side == UAC {
		msg.Dialog = m.To.Tag
	} else {
		msg.Dialog = m.From.Tag
	}
	msg.Hop = ls.hop(msg)
	if m.Method == "ACK" {
		// The ACK of a non-2xx final shares the INVITE's branch and is
		// part of its transaction (§17.1.1.3).
		tx := ls.findTxn(txnKeyOf(m, "INVITE"))
		if tx != nil && (tx.req.final >= 300 || tx.req.final == 0 && tx.key.cseq == 0) {
			if tx.ackSeen {
				e.repeat(msg, tx.req, nil, &tx.ackLast)
			}
			tx.ackSeen, tx.ackLast = true, msg.Time
			if tx.req.final == 0 {
				// The failure it acknowledges was not captured.
				e.initialFailure(ls, tx.req, msg, 0, "failure response not captured")
			}
			return
		}
	}
	key := txnKeyOf(m, m.Method)
	tx := ls.findTxn(key)
	if tx != nil && tx.haveReq && tx.src == msg.Src && tx.dst == msg.Dst {
		e.repeat(msg, tx.req, tx.req.first, &tx.last)
		return
	}
	var req *request
	if tx != nil {
		req = tx.req
	}
	if req == nil {
		req = ls.findReq(side, msg.Dialog, m.CSeq, m.Method)
	}
	if req == nil {
		req = ls.newReq(side, msg.Dialog, m.CSeq, m.Method)
	}
	if m.Method == "ACK" {
		// Some UACs give each retransmitted ACK of a 2xx a new branch.
		if last := req.seenAt(msg); last != nil {
			e.repeat(msg, req, req.first, last)
			return
		}
	}
	if tx == nil {
		tx = ls.newTxn(key, req)
	}
	tx.haveReq, tx.src, tx.dst, tx.last = true, msg.Src, msg.Dst, msg.Time
	msg.SDP = e.parseSDP(m)
	first := req.first == nil
	if first {
		req.first, req.at = msg, msg.Time
	}
	ls.observeAgent(msg)
	switch m.Method {
	case "INVITE":
		if side == UAC && msg.Dialog == "" && !ls.taglessConfirmed() {
			e.initialInvite(ls, req, msg, first)
		} else {
			e.midDialog(ls, req, msg, first)
		}
	case "UPDATE":
		e.midDialog(ls, req, msg, first)
	case "BYE":
		e.bye(ls, req, msg, first)
	case "CANCEL":
		if first {
			req.deadline = msg.clock.Add(timerB)
			ls.addPending(req)
			ls.cancelled = true
			if r := header(m, "Reason"); r != "" {
				ls.reasonHdr = r
			}
		}
	case "ACK":
		e.ack(ls, req, msg, first)
	case "PRACK":
		e.prack(ls, req, msg, first)
	default:
		if msg.SDP != nil {
			e.sdpEvent(ls, msg, sdpRef(msg), RoleNone)
		}
	}
}

// repeat marks a message as a copy of one seen before between the same
// addresses, last at *last: a retransmission, or a duplicate when too soon
// for one. It changes no state.
func (e *Engine) repeat(msg *Msg, req *request, original *Msg, last *time.Time) {
	msg.Retransmission = true
	if d := msg.Time.Sub(*last); d >= 0 && d < duplicateWindow {
		msg.Duplicate = true
		e.stats.Duplicates++
	} else {
		e.stats.Retransmissions++
	}
	*last = msg.Time
	if original != nil {
		msg.SDP = original.SDP
	}
	if req != nil && req.mid != nil && msg.Method == req.method && len(req.mid.Frames) < maxFrames {
		req.mid.Frames = append(req.mid.Frames, msg.Frame)
	}
}

// seenAt returns when the request was last seen between the message's
// addresses, recording them when new (nil).
func (r *request) seenAt(msg *Msg) *time.Time {
	for i := range r.hops {
		if h := &r.hops[i]; h.src == msg.Src && h.dst == msg.Dst {
			return &h.last
		}
	}
	if len(r.hops) < maxHops {
		r.hops = append(r.hops, hopPair{msg.Src, msg.Dst, msg.Time})
	}
	return nil
}

// onResponse places a response in its client transaction (top Via branch,
// sent-by and CSeq method, §17.1.3), recognises retransmissions, and
// applies it.
func (e *Engine) onResponse(ls *legState, msg *Msg) {
	m := msg.Message
	reqSide := ls.sideOf(m.From)
	msg.Direction = reqSide.Other()
	if reqSide == UAC {
		msg.Dialog = m.To.Tag
	} else {
		msg.Dialog = m.From.Tag
	}
	msg.Hop = ls.hop(msg)
	key := txnKeyOf(m, m.CSeqMethod)
	rk := respKey{status: m.StatusCode, toTag: m.To.Tag, rseq: rseqOf(m)}
	tx := ls.findTxn(key)
	if tx != nil {
		for i := range tx.resps {
			if s := &tx.resps[i]; s.key == rk && s.src == msg.Src && s.dst == msg.Dst {
				e.repeat(msg, tx.req, s.msg, &s.last)
				return
			}
		}
	}
	var req *request
	if tx != nil {
		req = tx.req
	} else {
		req = ls.findReq(reqSide, msg.Dialog, m.CSeq, m.CSeqMethod)
		if req == nil {
			req = ls.findReq(reqSide, "", m.CSeq, m.CSeqMethod)
		}
		if req == nil {
			// The request was not captured.
			dialog := msg.Dialog
			if reqSide == UAC && (m.CSeqMethod == "INVITE" || m.CSeqMethod == "CANCEL") && ls.initial == nil && len(ls.dialogs) == 0 {
				dialog = ""
			}
			req = ls.newReq(reqSide, dialog, m.CSeq, m.CSeqMethod)
			if req.method == "INVITE" && dialog == "" && reqSide == UAC {
				req.initial = true
				ls.initial = req
			}
		}
		tx = ls.newTxn(key, req)
		tx.src, tx.dst = msg.Dst, msg.Src
	}
	msg.SDP = e.parseSDP(m)
	seen := respSeen{key: rk, src: msg.Src, dst: msg.Dst, msg: msg, last: msg.Time}
	if len(tx.resps) < maxFrames {
		tx.resps = append(tx.resps, seen)
	}
	first := true
	for _, s := range req.resps {
		if s.key == rk {
			first, seen.role = false, s.role
			break
		}
	}
	ls.observeAgent(msg)
	role := seen.role
	switch m.CSeqMethod {
	case "INVITE":
		if req.initial {
			role = e.initialResponse(ls, req, msg, first, role)
		} else {
			role = e.midResponse(ls, req, msg, first, role)
		}
	case "UPDATE":
		role = e.midResponse(ls, req, msg, first, role)
	case "BYE":
		if first && m.StatusCode >= 200 {
			req.final = m.StatusCode
			ls.dropPending(req)
			if ds := ls.findDialog(req.dialog); ds != nil && ds.d.ByeStatus == 0 {
				ds.d.ByeStatus = m.StatusCode
			}
		}
	case "PRACK":
		role = e.prackResponse(ls, req, msg, first, role)
	default:
		if first && m.StatusCode >= 200 {
			req.final = m.StatusCode
			ls.dropPending(req)
		}
	}
	if first {
		seen.role = role
		if len(req.resps) < maxFrames {
			req.resps = append(req.resps, seen)
		}
	}
	if msg.SDP != nil {
		e.sdpEvent(ls, msg, sdpRef(msg), role)
	}
}

// initialInvite handles the dialog-creating INVITE (or a copy of it at
// another hop).
func (e *Engine) initialInvite(ls *legState, req *request, msg *Msg, first bool) {
	leg := ls.leg
	vias := len(msg.Via)
	if ls.hopVias < 0 || vias < ls.hopVias {
		ls.hopVias = vias
		leg.UAC = msg.Src
	}
	if vias >= ls.maxVias {
		ls.maxVias = vias
		leg.UAS = msg.Dst
	}
	if first {
		ls.inviteAt = msg.Time
	}
	if !leg.Partial {
		e.index.addServer(ls, addrHost(msg.Dst), first)
	}
	if !first {
		if msg.SDP != nil {
			e.sdpEvent(ls, msg, sdpRef(msg), RoleOffer)
		}
		return
	}
	req.initial = true
	if ls.initial != nil && ls.initial != req && ls.ended {
		// A new attempt on the same dialog set: after a 401/407 challenge
		// or a 3xx, the UAC sends the INVITE again with a new CSeq.
		e.revive(ls)
	}
	ls.initial = req
	req.deadline = msg.clock.Add(timerB)
	ls.addPending(req)
	ls.initOffer = sdpRef(msg)
	req.offer = ls.initOffer
	if req.offer != nil {
		req.role = RoleOffer
		e.sdpEvent(ls, msg, req.offer, RoleOffer)
	}
}

// initialResponse applies a response to the dialog-creating INVITE.
func (e *Engine) initialResponse(ls *legState, req *request, msg *Msg, first bool, role Role) Role {
	m := msg.Message
	code := m.StatusCode
	if !first {
		if code >= 300 {
			e.initialFailure(ls, req, msg, msg.StatusCode, msg.Reason)
		}
		return role
	}
	tag := msg.Dialog
	switch {
	case code < 200:
		req.deadline = time.Time{} // Proceeding: Timer B no longer runs (§17.1.1.2)
		if tag == "" {
			return RoleNone
		}
		ds := ls.dialog(tag, msg)
		if ds.d.State == 0 && code > 100 {
			ds.d.State, ds.d.EarlyAt, ds.d.EarlyFrame = Early, msg.Time, msg.Frame
		}
		return e.provisionalSDP(ls, ds, req, msg)
	case code < 300:
		if req.final == 0 || req.final >= 300 {
			req.final = code
		}
		ls.dropPending(req)
		ds := ls.dialog(tag, msg)
		if ds.d.State != Confirmed {
			ds.d.State, ds.d.ConfirmedAt, ds.d.ConfirmFrame = Confirmed, msg.Time, msg.Frame
		}
		ds.d.Status = code
		ds.ackDue, ds.ackCSeq = msg.clock.Add(timerB), req.cseq
		leg := ls.leg
		if leg.Answer.IsZero() {
			leg.Answer, leg.AnswerFrame, leg.Status, leg.Reason = msg.Time, msg.Frame, code, m.Reason
			e.answered(ls, msg)
		}
		if ls.ended {
			e.revive(ls)
		}
		return e.finalSDP(ls, ds, req, msg)
	}
	if req.final == 0 {
		req.final = code
	}
	if code == 401 || code == 407 {
		ls.leg.Challenges++
	}
	if tag != "" {
		ds := ls.dialog(tag, msg)
		if ds.d.Status == 0 {
			ds.d.Status = code
		}
		if ds.d.State != Confirmed && ds.d.State != Terminated {
			ds.d.State, ds.d.EndedAt, ds.d.EndFrame = Terminated, msg.Time, msg.Frame
		}
		if n := ds.initNeg; n != nil && n.Answer == nil && n.Rejected == 0 {
			n.Rejected = code
			e.rejected(ls, n)
		}
	}
	e.initialFailure(ls, req, msg, msg.StatusCode, msg.Reason)
	return RoleNone
}

// answerUnseen records that the INVITE was answered with a 2xx the capture
// did not hold: the dialog is confirmed, without a frame to show for it.
func (e *Engine) answerUnseen(ls *legState, ds *dialogState, inv *request) {
	inv.final = 200
	ls.dropPending(inv)
	if ds.d.State != Confirmed && ds.d.State != Terminated {
		ds.d.State = Confirmed
	}
}

// initialFailure ends the leg on a failure response to its INVITE, but only
// as seen at the hop nearest the caller: a forking proxy may still try
// other branches after one fails (RFC 3261 §16.7).
func (e *Engine) initialFailure(ls *legState, req *request, msg *Msg, status int, phrase string) {
	if ls.ended || req != ls.initial || ls.confirmed() || !ls.leg.Answer.IsZero() {
		return
	}
	if ls.hopVias >= 0 && len(msg.Via) > ls.hopVias {
		return
	}
	ls.dropPending(req)
	leg := ls.leg
	leg.Status, leg.Reason = status, phrase
	reason := Failed
	if ls.cancelled || status == 487 {
		reason = Cancelled
		if ls.reasonHdr != "" {
			leg.Reason = ls.reasonHdr
		}
	}
	e.end(ls, reason, msg, msg.clock)
}

// provisionalSDP applies SDP in a 1xx to the initial INVITE: with an offer
// in the INVITE a reliable 1xx (RFC 3262) carries the answer and an
// unreliable one a preview of it; without an offer the first reliable 1xx
// carries the offer (RFC 3261 §13.2.1, RFC 6337 §3.1).
func (e *Engine) provisionalSDP(ls *legState, ds *dialogState, req *request, msg *Msg) Role {
	ref := sdpRef(msg)
	if ref == nil {
		return RoleNone
	}
	reliable := rseqOf(msg.Message) > 0
	if req.first == nil {
		return ds.unseenOffer(req, ref, reliable)
	}
	if req.offer != nil {
		n := ds.initNegotiation(req)
		switch {
		case n.Answer == nil && reliable:
			n.Answer = ref
			ds.complete(n)
			return RoleAnswer
		case n.Answer == nil:
			if n.Preview == nil {
				n.Preview = ref
			}
			return RolePreview
		case reliable && !sameSession(ref, n.Answer) && ds.pending == nil:
			// A later reliable 1xx may carry a new offer (RFC 3262 §5).
			ds.offer(UAS, "INVITE", req.cseq, ref)
			return RoleOffer
		}
		return RoleRepeat
	}
	if reliable && ds.initNeg == nil {
		ds.initNeg = ds.offer(UAS, "INVITE", req.cseq, ref)
		return RoleOffer
	}
	return RoleNone
}

// finalSDP applies SDP in the 2xx to the initial INVITE: the answer to the
// INVITE's offer, or, for an INVITE without one, the offer that the ACK
// answers (late offer).
func (e *Engine) finalSDP(ls *legState, ds *dialogState, req *request, msg *Msg) Role {
	ref := sdpRef(msg)
	if req.first == nil {
		if ref == nil {
			return RoleNone
		}
		return ds.unseenOffer(req, ref, true)
	}
	if req.offer != nil {
		n := ds.initNegotiation(req)
		switch {
		case n.Answer == nil && ref != nil:
			n.Answer = ref
			ds.complete(n)
			return RoleAnswer
		case n.Answer == nil && n.Preview != nil:
			n.Answer = n.Preview
			ds.complete(n)
		case ref != nil:
			return RoleRepeat
		}
		return RoleNone
	}
	if ds.initNeg == nil && ref != nil {
		ds.initNeg = ds.offer(UAS, "INVITE", req.cseq, ref)
		return RoleOffer
	}
	if ref != nil {
		return RoleRepeat
	}
	return RoleNone
}

// unseenOffer applies SDP in a response to an INVITE the capture missed:
// most INVITEs carry the offer, so it is taken as the answer to an offer
// not seen (Negotiation.Offer nil).
func (ds *dialogState) unseenOffer(req *request, ref *SDPRef, reliable bool) Role {
	n := ds.initNeg
	if n == nil {
		n = &Negotiation{Method: "INVITE", CSeq: req.cseq, Offerer: UAC}
		ds.initNeg = n
		ds.record(n)
	}
	switch {
	case n.Answer != nil:
		return RoleRepeat
	case !reliable:
		if n.Preview == nil {
			n.Preview = ref
		}
		return RolePreview
	}
	n.Answer = ref
	ds.complete(n)
	return RoleAnswer
}

// initNegotiation returns the dialog's exchange for the INVITE's offer,
// creating it: every fork answers the same offer.
func (ds *dialogState) initNegotiation(req *request) *Negotiation {
	if ds.initNeg == nil || ds.initNeg.Offer != req.offer {
		ds.initNeg = &Negotiation{Method: "INVITE", CSeq: req.cseq, Offerer: UAC, Offer: req.offer}
		ds.record(ds.initNeg)
	}
	return ds.initNeg
}

// midDialog handles a re-INVITE or UPDATE: it records the request,
// classifies its offer, and looks for crossing requests (glare) and for
// the retry of an earlier 491.
func (e *Engine) midDialog(ls *legState, req *request, msg *Msg, first bool) {
	ds := ls.dialog(msg.Dialog, msg)
	if ds.d.State == 0 && msg.Method == "INVITE" {
		// Only a confirmed dialog takes a re-INVITE; the capture missed
		// its start.
		ds.d.State = Confirmed
	}
	if !first {
		if req.mid != nil && len(req.mid.Frames) < maxFrames {
			req.mid.Frames = append(req.mid.Frames, msg.Frame)
		}
		if msg.SDP != nil {
			e.sdpEvent(ls, msg, sdpRef(msg), req.role)
		}
		return
	}
	r := &Request{
		Method: msg.Method, CSeq: msg.CSeq, Sender: req.side, Dialog: msg.Dialog,
		Frame: msg.Frame, Time: msg.Time, Frames: []int{msg.Frame},
	}
	req.mid = r
	if len(ls.leg.MidDialog) < maxMidDialog {
		ls.leg.MidDialog = append(ls.leg.MidDialog, r)
	}
	req.deadline = msg.clock.Add(timerB)
	if ref := sdpRef(msg); ref != nil {
		r.Offer = ref
		if prev := ds.established(req.side); prev != nil {
			r.Change, r.Baseline = changeBetween(prev, ref), true
		}
		req.offer, req.neg, req.role = ref, ds.offer(req.side, msg.Method, msg.CSeq, ref), RoleOffer
		e.sdpEvent(ls, msg, ref, RoleOffer)
	} else if msg.Method == "UPDATE" {
		// An UPDATE without SDP refreshes the session (RFC 4028 §9).
		r.Baseline = true
	}
	for _, p := range ls.pending {
		if p.mid != nil && p.side != req.side && p.dialog == req.dialog && p.final == 0 && !p.timedOut &&
			len(ds.crossing) < maxCrossings {
			ds.crossing = append(ds.crossing, &glareState{reqs: [2]*request{p, req}, dialog: req.dialog})
		}
	}
	ls.addPending(req)
	if rf := ds.refused[req.side]; rf != nil {
		ds.refused[req.side] = nil
		if rf.req.mid != nil {
			r.RetryOf = rf.req.mid.Frame
		}
		r.RetryDelay = msg.Time.Sub(rf.at)
		if rf.glare != nil && len(rf.glare.retries) < 2 {
			rf.glare.retries = append(rf.glare.retries, retryState{req: req, by: req.side, delay: r.RetryDelay})
		}
	}
}

// midResponse applies a response to a re-INVITE or UPDATE.
func (e *Engine) midResponse(ls *legState, req *request, msg *Msg, first bool, role Role) Role {
	if !first {
		return role
	}
	ds := ls.dialog(req.dialog, msg)
	r := req.mid
	if r == nil {
		// The request itself was not captured.
		r = &Request{Method: req.method, CSeq: req.cseq, Sender: req.side, Dialog: req.dialog, Baseline: false}
		req.mid = r
		if len(ls.leg.MidDialog) < maxMidDialog {
			ls.leg.MidDialog = append(ls.leg.MidDialog, r)
		}
	}
	code := msg.StatusCode
	ref := sdpRef(msg)
	if len(r.Responses) < maxFrames {
		r.Responses = append(r.Responses, Response{Frame: msg.Frame, Status: code, SDP: ref})
	}
	role = RoleNone
	switch {
	case code < 200:
		if n := req.neg; ref != nil && n != nil && n.Answer == nil {
			if rseqOf(msg.Message) > 0 {
				n.Answer, r.Answer = ref, ref
				ds.complete(n)
				return RoleAnswer
			}
			n.Preview = ref
			return RolePreview
		}
		return RoleNone
	case code < 300:
		if r.Status == 0 {
			r.Status, r.StatusFrame, r.StatusTime = code, msg.Frame, msg.Time
		}
		req.final = code
		ls.dropPending(req)
		if req.method == "INVITE" {
			ds.ackDue, ds.ackCSeq = msg.clock.Add(timerB), req.cseq
		}
		switch n := req.neg; {
		case n != nil && n.Offerer == req.side:
			if n.Answer == nil && ref == nil && n.Preview != nil {
				n.Answer = n.Preview
			} else if n.Answer == nil && ref != nil {
				n.Answer = ref
				role = RoleAnswer
			} else if ref != nil {
				role = RoleRepeat
			}
			if n.Answer != nil {
				r.Answer = n.Answer
				ds.complete(n)
			}
		case ref != nil && req.method == "INVITE":
			// Offerless re-INVITE: the 2xx offers, the ACK answers.
			by := req.side.Other()
			r.Offer = ref
			if prev := ds.established(by); prev != nil {
				r.Change, r.Baseline = changeBetween(prev, ref), true
			}
			req.neg = ds.offer(by, "INVITE", req.cseq, ref)
			role = RoleOffer
		case ref == nil && r.Offer == nil:
			r.Baseline = true
		}
		return role
	}
	if r.Status == 0 {
		r.Status, r.StatusFrame, r.StatusTime = code, msg.Frame, msg.Time
	}
	req.final = code
	ls.dropPending(req)
	if n := req.neg; n != nil && n.Answer == nil && n.Rejected == 0 {
		n.Rejected = code
		e.rejected(ls, n)
		if ds.pending == n {
			ds.pending = nil
		}
	}
	if code == 491 {
		e.refuse(ls, ds, req, msg)
	}
	return RoleNone
}

// refuse records a 491 Request Pending: the glare it belongs to, and the
// refused side's pending retry (RFC 3261 §14.1).
func (e *Engine) refuse(ls *legState, ds *dialogState, req *request, msg *Msg) {
	rf := &refusal{req: req, at: msg.Time}
	for _, g := range ds.crossing {
		if g.reqs[0] != req && g.reqs[1] != req {
			continue
		}
		if len(g.resp491) < 2 {
			g.resp491 = append(g.resp491, msg.Frame)
		}
		rf.glare = g
		if !g.listed {
			g.listed = true
			ls.glares = append(ls.glares, g)
		}
		break
	}
	ds.refused[req.side] = rf
}

// bye ends the dialog it names; the leg ends when no confirmed dialog is
// left (§15).
func (e *Engine) bye(ls *legState, req *request, msg *Msg, first bool) {
	if !first {
		return
	}
	req.deadline = msg.clock.Add(timerB)
	ls.addPending(req)
	if r := header(msg.Message, "Reason"); r != "" {
		ls.reasonHdr = r
	}
	if ds := ls.inDialog(msg); ds != nil {
		if inv := ls.initial; inv != nil && inv.final == 0 && req.side == UAS {
			// The UAS sends BYE only in a confirmed dialog (§15): the
			// capture missed the 2xx.
			e.answerUnseen(ls, ds, inv)
		}
		d := ds.d
		if d.ByeFrame == 0 {
			d.ByeFrame, d.ByeSide = msg.Frame, req.side
		}
		if d.State != Terminated {
			if d.State == Early && req.side == UAC {
				// A BYE in an early dialog acts as a CANCEL (§15).
				ls.cancelled = true
			}
			d.State, d.EndedAt, d.EndFrame = Terminated, msg.Time, msg.Frame
		}
		ds.refused = [3]*refusal{}
	}
	if ls.ended || ls.confirmed() {
		return
	}
	if ls.initial != nil && ls.initial.final == 0 && !ls.initial.timedOut {
		return
	}
	reason := CallerHangup
	if req.side == UAS {
		reason = CalleeHangup
	}
	if ls.reasonHdr != "" {
		ls.leg.Reason = ls.reasonHdr
	}
	e.end(ls, reason, msg, msg.clock)
}

// ack handles the ACK of a 2xx: it completes the INVITE and, after a 2xx
// that carried an offer, carries the answer (RFC 3261 §13.2.2.4).
func (e *Engine) ack(ls *legState, req *request, msg *Msg, first bool) {
	ds := ls.inDialog(msg)
	if ds == nil {
		return
	}
	if !first {
		if msg.SDP != nil {
			e.sdpEvent(ls, msg, sdpRef(msg), req.role)
		}
		return
	}
	if inv := ls.initial; inv != nil && inv.cseq == msg.CSeq && inv.side == req.side {
		if inv.final == 0 {
			// An ACK on a branch of its own acknowledges a 2xx the
			// capture missed (the ACK of a failure shares the INVITE's).
			e.answerUnseen(ls, ds, inv)
		}
		if ds.d.ACKFrame == 0 {
			ds.d.ACKFrame = msg.Frame
		}
	}
	if ds.ackCSeq == msg.CSeq {
		ds.ackDue = time.Time{}
	}
	n := ds.pending
	offered := n != nil && n.Method == "INVITE" && n.CSeq == msg.CSeq && n.Offerer != req.side
	ref := sdpRef(msg)
	switch {
	case offered && ref != nil:
		n.Answer = ref
		ds.complete(n)
		if inv := ls.findReq(req.side, msg.Dialog, msg.CSeq, "INVITE"); inv != nil && inv.mid != nil {
			inv.mid.Answer = ref
		}
		req.role = RoleAnswer
	case offered:
		// An ACK without the answer leaves the offer unanswered.
		ds.pending = nil
	case ref != nil:
		req.role = RoleNone
	}
	if ref != nil {
		e.sdpEvent(ls, msg, ref, req.role)
	}
}

// prack acknowledges a reliable provisional response (RFC 3262); its SDP
// answers an offer in that response, or makes a new offer.
func (e *Engine) prack(ls *legState, req *request, msg *Msg, first bool) {
	ds := ls.inDialog(msg)
	if ds == nil {
		return
	}
	if !first {
		if msg.SDP != nil {
			e.sdpEvent(ls, msg, sdpRef(msg), req.role)
		}
		return
	}
	req.deadline = msg.clock.Add(timerB)
	ls.addPending(req)
	ref := sdpRef(msg)
	if ref == nil {
		return
	}
	if n := ds.pending; n != nil && n.Offerer != req.side && n.Answer == nil {
		n.Answer = ref
		ds.complete(n)
		req.role = RoleAnswer
	} else {
		req.neg = ds.offer(req.side, "PRACK", msg.CSeq, ref)
		req.role = RoleOffer
	}
	e.sdpEvent(ls, msg, ref, req.role)
}

func (e *Engine) prackResponse(ls *legState, req *request, msg *Msg, first bool, role Role) Role {
	if !first || msg.StatusCode < 200 {
		return role
	}
	req.final = msg.StatusCode
	ls.dropPending(req)
	n := req.neg
	if n == nil || n.Answer != nil {
		return RoleNone
	}
	ds := ls.dialog(req.dialog, msg)
	if msg.StatusCode >= 300 {
		n.Rejected = msg.StatusCode
		e.rejected(ls, n)
		if ds.pending == n {
			ds.pending = nil
		}
		return RoleNone
	}
	if ref := sdpRef(msg); ref != nil {
		n.Answer = ref
		ds.complete(n)
		return RoleAnswer
	}
	return RoleNone
}

// fire runs the leg's timers due at 'at': transaction timeouts (Timer B
// and F, 64*T1), missing ACKs, and the idle limit.
func (e *Engine) fire(ls *legState, at time.Time) {
	if ls.ended {
		return
	}
	initialLost := ls.expire(at)
	reason := TimedOut
	if ls.cancelled {
		reason = Cancelled
	}
	switch {
	case initialLost:
		if ls.leg.Reason == "" {
			ls.leg.Reason = "no response to INVITE within 64*T1"
		}
		e.end(ls, reason, nil, at)
	case !at.Before(ls.deadlineIdle(e)):
		e.stats.Expired++
		if ls.leg.Reason == "" {
			ls.leg.Reason = "idle"
		}
		e.end(ls, reason, nil, at)
	}
}

// expire times out the leg's transactions due by 'at' (Timer B/F) and the
// ACKs missing by then; it reports whether the leg's INVITE got no final
// response.
func (ls *legState) expire(at time.Time) (initialLost bool) {
	keep := ls.pending[:0]
	for _, r := range ls.pending {
		if r.deadline.IsZero() || at.Before(r.deadline) {
			keep = append(keep, r)
			continue
		}
		r.timedOut, r.deadline = true, time.Time{}
		switch {
		case r.mid != nil:
			r.mid.TimedOut = true
			if ds := ls.findDialog(r.dialog); ds != nil && r.neg != nil && ds.pending == r.neg {
				ds.pending = nil
			}
		case r.method == "BYE":
			if ds := ls.findDialog(r.dialog); ds != nil {
				ds.d.ByeTimedOut = true
			}
		case r.initial && r == ls.initial && !ls.confirmed():
			initialLost = true
		}
	}
	ls.pending = keep
	for _, ds := range ls.dialogs {
		if !ds.ackDue.IsZero() && !at.Before(ds.ackDue) {
			ds.d.ACKMissing, ds.ackDue = true, time.Time{}
		}
	}
	return initialLost
}

func (ls *legState) deadlineIdle(e *Engine) time.Time {
	if ls.confirmed() {
		return ls.lastActivity.Add(e.idle)
	}
	return ls.lastActivity.Add(e.early)
}

// schedule puts the leg's timer at its next deadline; an ended leg has
// none (its call's emission timer takes over).
func (e *Engine) schedule(ls *legState) {
	if ls.ended || ls.gone {
		e.timers.remove(&ls.tm)
		return
	}
	e.timers.set(&ls.tm, ls.deadline(e))
}

// end marks a leg ended at 'at' on the engine's clock; its call is emitted
// once every leg has ended (see callState.emitTime).
func (e *Engine) end(ls *legState, reason EndReason, msg *Msg, at time.Time) {
	if ls.ended {
		return
	}
	ls.ended = true
	leg := ls.leg
	leg.EndReason, leg.End = reason, e.wall(at)
	if msg != nil {
		leg.EndFrame, leg.End = msg.Frame, msg.Time
	}
	cs := ls.call
	cs.live--
	if at.After(cs.lastEnd) {
		cs.lastEnd = at
	}
	e.confirmByEnd(ls)
	e.timers.remove(&ls.tm)
	if cs.live == 0 && !cs.emitted {
		e.timers.set(&cs.tm, cs.emitTime(e.linger))
	}
}

// revive reopens an ended leg that the protocol shows is still going.
func (e *Engine) revive(ls *legState) {
	if !ls.ended || ls.gone {
		return
	}
	ls.ended = false
	leg := ls.leg
	leg.EndReason, leg.End, leg.EndFrame = Ongoing, time.Time{}, 0
	ls.call.live++
	e.timers.remove(&ls.call.tm)
}
