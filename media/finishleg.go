package media

import "slices"

// FinishLeg finishes the live streams the leg owns first (Stream.Owners),
// as when the leg's call has ended: their figures are final and
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
			if first, _ := s.owners(); first != nil && first.Leg == leg && !slices.Contains(ss, s) {
				ss = append(ss, s)
			}
		}
	}
	t.finish(ss, true)
}

// Owners are the legs that announced the stream's destination
// (Announced) and source (SourceAnnounced), the one the stream most likely
// belongs to first: an address only one live leg announced before one
// that several legs announced in turn (a media server answering every
// call from one port), else the destination's.
func (s *Stream) Owners() []string {
	a, b := s.owners()
	switch {
	case a == nil:
		return nil
	case b == nil || b.Leg == a.Leg:
		return []string{a.Leg}
	}
	return []string{a.Leg, b.Leg}
}

// owners are the announcements behind Owners, in its order.
func (s *Stream) owners() (first, second *Announcement) {
	a, b := s.Announced, s.SourceAnnounced
	if a == nil || (b != nil && a.shared && !b.shared) {
		a, b = b, a
	}
	return a, b
}
