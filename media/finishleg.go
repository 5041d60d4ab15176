package media

// FinishLeg finishes the live streams whose destination or source a leg
// announced, as when the leg's call has ended: their figures are final and
// Options.OnFinish receives them now rather than after Options.Idle.
func (t *Tracker) FinishLeg(leg string) {
	var ss []*Stream
	for _, s := range t.live {
		if (s.Announced != nil && s.Announced.Leg == leg) || (s.SourceAnnounced != nil && s.SourceAnnounced.Leg == leg) {
			ss = append(ss, s)
		}
	}
	t.finish(ss, true)
}
