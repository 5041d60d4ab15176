package explain

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sdp"
)

// audio reports where the media did not flow as it should.
func (x *explainer) audio() {
	v := x.f.in.Verdict
	x.traps = x.natTraps()
	x.unroutable()
	switch v.Kind {
	case media.OneWay:
		x.oneWay()
	case media.NoneCaptured:
		x.noneCaptured()
	case media.Relayed:
		x.relayed()
	case media.Direct:
		if len(x.f.bridges) == 0 && len(x.f.c.Legs) > 0 {
			lf := x.f.legFacts(x.f.c.Legs[0], call.UAS)
			x.add(Reason{Code: CodeDirectEndToEnd, Confidence: 0.9, Frames: append(lf.frames(), x.directFrames()...), explain: true,
				head: "direct end to end (no B2BUA)",
				Text: "No B2BUA took part in the signalling: the phones' own SDP (" + frameList(lf.frames()) + ") set up RTP between them"})
		}
	}
}

// oneWay finds why only one direction of the audio flows.
func (x *explainer) oneWay() {
	var seg *media.Segment
	for i, s := range x.f.in.Verdict.Timeline {
		if s.Kind == media.OneWay && (seg == nil || s.Packets > seg.Packets) {
			seg = &x.f.in.Verdict.Timeline[i]
		}
	}
	if seg == nil || len(seg.Flows) == 0 {
		return
	}
	senders := map[netip.Addr]bool{}
	var dsts []netip.AddrPort
	frames := []int{seg.FromFrame, seg.ToFrame}
	for _, fl := range seg.Flows {
		senders[host(fl.Src)] = true
		dsts = append(dsts, fl.Dst)
		frames = append(frames, fl.Stream)
	}
	src := seg.Flows[0].Src
	text := "RTP flows one way only (" + describeOneWay(seg) + ", f" + itoa(seg.FromFrame) + "-f" + itoa(seg.ToFrame) + ")"
	head := "one-way audio from " + x.name(host(src))
	cause, cf := x.oneWayCause(senders, dsts)
	frames = append(frames, cf...)
	text += ": " + cause
	x.add(Reason{Code: CodeOneWayAudio, Confidence: 0.8, Frames: frames, explain: true, head: head, Text: text})
}

func describeOneWay(seg *media.Segment) string {
	var parts []string
	for _, fl := range seg.Flows {
		parts = append(parts, fl.Src.String()+" -> "+fl.Dst.String())
	}
	return strings.Join(slices.Compact(parts), ", ")
}

// oneWayCause looks, in order, for an SDP direction that stops the
// silent side sending, signs of NAT, and RTP sent where nobody answers.
func (x *explainer) oneWayCause(senders map[netip.Addr]bool, dsts []netip.AddrPort) (string, []int) {
	for _, l := range x.f.c.Legs {
		for _, side := range []call.Side{call.UAC, call.UAS} {
			end := host(l.UAC)
			if side == call.UAS {
				end = host(l.UAS)
			}
			if senders[end] || x.f.c.IsB2BUA(end) {
				continue
			}
			dir, ref := latestDirection(l, side, 1<<31-1)
			if ref != nil && (dir == sdp.RecvOnly || dir == sdp.Inactive) {
				return x.name(end) + "'s SDP (f" + itoa(ref.Frame) + ") says a=" + dir.String() + ", so it does not send: silence by design (hold or a one-way announcement)", []int{ref.Frame}
			}
			if ref != nil && dir == sdp.SendOnly {
				continue
			}
		}
	}
	if t := x.trapFor(dsts); t != nil {
		return "NAT: " + x.trapCause(t), []int{t.sdp.Frame}
	}
	for _, s := range x.out.Reasons {
		if s.Code == CodeNAT {
			return "NAT (see the NAT reason): the far side's RTP cannot reach a private address, or goes where the NAT does not forward it", s.Frames
		}
	}
	for _, e := range x.f.in.Verdict.NAT {
		return "NAT: " + e.Text, e.Frames
	}
	for _, d := range dsts {
		if slices.ContainsFunc(x.f.in.Streams, func(s *media.Stream) bool { return s.Src == d && s.Packets > 0 }) {
			continue
		}
		o, ok := x.f.owner[d]
		if ok {
			fr := x.announceFrame(d)
			return "RTP goes to " + d.String() + ", which " + x.name(o) + " announced (f" + itoa(fr) + "), and nothing ever comes from there. " +
				"No evidence in the capture says why that side is silent: capture at " + x.name(o) + " or on its other interface to see whether it sends at all", []int{fr}
		}
		return "RTP goes to " + d.String() + ", an address no SDP of the call announced, and nothing comes from there", nil
	}
	return "no evidence in the capture says why the other direction is missing: it may take another route (capture on the other interface or at the silent endpoint)", nil
}

func (x *explainer) announceFrame(a netip.AddrPort) int {
	best := 0
	for _, l := range x.f.c.Legs {
		for _, d := range l.Dialogs {
			for _, n := range d.Negotiations {
				for _, r := range []*call.SDPRef{n.Offer, n.Answer} {
					if r != nil && r.Media.Addr == a && (best == 0 || r.Frame < best) {
						best = r.Frame
					}
				}
			}
		}
	}
	return best
}

