package media

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/sipscope/sipscope/decode"
)

// Options bound the Tracker's state. Zero values take the defaults.
type Options struct {
	// MaxStreams caps the streams held, live and finished (default
	// 20000); beyond it the oldest finished stream is dropped, else the
	// live stream silent longest is finished early. Both count as
	// evictions.
	MaxStreams int
	// MaxCandidates caps the unannounced flows on probation (default
	// 4096); the least recent is evicted.
	MaxCandidates int
	// MaxEndpoints caps the announced addresses remembered (default
	// 65536); the oldest announcement is forgotten first.
	MaxEndpoints int
	// MinSequential is how many packets in sequence an unannounced flow
	// needs before it counts as an RTP stream (default 3). RFC 3550 A.1
	// asks for 2 from a source already known to send RTP; a flow no SDP
	// announced gets one more.
	MinSequential int
	// Idle finishes a stream silent this long in packet time (default
	// 5 minutes, so held calls keep their streams whole).
	Idle time.Duration
	// SpanGap splits a stream's activity into spans (default 500 ms).
	SpanGap time.Duration
	// OnFinish, when set, receives each stream as it is finished, in
	// order of first frame within one sweep, and the tracker forgets it.
	// When nil, finished streams are kept for Streams.
	OnFinish func(*Stream)
}

func (o Options) withDefaults() Options {
	if o.MaxStreams <= 0 {
		o.MaxStreams = 20000
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 4096
	}
	if o.MaxEndpoints <= 0 {
		o.MaxEndpoints = 65536
	}
	if o.MinSequential <= 0 {
		o.MinSequential = 3
	}
	if o.Idle <= 0 {
		o.Idle = 5 * time.Minute
	}
	if o.SpanGap <= 0 {
		o.SpanGap = 500 * time.Millisecond
	}
	return o
}

// Counters say what the tracker saw and what it had to drop.
type Counters struct {
	Datagrams        int `json:"datagrams"`
	RTP              int `json:"rtp"`               // packets counted in streams
	RTCP             int `json:"rtcp"`              // RTCP datagrams read
	RTCPUnmatched    int `json:"rtcp_unmatched"`    // reports about no stream we know
	Other            int `json:"other"`             // STUN, DTLS, ZRTP, TURN channel data
	NotMedia         int `json:"not_media"`         // neither, or failing the header checks
	Promoted         int `json:"promoted"`          // unannounced flows accepted as streams
	CandidatePackets int `json:"candidate_packets"` // packets of flows dropped before promotion
	EvictedStreams   int `json:"evicted_streams"`
	EvictedFlows     int `json:"evicted_candidates"`
	Finished         int `json:"finished"`
}

type streamKey struct {
	src, dst netip.AddrPort
	ssrc     uint32
}

type flowKey struct {
	src, dst netip.AddrPort
}

type originKey struct {
	src  netip.AddrPort
	ssrc uint32
}

// candidateDepth is how many packets of an unannounced flow are held
// until it proves to be RTP, then replayed so that no packet is missed.
const candidateDepth = 8

type candidate struct {
	pkts    [candidateDepth]heldPacket
	n       int
	run     int // packets in sequence so far
	last    Header
	lastAt  time.Time
	lastFr  int
	dropped int
}

type heldPacket struct {
	h     Header
	frame int
	at    time.Time
	pl    [8]byte
	plLen int
}

