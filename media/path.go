package media

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// PathKind names where a call's audio went.
type PathKind string

// Media paths.
const (
	// Direct: the phones exchange RTP with each other.
	Direct PathKind = "direct"
	// Anchored: each phone exchanges RTP with a B2BUA's address.
	Anchored PathKind = "anchored"
	// Relayed: RTP passes an address that belongs to neither signalling
	// end, such as a media relay a proxy wrote into the SDP.
	Relayed PathKind = "relayed"
	// OneWay: RTP flows in one direction only.
	OneWay PathKind = "one-way"
	// NoneCaptured: SDP announced media but the capture holds no RTP.
	NoneCaptured PathKind = "none-captured"
)

// CallView is what Path needs to know of a call: its legs, each a SIP
// dialog, with the SDP each carried. The call engine builds it; this
// package does not depend on it.
type CallView struct {
	Legs []LegView
	// Servers are addresses known to be B2BUAs though each ends one leg
	// only: a server that received a call on one address and relayed it
	// from another.
	Servers []netip.Addr
}

// LegView is one leg of a call.
type LegView struct {
	ID string // as in Announcement.Leg
	// UAC and UAS are the signalling addresses of the leg's two ends. An
	// address that is an end of two legs of the call is a B2BUA; the
	// others are the phones (or whatever else ends the call).
	UAC, UAS netip.Addr
	// Announcements are the SDP media sections of the leg, in capture
	// order.
	Announcements []Announcement
}

// Verdict is the media path of a call: the path that carried most
// packets, every change of path in time order, and any sign of NAT.
type Verdict struct {
	Kind     PathKind   `json:"kind"`
	Basis    string     `json:"basis"`
	Timeline []Segment  `json:"timeline"`
	NAT      []Evidence `json:"nat,omitempty"`
}

// Segment is a stretch of the call with one media path.
type Segment struct {
	Kind PathKind `json:"kind"`
	// FromFrame and FromTime are where the segment began: the first
	// packet of the flow whose start began it, or the last packet of the
	// flow whose end did.
	FromFrame int       `json:"from_frame"`
	FromTime  time.Time `json:"from_time"`
	ToFrame   int       `json:"to_frame"`
	ToTime    time.Time `json:"to_time"`
	// AfterSDP is the frame of the latest SDP of the call before the
	// segment that changed where, or whether, a side receives media
	// (a re-INVITE, say); 0 when there is none.
	AfterSDP    int    `json:"after_sdp,omitempty"`
	Flows       []Flow `json:"flows"`
	Packets     int    `json:"packets"`
	Transcoding bool   `json:"transcoding,omitempty"`
	Basis       string `json:"basis"`
}

// Flow is one stream's part in a segment.
type Flow struct {
	Src     netip.AddrPort `json:"src"`
	Dst     netip.AddrPort `json:"dst"`
	SSRC    uint32         `json:"ssrc"`
	Codec   string         `json:"codec,omitempty"`
	SrcRole string         `json:"src_role"` // phone, b2bua or other
	DstRole string         `json:"dst_role"`
	Stream  int            `json:"stream_first_frame"` // the stream's first frame, which names it
}

// Evidence is one sign of NAT, with the frames that show it.
type Evidence struct {
	Kind   string `json:"kind"` // symmetric-rtp, rtp-to-private, private-sdp
	Text   string `json:"text"`
	Frames []int  `json:"frames"`
}

// Thresholds of the timeline. A span of fewer packets that also lasts
// less than strayDuration is a stray (the packet a phone still sends to
// the old address after a re-INVITE or at hangup) and does not make a
// path; a path that holds for less than settle is the ramp into the
// next one, as each direction starts a few milliseconds apart.
const (
	strayPackets  = 10
	strayDuration = 200 * time.Millisecond
	settle        = 500 * time.Millisecond
)

type role uint8

const (
	roleOther role = iota
	rolePhone
	roleB2BUA
)

func (r role) String() string {
	switch r {
	case rolePhone:
		return "phone"
	case roleB2BUA:
		return "b2bua"
	}
	return "other"
}

// party says who owns a media address: a role and the signalling address
// of the end it belongs to.
type party struct {
	role role
	end  netip.Addr
}

