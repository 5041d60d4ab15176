package explain

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sip"
)

// headOrder says, per media path, which reason's wording leads the
// headline: the one that best accounts for that path.
var headOrder = map[media.PathKind][]string{
	media.Direct: {CodeOneWayAudio, CodeGlare, CodeReanchored, CodeDirectInitialInvite, CodeDirectUpdate, CodeDirectReinvite, CodeDirectEndToEnd},
	media.Anchored: {
		CodeOneWayAudio, policy.CodeCodecMismatch, policy.CodeSRTPMismatch, policy.CodeFamilyMismatch,
		policy.CodeDirectMediaNo, policy.CodeNATNoNAT, policy.CodeDialOptions, policy.CodeRecording, policy.CodeJitterBuffer,
		policy.CodeJBForce, policy.CodeMediaACL, policy.CodeT38, policy.CodePtimeMismatch, policy.CodeSRTP,
		CodeReleaseRefused, CodeReanchored, CodeNAT, CodeNoReleaseAttempted, policy.CodeDTMFMismatch, CodeGlare,
	},
	media.OneWay:       {CodeOneWayAudio},
	media.NoneCaptured: {CodeNoRTPCaptured},
	media.Relayed:      {CodeOneWayAudio, CodeMediaRelay},
}

// finish writes the headline and the narrative from the reasons.
func (x *explainer) finish() {
	x.out.Headline = x.headline()
	var ss []string
	if s := x.structure(); s != "" {
		ss = append(ss, period(s))
	}
	if v := x.f.in.Verdict; v.Kind != "" {
		s := "Media path: " + string(v.Kind)
		if v.Basis != "" {
			s += " (" + v.Basis + ")"
		}
		ss = append(ss, sentence(s))
	}
	for _, n := range x.notes {
		ss = append(ss, sentence(n))
	}
	var why []string
	var codes []string
	for _, r := range x.out.Reasons {
		if r.head != "" && !slices.Contains(codes, r.Code) {
			codes = append(codes, r.Code)
			why = append(why, r.head)
		}
	}
	if len(why) > 0 {
		ss = append(ss, sentence("Found: "+strings.Join(why, "; ")))
	}
	for _, p := range x.out.Predictions {
		s := "The configuration of " + p.Server + " (" + p.Config + ") predicts "
		switch {
		case p.Bridge == "":
			s += "nothing: " + legsUnmatched(p)
		case p.Release:
			s += "a release by " + p.Method
		default:
			s += "that the media stays on the server (" + p.Bridge + " bridge)"
		}
		if p.Contradiction != "" {
			s += ", but the capture disagrees"
		} else if p.Bridge != "" {
			s += "; the capture shows " + p.Observed
		}
		ss = append(ss, sentence(s))
	}
	x.out.Narrative = strings.Join(ss, " ")
	for i := range x.out.Reasons {
		x.out.Reasons[i].Options = slices.Clip(x.out.Reasons[i].Options)
	}
}

func legsUnmatched(p Prediction) string {
	var parts []string
	for _, l := range p.Legs {
		if l.Peer == "" {
			parts = append(parts, "leg "+itoa(l.Leg)+" matched no peer ("+l.Match+")")
		}
	}
	return joinAnd(parts)
}

func (x *explainer) headline() string {
	for _, code := range headOrder[x.f.in.Verdict.Kind] {
		for _, r := range x.out.Reasons {
			if r.Code == code && r.head != "" && (r.explain || code == CodeGlare || code == CodeReanchored) {
				return x.decorate(r)
			}
		}
	}
	for _, r := range x.out.Reasons {
		if r.explain && r.head != "" {
			return x.decorate(r)
		}
	}
	if len(x.out.Reasons) > 0 {
		return x.decorate(x.out.Reasons[0])
	}
	return string(x.f.in.Verdict.Kind)
}

// decorate puts the media path in front of a reason's wording when the
// wording does not already say it.
func (x *explainer) decorate(r Reason) string {
	h := r.head
	kind := string(x.f.in.Verdict.Kind)
	switch {
	case kind == "" || strings.HasPrefix(h, kind) || strings.HasPrefix(h, "one-way"):
		return h
	case x.f.in.Verdict.Kind == media.Direct && r.Code == CodeReanchored:
		return "direct; " + h
	case x.f.in.Verdict.Kind == media.Anchored && !strings.HasPrefix(h, "anchored"):
		if servers := x.f.c.B2BUAs(); len(servers) > 0 {
			return "anchored at " + hostList(servers) + ": " + h
		}
	}
	if strings.HasPrefix(h, "direct") || strings.HasPrefix(h, "anchored") ||
		strings.HasPrefix(h, "no RTP") || strings.HasPrefix(h, "not answered") || strings.HasPrefix(h, "relayed") {
		return h
	}
	return kind + ": " + h
}

// structure says who called whom through which servers.
func (x *explainer) structure() string {
	c := x.f.c
	if len(c.Legs) == 0 {
		return ""
	}
	first, last := c.Legs[0], c.Legs[len(c.Legs)-1]
	caller := x.name(host(first.UAC))
	dialled := label(sip.URIUser(first.RequestURI))
	s := caller + " called"
	if dialled != "" {
		s += " " + dialled
	}
	var servers []string
	named := map[netip.Addr]bool{}
	for _, k := range c.Links {
		if !k.Server.IsValid() || named[k.Server] {
			continue
		}
		named[k.Server] = true
		s := x.name(k.Server)
		if k.Alias.IsValid() && !named[k.Alias] {
			named[k.Alias] = true
			s += " (placing the next leg from its other address, " + k.Alias.String() + ")"
		}
		servers = append(servers, s)
	}
	if len(servers) > 0 {
		s += " through " + joinAnd(servers)
	}
	callee := x.name(host(last.UAS))
	if len(c.Legs) > 1 || !strings.Contains(callee, dialled) {
		s += ", reaching " + callee
	}
	s += " (" + itoa(len(c.Legs)) + " " + plural(len(c.Legs), "leg", "legs") + ")"
	return s
}
