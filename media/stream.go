package media

import (
	"net/netip"
	"strings"
	"time"

	"github.com/sipscope/sipscope/sdp"
)

// maxSpans bounds the activity spans kept per stream; later gaps extend
// the last span.
const maxSpans = 64

// Stream is one RTP stream: the packets of one SSRC from one source
// address:port to one destination address:port. A sender that moves to
// another destination (after a re-INVITE, say) starts another Stream; what
// it sent elsewhere is not counted as lost here.
//
// The counters are updated as packets arrive; the derived figures
// (Expected, Lost, LostPct, PayloadType, Codec, Duration and the means)
// are filled in by Tracker.Streams and when the stream is finished.
type Stream struct {
	Src  netip.AddrPort `json:"src"`
	Dst  netip.AddrPort `json:"dst"`
	SSRC uint32         `json:"ssrc"`

	// PayloadType and Codec are the stream's main payload: the one with
	// most packets, telephone events and comfort noise aside.
	PayloadType  uint8            `json:"payload_type"`
	Codec        string           `json:"codec"`
	ClockRate    int              `json:"clock_rate,omitempty"`
	PayloadTypes []PayloadTypeUse `json:"payload_types"`

	Packets int `json:"packets"`
	// Expected and Lost follow the sequence numbers from the first
	// packet to the last, as Wireshark counts them; Lost is negative when
	// duplicates outnumber losses. Packets that the same sender sent, with
	// the same SSRC, to another destination while this stream ran are
	// Redirected, not lost.
	Expected   int     `json:"expected"`
	Lost       int     `json:"lost"`
	LostPct    float64 `json:"lost_pct"`
	Redirected int     `json:"redirected,omitempty"`
	Duplicates int     `json:"duplicates"`
	OutOfOrder int     `json:"out_of_order"` // late: behind a later number, not seen before
	// SequenceErrors counts packets whose number did not follow the
	// previous one (gaps, late packets, duplicates), as Wireshark does.
	SequenceErrors  int `json:"sequence_errors"`
	WrongTimestamps int `json:"wrong_timestamps,omitempty"`
	Markers         int `json:"markers"`

	MaxDeltaMs    float64 `json:"max_delta_ms"`
	MaxDeltaFrame int     `json:"max_delta_frame,omitempty"`
	MeanDeltaMs   float64 `json:"mean_delta_ms"`
	MaxJitterMs   float64 `json:"max_jitter_ms"`
	MeanJitterMs  float64 `json:"mean_jitter_ms"`

	FirstFrame int           `json:"first_frame"`
	LastFrame  int           `json:"last_frame"`
	First      time.Time     `json:"first"`
	Last       time.Time     `json:"last"`
	Duration   time.Duration `json:"duration_ns"`
	// Spans are the stretches of activity, split where the stream fell
	// silent for longer than Options.SpanGap.
	Spans []Span `json:"spans"`

	// SSRCChanges counts how often the sender switched this flow (source
	// to destination) to this SSRC from another one; ReplacedSSRC is the
	// one it replaced first, at ChangeFrame.
	SSRCChanges  int    `json:"ssrc_changes,omitempty"`
	ReplacedSSRC uint32 `json:"replaced_ssrc,omitempty"`
	ChangeFrame  int    `json:"ssrc_change_frame,omitempty"`

	// Announced is the SDP that announced the destination, the latest one
	// before the stream's first packet; SourceAnnounced the SDP that
	// announced the source, when it did. A stream with neither was found
	// by its RTP headers alone and is Unannounced.
	Announced        *Announcement `json:"-"`
	AnnouncedByFrame int           `json:"announced_by_frame"` // 0: none
	AnnouncedLeg     string        `json:"announced_by_leg,omitempty"`
	SourceAnnounced  *Announcement `json:"-"`
	Unannounced      bool          `json:"unannounced,omitempty"`

	DTMF          []Event `json:"dtmf"`
	EventsDropped int     `json:"events_dropped,omitempty"`

	RTCP RTCPStats `json:"rtcp"`

	// Finished is set once the stream has been idle for Options.Idle or
	// the tracker was flushed.
	Finished bool `json:"finished,omitempty"`

	a      analysis
	win    window
	series series

	flow   *flowState
	origin *originState
	// originFirst and originLast are the origin's packet count at this
	// stream's first and latest packet.
	originFirst, originLast int

	// The current payload type, cached so the hot path looks codecs up
	// only when it changes.
	curPT    int // -1 before the first packet
	curIdx   int
	curClock int // for the jitter arithmetic
	curEvent bool
	eventHz  int

	order int // creation order, to sort streams replayed from probation
}

