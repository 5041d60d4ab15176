package call

// rejected reports a refused offer to Options.OnReject.
func (e *Engine) rejected(ls *legState, n *Negotiation) {
	if e.opt.OnReject != nil && n.Offer != nil {
		e.opt.OnReject(ls.leg.CallID, n.Offer.Frame)
	}
}
