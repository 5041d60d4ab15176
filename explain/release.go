package explain

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/media"
)

// early reports a bridge that set the media up directly in the initial
// INVITE or its answer (chan_sip directrtpsetup).
func (x *explainer) early(b *bridge) {
	if len(b.early) == 0 {
		return
	}
	fr := cleanFrames(b.early)
	x.add(Reason{
		Code: CodeDirectInitialInvite, Confidence: 0.9, Frames: fr, explain: x.f.in.Verdict.Kind == media.Direct, bridge: b,
		head: "direct from the first INVITE at " + frameList(fr[:1]),
		Text: x.name(b.server) + " put the far side's media address into its first SDP (" + frameList(fr) +
			") instead of its own, so the media went direct from the start without any re-INVITE (chan_sip directrtpsetup=yes)",
	})
}

// released reports how a bridge moved the media off itself.
func (x *explainer) released(b *bridge) {
	if len(b.releases) == 0 {
		return
	}
	updates := 0
	var parts []string
	var frames []int
	const maxListed = 6
	for i, a := range b.releases {
		r := a.req
		if r.Method == "UPDATE" {
			updates++
		}
		frames = append(frames, r.Frame, r.StatusFrame)
		if i >= maxListed {
			continue
		}
		far := host(b.legs[a.leg].far)
		p := methodWord(r.Method) + " to " + x.name(far) + " at f" + itoa(r.Frame) + " (" + x.sinceStart(b, r.Time) + ") pointing it at " +
			r.Offer.Media.Addr.String() + " (" + x.whose(r.Offer.Media.Addr) + "), answered " + itoa(r.Status) + " at f" + itoa(r.StatusFrame)
		if r.RetryOf != 0 {
			p += ", a retry after 491"
		}
		parts = append(parts, p)
	}
	if n := len(b.releases) - maxListed; n > 0 {
		parts = append(parts, itoa(n)+" more")
	}
	code, how := CodeDirectReinvite, "re-INVITEs"
	switch {
	case updates == len(b.releases):
		code, how = CodeDirectUpdate, "UPDATEs (RFC 3311)"
	case updates > 0:
		code, how = CodeDirectUpdate, "re-INVITEs and UPDATEs"
	}
	last := x.completing(b)
	text := x.name(b.server) + " released the media with " + how
	if !b.start.IsZero() {
		text += " once both legs were answered (f" + itoa(b.startFrame) + ")"
	}
	text += ": " + strings.Join(parts, "; ")
	if s := x.anchoredBefore(b); s != "" {
		text += ". " + sentence(s)
	}
	direct := x.f.in.Verdict.Kind == media.Direct
	x.add(Reason{
		Code: code, Confidence: 0.9, Frames: append(frames, x.directFrames()...), explain: direct, bridge: b,
		head: "direct after " + methodWord(last.Method) + " release at f" + itoa(last.Frame) + " (" + x.sinceStart(b, last.Time) + ")",
		Text: text,
	})
}

// completing is the release that made the path direct: the last of the
// first release episode (before any re-anchor) answered by the time direct
// RTP began, or the last of that episode when no direct RTP was seen.
func (x *explainer) completing(b *bridge) *call.Request {
	episode := b.releases
	if len(b.anchors) > 0 {
		first := b.anchors[0].req.Frame
		episode = slices.DeleteFunc(slices.Clone(episode), func(a action) bool { return a.req.Frame > first })
	}
	if len(episode) == 0 {
		episode = b.releases
	}
	last := episode[len(episode)-1].req
	if d := x.directFrames(); len(d) > 0 {
		for _, a := range episode {
			if a.req.StatusFrame <= d[0] {
				last = a.req
			}
		}
	}
	return last
}

// directFrames are the first frames of the first direct segment.
func (x *explainer) directFrames() []int {
	for _, s := range x.f.in.Verdict.Timeline {
		if s.Kind == media.Direct {
			return []int{s.FromFrame}
		}
	}
	return nil
}

