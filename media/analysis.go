package media

import "math"

// analysis is the per-stream arithmetic of Wireshark's RTP stream analysis
// (ui/tap-rtp-analysis.c, rtppacket_analyse, as shipped in Wireshark 4.0),
// which `tshark -z rtp,streams` prints. Users check a tool against
// Wireshark, so its figures are reproduced exactly, quirks included:
//
//   - jitter is RFC 3550 §6.4.1 / A.8, J += (|D| - J)/16, kept in
//     milliseconds; D compares arrival with the RTP timestamp measured
//     from the stream's first packet, the clock rate divided by 1000 in
//     integer arithmetic;
//   - a packet with the marker bit, comfort noise (PT 13 or 19), the packet
//     after comfort noise, or a timestamp behind the first packet's is
//     left out of the delta and jitter maxima and means;
//   - the means divide by the number of packets seen so far, so skipped
//     packets still count in the denominator;
//   - expected packets run from the first packet's sequence number to the
//     last packet's, plus wraps counted when a number falls below the
//     first one.
type analysis struct {
	total    int // packets analysed (Wireshark's total_nr)
	startSeq uint16
	stopSeq  uint16 // sequence number of the latest packet
	seqNum   uint16 // latest in-order sequence number
	cycles   int
	under    bool
	firstTS  uint32
	pt       uint8

	time        float64 // arrival (ms) of the latest packet in timestamp order
	lastNominal float64
	delta       float64
	jitter      float64

	maxDelta, meanDelta, minDelta    float64
	maxJitter, meanJitter, minJitter float64
	maxDeltaFrame                    int
	sequenceErrors                   int
	wrongTimestamps                  int
}

// Payload types that Wireshark treats as comfort noise (RFC 3389 and the
// old RFC 1890 assignment).
const (
	ptCN    = 13
	ptCNOld = 19
)

// add analyses one packet. now is its arrival in milliseconds; clock is
// the payload type's clock rate in Hz, 0 when unknown or when timestamps
// do not advance with time (telephone events, RFC 4733 §2.2.1).
func (a *analysis) add(seq uint16, ts uint32, pt uint8, marker bool, now float64, clock int, frame int) {
	if a.total == 0 {
		*a = analysis{
			total: 1, startSeq: seq, stopSeq: seq, seqNum: seq,
			firstTS: ts, pt: pt, time: now, minDelta: -1, minJitter: -1,
		}
		return
	}
	inTime := true
	switch d := int64(ts) - int64(a.firstTS); {
	case d >= 0 && d < 0x80000000:
	case d < 0 && int64(0xffffffff)-int64(a.firstTS)+int64(ts) < 0x80000000:
	default:
		inTime = false
		a.wrongTimestamps++
	}

	switch {
	case seq < a.startSeq && inTime && !a.under:
		a.cycles++
		a.under = true
	case seq == 0 && a.stopSeq == 65535 && inTime && !a.under:
		a.cycles++
		a.under = true
	case seq > a.startSeq && inTime && a.under:
		a.under = false
	}

	last, cur := int(a.seqNum), int(seq)
	switch {
	case inTime && last+1 == cur:
		a.seqNum = seq
	case inTime && last == 65535 && cur == 0:
		a.seqNum = seq
	case inTime && (last+1 < cur || last-cur > 0xff00):
		a.seqNum = seq
		a.sequenceErrors++
	case last+1 > cur:
		a.sequenceErrors++
	}

	cn := pt == ptCN || pt == ptCNOld
	followCN := a.pt == ptCN || a.pt == ptCNOld
	a.pt = pt

	khz := clock / 1000
	jitter := 0.0
	if inTime {
		if khz != 0 {
			nominal := float64(ts-a.firstTS) / float64(khz)
			expected := a.time + (nominal - a.lastNominal)
			jitter = (15*a.jitter + math.Abs(now-expected)) / 16
			a.delta = now - a.time
			a.jitter = jitter
			a.lastNominal = nominal
		} else {
			a.delta = now - a.time
		}
	}

	if !marker && !cn && inTime && !followCN {
		if a.delta > a.maxDelta {
			a.maxDelta = a.delta
			a.maxDeltaFrame = frame
		}
		if a.minDelta == -1 || a.delta < a.minDelta {
			a.minDelta = a.delta
		}
		n := float64(a.total)
		a.meanDelta = (a.meanDelta*(n-1) + a.delta) / n
		if khz != 0 {
			a.maxJitter = max(a.maxJitter, a.jitter)
			a.meanJitter = (a.meanJitter*(n-1) + jitter) / n
			if a.minJitter == -1 || a.jitter < a.minJitter {
				a.minJitter = a.jitter
			}
		}
	}
	if inTime {
		a.time = now
	}
	a.stopSeq = seq
	a.total++
}

// expected is the number of packets the sequence numbers span.
func (a *analysis) expected() int {
	if a.total == 0 {
		return 0
	}
	return int(a.stopSeq) + a.cycles*65536 - int(a.startSeq) + 1
}

// window remembers which of the latest 256 extended sequence numbers
// arrived (RFC 3550 A.1 extends the 16-bit number by counting wraps), to
// tell a duplicate from a late packet. Sequence numbers compare in serial
// number arithmetic (RFC 1982): up to 32767 ahead is ahead.
type window struct {
	started bool
	maxExt  int64
	bits    [4]uint64 // bit i: maxExt-i arrived
}

func (w *window) add(seq uint16) (duplicate, late bool) {
	if !w.started {
		w.started = true
		w.maxExt = int64(seq)
		w.bits[0] = 1
		return false, false
	}
	d := int(int16(seq - uint16(w.maxExt)))
	if d > 0 {
		w.shift(d)
		w.maxExt += int64(d)
		w.bits[0] |= 1
		return false, false
	}
	back := -d
	if back >= 256 {
		return false, true
	}
	word, bit := back/64, uint(back%64)
	if w.bits[word]&(1<<bit) != 0 {
		return true, false
	}
	w.bits[word] |= 1 << bit
	return false, true
}

func (w *window) shift(n int) {
	if n >= 256 {
		w.bits = [4]uint64{}
		return
	}
	words, bits := n/64, uint(n%64)
	for i := 3; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w.bits[j] << bits
			if bits != 0 && j-1 >= 0 {
				v |= w.bits[j-1] >> (64 - bits)
			}
		}
		w.bits[i] = v
	}
}

// staticClock is the clock rate of the static payload types (RFC 3551
// §6 and the IANA RTP parameters registry), 0 for unassigned ones.
func staticClock(pt uint8) int {
	switch {
	case pt <= 5 || pt == 7 || pt == 8 || pt == 9 || pt == 12 || pt == 13 || pt == 15 || pt == 18 || pt == 19:
		// G.722 is clocked at 8000 Hz for historical reasons (RFC 3551 §4.5.2).
		return 8000
	case pt == 6:
		return 16000
	case pt == 10 || pt == 11:
		return 44100
	case pt == 16:
		return 11025
	case pt == 17:
		return 22050
	case pt == 14 || pt == 25 || pt == 26 || pt == 28 || (pt >= 31 && pt <= 34):
		return 90000
	}
	return 0
}
