package media

import (
	"net/netip"
	"slices"
	"time"

	"github.com/sipscope/sipscope/sdp"
)

// Role says whether an SDP was an offer or an answer (RFC 3264).
type Role uint8

// Roles of a session description.
const (
	Offer Role = iota + 1
	Answer
)

func (r Role) String() string {
	switch r {
	case Offer:
		return "offer"
	case Answer:
		return "answer"
	}
	return "?"
}

// Side names an end of a SIP dialog.
type Side uint8

// The two ends of a leg: the one that sent the initial INVITE and the one
// that answered it.
const (
	UAC Side = iota + 1
	UAS
)

func (s Side) String() string {
	switch s {
	case UAC:
		return "UAC"
	case UAS:
		return "UAS"
	}
	return "?"
}

// Announcement is one SDP media section seen in a SIP message: its sender
// wants to receive RTP at Endpoint() and RTCP at RTCPEndpoint().
type Announcement struct {
	Leg     string         // the leg (dialog) the message belongs to, as the caller names it
	Side    Side           // which end of the leg sent the message
	Role    Role           // offer or answer
	Frame   int            // frame of the SIP message
	Time    time.Time      // its capture time
	Message string         // e.g. "INVITE" or "200 INVITE", for explanations
	Signal  netip.AddrPort // where the SIP message came from
	Media   sdp.Media
	// Rejected marks an offer that a final response of 300 or more
	// refused (491 after glare, 488, ...): it changed nothing.
	Rejected bool

	// prev is the announcement of the same address this one replaced,
	// one level deep, so that a rejection can restore it.
	prev *Announcement
	// shared is set when another leg announced the same address while
	// this one's leg was live: a server answering every call from one
	// address. Such an address says little about whose a stream is.
	shared bool
}

// Endpoint is where the announcer wants to receive RTP.
func (a *Announcement) Endpoint() netip.AddrPort { return a.Media.Endpoint() }

// RTCPEndpoint is where the announcer wants to receive RTCP: the a=rtcp
// port and address (RFC 3605), the RTP port with rtcp-mux (RFC 5761),
// else the next port up (RFC 3550 §11).
func (a *Announcement) RTCPEndpoint() netip.AddrPort {
	p := a.Media.RTCPPort
	switch {
	case a.Media.RTCPMux:
		p = a.Media.Port
	case p == 0 && a.Media.Port != 0:
		p = a.Media.Port + 1
	}
	addr := a.Media.Addr
	if a.Media.RTCPAddr.IsValid() {
		addr = a.Media.RTCPAddr
	}
	return netip.AddrPortFrom(addr, uint16(p))
}

// usable reports whether the announcement names an address RTP can reach:
// not a rejected stream (port 0) nor the RFC 2543 hold address.
func (a *Announcement) usable() bool {
	return !a.Rejected && a.Media.Port > 0 && a.Media.Port < 65536 && a.Media.Addr.IsValid() && !a.Media.Addr.IsUnspecified()
}

// Announce records that an SDP wants media at a.Media's address. Streams
// to that address that begin later are tied to it; live streams to it
// that no SDP announced yet are claimed by it.
func (t *Tracker) Announce(a Announcement) {
	if !a.usable() {
		return
	}
	ann := &a
	t.clock(a.Time)
	ep := ann.Endpoint()
	t.remember(ep, false, ann)
	if rc := ann.RTCPEndpoint(); rc.Port() != 0 {
		t.remember(rc, true, ann)
	}
	if ws := t.waiting[ep]; len(ws) > 0 {
		for _, s := range ws {
			s.Announced = ann
			s.renameCodecs()
		}
		delete(t.waiting, ep)
	}
}

// Reject records that the offer a leg sent in a frame was refused, so
// that the addresses it announced fall back to what was announced before
// it, for new streams and for streams that began in the meantime.
func (t *Tracker) Reject(leg string, frame int) {
	for i := len(t.endOrder) - 1; i >= 0; i-- {
		e := t.endOrder[i]
		a := e.ann
		if a.Leg != leg || a.Frame != frame {
			continue
		}
		a.Rejected = true
		if e.rtcp {
			if t.rtcpEnds[e.ep] == a {
				delete(t.rtcpEnds, e.ep)
				t.stale++
			}
			continue
		}
		back := a.prev
		if back != nil && back.Rejected {
			back = nil
		}
		if t.rtpEnds[e.ep] == a {
			if back != nil {
				t.rtpEnds[e.ep] = back
			} else {
				delete(t.rtpEnds, e.ep)
				t.stale++
			}
		}
		for _, s := range t.live {
			if s.Announced == a {
				s.Announced = back
				if back == nil {
					t.waiting[s.Dst] = append(t.waiting[s.Dst], s)
				}
			}
		}
	}
}

func (t *Tracker) remember(ep netip.AddrPort, rtcp bool, a *Announcement) {
	ends := t.rtpEnds
	if rtcp {
		ends = t.rtcpEnds
	}
	if old := ends[ep]; old != nil {
		t.stale++
		if !rtcp {
			old.prev = nil
			a.prev = old
			if _, live := t.byLeg[old.Leg]; live && old.Leg != a.Leg {
				old.shared, a.shared = true, true
			}
		}
	}
	ends[ep] = a
	e := endEntry{ep: ep, rtcp: rtcp, ann: a}
	t.endOrder = append(t.endOrder, e)
	t.byLeg[a.Leg] = append(t.byLeg[a.Leg], e)
	for len(t.rtpEnds)+len(t.rtcpEnds) > 2*t.opt.MaxEndpoints && len(t.endOrder) > 0 {
		old := t.endOrder[0]
		t.endOrder = t.endOrder[1:]
		if !t.current(old) {
			t.stale--
			continue
		}
		if old.rtcp {
			delete(t.rtcpEnds, old.ep)
		} else {
			delete(t.rtpEnds, old.ep)
		}
	}
	t.compactIfStale()
}

// compactIfStale compacts the order queue once most of it is stale: a
// server that answers every call from one address (a media server, SIPp)
// supersedes an entry per call, and each entry keeps its announcement
// alive.
func (t *Tracker) compactIfStale() {
	if t.stale > 1024 && t.stale > len(t.endOrder)/2 {
		t.compactOrder()
	}
}

// compactOrder drops the order entries whose announcement no longer names
// its address.
func (t *Tracker) compactOrder() {
	kept := t.endOrder[:0]
	for _, e := range t.endOrder {
		if t.current(e) {
			kept = append(kept, e)
		}
	}
	clear(t.endOrder[len(kept):])
	t.endOrder = slices.Clip(kept)
	t.stale = 0
}

func (t *Tracker) current(e endEntry) bool {
	m := t.rtpEnds
	if e.rtcp {
		m = t.rtcpEnds
	}
	return m[e.ep] == e.ann
}

// ForgetLeg forgets the addresses a leg announced, once its call is over:
// a later packet to them is no longer counted for the leg, and the memory
// is freed, so a capture that runs for hours keeps only the announcements
// of calls in progress. Addresses a later announcement took over are kept.
func (t *Tracker) ForgetLeg(leg string) {
	for _, e := range t.byLeg[leg] {
		if !t.current(e) {
			continue
		}
		if e.rtcp {
			delete(t.rtcpEnds, e.ep)
		} else {
			delete(t.rtpEnds, e.ep)
		}
		t.stale++
	}
	delete(t.byLeg, leg)
	t.compactIfStale()
}