// anchoredBefore says how long RTP ran through servers before the first
// direct segment, for the bridge whose release came last.
func (x *explainer) anchoredBefore(b *bridge) string {
	lastOf := func(b *bridge) int { return b.releases[len(b.releases)-1].req.Frame }
	for _, o := range x.f.bridges {
		if len(o.releases) > 0 && lastOf(o) > lastOf(b) {
			return ""
		}
	}
	tl := x.f.in.Verdict.Timeline
	first := slices.IndexFunc(tl, func(s media.Segment) bool { return s.Kind == media.Direct })
	switch {
	case first < 0:
		return "no phone-to-phone RTP appears in the capture after it"
	case first == 0:
		return "no RTP passed the servers before: the phones' RTP went direct from its first packet (f" + itoa(tl[0].FromFrame) + ")"
	}
	from, to := tl[0], tl[first-1]
	return "before that the RTP ran through the servers for " + dur(tl[first].FromTime.Sub(from.FromTime)) +
		" (f" + itoa(from.FromFrame) + "-f" + itoa(to.ToFrame) + "); direct RTP began at f" + itoa(tl[first].FromFrame)
}

// refused reports release attempts that the far end turned down.
func (x *explainer) refused(b *bridge) {
	for _, a := range b.refused {
		r := a.req
		far := host(b.legs[a.leg].far)
		outcome, short, why := x.refusal(b.legs[a.leg].leg, r)
		text := x.name(b.server) + " tried to release the media with a " + methodWord(r.Method) + " to " + x.name(far) +
			" at f" + itoa(r.Frame) + " (pointing it at " + r.Offer.Media.Addr.String() + "), " + outcome + ": " + why
		later := slices.ContainsFunc(b.releases, func(o action) bool { return o.leg == a.leg && o.req.Frame > r.Frame })
		if later {
			text += "; a later request succeeded"
		} else {
			text += "; the media stayed on " + x.name(b.server)
		}
		x.add(Reason{
			Code: CodeReleaseRefused, Confidence: 0.9, Frames: []int{r.Frame, r.StatusFrame}, bridge: b,
			explain: !later && x.f.in.Verdict.Kind == media.Anchored,
			head:    "anchored at " + b.server.String() + ": release " + short,
			Text:    text,
		})
	}
}

// refusal words a failed release: the outcome and what it means.
func (x *explainer) refusal(l *call.Leg, r *call.Request) (outcome, short, why string) {
	if r.TimedOut {
		return "which was never answered (no final response within 64*T1, RFC 3261 §17.1.1.2)", "never answered (f" + itoa(r.Frame) + ")",
			"the endpoint does not handle re-INVITEs, the case canreinvite=no (directmedia=no) exists for"
	}
	phrase := ""
	for _, m := range l.Messages {
		if m.Frame == r.StatusFrame && !m.IsRequest() {
			phrase = " " + label(m.Reason)
			break
		}
	}
	short = "refused with " + itoa(r.Status) + phrase + " at f" + itoa(r.StatusFrame)
	outcome = "which was " + short
	switch s := r.Status; {
	case s == 488 || s == 606:
		why = "the endpoint would not accept the new SDP (a codec, address or profile it cannot use, RFC 3261 §21.4.26)"
	case s == 415:
		why = "the endpoint does not accept the body's media type (RFC 3261 §21.4.13)"
	case (s == 405 || s == 501) && r.Method == "UPDATE":
		why = "the endpoint does not support UPDATE (RFC 3311): directmedia=update (pjsip direct_media_method=update) does not suit it"
	case s == 405 || s == 501:
		why = "the endpoint does not support the request"
	case s >= 500:
		why = "the endpoint failed to process it (server error)"
	case s == 401 || s == 407:
		why = "the endpoint challenged the request and it was not sent again with credentials"
	default:
		why = "the endpoint did not take the new media address"
	}
	return outcome, short, why
}

