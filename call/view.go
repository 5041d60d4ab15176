package call

// DialogID names a dialog the way one of its ends knows it (RFC 3261
// §12): the Call-ID, the tag that end chose and the tag its peer chose.
type DialogID struct {
	CallID   string
	LocalTag string
	// RemoteTag is "" at a UAC until a response carried the UAS's tag.
	RemoteTag string
}

// DialogView is the engine's account of one dialog as one of its ends sees
// it, for an endpoint that sends real SIP and acts on what the engine
// followed: whether it may make an offer now, how it must answer a request
// that crosses one of its own (RFC 3261 §14), how long it waits before it
// retries after 491. It is a copy, taken on the engine's clock: a request
// whose Timer B or F ran out by the last Handle or Advance is no longer
// pending.
type DialogView struct {
	// Local is the side the asking end plays in the dialog. The UAC sent
	// the dialog's first INVITE and so owns the Call-ID.
	Local Side
	// State is the dialog's state (RFC 3261 §12): 0 while no response has
	// created it; Terminated once a BYE ended it, or once the INVITE
	// failed or was cancelled before a 2xx (§12.3).
	State DialogState
	// UAC and UAS are what each side has sent and has under way.
	UAC, UAS SideView
	// AwaitingACK is set while the 2xx to the INVITE numbered ACKCSeq
	// waits for its ACK (RFC 3261 §13.3.1.4): the INVITE transaction is
	// still in progress for §14.1.
	AwaitingACK bool
	ACKCSeq     int
}

// SideView is what one side of a dialog has sent and has under way.
type SideView struct {
	// Invite and Update are set while an INVITE or an UPDATE the side
	// sent waits for its final response and its Timer B or F (RFC 3261
	// §17.1) has not run out.
	Invite, Update bool
	// Offering is set while an offer the side made, in a request or in a
	// response, waits for its answer (RFC 3264 §4).
	Offering bool
	// CSeq is the highest CSeq number the side has sent in the dialog,
	// the INVITE that created it included (RFC 3261 §12.2.1.1); 0 before
	// any request.
	CSeq int
	// Media is the session description the side established by the latest
	// completed offer/answer exchange (Dialog.MediaAt), nil before one.
	Media *SDPRef
}

// Dialog returns the engine's account of the dialog id names, as the end
// whose tag is id.LocalTag sees it. It reports false when the engine holds
// no leg of the dialog: never seen, or its call was emitted and forgotten.
// It changes nothing; it costs a walk over the leg's recent requests.
func (e *Engine) Dialog(id DialogID) (DialogView, bool) {
	if id.LocalTag == "" {
		return DialogView{}, false
	}
	for ls := e.legs[id.CallID]; ls != nil; ls = ls.sameID {
		switch {
		case ls.callerTag == id.LocalTag:
			return ls.view(UAC, id.RemoteTag), true
		case ls.callerTag == id.RemoteTag:
			return ls.view(UAS, id.LocalTag), true
		}
	}
	return DialogView{}, false
}

// view reads the dialog with the UAS tag from the leg for the end on side
// local.
func (ls *legState) view(local Side, tag string) DialogView {
	v := DialogView{Local: local}
	ds := ls.findDialog(tag)
	if ds != nil {
		v.State = ds.d.State
		v.UAC.Media, v.UAS.Media = ds.uac, ds.uas
		if !ds.ackDue.IsZero() {
			v.AwaitingACK, v.ACKCSeq = true, ds.ackCSeq
		}
		if n := ds.pending; n != nil && n.Answer == nil && n.Rejected == 0 {
			if s := v.side(n.Offerer); s != nil {
				s.Offering = true
			}
		}
	}
	if ls.ended && v.State != Confirmed {
		v.State = Terminated
	}
	// Requests sent before the UAS's tag was known (the initial INVITE
	// and its CANCEL) belong to every dialog the INVITE creates.
	for _, r := range ls.reqs {
		if s := v.side(r.side); s != nil && (r.dialog == tag || r.dialog == "") {
			s.CSeq = max(s.CSeq, r.cseq)
		}
	}
	for _, r := range ls.pending {
		s := v.side(r.side)
		if s == nil || r.dialog != tag && !(r.initial && r.dialog == "") {
			continue
		}
		switch r.method {
		case "INVITE":
			s.Invite = true
		case "UPDATE":
			s.Update = true
		}
		if r.offerWaits(ds) {
			s.Offering = true
		}
	}
	return v
}