// Tracker finds RTP streams and RTCP in UDP datagrams and measures them.
// It is not safe for concurrent use.
type Tracker struct {
	opt Options

	live map[streamKey]*Stream
	// recent holds live streams by a cheap hash of their key, in front
	// of live: hashing two addresses for the map costs as much as the
	// rest of counting a packet.
	recent  [recentSlots]*Stream
	done    []*Stream
	flows   map[flowKey]*flowState
	origins map[originKey]*originState
	bySSRC  map[uint32][]*Stream
	// byEnd holds live streams by source and by destination, so that the
	// streams of a finished leg are found from its announced addresses.
	byEnd map[netip.AddrPort][]*Stream
	// waiting holds live streams whose destination no SDP announced yet,
	// by destination, so a later announcement can claim them.
	waiting map[netip.AddrPort][]*Stream

	rtpEnds  map[netip.AddrPort]*Announcement
	rtcpEnds map[netip.AddrPort]*Announcement
	endOrder []endEntry // announcement order, for forgetting the oldest
	// byLeg lists each leg's announcements, so ForgetLeg needs no scan.
	byLeg map[string][]endEntry
	// stale counts the entries of endOrder whose announcement no longer
	// names its address (a later one took it over, or its leg was
	// forgotten), so that the queue is compacted before they pile up.
	stale int

	cands map[streamKey]*candidate

	base      time.Time
	started   bool
	nextSweep time.Time

	count Counters

	pkt      packet
	compound Compound
	order    int // creation order of streams, for stable sorting
}

type endEntry struct {
	ep   netip.AddrPort
	rtcp bool
	ann  *Announcement
}

// NewTracker returns a Tracker with the given bounds.
func NewTracker(opt Options) *Tracker {
	return &Tracker{
		opt:      opt.withDefaults(),
		live:     make(map[streamKey]*Stream),
		flows:    make(map[flowKey]*flowState),
		origins:  make(map[originKey]*originState),
		bySSRC:   make(map[uint32][]*Stream),
		byEnd:    make(map[netip.AddrPort][]*Stream),
		waiting:  make(map[netip.AddrPort][]*Stream),
		rtpEnds:  make(map[netip.AddrPort]*Announcement),
		rtcpEnds: make(map[netip.AddrPort]*Announcement),
		byLeg:    make(map[string][]endEntry),
		cands:    make(map[streamKey]*candidate),
	}
}

// Counters returns what the tracker has counted so far.
func (t *Tracker) Counters() Counters { return t.count }

// clock starts the tracker's time base and runs the idle sweep as packet
// time passes.
func (t *Tracker) clock(now time.Time) {
	if now.IsZero() {
		return
	}
	if !t.started {
		t.started = true
		t.base = now
		t.nextSweep = now.Add(time.Second)
		return
	}
	if now.After(t.nextSweep) {
		t.nextSweep = now.Add(time.Second)
		t.sweep(now)
	}
}

// Datagram takes one UDP payload that is not SIP. Payloads that are not
// RTP or RTCP are counted and ignored. Counting an RTP packet of a known
// stream allocates nothing.
func (t *Tracker) Datagram(m *decode.Meta, payload []byte) {
	t.count.Datagrams++
	t.clock(m.Time)
	switch Demux(payload) {
	case KindRTP:
	case KindRTCP:
		t.rtcp(m, payload)
		return
	case KindUnknown:
		t.count.NotMedia++
		return
	default:
		t.count.Other++
		return
	}
	p := &t.pkt
	if p.h.parse(payload) != rtpOK {
		t.count.NotMedia++
		return
	}
	p.frame, p.at = m.Frame, m.Time
	p.ms = float64(m.Time.Sub(t.base)) / float64(time.Millisecond)
	p.payload = payload[p.h.PayloadOffset : p.h.PayloadOffset+p.h.PayloadLength]
	slot := &t.recent[recentSlot(m.Src, m.Dst, p.h.SSRC)]
	if s := *slot; s != nil && s.SSRC == p.h.SSRC && s.Dst == m.Dst && s.Src == m.Src {
		t.count.RTP++
		s.add(p, t.opt.SpanGap)
		return
	}
	key := streamKey{src: m.Src, dst: m.Dst, ssrc: p.h.SSRC}
	if s := t.live[key]; s != nil {
		*slot = s
		t.count.RTP++
		s.add(p, t.opt.SpanGap)
		return
	}
	dstAnn, srcAnn := t.rtpEnds[m.Dst], t.rtpEnds[m.Src]
	if dstAnn == nil && srcAnn == nil {
		t.probation(key, p)
		return
	}
	s := t.newStream(key, dstAnn, srcAnn)
	t.count.RTP++
	s.add(p, t.opt.SpanGap)
}