// reanchored reports a bridge that took released media back mid-call
// (music on hold, transfer, parking), and what came after.
func (x *explainer) reanchored(b *bridge) {
	for _, a := range b.anchors {
		r := a.req
		lf := b.legs[a.leg]
		far := host(lf.far)
		frames := []int{r.Frame, r.StatusFrame}
		cause, short, causeFrames, resume := x.anchorCause(b, a)
		frames = append(frames, causeFrames...)
		text := x.name(b.server) + " took the media back mid-call"
		if cause != "" {
			text += " for " + cause
		}
		text += ": it re-INVITEd " + x.name(far) + " at f" + itoa(r.Frame) + " to its own address " + r.Offer.Media.Addr.String() +
			" (" + itoa(r.Status) + " at f" + itoa(r.StatusFrame) + ")"
		if s := x.ownStream(b, far, r.Frame); s != nil {
			text += " and sent it audio of its own (SSRC " + ssrc(s.SSRC) + ", f" + itoa(s.FirstFrame) + "-f" + itoa(s.LastFrame) +
				", " + itoa(s.Packets) + " packets): music on hold or an announcement"
			frames = append(frames, s.FirstFrame)
		}
		head := "re-anchored at f" + itoa(r.Frame)
		if next := nextRelease(b, r.Frame); next != nil {
			text += "; it released the media again"
			if resume != nil {
				text += " after " + x.name(host(b.legs[resumeLeg(b, resume)].far)) + " resumed (f" + itoa(resume.Frame) + ")"
				frames = append(frames, resume.Frame)
			}
			text += " with a " + methodWord(next.Method) + " at f" + itoa(next.Frame) + " (" + itoa(next.Status) + " at f" + itoa(next.StatusFrame) +
				"), " + dur(next.Time.Sub(r.Time)) + " after taking it back"
			frames = append(frames, next.Frame, next.StatusFrame)
			head += ", released again at f" + itoa(next.Frame)
		} else {
			text += "; it did not release the media again before the call ended"
		}
		if short != "" {
			head = "re-anchored for " + short + " at f" + itoa(r.Frame) + strings.TrimPrefix(head, "re-anchored at f"+itoa(r.Frame))
		}
		x.add(Reason{Code: CodeReanchored, Confidence: 0.85, Frames: frames, head: head, Text: text, bridge: b,
			explain: x.f.in.Verdict.Kind == media.Anchored && nextRelease(b, r.Frame) == nil})
	}
}

func nextRelease(b *bridge, after int) *call.Request {
	for _, a := range b.releases {
		if a.req.Frame > after {
			return a.req
		}
	}
	return nil
}

func resumeLeg(b *bridge, r *call.Request) int {
	for i, lf := range b.legs {
		if slices.Contains(lf.leg.MidDialog, r) {
			return i
		}
	}
	return 0
}

// anchorCause looks at what came between the bridge's previous release
// and a re-anchor: a hold from a far end (RFC 3264 §8.4), or a REFER
// (transfer, parking by blind transfer). It also returns the far end's
// resume that preceded the next release, if any.
func (x *explainer) anchorCause(b *bridge, a action) (cause, short string, frames []int, resume *call.Request) {
	prev := 0
	for _, o := range b.releases {
		if o.req.Frame < a.req.Frame {
			prev = o.req.Frame
		}
	}
	next := nextRelease(b, a.req.Frame)
	for _, lf := range b.legs {
		for _, r := range lf.leg.MidDialog {
			if r.Sender != lf.farSide || !r.Baseline {
				continue
			}
			switch {
			case r.Frame > prev && r.Frame < a.req.Frame && r.Change&call.Hold != 0:
				cause, short = "hold ("+x.name(host(lf.far))+" sent "+holdWord(r)+" at f"+itoa(r.Frame)+")", "hold"
				frames = append(frames, r.Frame)
			case next != nil && r.Frame > a.req.Frame && r.Frame < next.Frame && r.Change&call.Resume != 0:
				resume = r
			}
		}
	}
	if cause != "" {
		return cause, short, frames, resume
	}
	for _, lf := range b.legs {
		for _, m := range lf.leg.Messages {
			if m.IsRequest() && m.Method == "REFER" && m.Frame > prev && m.Frame < a.req.Frame {
				return "a transfer or parking (REFER at f" + itoa(m.Frame) + ")", "transfer or parking", []int{m.Frame}, resume
			}
		}
	}
	return "", "", nil, resume
}

