package analysis

import (
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/media"
)

// announcements turns an SDP seen by the call engine into what the media
// tracker needs: one announcement per m= section.
func announcements(ev call.SDPEvent) []media.Announcement {
	if ev.SDP == nil {
		return nil
	}
	switch ev.Role {
	case call.RoleOffer, call.RoleAnswer, call.RolePreview:
	default:
		return nil
	}
	return refAnnouncements(ev.CallID, ev.SDP, ev.Role == call.RoleOffer, false)
}

func refAnnouncements(leg string, ref *call.SDPRef, offer, rejected bool) []media.Announcement {
	if ref.Session == nil {
		return nil
	}
	role := media.Answer
	if offer {
		role = media.Offer
	}
	side := media.UAC
	if ref.Sender == call.UAS {
		side = media.UAS
	}
	out := make([]media.Announcement, 0, len(ref.Session.Media))
	for _, m := range ref.Session.Media {
		out = append(out, media.Announcement{
			Leg: leg, Side: side, Role: role,
			Frame: ref.Frame, Time: ref.Time, Message: ref.Carrier,
			Signal: ref.Src, Media: m, Rejected: rejected,
		})
	}
	return out
}