// probation holds the packets of an unannounced flow until enough of
// them arrive in sequence (RFC 3550 A.1's probation), then replays them
// into a new stream.
func (t *Tracker) probation(key streamKey, p *packet) {
	c := t.cands[key]
	if c == nil {
		if len(t.cands) >= t.opt.MaxCandidates {
			t.evictCandidate()
		}
		c = &candidate{}
		t.cands[key] = c
	}
	switch {
	case c.n == 0 && c.dropped == 0:
		c.run = 1
	case p.h.SequenceNumber == c.last.SequenceNumber+1 && int32(p.h.Timestamp-c.last.Timestamp) >= 0:
		c.run++
	default:
		c.run = 1
	}
	c.last, c.lastAt, c.lastFr = p.h, p.at, p.frame
	if c.n == candidateDepth {
		copy(c.pkts[:], c.pkts[1:])
		c.n--
		c.dropped++
		t.count.CandidatePackets++
	}
	hp := &c.pkts[c.n]
	hp.h, hp.frame, hp.at = p.h, p.frame, p.at
	hp.plLen = copy(hp.pl[:], p.payload)
	c.n++
	if c.run < t.opt.MinSequential {
		return
	}
	delete(t.cands, key)
	t.count.Promoted++
	s := t.newStream(key, nil, nil)
	var q packet
	for i := range c.n {
		hp := &c.pkts[i]
		q.h, q.frame, q.at = hp.h, hp.frame, hp.at
		q.ms = float64(hp.at.Sub(t.base)) / float64(time.Millisecond)
		q.payload = hp.pl[:hp.plLen]
		t.count.RTP++
		s.add(&q, t.opt.SpanGap)
	}
}

// recentSlots is the size of Tracker.recent: a few times the streams of
// a busy capture, so that most have a slot of their own.
const (
	recentBits  = 12
	recentSlots = 1 << recentBits
)

// recentSlot hashes a stream key by its ports and SSRC, which tell the
// streams of one host apart, far more cheaply than the map's hash.
func recentSlot(src, dst netip.AddrPort, ssrc uint32) int {
	h := (ssrc ^ uint32(src.Port())<<16 ^ uint32(dst.Port())) * 0x9e3779b1
	return int(h >> (32 - recentBits))
}

func (t *Tracker) evictCandidate() {
	var oldK streamKey
	var old *candidate
	for k, c := range t.cands {
		if old == nil || c.lastFr < old.lastFr {
			oldK, old = k, c
		}
	}
	if old != nil {
		t.count.CandidatePackets += old.n
		t.count.EvictedFlows++
		delete(t.cands, oldK)
	}
}

func (t *Tracker) newStream(key streamKey, dst, src *Announcement) *Stream {
	if len(t.live)+len(t.done) >= t.opt.MaxStreams {
		t.evictStream()
	}
	fk := flowKey{key.src, key.dst}
	fl := t.flows[fk]
	if fl == nil {
		fl = &flowState{ssrc: key.ssrc}
		t.flows[fk] = fl
	}
	fl.refs++
	ok := originKey{key.src, key.ssrc}
	or := t.origins[ok]
	if or == nil {
		or = &originState{}
		t.origins[ok] = or
	}
	or.refs++
	t.order++
	s := &Stream{
		Src: key.src, Dst: key.dst, SSRC: key.ssrc,
		Announced: dst, SourceAnnounced: src,
		flow: fl, origin: or, originFirst: or.packets + 1,
		curPT: -1, order: t.order,
	}
	t.live[key] = s
	t.bySSRC[key.ssrc] = append(t.bySSRC[key.ssrc], s)
	t.byEnd[key.dst] = append(t.byEnd[key.dst], s)
	if key.src != key.dst {
		t.byEnd[key.src] = append(t.byEnd[key.src], s)
	}
	if dst == nil {
		t.waiting[key.dst] = append(t.waiting[key.dst], s)
	}
	return s
}

