package explain

import (
	"net/netip"
	"slices"
	"time"

	"github.com/sipscope/sipscope/call"
)

// explainer builds one Explanation.
type explainer struct {
	f   *facts
	out Explanation
	// blocked marks bridges whose legs cannot share media at all (codec,
	// SRTP or address family): no release was possible.
	blocked map[*bridge]bool
	// idle lists bridges that sent no release although nothing in the
	// capture forbade it.
	idle []*bridge
	// natFor marks the endpoints a NAT reason was given for.
	natFor map[netip.Addr]bool
	// traps are the endpoints behind NAT whose private media address
	// receives RTP that cannot be delivered there (see natTraps).
	traps []*natTrap
	// notes are sentences the narrative adds after the media path.
	notes []string
}

func (x *explainer) add(r Reason) {
	r.Frames = cleanFrames(r.Frames)
	if len(r.Frames) == 0 {
		r.Frames = []int{x.f.c.FirstFrame}
	}
	r.Level = levelOf(r.Confidence)
	r.Text = period(r.Text)
	x.out.Reasons = append(x.out.Reasons, r)
}

func (x *explainer) run() {
	x.blocked = map[*bridge]bool{}
	x.natFor = map[netip.Addr]bool{}
	if !x.answered() {
		x.notAnswered()
		x.finish()
		return
	}
	for _, b := range x.f.bridges {
		x.early(b)
		x.released(b)
		x.refused(b)
		x.reanchored(b)
	}
	x.glare()
	for _, b := range x.f.bridges {
		x.blockers(b)
	}
	for _, b := range x.f.bridges {
		x.noAttempt(b)
	}
	x.configure()
	x.audio()
	x.fallback()
	x.finish()
}

func (x *explainer) answered() bool {
	return slices.ContainsFunc(x.f.c.Legs, (*call.Leg).Answered)
}

// name labels a host of the call for a sentence: a B2BUA by its product,
// a phone by the user it called as or was called at.
func (x *explainer) name(a netip.Addr) string {
	a = a.Unmap()
	if x.f.c.IsB2BUA(a) {
		for _, b := range x.f.bridges {
			if b.own(a) && b.agent.Product != "" {
				return label(b.agent.Product) + " " + a.String()
			}
		}
		return "B2BUA " + a.String()
	}
	for _, l := range x.f.c.Legs {
		var user string
		switch a {
		case host(l.UAC):
			user = l.From.User()
		case host(l.UAS):
			user = l.To.User()
		default:
			continue
		}
		if user != "" {
			return label(user) + " (" + a.String() + ")"
		}
	}
	return a.String()
}

// whose labels the host that first announced a media address.
func (x *explainer) whose(a netip.AddrPort) string {
	if o, ok := x.f.owner[a]; ok {
		return x.name(o)
	}
	return x.name(host(a))
}

func methodWord(m string) string {
	if m == "UPDATE" {
		return "UPDATE"
	}
	return "re-INVITE"
}

// sinceStart is "+3 ms" after the bridge could first move media, or the
// capture time when the bridge never completed.
func (x *explainer) sinceStart(b *bridge, t time.Time) string {
	if b.start.IsZero() {
		return "t=" + dur(t.Sub(x.f.c.Start))
	}
	if t.Before(b.start) {
		return "-" + dur(b.start.Sub(t))
	}
	return "+" + dur(t.Sub(b.start))
}