// Path judges the media path of a call from its legs and the streams of
// the capture (all of them, or the call's: streams announced by no leg of
// the call are left out).
func Path(c CallView, streams []*Stream) Verdict {
	v := view{call: c}
	v.roles()
	v.pick(streams)
	var out Verdict
	out.NAT = v.nat()
	var timeline []Segment
	if len(v.spans) > 0 {
		timeline = v.timeline()
	}
	if len(timeline) == 0 {
		return v.noneCaptured(out, len(v.spans) > 0)
	}
	out.Timeline = timeline
	byKind := map[PathKind]int{}
	for _, s := range out.Timeline {
		byKind[s.Kind] += s.Packets
	}
	best := -1
	for i, s := range out.Timeline {
		if best < 0 || byKind[s.Kind] > byKind[out.Timeline[best].Kind] {
			best = i
		}
	}
	out.Kind = out.Timeline[best].Kind
	out.Basis = out.Timeline[best].Basis
	if len(out.Timeline) > 1 {
		out.Basis += fmt.Sprintf(" (the path of most packets, %d, of %d segments)", byKind[out.Kind], len(out.Timeline))
	}
	return out
}

// noneCaptured is the verdict when no stretch of RTP makes a path: no RTP
// at all, or only strays (a packet or two around a re-INVITE or hangup).
func (v *view) noneCaptured(out Verdict, strays bool) Verdict {
	first := 0
	var at time.Time
	var eps []string
	for _, l := range v.call.Legs {
		for i := range l.Announcements {
			a := &l.Announcements[i]
			if !a.usable() {
				continue
			}
			if first == 0 || a.Frame < first {
				first, at = a.Frame, a.Time
			}
			eps = appendUnique(eps, a.Endpoint().String())
		}
	}
	if first == 0 {
		return out
	}
	out.Kind = NoneCaptured
	held := "no RTP"
	if strays {
		held = "only stray RTP packets, too few to make a path,"
	}
	out.Basis = fmt.Sprintf("SDP announced media at %s but the capture holds %s for it; "+
		"the capture may have been filtered (a SIP-only filter, say) or taken where the media does not pass",
		strings.Join(eps, ", "), held)
	out.Timeline = []Segment{{Kind: NoneCaptured, FromFrame: first, FromTime: at, Basis: out.Basis}}
	return out
}

type view struct {
	call    CallView
	legs    map[string]*LegView
	ends    map[netip.Addr]role
	owners  map[netip.AddrPort]party
	streams []*Stream
	spans   []spanRef
}

type spanRef struct {
	s  *Stream
	sp Span
}

// roles tells B2BUAs from phones and finds who owns each announced
// address: the end that announced it first, since a B2BUA that releases
// media announces a phone's address only after the phone did.
func (v *view) roles() {
	v.legs = map[string]*LegView{}
	seen := map[netip.Addr]int{}
	for i := range v.call.Legs {
		l := &v.call.Legs[i]
		v.legs[l.ID] = l
		for _, a := range [2]netip.Addr{l.UAC, l.UAS} {
			if a.IsValid() {
				seen[a]++
			}
		}
	}
	v.ends = map[netip.Addr]role{}
	for a, n := range seen {
		v.ends[a] = rolePhone
		if n > 1 {
			v.ends[a] = roleB2BUA
		}
	}
	for _, a := range v.call.Servers {
		if a.IsValid() {
			v.ends[a] = roleB2BUA
		}
	}
	type first struct {
		frame int
		p     party
	}
	firsts := map[netip.AddrPort]first{}
	for i := range v.call.Legs {
		l := &v.call.Legs[i]
		for j := range l.Announcements {
			a := &l.Announcements[j]
			end := announcer(l, a)
			if !a.usable() || !end.IsValid() {
				continue
			}
			ep := a.Endpoint()
			if f, ok := firsts[ep]; !ok || a.Frame < f.frame {
				firsts[ep] = first{a.Frame, party{v.ends[end], end}}
			}
		}
	}
	v.owners = map[netip.AddrPort]party{}
	for ep, f := range firsts {
		v.owners[ep] = f.p
	}
}

