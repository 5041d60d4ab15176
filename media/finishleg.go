package media

import "slices"

// FinishLeg finishes the live streams whose destination or source a leg
// announced, as when the leg's call has ended: their figures are final and
// Options.OnFinish receives them now rather than after Options.Idle. The
// streams are looked up by the addresses the leg announced, not found by
// a scan of every live stream, which with thousands of calls at once cost
// more than the RTP itself.
func (t *Tracker) FinishLeg(leg string) {
	var ss []*Stream
	for _, e := range t.byLeg[leg] {
		if e.rtcp {
			continue
		}
		for _, s := range t.byEnd[e.ep] {
			if ((s.Announced != nil && s.Announced.Leg == leg) || (s.SourceAnnounced != nil && s.SourceAnnounced.Leg == leg)) && !slices.Contains(ss, s) {
				ss = append(ss, s)
			}
		}
	}
	t.finish(ss, true)
}
