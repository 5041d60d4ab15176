package explain

import (
	"slices"
	"strings"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/media"
)

// blockers reports what in the capture keeps the two legs of a bridge
// from sharing media, or makes a release risky.
func (x *explainer) blockers(b *bridge) {
	up, down := b.legs[0], b.legs[1]
	if up.offer == nil || down.offer == nil {
		return
	}
	released := len(b.releases) > 0 || len(b.early) > 0
	frames := append(up.frames(), down.frames()...)
	nameUp, nameDown := x.name(host(up.far)), x.name(host(down.far))
	if len(up.codecs) > 0 && len(down.codecs) > 0 && !sharesCodec(up.codecs, down.codecs) {
		text := "The two legs of " + x.name(b.server) + " share no codec: " + nameUp + "'s leg negotiated " + up.codecWords() +
			" (" + frameList(up.frames()) + "), " + nameDown + "'s leg " + down.codecWords() + " (" + frameList(down.frames()) +
			"); the B2BUA must transcode, so it keeps the media"
		fr := frames
		if seg := x.transcodingSegment(); seg != nil {
			text += ". The RTP confirms it: " + seg.Basis
			for _, fl := range seg.Flows {
				fr = append(fr, fl.Stream)
			}
		}
		x.blocked[b] = true
		x.add(Reason{Code: policy.CodeCodecMismatch, Confidence: 0.95, Frames: fr, explain: !released, bridge: b,
			head: "anchored at " + b.server.String() + ": codec mismatch " + up.codecs[0] + " vs " + down.codecs[0] + " (transcoding)", Text: text})
	}
	if up.srtp != down.srtp {
		enc, plain := up, down
		if down.srtp {
			enc, plain = down, up
		}
		text := "SRTP was negotiated on " + x.name(host(enc.far)) + "'s leg (" + frameList(enc.frames()) + ") but plain RTP on " +
			x.name(host(plain.far)) + "'s (" + frameList(plain.frames()) + "): SRTP keys are per hop, so the B2BUA must decrypt and re-encrypt"
		conf := 0.9
		if released {
			text += "; it released the media anyway, so one endpoint receives RTP it cannot decrypt"
			conf = 0.7
		}
		x.blocked[b] = true
		x.add(Reason{Code: policy.CodeSRTPMismatch, Confidence: conf, Frames: frames, explain: !released, bridge: b, head: "anchored at " + b.server.String() + ": SRTP on one leg only", Text: text})
	}
	if f1, f2 := up.family(), down.family(); f1 != 0 && f2 != 0 && f1 != f2 {
		text := nameUp + " receives media on IPv" + itoa(f1) + " (" + up.farSDP.Media.Addr.String() + ", f" + itoa(up.farSDP.Frame) + ") and " +
			nameDown + " on IPv" + itoa(f2) + " (" + down.farSDP.Media.Addr.String() + ", f" + itoa(down.farSDP.Frame) +
			"): they cannot send to each other, so the B2BUA must stay in the path"
		if released {
			text += "; it released the media anyway, so neither can reach the address it was given"
		}
		x.blocked[b] = true
		x.add(Reason{Code: policy.CodeFamilyMismatch, Confidence: 0.9, Frames: []int{up.farSDP.Frame, down.farSDP.Frame}, explain: !released, bridge: b,
			head: "anchored at " + b.server.String() + ": IPv" + itoa(f1) + " on one leg, IPv" + itoa(f2) + " on the other", Text: text})
	}
	for _, lf := range b.legs {
		x.nat(b, lf, released)
	}
	if up.te != down.te {
		with, without := up, down
		if down.te {
			with, without = down, up
		}
		text := "Telephone-event (RFC 4733 DTMF) was negotiated on " + x.name(host(with.far)) + "'s leg (" + frameList(with.frames()) +
			") but not on " + x.name(host(without.far)) + "'s (" + frameList(without.frames()) + ")"
		conf := 0.5
		if released {
			text += ": after the release DTMF sent as RFC 4733 events reaches an endpoint that did not negotiate them; Asterisk's native RTP bridge does not check this before releasing"
			conf = 0.6
		} else {
			text += ": a mismatch Asterisk's remote native bridge does not refuse a release for, but a local native bridge (directmedia=no, NAT) needs both legs to agree and in-band DTMF detection needs the media, so the core stays in the path"
		}
		x.add(Reason{Code: policy.CodeDTMFMismatch, Confidence: conf, Frames: frames, head: "DTMF mode mismatch", Text: text, bridge: b})
	}
}