// announcer is the signalling address of the end that sent an SDP.
func announcer(l *LegView, a *Announcement) netip.Addr {
	switch {
	case a.Side == UAC:
		return l.UAC
	case a.Side == UAS:
		return l.UAS
	case a.Signal.Addr() == l.UAC:
		return l.UAC
	case a.Signal.Addr() == l.UAS:
		return l.UAS
	}
	return netip.Addr{}
}

// whose says who owns a media address. An address on a signalling end's
// own IP is that end's. Otherwise the end that announced it first owns
// it if that end is a B2BUA (which may use any media address), or a phone
// announcing a private address (its own, behind NAT); an address a phone
// announced on some other public IP was written by someone else, a media
// relay, and belongs to neither end.
func (v *view) whose(ap netip.AddrPort) party {
	if r, ok := v.ends[ap.Addr()]; ok {
		return party{r, ap.Addr()}
	}
	p, ok := v.owners[ap]
	if !ok {
		return party{}
	}
	if p.role == roleB2BUA || (p.role == rolePhone && private(ap.Addr())) {
		return p
	}
	return party{}
}

// pick keeps the call's streams and their spans that are not strays.
func (v *view) pick(all []*Stream) {
	for _, s := range all {
		if s.Packets == 0 {
			continue
		}
		if (s.Announced != nil && v.legs[s.Announced.Leg] != nil) ||
			(s.SourceAnnounced != nil && v.legs[s.SourceAnnounced.Leg] != nil) {
			v.streams = append(v.streams, s)
		}
	}
	var all2 []spanRef
	for _, s := range v.streams {
		for _, sp := range s.Spans {
			r := spanRef{s, sp}
			all2 = append(all2, r)
			if sp.Packets >= strayPackets || sp.Last.Sub(sp.First) >= strayDuration {
				v.spans = append(v.spans, r)
			}
		}
	}
	if len(v.spans) == 0 {
		v.spans = all2
	}
}

// interval is a stretch between two consecutive span boundaries.
type interval struct {
	from, to           time.Time
	fromFrame, toFrame int
	active             []spanRef
}

// timeline cuts the call at every span start and end, judges each piece,
// then merges pieces with the same path and absorbs the short ramps
// between paths.
func (v *view) timeline() []Segment {
	type bound struct {
		at    time.Time
		frame int
	}
	var bs []bound
	for _, r := range v.spans {
		bs = append(bs, bound{r.sp.First, r.sp.FirstFrame}, bound{r.sp.Last, r.sp.LastFrame})
	}
	slices.SortFunc(bs, func(a, b bound) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.frame, b.frame))
	})
	bs = slices.CompactFunc(bs, func(a, b bound) bool { return a.at.Equal(b.at) })
	var segs []Segment
	add := func(iv interval) {
		if len(iv.active) == 0 {
			return
		}
		seg := v.judge(iv)
		if n := len(segs); n > 0 && sameSegment(segs[n-1], seg) {
			segs[n-1] = joined(segs[n-1], seg)
			return
		}
		segs = append(segs, seg)
	}
	if len(bs) == 1 {
		add(interval{bs[0].at, bs[0].at, bs[0].frame, bs[0].frame, v.spans})
	}
	for i := 0; i+1 < len(bs); i++ {
		iv := interval{from: bs[i].at, to: bs[i+1].at, fromFrame: bs[i].frame, toFrame: bs[i+1].frame}
		for _, r := range v.spans {
			if !r.sp.First.After(iv.from) && !r.sp.Last.Before(iv.to) {
				iv.active = append(iv.active, r)
			}
		}
		add(iv)
	}
	segs = absorbRamps(segs)
	for i := range segs {
		v.finish(&segs[i])
	}
	return segs
}