func holdWord(r *call.Request) string {
	if r.Offer == nil {
		return "a hold"
	}
	if r.Offer.Media.Addr.Addr().IsUnspecified() {
		return "c=0.0.0.0"
	}
	return "a=" + r.Offer.Media.Direction.String()
}

// ownStream finds RTP a server sent to a host with an SSRC that no other
// host sent: media it generated rather than relayed.
func (x *explainer) ownStream(b *bridge, to netip.Addr, after int) *media.Stream {
	for _, s := range x.f.in.Streams {
		if !b.own(host(s.Src)) || host(s.Dst) != to || s.FirstFrame < after || s.Packets == 0 {
			continue
		}
		relayed := slices.ContainsFunc(x.f.in.Streams, func(o *media.Stream) bool { return o.SSRC == s.SSRC && !b.own(host(o.Src)) })
		if !relayed {
			return s
		}
	}
	return nil
}

func ssrc(v uint32) string { return fmt.Sprintf("0x%08x", v) }

// glare reports crossing requests refused with 491 and what they cost.
func (x *explainer) glare() {
	for _, g := range x.f.c.Glare {
		if g.Leg < 0 || g.Leg >= len(x.f.c.Legs) || len(g.Requests) == 0 {
			continue
		}
		l := x.f.c.Legs[g.Leg]
		owner, other := host(l.UAC), host(l.UAS)
		var frames []int
		var crossing []string
		for _, r := range g.Requests {
			by := owner
			if r.Sender == call.UAS {
				by = other
			}
			frames = append(frames, r.Frame)
			c := x.name(by) + " sent a " + methodWord(r.Method) + " at f" + itoa(r.Frame)
			if r.Status == 491 && r.StatusFrame != 0 {
				c += " (refused by the 491 at f" + itoa(r.StatusFrame) + ")"
			}
			crossing = append(crossing, c)
		}
		frames = append(frames, g.Responses491...)
		text := "The requests crossed on the dialog between " + x.name(owner) + " and " + x.name(other) + ": " + joinAnd(crossing) +
			", each before the other was answered"
		if g.MediaRelease {
			text += ", both to release the media"
		}
		text += "; both were refused with 491 Request Pending (" + frameList(g.Responses491) + ", RFC 3261 §14.1)"
		var retries []string
		var done *call.Request
		for _, rt := range g.Retries {
			by := owner
			if rt.By == call.UAS {
				by = other
			}
			lo, hi := policy.RetryWindow(rt.CallIDOwner)
			ok := rt.Delay >= lo && rt.Delay < hi+10*policy.RetryGranularity
			role := "not the Call-ID owner: 0-2 s"
			if rt.CallIDOwner {
				role = "the Call-ID owner: 2.1-4 s"
			}
			verdict := "inside its window"
			if !ok {
				verdict = "outside its window"
			}
			s := x.name(by) + " (" + role + ") retried at f" + itoa(rt.Frame) + " after " + dur(rt.Delay) + ", " + verdict
			if rt.Status != 0 {
				s += ", and got " + itoa(rt.Status)
			}
			retries = append(retries, s)
			frames = append(frames, rt.Frame)
			if r := x.request(l, rt.Frame); r != nil && r.Status >= 200 && r.Status < 300 && (done == nil || r.StatusFrame < done.StatusFrame) {
				done = r
			}
		}
		if len(retries) > 0 {
			text += ". " + strings.Join(retries, "; ")
		}
		head := "glare: 491 " + frameList(g.Responses491)
		if done != nil && len(g.Responses491) > 0 {
			lost := done.StatusTime.Sub(x.msgTime(l, g.Responses491[0]))
			text += ". The first successful retry was answered at f" + itoa(done.StatusFrame) + ", " + dur(lost) +
				" after the first 491: that long the caller waited for the direct path"
			if s := x.crossedPath(x.msgTime(l, g.Responses491[0]), done.StatusTime); s != "" {
				text += ", and " + s
			}
			frames = append(frames, done.StatusFrame)
			head = "direct after glare: 491 " + frameList(g.Responses491) + ", retry f" + itoa(done.Frame) + " (+" + dur(lost) + ")"
		}
		var cites []Citation
		if g.BetweenServers && g.MediaRelease {
			text += ". Remedy: let one server alone release the media on this dialog. " + x.glareRemedy(l, owner, other)
			if c := x.peerCitation(other, l); c != nil {
				cites = append(cites, *c)
			}
		}
		x.add(Reason{Code: CodeGlare, Confidence: 0.95, Frames: frames, head: head, Text: text, Options: cites})
	}
}