func sharesCodec(a, b []string) bool {
	for _, x := range a {
		if slices.ContainsFunc(b, func(y string) bool { return strings.EqualFold(x, y) }) {
			return true
		}
	}
	return false
}

func (x *explainer) transcodingSegment() *media.Segment {
	for i, s := range x.f.in.Verdict.Timeline {
		if s.Transcoding {
			return &x.f.in.Verdict.Timeline[i]
		}
	}
	return nil
}

// nat reports the signs that a leg's far end is behind NAT.
func (x *explainer) nat(b *bridge, lf *legFacts, released bool) {
	if len(lf.nat) == 0 {
		return
	}
	var texts []string
	var frames []int
	conf := 0.6
	for _, s := range lf.nat {
		texts = append(texts, s.text)
		frames = append(frames, s.frames...)
		if s.strong {
			conf = 0.85
		}
	}
	x.natFor[host(lf.far)] = true
	text := x.name(host(lf.far)) + " appears to be behind NAT: " + strings.Join(texts, "; ")
	if released {
		text += ". The media was released anyway: the other endpoint is given an address it may not reach (one-way or no audio)"
	} else {
		text += ". A B2BUA keeps such an endpoint anchored (chan_sip nat=yes/comedia with directmedia=nonat, pjsip disable_direct_media_on_nat=yes), since the other endpoint could not reach it directly"
	}
	x.add(Reason{Code: CodeNAT, Confidence: conf, Frames: frames, explain: !released && x.f.in.Verdict.Kind == media.Anchored, bridge: b,
		head: "anchored at " + b.server.String() + ": NAT on " + x.name(host(lf.far)) + "'s leg", Text: text})
}

// noAttempt reports a bridge that never tried to release media that the
// capture shows could have been released, with the likely causes in the
// order the evidence favours.
func (x *explainer) noAttempt(b *bridge) {
	up, down := b.legs[0], b.legs[1]
	if x.blocked[b] || len(b.releases) > 0 || len(b.early) > 0 || len(b.refused) > 0 || up.offer == nil || down.offer == nil ||
		!up.leg.Answered() || !down.leg.Answered() || x.inGlare(b) || x.f.in.Verdict.Kind == media.Direct {
		return
	}
	x.idle = append(x.idle, b)
	frames := append(up.frames(), down.frames()...)
	until := "the end of the capture"
	if m := x.f.byeMsg; m != nil {
		until = "the first BYE (f" + itoa(m.Frame) + ")"
		frames = append(frames, m.Frame)
	}
	text := "As far as the capture shows both legs could have gone direct (" + strings.Join(up.codecs, ",") + " on both, " +
		x.sameness(up, down) + "), yet " + x.name(b.server) + " sent no re-INVITE or UPDATE between the answer (f" + itoa(b.startFrame) + ") and " + until
	peers := x.name(host(up.far)) + " or of " + x.name(host(down.far))
	bridgeKind, ssrcFrames := x.relayKind(b)
	frames = append(frames, ssrcFrames...)
	var causes []string
	switch bridgeKind {
	case relayUnchanged:
		text += ". It relays the RTP unchanged (" + x.relayNote(b) + "): Asterisk's native RTP bridge in local mode, what it does when direct media is off for a peer"
		causes = []string{
			"directmedia=no (canreinvite=no; pjsip direct_media=no) on the peer of " + peers,
			"NAT handling: nat=yes or comedia with directmedia=nonat",
			"a directmediapermit/directmediadeny ACL refusing the other side's address",
		}
		text += "; Dial() options, recording or a jitter buffer would make it send RTP of its own, which it does not"
	case relayOwn:
		text += ". It sends RTP with SSRCs of its own (" + x.relayNote(b) + "): the media runs through the core (a simple bridge), which points at a feature that needs every frame"
		causes = []string{
			"Dial() options t, T, h, H, w, W, k, K, x or X (DTMF features)",
			"recording (MixMonitor or Monitor) on either channel",
			"a jitter buffer (JITTERBUFFER(), or jbenable/jbforce)",
			"directmedia=no (canreinvite=no; pjsip direct_media=no) on the peer of " + peers,
		}
	default:
		causes = []string{
			"directmedia=no (canreinvite=no; pjsip direct_media=no) on the peer of " + peers,
			"Dial() options t, T, h, H, w, W, k, K, x or X, or recording (MixMonitor), which keep the core in the path",
			"NAT handling (nat=yes with directmedia=nonat)",
		}
	}
	if len(up.nat) > 0 || len(down.nat) > 0 {
		causes = slices.DeleteFunc(causes, func(c string) bool { return strings.HasPrefix(c, "NAT handling") })
		causes = append([]string{"NAT handling (nat=yes or comedia with directmedia=nonat; pjsip disable_direct_media_on_nat), given the NAT reason above"}, causes...)
	}
	if up.te != down.te {
		causes = append(causes, "the DTMF mismatch above")
	}
	for i := range causes {
		causes[i] = "(" + itoa(i+1) + ") " + causes[i]
	}
	text += ". Likely causes, most likely first: " + strings.Join(causes, ", ") +
		". The capture cannot tell which: the B2BUA's sip.conf or pjsip.conf (--config) and its dialplan would"
	x.add(Reason{Code: CodeNoReleaseAttempted, Confidence: 0.9, Frames: frames, explain: x.f.in.Verdict.Kind == media.Anchored, bridge: b,
		head: "anchored at " + b.server.String() + ": no release attempted", Text: text})
}