// absorbRamps merges every segment shorter than settle, shortest first,
// into the neighbour it shares more flows with: a path's tail (the flow
// still running after the other stopped) into the path before, a ramp
// (a flow already started before the other) into the path after. Then
// neighbours of the same kind are joined.
func absorbRamps(segs []Segment) []Segment {
	for len(segs) > 1 {
		short := -1
		for i, s := range segs {
			if d := s.ToTime.Sub(s.FromTime); d < settle && (short < 0 || d < segs[short].ToTime.Sub(segs[short].FromTime)) {
				short = i
			}
		}
		if short < 0 {
			break
		}
		s := segs[short]
		intoNext := short+1 < len(segs)
		if intoNext && short > 0 && shared(segs[short-1].Flows, s.Flows) > shared(s.Flows, segs[short+1].Flows) {
			intoNext = false
		}
		if intoNext {
			next := segs[short+1]
			next.FromTime, next.FromFrame = s.FromTime, s.FromFrame
			next.Flows = unionFlows(s.Flows, next.Flows)
			next.Packets += s.Packets
			segs = slices.Replace(segs, short, short+2, next)
		} else {
			prev := segs[short-1]
			prev.ToTime, prev.ToFrame = s.ToTime, s.ToFrame
			prev.Flows = unionFlows(prev.Flows, s.Flows)
			prev.Packets += s.Packets
			segs = slices.Replace(segs, short-1, short+1, prev)
		}
	}
	out := segs[:0]
	for _, s := range segs {
		if n := len(out); n > 0 && out[n-1].Kind == s.Kind {
			out[n-1] = joined(out[n-1], s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// shared counts the flows (source and destination) two segments share.
func shared(a, b []Flow) int {
	n := 0
	for _, f := range a {
		if slices.ContainsFunc(b, func(g Flow) bool { return g.Src == f.Src && g.Dst == f.Dst }) {
			n++
		}
	}
	return n
}

func sameSegment(a, b Segment) bool {
	if a.Kind != b.Kind || len(a.Flows) != len(b.Flows) {
		return false
	}
	for i := range a.Flows {
		if a.Flows[i].Src != b.Flows[i].Src || a.Flows[i].Dst != b.Flows[i].Dst {
			return false
		}
	}
	return true
}

func joined(a, b Segment) Segment {
	a.ToTime, a.ToFrame = b.ToTime, b.ToFrame
	a.Flows = unionFlows(a.Flows, b.Flows)
	a.Packets += b.Packets
	return a
}

func unionFlows(a, b []Flow) []Flow {
	out := slices.Clone(a)
	for _, f := range b {
		if !slices.ContainsFunc(out, func(g Flow) bool { return g.Src == f.Src && g.Dst == f.Dst && g.SSRC == f.SSRC }) {
			out = append(out, f)
		}
	}
	sortFlows(out)
	return out
}

func sortFlows(fs []Flow) {
	slices.SortFunc(fs, func(a, b Flow) int {
		return cmp.Or(cmp.Compare(a.Stream, b.Stream), a.Src.Compare(b.Src), a.Dst.Compare(b.Dst))
	})
}

// judge names the path of one interval from the flows active in it.
func (v *view) judge(iv interval) Segment {
	seg := Segment{FromTime: iv.from, ToTime: iv.to, FromFrame: iv.fromFrame, ToFrame: iv.toFrame}
	for _, r := range iv.active {
		src, dst := v.whose(r.s.Src), v.whose(r.s.Dst)
		seg.Flows = appendFlow(seg.Flows, Flow{
			Src: r.s.Src, Dst: r.s.Dst, SSRC: r.s.SSRC, Codec: r.s.Codec,
			SrcRole: src.role.String(), DstRole: dst.role.String(), Stream: r.s.FirstFrame,
		})
		seg.Packets += spanShare(r.sp, iv)
	}
	sortFlows(seg.Flows)
	seg.Kind = v.kind(seg.Flows)
	return seg
}

func appendFlow(fs []Flow, f Flow) []Flow {
	for _, g := range fs {
		if g.Src == f.Src && g.Dst == f.Dst && g.SSRC == f.SSRC {
			return fs
		}
	}
	return append(fs, f)
}

// spanShare is the part of a span's packets that fall in an interval,
// assuming an even rate.
func spanShare(sp Span, iv interval) int {
	d := sp.Last.Sub(sp.First)
	if d <= 0 {
		return sp.Packets
	}
	return int(float64(sp.Packets) * float64(iv.to.Sub(iv.from)) / float64(d))
}

// kind judges a set of flows. Phone to phone RTP makes the path direct;
// else phone to B2BUA RTP makes it anchored, phone to foreign address
// relayed; each only when some phone both sends and receives on it,
// one-way otherwise.
func (v *view) kind(flows []Flow) PathKind {
	type dirs struct{ send, recv bool }
	var direct, anchored, relayed = map[[2]netip.Addr]bool{}, map[netip.Addr]*dirs{}, map[netip.Addr]*dirs{}
	mark := func(m map[netip.Addr]*dirs, phone netip.Addr, send bool) {
		d := m[phone]
		if d == nil {
			d = &dirs{}
			m[phone] = d
		}
		if send {
			d.send = true
		} else {
			d.recv = true
		}
	}
	either := func(m map[netip.Addr]*dirs) (some, both bool) {
		for _, d := range m {
			some = true
			if d.send && d.recv {
				both = true
			}
		}
		return some, both
	}
	b2b := false
	for _, f := range flows {
		src, dst := v.whose(f.Src), v.whose(f.Dst)
		switch {
		case src.role == rolePhone && dst.role == rolePhone && src.end != dst.end:
			direct[[2]netip.Addr{src.end, dst.end}] = true
		case src.role == rolePhone && dst.role == roleB2BUA:
			mark(anchored, src.end, true)
		case src.role == roleB2BUA && dst.role == rolePhone:
			mark(anchored, dst.end, false)
		case src.role == rolePhone:
			mark(relayed, src.end, true)
		case dst.role == rolePhone:
			mark(relayed, dst.end, false)
		case src.role == roleB2BUA && dst.role == roleB2BUA:
			b2b = true
		}
	}
	if len(direct) > 0 {
		for k := range direct {
			if direct[[2]netip.Addr{k[1], k[0]}] {
				return Direct
			}
		}
		return OneWay
	}
	if some, both := either(anchored); some {
		if both {
			return Anchored
		}
		return OneWay
	}
	if some, both := either(relayed); some {
		if both {
			return Relayed
		}
		return OneWay
	}
	if b2b {
		return Anchored
	}
	return Relayed
}

// finish writes a segment's explanation and finds the SDP it followed.
func (v *view) finish(s *Segment) {
	s.AfterSDP = v.changeBefore(s.FromFrame)
	pairs := describeFlows(s.Flows)
	switch s.Kind {
	case Direct:
		s.Basis = "the phones exchange RTP directly: " + pairs
	case Anchored:
		s.Basis = "each phone exchanges RTP with a B2BUA's address: " + pairs
		if t := v.transcoding(s.Flows); t != "" {
			s.Transcoding = true
			s.Basis += "; " + t
		}
	case Relayed:
		s.Basis = "RTP passes an address that belongs to neither signalling end (a media relay): " + pairs
	case OneWay:
		s.Basis = "RTP flows one way only, nothing comes back: " + pairs
	}
	if s.AfterSDP != 0 {
		s.Basis += fmt.Sprintf(" (after the SDP of frame %d)", s.AfterSDP)
	}
}

// describeFlows writes flows as address pairs, "<->" where both
// directions flow.
func describeFlows(fs []Flow) string {
	var parts []string
	done := map[[2]netip.AddrPort]bool{}
	for _, f := range fs {
		k := [2]netip.AddrPort{f.Src, f.Dst}
		if done[k] {
			continue
		}
		done[k] = true
		back := slices.ContainsFunc(fs, func(g Flow) bool { return g.Src == f.Dst && g.Dst == f.Src })
		if back {
			done[[2]netip.AddrPort{f.Dst, f.Src}] = true
			parts = append(parts, fmt.Sprintf("%s (%s) <-> %s (%s)", f.Src, f.SrcRole, f.Dst, f.DstRole))
		} else {
			parts = append(parts, fmt.Sprintf("%s (%s) -> %s (%s)", f.Src, f.SrcRole, f.Dst, f.DstRole))
		}
	}
	return strings.Join(parts, ", ")
}

// transcoding reports different codecs on the phones' sides of a B2BUA.
func (v *view) transcoding(fs []Flow) string {
	codecs := map[netip.Addr]string{}
	for _, f := range fs {
		if f.SrcRole == "phone" && f.Codec != "" {
			codecs[v.whose(f.Src).end] = f.Codec
		}
	}
	var names []string
	var ends []netip.Addr
	for e := range codecs {
		ends = append(ends, e)
	}
	slices.SortFunc(ends, netip.Addr.Compare)
	for _, e := range ends {
		names = appendUnique(names, codecs[e])
	}
	if len(names) < 2 {
		return ""
	}
	var parts []string
	for _, e := range ends {
		parts = append(parts, fmt.Sprintf("%s sends %s", e, codecs[e]))
	}
	return "the B2BUA transcodes: " + strings.Join(parts, ", ")
}

// changeBefore finds the latest SDP at or before a frame that changed
// what its sender announced on its leg: another address or direction.
func (v *view) changeBefore(frame int) int {
	best := 0
	for i := range v.call.Legs {
		l := &v.call.Legs[i]
		last := map[Side]*Announcement{}
		for j := range l.Announcements {
			a := &l.Announcements[j]
			if a.Frame > frame || !a.usable() {
				continue
			}
			side := a.Side
			if side == 0 {
				if announcer(l, a) == l.UAS {
					side = UAS
				} else {
					side = UAC
				}
			}
			p := last[side]
			if p == nil || p.Endpoint() != a.Endpoint() || p.Media.Direction != a.Media.Direction {
				best = max(best, a.Frame)
			}
			last[side] = a
		}
	}
	return best
}

// nat gathers the signs of NAT in the call's SDP and RTP.
func (v *view) nat() []Evidence {
	var out []Evidence
	seen := map[string]bool{}
	add := func(e Evidence) {
		if k := e.Kind + e.Text; !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	for i := range v.call.Legs {
		l := &v.call.Legs[i]
		for j := range l.Announcements {
			a := &l.Announcements[j]
			if !a.usable() || !private(a.Media.Addr) || !a.Signal.Addr().IsValid() || !public(a.Signal.Addr()) {
				continue
			}
			add(Evidence{Kind: "private-sdp", Frames: []int{a.Frame},
				Text: fmt.Sprintf("SDP in frame %d announces the private address %s, but the message came from the public address %s",
					a.Frame, a.Endpoint(), a.Signal.Addr())})
		}
	}
	for _, s := range v.streams {
		if private(s.Dst.Addr()) && public(s.Src.Addr()) {
			add(Evidence{Kind: "rtp-to-private", Frames: []int{s.FirstFrame, s.LastFrame},
				Text: fmt.Sprintf("RTP from %s is sent to the private address %s (frames %d-%d); it cannot cross a NAT",
					s.Src, s.Dst, s.FirstFrame, s.LastFrame)})
		}
		if want, ann, ok := v.expectedSource(s); ok && want != s.Src {
			add(Evidence{Kind: "symmetric-rtp", Frames: []int{ann, s.FirstFrame},
				Text: fmt.Sprintf("RTP to %s comes from %s, not from %s that the SDP of frame %d announced "+
					"(the sender is behind NAT, or the far end sends back to where RTP comes from: symmetric RTP)",
					s.Dst, s.Src, want, ann)})
		}
	}
	return out
}

// expectedSource is where the SDP said a stream's sender receives media,
// which symmetric RTP (RFC 4961) makes where it sends from: the latest
// address the other end of the announcing leg announced before the
// stream began.
func (v *view) expectedSource(s *Stream) (netip.AddrPort, int, bool) {
	a := s.Announced
	if a == nil {
		return netip.AddrPort{}, 0, false
	}
	l := v.legs[a.Leg]
	if l == nil {
		return netip.AddrPort{}, 0, false
	}
	mine := announcer(l, a)
	var best *Announcement
	var other netip.Addr
	for j := range l.Announcements {
		b := &l.Announcements[j]
		if b.Frame > s.FirstFrame || !b.usable() || b.Media.Type != a.Media.Type {
			continue
		}
		if e := announcer(l, b); e.IsValid() && e != mine {
			best, other = b, e
		}
	}
	// A B2BUA that points its peer at someone else's address (direct
	// media, or a glare's broken interim) does not send from there
	// itself: only an end's own address says where it sends from.
	if best == nil || v.whose(best.Endpoint()).end != other {
		return netip.AddrPort{}, 0, false
	}
	return best.Endpoint(), best.Frame, true
}

// private reports an address that does not route on the Internet: RFC
// 1918, RFC 6598 shared (carrier-grade NAT) space and IPv6 unique local.
func private(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || (a.Is4() && a.As4()[0] == 100 && a.As4()[1]&0xc0 == 64)
}

// public reports a global unicast address that is not private.
func public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !private(a)
}

func appendUnique(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}