// evictStream makes room for a new stream: the oldest finished stream
// goes first, else the live one silent longest is finished early.
func (t *Tracker) evictStream() {
	t.count.EvictedStreams++
	if len(t.done) > 0 {
		t.done[0] = nil
		t.done = t.done[1:]
		return
	}
	var victim *Stream
	for _, s := range t.live {
		if victim == nil || s.LastFrame < victim.LastFrame {
			victim = s
		}
	}
	if victim != nil {
		t.finish([]*Stream{victim}, false)
	}
}

// sweep finishes streams idle longer than Options.Idle and forgets
// candidates that stopped short of promotion.
func (t *Tracker) sweep(now time.Time) {
	var idle []*Stream
	for _, s := range t.live {
		if now.Sub(s.Last) > t.opt.Idle {
			idle = append(idle, s)
		}
	}
	t.finish(idle, true)
	for k, c := range t.cands {
		if now.Sub(c.lastAt) > candidateIdle {
			t.count.CandidatePackets += c.n
			delete(t.cands, k)
		}
	}
}

// candidateIdle is how long an unannounced flow may pause during its
// probation; RTP at any usual packet rate sends several packets in it.
const candidateIdle = 5 * time.Second

// Flush finishes every live stream, as at the end of a capture.
func (t *Tracker) Flush() {
	all := make([]*Stream, 0, len(t.live))
	for _, s := range t.live {
		all = append(all, s)
	}
	t.finish(all, true)
}

func (t *Tracker) finish(ss []*Stream, keep bool) {
	slices.SortFunc(ss, byFirstFrame)
	for _, s := range ss {
		delete(t.live, streamKey{s.Src, s.Dst, s.SSRC})
		if slot := &t.recent[recentSlot(s.Src, s.Dst, s.SSRC)]; *slot == s {
			*slot = nil
		}
		t.unindex(s)
		s.settle()
		s.Finished = true
		t.count.Finished++
		if t.opt.OnFinish != nil {
			t.opt.OnFinish(s)
		} else if keep {
			t.done = append(t.done, s)
		}
	}
}

func (t *Tracker) unindex(s *Stream) {
	if l := slices.DeleteFunc(t.bySSRC[s.SSRC], func(x *Stream) bool { return x == s }); len(l) == 0 {
		delete(t.bySSRC, s.SSRC)
	} else {
		t.bySSRC[s.SSRC] = l
	}
	for _, ep := range [2]netip.AddrPort{s.Dst, s.Src} {
		if l := slices.DeleteFunc(t.byEnd[ep], func(x *Stream) bool { return x == s }); len(l) == 0 {
			delete(t.byEnd, ep)
		} else {
			t.byEnd[ep] = l
		}
	}
	if ws, ok := t.waiting[s.Dst]; ok {
		if l := slices.DeleteFunc(ws, func(x *Stream) bool { return x == s }); len(l) == 0 {
			delete(t.waiting, s.Dst)
		} else {
			t.waiting[s.Dst] = l
		}
	}
	if s.flow.refs--; s.flow.refs == 0 {
		delete(t.flows, flowKey{s.Src, s.Dst})
	}
	if s.origin.refs--; s.origin.refs == 0 {
		delete(t.origins, originKey{s.Src, s.SSRC})
	}
}

// Streams returns the streams held, live and finished, with their derived
// figures brought up to date, sorted by first frame.
func (t *Tracker) Streams() []*Stream {
	out := make([]*Stream, 0, len(t.live)+len(t.done))
	out = append(out, t.done...)
	for _, s := range t.live {
		s.settle()
		out = append(out, s)
	}
	slices.SortFunc(out, byFirstFrame)
	return out
}

func byFirstFrame(a, b *Stream) int {
	return cmp.Or(cmp.Compare(a.FirstFrame, b.FirstFrame), cmp.Compare(a.order, b.order))
}