// PayloadTypeUse is one payload type seen on a stream.
type PayloadTypeUse struct {
	PT        uint8  `json:"pt"`
	Codec     string `json:"codec,omitempty"` // from the SDP, else the static table
	ClockRate int    `json:"clock_rate,omitempty"`
	Packets   int    `json:"packets"`
	Event     bool   `json:"event,omitempty"` // RFC 4733 telephone-event
}

// Span is a stretch of a stream without a silence longer than the gap.
type Span struct {
	FirstFrame int       `json:"first_frame"`
	LastFrame  int       `json:"last_frame"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	Packets    int       `json:"packets"`
}

// RTCPStats is what RTCP said about a stream, beside our own figures.
type RTCPStats struct {
	// Reports counts the report blocks about this stream, sent by its
	// receiver; the figures below are from the latest one.
	Reports         int     `json:"reports,omitempty"`
	LastReportFrame int     `json:"last_report_frame,omitempty"`
	FractionLostPct float64 `json:"fraction_lost_pct,omitempty"`
	CumulativeLost  int     `json:"cumulative_lost,omitempty"`
	JitterMs        float64 `json:"jitter_ms,omitempty"`
	MaxJitterMs     float64 `json:"max_jitter_ms,omitempty"`
	// SenderReports counts the SRs from this stream's sender.
	SenderReports   int    `json:"sender_reports,omitempty"`
	LastSenderFrame int    `json:"last_sender_frame,omitempty"`
	SenderPackets   uint32 `json:"sender_packets,omitempty"`
	CNAME           string `json:"cname,omitempty"`
	ByeFrame        int    `json:"bye_frame,omitempty"`
}

// flowState follows one source-to-destination flow across SSRCs.
type flowState struct {
	ssrc uint32
	refs int // live streams on the flow
}

// originState counts the packets of one sender and SSRC to any
// destination, so a stream can tell packets sent elsewhere from lost ones.
type originState struct {
	packets int
	refs    int
}

// packet is what the hot path needs of one RTP packet.
type packet struct {
	h     Header
	frame int
	at    time.Time
	ms    float64 // arrival relative to the tracker's first packet
	// payload is the RTP payload (padding removed); it aliases the
	// caller's buffer and is read only during the call.
	payload []byte
}

// add counts one packet. It allocates only when the stream meets a new
// payload type, a new telephone event or a new span.
func (s *Stream) add(p *packet, spanGap time.Duration) {
	if s.Packets == 0 {
		s.FirstFrame, s.First = p.frame, p.at
	}
	s.Packets++
	s.LastFrame, s.Last = p.frame, p.at
	s.origin.packets++
	s.originLast = s.origin.packets
	if s.flow.ssrc != s.SSRC {
		if s.SSRCChanges == 0 {
			s.ReplacedSSRC, s.ChangeFrame = s.flow.ssrc, p.frame
		}
		s.flow.ssrc = s.SSRC
		s.SSRCChanges++
	}
	s.span(p, spanGap)
	if p.h.Marker {
		s.Markers++
	}
	if int(p.h.PayloadType) != s.curPT {
		s.switchPT(p)
	}
	s.PayloadTypes[s.curIdx].Packets++
	if s.curEvent {
		if ev, ok := parseEvent(p.payload); ok && (s.PayloadTypes[s.curIdx].Codec != "" || plausibleEvent(p.payload)) {
			s.addEvent(ev, p.h.Timestamp, p.frame, p.at, s.eventHz)
		}
	}
	s.a.add(p.h.SequenceNumber, p.h.Timestamp, p.h.PayloadType, p.h.Marker, p.ms, s.curClock, p.frame)
	s.record(p)
	dup, late := s.win.add(p.h.SequenceNumber)
	if dup {
		s.Duplicates++
	} else if late {
		s.OutOfOrder++
	}
}

func (s *Stream) span(p *packet, gap time.Duration) {
	n := len(s.Spans)
	// After and Add, not Sub: on every packet, Sub's overflow check costs
	// more than the rest of this function.
	if n == 0 || (p.at.After(s.Spans[n-1].Last.Add(gap)) && n < maxSpans) {
		s.Spans = append(s.Spans, Span{FirstFrame: p.frame, LastFrame: p.frame, First: p.at, Last: p.at, Packets: 1})
		return
	}
	sp := &s.Spans[n-1]
	sp.LastFrame, sp.Last = p.frame, p.at
	sp.Packets++
}

// switchPT finds or adds the payload type of p and caches its clock rate
// and whether it carries telephone events.
func (s *Stream) switchPT(p *packet) {
	pt := p.h.PayloadType
	s.curPT = int(pt)
	for i := range s.PayloadTypes {
		if s.PayloadTypes[i].PT == pt {
			s.curIdx = i
			s.setCurrent(&s.PayloadTypes[i], pt)
			return
		}
	}
	u := PayloadTypeUse{PT: pt}
	if c, ok := s.codec(pt); ok {
		u.Codec, u.ClockRate = c.Name, c.Rate
		u.Event = strings.EqualFold(c.Name, "telephone-event")
	} else if pt >= 96 && plausibleEvent(p.payload) {
		// No SDP names this dynamic type, but it carries RFC 4733 events.
		u.Event = true
	}
	s.PayloadTypes = append(s.PayloadTypes, u)
	s.curIdx = len(s.PayloadTypes) - 1
	s.setCurrent(&s.PayloadTypes[s.curIdx], pt)
}

func (s *Stream) setCurrent(u *PayloadTypeUse, pt uint8) {
	s.curEvent = u.Event
	switch {
	case pt < 96:
		// Wireshark takes static types' rates from its table whatever
		// the SDP says; so do we, to measure jitter the same way.
		s.curClock = staticClock(pt)
	case u.Event || u.Codec == "":
		s.curClock = 0
	default:
		s.curClock = u.ClockRate
	}
	if u.Event {
		s.eventHz = u.ClockRate
	}
}

// renameCodecs names the payload types already seen again, after an SDP
// claimed the stream late.
func (s *Stream) renameCodecs() {
	for i := range s.PayloadTypes {
		u := &s.PayloadTypes[i]
		if c, ok := s.codec(u.PT); ok {
			u.Codec, u.ClockRate = c.Name, c.Rate
			u.Event = strings.EqualFold(c.Name, "telephone-event")
		}
	}
	s.curPT = -1
}

// codec names a payload type from the SDP that announced the destination,
// else the one that announced the source, else the static table.
func (s *Stream) codec(pt uint8) (sdp.Codec, bool) {
	for _, a := range [2]*Announcement{s.Announced, s.SourceAnnounced} {
		if a == nil {
			continue
		}
		for _, c := range a.Media.Codecs {
			if c.PT == pt {
				return c, true
			}
		}
	}
	return sdp.StaticCodec(pt)
}

// settle fills in the derived figures.
func (s *Stream) settle() {
	s.Expected = s.a.expected()
	lost := s.Expected - s.a.total
	s.Redirected = (s.originLast - s.originFirst + 1) - s.Packets
	if lost > 0 && s.Redirected > 0 {
		moved := min(lost, s.Redirected)
		lost -= moved
		s.Expected -= moved
	}
	s.Lost = lost
	s.LostPct = 0
	if s.Expected != 0 {
		s.LostPct = float64(s.Lost) * 100 / float64(s.Expected)
	}
	s.SequenceErrors = s.a.sequenceErrors
	s.WrongTimestamps = s.a.wrongTimestamps
	s.MaxDeltaMs, s.MaxDeltaFrame, s.MeanDeltaMs = s.a.maxDelta, s.a.maxDeltaFrame, s.a.meanDelta
	s.MaxJitterMs, s.MeanJitterMs = s.a.maxJitter, s.a.meanJitter
	s.Duration = s.Last.Sub(s.First)
	if i := s.mainPT(); i >= 0 {
		u := s.PayloadTypes[i]
		s.PayloadType, s.Codec, s.ClockRate = u.PT, u.Codec, u.ClockRate
		if s.ClockRate == 0 {
			s.ClockRate = staticClock(u.PT)
		}
	}
	s.AnnouncedByFrame, s.AnnouncedLeg = 0, ""
	if s.Announced != nil {
		s.AnnouncedByFrame, s.AnnouncedLeg = s.Announced.Frame, s.Announced.Leg
	}
	s.Unannounced = s.Announced == nil && s.SourceAnnounced == nil
	if s.DTMF == nil {
		s.DTMF = []Event{}
	}
}

// mainPT is the index of the payload type with most packets, telephone
// events and comfort noise aside unless there is nothing else; -1 before
// the first packet.
func (s *Stream) mainPT() int {
	best := -1
	for i, u := range s.PayloadTypes {
		if u.Event || u.PT == ptCN || u.PT == ptCNOld {
			continue
		}
		if best < 0 || u.Packets > s.PayloadTypes[best].Packets {
			best = i
		}
	}
	if best < 0 && len(s.PayloadTypes) > 0 {
		best = 0
	}
	return best
}