func (x *explainer) sameness(up, down *legFacts) string {
	var parts []string
	if up.te == down.te {
		parts = append(parts, "the same DTMF mode")
	}
	if len(up.nat) == 0 && len(down.nat) == 0 {
		parts = append(parts, "no sign of NAT")
	}
	parts = append(parts, "no SRTP mismatch")
	return joinAnd(parts)
}

func (x *explainer) inGlare(b *bridge) bool {
	return slices.ContainsFunc(x.f.c.Glare, func(g call.Glare) bool { return g.Leg == b.upIdx || g.Leg == b.downIdx })
}

// relay kinds: how a B2BUA forwards RTP between its legs.
const (
	relayUnknown = iota
	relayUnchanged
	relayOwn
)

// relayKind tells whether the server forwards the far ends' packets with
// their SSRCs (Asterisk's native bridge, local mode) or sends its own
// (a simple bridge through the core): the frames that show it.
func (x *explainer) relayKind(b *bridge) (int, []int) {
	for i, lf := range b.legs {
		other := b.legs[1-i]
		for _, in := range x.f.in.Streams {
			if host(in.Src) != host(lf.far) || !b.own(host(in.Dst)) || in.Packets == 0 {
				continue
			}
			for _, out := range x.f.in.Streams {
				if !b.own(host(out.Src)) || host(out.Dst) != host(other.far) || out.Packets == 0 {
					continue
				}
				if out.SSRC == in.SSRC {
					return relayUnchanged, []int{in.FirstFrame, out.FirstFrame}
				}
			}
		}
	}
	var frames []int
	for _, s := range x.f.in.Streams {
		if b.own(host(s.Src)) && s.Packets > 0 {
			frames = append(frames, s.FirstFrame)
		}
	}
	if len(frames) > 0 {
		return relayOwn, frames
	}
	return relayUnknown, nil
}

func (x *explainer) relayNote(b *bridge) string {
	kind, frames := x.relayKind(b)
	if kind == relayUnchanged && len(frames) == 2 {
		var s *media.Stream
		for _, st := range x.f.in.Streams {
			if st.FirstFrame == frames[0] {
				s = st
			}
		}
		if s != nil {
			return "SSRC " + ssrc(s.SSRC) + " arrives at f" + itoa(frames[0]) + " and leaves at f" + itoa(frames[1])
		}
	}
	return "its streams start at " + frameList(frames)
}