// offerWaits reports whether the request carried an offer that has had
// neither an answer nor a rejection in the dialog.
func (r *request) offerWaits(ds *dialogState) bool {
	if n := r.neg; n != nil {
		return n.Offerer == r.side && n.Answer == nil && n.Rejected == 0
	}
	if !r.initial || r.offer == nil {
		return false
	}
	if ds == nil || ds.initNeg == nil || ds.initNeg.Offer != r.offer {
		return true
	}
	return ds.initNeg.Answer == nil && ds.initNeg.Rejected == 0
}

func (v *DialogView) side(s Side) *SideView {
	switch s {
	case UAC:
		return &v.UAC
	case UAS:
		return &v.UAS
	}
	return nil
}

// Side returns what side s has under way; the zero SideView for an
// unknown side.
func (v DialogView) Side(s Side) SideView {
	if p := v.side(s); p != nil {
		return *p
	}
	return SideView{}
}

// Remote is the side the asking end's peer plays.
func (v DialogView) Remote() Side { return v.Local.Other() }

// CallIDOwner reports whether the asking end sent the dialog's first
// INVITE. After a 491 the owner waits 2.1 to 4 s before it retries, the
// other end up to 2 s (RFC 3261 §14.1).
func (v DialogView) CallIDOwner() bool { return v.Local == UAC }

// Ready reports whether the asking end may start a re-INVITE, or an UPDATE
// with an offer, now: the dialog is confirmed, no INVITE transaction is in
// progress in either direction, a 2xx waiting for its ACK included (RFC
// 3261 §14.1), and no offer of either side waits for its answer (RFC 3264
// §4, RFC 3311 §5.1).
func (v DialogView) Ready() bool {
	return v.State == Confirmed && !v.AwaitingACK &&
		!v.UAC.Invite && !v.UAS.Invite && !v.UAC.Offering && !v.UAS.Offering
}

// Conflict returns the response the asking end, as UAS, must give a
// re-INVITE or an UPDATE from its peer, when the view was read before the
// request came; offer says whether the request carries SDP. It is
//
//   - 500, with a Retry-After of up to 10 s, to an INVITE that comes
//     before the peer's earlier INVITE had its final response (RFC 3261
//     §14.2);
//   - 491 to an INVITE while the asking end's own INVITE is in progress
//     (§14.2), or while an offer it made waits for its answer, since the
//     peer may make no offer then and must get one in the 2xx of an
//     offerless INVITE (RFC 3264 §4);
//   - 491 to an UPDATE with an offer while an offer the asking end made
//     waits for its answer, and 500 with a Retry-After while an offer of
//     the peer's does (RFC 3311 §5.2);
//
// and 0 when the request may go on. Other methods never conflict.
func (v DialogView) Conflict(method string, offer bool) int {
	local, remote := v.Side(v.Local), v.Side(v.Remote())
	switch method {
	case "INVITE":
		switch {
		case remote.Invite:
			return 500
		case local.Invite || local.Offering:
			return 491
		}
	case "UPDATE":
		switch {
		case !offer:
		case local.Offering:
			return 491
		case remote.Offering:
			return 500
		}
	}
	return 0
}

// Holds reports whether the engine still follows a leg with this Call-ID,
// that is, its call has not been handed to Options.OnCall and forgotten.
// During OnCall the call's legs are still held.
func (e *Engine) Holds(callID string) bool { return e.legs[callID] != nil }
