package media

import (
	"math"
	"strings"
	"time"
)

// A stream's quality over time is kept as at most seriesCap samples, one
// per interval of its life. Intervals start at seriesStep and double
// whenever the samples would overflow, so a stream of any length costs
// the same bounded memory, allocated once, and a packet only updates the
// latest sample.
const (
	seriesCap  = 64
	seriesStep = 250 * time.Millisecond
)

// Sample is a stream's quality at the end of one interval of its life.
type Sample struct {
	// Time (to the millisecond) and Frame are the interval's last
	// packet.
	Time  time.Time
	Frame int
	// JitterMs is the highest RFC 3550 interarrival jitter (as Stream's
	// MaxJitterMs computes it) in the interval.
	JitterMs float64
	// Lost is the packets missing from the stream's start to Time, by
	// sequence numbers; negative when duplicates outnumber losses.
	Lost int
}

// sample is Sample without the stream's start time, kept small because
// every stream holds up to seriesCap of them.
type sample struct {
	at     uint32 // milliseconds after the stream's first packet
	frame  uint32
	jitter float32
	lost   int32
}

type series struct {
	pts  []sample
	step uint32 // interval length in milliseconds
	// end is where the interval of the latest sample ends, in
	// milliseconds, so that a packet finds its interval without a
	// division.
	end uint64
}

// add records a packet arriving at ms milliseconds into the stream.
func (q *series) add(ms uint32, frame int, jitter float64, lost int) {
	if q.pts == nil {
		q.pts = make([]sample, 0, seriesCap)
		q.step = uint32(seriesStep / time.Millisecond)
	}
	p := sample{at: ms, frame: clampU32(frame), jitter: float32(jitter), lost: clampI32(lost)}
	n := len(q.pts)
	if n > 0 && uint64(ms) < q.end {
		q.replace(p)
		return
	}
	for n == seriesCap {
		q.widen()
		n = len(q.pts)
		if n > 0 && uint64(ms) < q.end {
			q.replace(p)
			return
		}
	}
	q.pts = append(q.pts, p)
	q.setEnd()
}

// replace puts p in place of the latest sample, whose interval it falls
// in or precedes.
func (q *series) replace(p sample) {
	last := &q.pts[len(q.pts)-1]
	p.jitter = max(p.jitter, last.jitter)
	*last = p
	if uint64(p.at)+uint64(q.step) < q.end {
		q.setEnd() // a late packet moved the sample to an earlier interval
	}
}

func (q *series) setEnd() {
	at := uint64(q.pts[len(q.pts)-1].at)
	q.end = (at/uint64(q.step) + 1) * uint64(q.step)
}

// widen doubles the interval and merges the samples that now share one,
// in place. A stream with gaps may need more than one doubling before
// there is room; each at least keeps the count from growing.
func (q *series) widen() {
	if q.step > math.MaxUint32/2 {
		q.pts = q.pts[len(q.pts)-1:]
		return
	}
	q.step *= 2
	out := q.pts[:0]
	for _, p := range q.pts {
		if n := len(out); n > 0 && p.at/q.step == out[n-1].at/q.step {
			p.jitter = max(p.jitter, out[n-1].jitter)
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	q.pts = out
	q.setEnd()
}

// Series returns the stream's quality over its life: jitter and loss so
// far, at most 64 samples at even intervals. The loss counts packets by
// sequence number, before the final figures discount the ones the sender
// sent elsewhere (Redirected).
func (s *Stream) Series() []Sample {
	out := make([]Sample, len(s.series.pts))
	for i, p := range s.series.pts {
		out[i] = Sample{
			Time:     s.First.Add(time.Duration(p.at) * time.Millisecond),
			Frame:    int(p.frame),
			JitterMs: min(float64(p.jitter), s.a.maxJitter), // float32 may round up
			Lost:     int(p.lost),
		}
	}
	return out
}

// Shed frees what only plots and explanations read, once a finished
// stream is kept for its figures alone: the series, and the announcements
// (AnnouncedByFrame and AnnouncedLeg still name the one that mattered).
// Series is empty afterwards.
func (s *Stream) Shed() {
	s.series = series{}
	s.Announced, s.SourceAnnounced = nil, nil
	s.AnnouncedLeg = strings.Clone(s.AnnouncedLeg)
}

// record adds the packet just counted to the stream's series.
func (s *Stream) record(p *packet) {
	d := p.at.Sub(s.First).Milliseconds()
	// The maxima leave out some packets (markers, comfort noise); capping
	// by the maximum keeps the series within the stream's figures.
	s.series.add(uint32(min(max(d, 0), math.MaxUint32)), p.frame, min(s.a.jitter, s.a.maxJitter), s.a.expected()-s.a.total)
}

func clampU32(v int) uint32 { return uint32(min(max(v, 0), math.MaxUint32)) }

func clampI32(v int) int32 { return int32(min(max(v, math.MinInt32), math.MaxInt32)) }