// noneCaptured explains a call whose SDP announced media but whose RTP
// the capture does not hold.
func (x *explainer) noneCaptured() {
	v := x.f.in.Verdict
	frames := []int{}
	if len(v.Timeline) > 0 {
		frames = append(frames, v.Timeline[0].FromFrame)
	}
	inactive := true
	for _, l := range x.f.c.Legs {
		for _, d := range l.Dialogs {
			for _, n := range d.Negotiations {
				refs := completed(n)
				for _, r := range refs {
					frames = append(frames, r.Frame)
				}
				// An answer to an inactive offer is inactive too (RFC
				// 3264 §6.1), so the answer alone settles an exchange
				// whose offer the capture missed.
				if len(refs) > 0 && !slices.ContainsFunc(refs, func(r *call.SDPRef) bool { return r.Media.Direction == sdp.Inactive }) {
					inactive = false
				}
			}
		}
	}
	text := "The SDP announced media but the capture holds no RTP for it"
	switch {
	case inactive:
		text += ": every exchange set the stream inactive, so no audio flows by design"
	case x.releasedAny():
		text += ": the media was released to go direct, so a capture taken at the B2BUA does not see the phone-to-phone RTP; capture at a phone or on the path between them"
	default:
		text += ". No evidence in the capture says where it went: the capture may have been filtered (a SIP-only filter) or taken where the media does not pass; capture without a port filter, on the other interface, or at an endpoint"
	}
	x.add(Reason{Code: CodeNoRTPCaptured, Confidence: 0.8, Frames: frames, explain: true, head: "no RTP in the capture", Text: text})
}

func (x *explainer) releasedAny() bool {
	return slices.ContainsFunc(x.f.bridges, func(b *bridge) bool { return len(b.releases) > 0 || len(b.early) > 0 })
}

// relayed explains RTP through an address that belongs to neither end.
func (x *explainer) relayed() {
	var seg *media.Segment
	for i, s := range x.f.in.Verdict.Timeline {
		if s.Kind == media.Relayed {
			seg = &x.f.in.Verdict.Timeline[i]
			break
		}
	}
	if seg == nil {
		return
	}
	frames := []int{seg.FromFrame}
	var relays []string
	for _, fl := range seg.Flows {
		for _, a := range []netip.AddrPort{fl.Src, fl.Dst} {
			if (a == fl.Src && fl.SrcRole == "other") || (a == fl.Dst && fl.DstRole == "other") {
				if f := x.announceFrame(a); f != 0 {
					frames = append(frames, f)
					relays = append(relays, a.String()+" (announced at f"+itoa(f)+")")
				} else {
					relays = append(relays, a.String())
				}
			}
		}
		frames = append(frames, fl.Stream)
	}
	slices.Sort(relays)
	x.add(Reason{Code: CodeMediaRelay, Confidence: 0.8, Frames: frames, explain: true, head: "relayed through a media relay",
		Text: "RTP passes " + joinAnd(slices.Compact(relays)) + ", an address that belongs to neither signalling end: a media relay (rtpengine, rtpproxy or an SBC) wrote it into the SDP"})
}

// notAnswered reports a call that never reached the media stage.
func (x *explainer) notAnswered() {
	l := x.f.c.Legs[len(x.f.c.Legs)-1]
	first := x.f.c.Legs[0]
	frames := []int{first.FirstFrame, l.FirstFrame, l.EndFrame}
	what := "No leg was answered"
	if l.Status >= 300 {
		what += ": " + itoa(l.Status)
		if l.Reason != "" {
			what += " " + label(l.Reason)
		}
	} else if l.EndReason != call.Ongoing {
		what += " (" + l.EndReason.String() + ")"
	}
	x.add(Reason{Code: CodeNotAnswered, Confidence: 0.95, Frames: frames, explain: true, head: "not answered", Text: what + ", so no media path was set up"})
}

// fallback says so when nothing found accounts for the media path.
func (x *explainer) fallback() {
	if slices.ContainsFunc(x.out.Reasons, func(r Reason) bool { return r.explain }) {
		return
	}
	var frames []int
	for _, l := range x.f.c.Legs {
		frames = append(frames, l.FirstFrame)
		if l.AnswerFrame != 0 {
			frames = append(frames, l.AnswerFrame)
		}
	}
	text := "No evidence in the capture explains the media path"
	switch x.f.in.Verdict.Kind {
	case "":
		text += ": no SDP was seen for this call (encrypted signalling, or the negotiation fell outside the capture), so where the media went cannot be told; a capture that holds the INVITE and its answer would"
	case media.Anchored:
		text += ": the RTP runs through a B2BUA although the signalling shows no reason for it; a capture on the B2BUA's other interface, or its configuration, would tell"
	default:
		text += " (" + string(x.f.in.Verdict.Kind) + "): a capture of the other legs of the call, or on the other interface, would tell more"
	}
	x.add(Reason{Code: CodeNoEvidence, Confidence: 0.3, Frames: frames, head: "no evidence for the media path", Text: text})
}