func (x *explainer) request(l *call.Leg, frame int) *call.Request {
	for _, r := range l.MidDialog {
		if r.Frame == frame {
			return r
		}
	}
	return nil
}

func (x *explainer) msgTime(l *call.Leg, frame int) time.Time {
	for _, m := range l.Messages {
		if m.Frame == frame {
			return m.Time
		}
	}
	return time.Time{}
}

// crossedPath describes RTP in a window that went from a phone to a
// server it has no leg with: the broken path a glare leaves behind while
// each server has pointed its phone at the other server.
func (x *explainer) crossedPath(from, to time.Time) string {
	var parts []string
	for _, s := range x.f.in.Streams {
		if s.Packets == 0 || s.Last.Before(from) || s.First.After(to) {
			continue
		}
		src, dst := host(s.Src), host(s.Dst)
		if x.f.c.IsB2BUA(src) || !x.f.c.IsB2BUA(dst) || x.legBetween(src, dst) {
			continue
		}
		parts = append(parts, x.name(src)+" sent to "+s.Dst.String()+" (f"+itoa(s.FirstFrame)+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return "meanwhile " + joinAnd(parts) + ": each phone was pointed at the far server, so there was no end-to-end audio"
}

func (x *explainer) legBetween(a, b netip.Addr) bool {
	return slices.ContainsFunc(x.f.c.Legs, func(l *call.Leg) bool {
		u, s := host(l.UAC), host(l.UAS)
		return (u == a && s == b) || (u == b && s == a)
	})
}

// glareRemedy names the option that stops the crossing: Asterisk 11's
// directmedia=outgoing on the trunk peer of one server, or chan_pjsip's
// direct_media_glare_mitigation. The policy model checks that the named
// setting makes the server withhold its first request on this dialog.
func (x *explainer) glareRemedy(l *call.Leg, owner, other netip.Addr) string {
	quiet := policy.SendsReinvite(false, policy.WithholdIncoming)
	ownerSends := policy.SendsReinvite(true, policy.WithholdIncoming)
	if quiet || !ownerSends {
		return ""
	}
	s := "With chan_sip (Asterisk 11 and later) set directmedia=outgoing on " + x.name(other) + "'s peer for this trunk"
	if c := x.peerCitation(other, l); c != nil {
		s += " ([" + c.Peer + "], now " + c.Key + "=" + c.Value + " at " + citeWhere(*c) + ")"
	}
	s += ": it then re-INVITEs only dialogs it originated, and this one " + x.name(owner) + " originated, so only " + x.name(owner) +
		" sends the request. With chan_pjsip set direct_media_glare_mitigation=incoming on that endpoint (pjsip names the dialogs it withholds on, " +
		"the reverse of chan_sip's wording). Setting directmedia=outgoing on both ends of the trunk works too"
	return s
}
