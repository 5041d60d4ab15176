package scenario

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strings"
	"time"
)

// RTP as the hosts send it: G.711 at 8 kHz in 20 ms frames (RFC 3551
// §4.5.14), RFC 4733 telephone-events, RTCP sender reports every five
// seconds (RFC 3550 §6.2 gives five seconds as the minimum interval).
const (
	sampleRate   = 8000
	frameTime    = 20 * time.Millisecond
	frameSamples = sampleRate / 50
	rtcpInterval = 5 * time.Second
	// tePT is the payload type the hosts give telephone-event.
	tePT = 101
	// digitTime and digitGap are how long a pressed digit lasts and the
	// pause before the next one.
	digitTime = 100 * time.Millisecond
	digitGap  = 100 * time.Millisecond
	// teEnds is how often the end of an event is sent (RFC 4733 §2.5.1.4).
	teEnds     = 3
	dtmfDigits = "0123456789*#ABCD"
	maxDigits  = 32
	amplitude  = 8000.0
)

// g711 maps Asterisk's codec names to their static payload types.
var g711 = map[string]struct {
	pt   uint8
	name string
}{
	"ulaw": {0, "PCMU"},
	"alaw": {8, "PCMA"},
}

// codecOfPT is the Asterisk name of a G.711 payload type.
func codecOfPT(pt uint8) string {
	for name, c := range g711 {
		if c.pt == pt {
			return name
		}
	}
	return ""
}

// linearToULaw encodes a 16-bit sample (ITU-T G.711 µ-law).
func linearToULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; exp > 0 && x&mask == 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// uLawToLinear decodes a µ-law byte.
func uLawToLinear(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 7
	x := (int(u&0x0f)<<3 + 0x84) << exp
	x -= 0x84
	if u&0x80 != 0 {
		return int16(-x)
	}
	return int16(x)
}

// linearToALaw encodes a 16-bit sample (ITU-T G.711 A-law).
func linearToALaw(s int16) byte {
	x := int(s)
	sign := 0x80
	if x < 0 {
		x, sign = -x-1, 0
	}
	x = min(x, 32767) >> 3
	var out int
	if x < 32 {
		out = x >> 1
	} else {
		exp := 1
		for v := x >> 5; v > 1; v >>= 1 {
			exp++
		}
		out = exp<<4 | (x>>exp)&0x0f
	}
	return byte(out|sign) ^ 0x55
}

// aLawToLinear decodes an A-law byte.
func aLawToLinear(a byte) int16 {
	a ^= 0x55
	exp := int(a>>4) & 7
	mant := int(a & 0x0f)
	var x int
	if exp == 0 {
		x = mant<<4 + 8
	} else {
		x = (mant<<4 + 0x108) << (exp - 1)
	}
	if a&0x80 == 0 {
		return int16(-x)
	}
	return int16(x)
}

func encodeG711(codec string, pcm []int16, out []byte) []byte {
	for _, s := range pcm {
		if codec == "alaw" {
			out = append(out, linearToALaw(s))
		} else {
			out = append(out, linearToULaw(s))
		}
	}
	return out
}

func decodeG711(codec string, payload []byte, pcm []int16) []int16 {
	for _, b := range payload {
		if codec == "alaw" {
			pcm = append(pcm, aLawToLinear(b))
		} else {
			pcm = append(pcm, uLawToLinear(b))
		}
	}
	return pcm
}

// dtmfFreqs are the row and column tones of each key (ITU-T Q.23).
func dtmfFreqs(d byte) (float64, float64) {
	const keys = "123A456B789C*0#D"
	i := strings.IndexByte(keys, d)
	if i < 0 {
		return 0, 0
	}
	rows := [4]float64{697, 770, 852, 941}
	cols := [4]float64{1209, 1336, 1477, 1633}
	return rows[i/4], cols[i%4]
}

// dtmfEvent is the RFC 4733 §3.2 event code of a key.
func dtmfEvent(d byte) byte {
	switch {
	case d >= '0' && d <= '9':
		return d - '0'
	case d == '*':
		return 10
	case d == '#':
		return 11
	case d >= 'A' && d <= 'D':
		return 12 + d - 'A'
	}
	return 0
}

func eventDigit(e byte) byte {
	switch {
	case e <= 9:
		return '0' + e
	case e == 10:
		return '*'
	case e == 11:
		return '#'
	case e <= 15:
		return 'A' + e - 12
	}
	return '?'
}

// oscillator makes one frame of a sum of sine tones at a time.
type oscillator struct {
	freqs []float64
	phase []float64
}

func newOscillator(freqs ...float64) *oscillator {
	return &oscillator{freqs: freqs, phase: make([]float64, len(freqs))}
}

func (o *oscillator) frame(pcm []int16) {
	for i := range pcm {
		v := 0.0
		for k, f := range o.freqs {
			v += math.Sin(o.phase[k])
			o.phase[k] += 2 * math.Pi * f / sampleRate
			if o.phase[k] > 2*math.Pi {
				o.phase[k] -= 2 * math.Pi
			}
		}
		pcm[i] = int16(amplitude * v / float64(max(len(o.freqs), 1)))
	}
}

// rtpHeader writes an RTP fixed header (RFC 3550 §5.1).
func rtpHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) []byte {
	m := pt & 0x7f
	if marker {
		m |= 0x80
	}
	b = append(b, 0x80, m)
	b = binary.BigEndian.AppendUint16(b, seq)
	b = binary.BigEndian.AppendUint32(b, ts)
	return binary.BigEndian.AppendUint32(b, ssrc)
}

// rtpPacket is what a host reads of an RTP packet.
type rtpPacket struct {
	marker  bool
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

func parseRTP(b []byte) (rtpPacket, bool) {
	var p rtpPacket
	if len(b) < 12 || b[0]>>6 != 2 {
		return p, false
	}
	cc := int(b[0] & 0x0f)
	hl := 12 + 4*cc
	if b[0]&0x10 != 0 {
		if len(b) < hl+4 {
			return p, false
		}
		hl += 4 + 4*int(binary.BigEndian.Uint16(b[hl+2:]))
	}
	if len(b) < hl {
		return p, false
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > hl {
		end -= int(b[end-1])
	}
	if end < hl {
		return p, false
	}
	p.marker = b[1]&0x80 != 0
	p.pt = b[1] & 0x7f
	p.seq = binary.BigEndian.Uint16(b[2:])
	p.ts = binary.BigEndian.Uint32(b[4:])
	p.ssrc = binary.BigEndian.Uint32(b[8:])
	p.payload = b[hl:end]
	return p, true
}

// ntpTime is a time as the 64-bit NTP timestamp of RTCP (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const epochOffset = 2208988800
	sec := uint64(t.Unix() + epochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}

// senderReport writes a compound RTCP packet: a sender report without
// reception blocks and an SDES with the CNAME (RFC 3550 §6.4.1, §6.5).
func senderReport(ssrc uint32, at time.Time, ts, packets, octets uint32, cname string) []byte {
	b := make([]byte, 0, 64)
	b = append(b, 0x80, 200)
	b = binary.BigEndian.AppendUint16(b, 6)
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = binary.BigEndian.AppendUint64(b, ntpTime(at))
	b = binary.BigEndian.AppendUint32(b, ts)
	b = binary.BigEndian.AppendUint32(b, packets)
	b = binary.BigEndian.AppendUint32(b, octets)
	cname = cname[:min(len(cname), 255)]
	item := 4 + 2 + len(cname) + 1
	pad := (4 - item%4) % 4
	b = append(b, 0x81, 202)
	b = binary.BigEndian.AppendUint16(b, uint16((item+pad)/4))
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = append(b, 1, byte(len(cname)))
	b = append(b, cname...)
	b = append(b, 0)
	for range pad {
		b = append(b, 0)
	}
	return b
}

// Frames of a pressed digit and of the pause after it.
const (
	digitFrames = int(digitTime / frameTime)
	gapFrames   = int(digitGap / frameTime)
)

// stream is one RTP stream a host sends: its own SSRC, sequence numbers
// and timestamps, the RTCP that goes with it, and where both go now.
// A stream either ticks on its own every 20 ms (a phone, music on hold)
// or is pushed a frame at a time (a B2BUA that transcodes).
type stream struct {
	n      *network
	rtp    *socket
	rtcp   *socket
	ssrc   uint32
	seq    uint16
	ts     uint32
	cname  string
	codec  string // ulaw or alaw
	te     int    // telephone-event payload type, -1 when not negotiated
	dst    netip.AddrPort
	marker bool

	source   func(pcm []int16) // audio for the next frame (ticking streams)
	tick     *timer
	next     time.Time
	pausedAt time.Time

	packets, octets uint32
	lastSR, started time.Time

	// evIn and evOut map the timestamp of an RFC 4733 event received on
	// another leg to the one it carries on this stream.
	evIn, evOut uint32
	evSet       bool
	digits      []byte // pressed and not yet sent
	key         *keypress
	gap         int // frames of audio still due before the next digit
	buf         []byte
	pcm         []int16
}

// keypress is a digit being sent: as RFC 4733 events, or as tones.
type keypress struct {
	code   byte
	ts     uint32
	frames int
	ends   int
	tones  *oscillator
}

func newStream(n *network, rtp, rtcp *socket, ssrc uint32, seq uint16, ts uint32, cname string) *stream {
	return &stream{n: n, rtp: rtp, rtcp: rtcp, ssrc: ssrc, seq: seq, ts: ts, cname: cname, te: -1, marker: true,
		pcm: make([]int16, frameSamples)}
}

// run starts ticking: one frame every 20 ms from now.
func (s *stream) run() {
	if s.running() {
		return
	}
	now := s.n.now()
	if !s.pausedAt.IsZero() {
		s.ts += uint32(now.Sub(s.pausedAt) / (time.Second / sampleRate))
		s.marker = true
		s.pausedAt = time.Time{}
	}
	s.next = now
	s.tickNow()
}

func (s *stream) running() bool { return s.tick != nil && !s.tick.dead }

// pause stops ticking; run resumes with a marker and a timestamp that
// has advanced by the time paused.
func (s *stream) pause() {
	if s.running() {
		s.tick.stop()
		s.pausedAt = s.n.now()
	}
}

func (s *stream) tickNow() {
	s.frame()
	s.next = s.next.Add(frameTime)
	s.tick = s.n.at(s.next, s.tickNow)
}

// press queues digits.
func (s *stream) press(digits string) { s.digits = append(s.digits, digits...) }

// frame sends the next 20 ms: while a digit is pressed, a telephone-event
// packet when RFC 4733 was negotiated and the digit's tones otherwise;
// else audio from the source.
func (s *stream) frame() {
	if s.key == nil && len(s.digits) > 0 {
		if s.gap > 0 {
			s.gap--
		} else {
			d := s.digits[0]
			s.digits = s.digits[1:]
			s.key = &keypress{code: dtmfEvent(d), ts: s.ts}
			if s.te < 0 {
				lo, hi := dtmfFreqs(d)
				s.key.tones = newOscillator(lo, hi)
			}
		}
	}
	k := s.key
	switch {
	case k != nil && k.tones == nil:
		s.sendEvent(k)
		s.ts += frameSamples
		if k.ends == teEnds {
			s.key, s.gap = nil, gapFrames
		}
		return
	case k != nil:
		k.tones.frame(s.pcm)
		if k.frames++; k.frames == digitFrames {
			s.key, s.gap = nil, gapFrames
		}
	case s.source != nil:
		s.source(s.pcm)
	}
	s.send(s.pcm)
}

// sendEvent sends one packet of an RFC 4733 event: the marker on the
// first, the duration growing by a frame each time, and the end sent three
// times with the final duration (RFC 4733 §2.5.1).
func (s *stream) sendEvent(k *keypress) {
	first := k.frames == 0
	k.frames = min(k.frames+1, digitFrames)
	flags := byte(10) // volume: -10 dBm0
	if k.frames == digitFrames {
		flags |= 0x80
		k.ends++
	}
	b := rtpHeader(s.buf[:0], first, uint8(s.te), s.seq, k.ts, s.ssrc)
	b = append(b, k.code, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(k.frames*frameSamples))
	s.buf = b
	s.out(b, 4)
}

// send encodes and sends one frame of audio.
func (s *stream) send(pcm []int16) {
	b := rtpHeader(s.buf[:0], s.marker, g711[s.codec].pt, s.seq, s.ts, s.ssrc)
	b = encodeG711(s.codec, pcm, b)
	s.buf = b
	s.marker = false
	s.out(b, len(pcm))
	s.ts += uint32(len(pcm))
}

// out sends an RTP packet to the stream's destination, and a sender
// report when one is due.
func (s *stream) out(b []byte, payload int) {
	if !s.dst.IsValid() {
		return
	}
	s.seq++
	now := s.n.now()
	if s.started.IsZero() {
		s.started, s.lastSR = now, now
	}
	if err := s.rtp.send(s.dst, b); err != nil {
		return
	}
	s.packets++
	s.octets += uint32(payload)
	if s.rtcp != nil && now.Sub(s.lastSR) >= rtcpInterval {
		s.lastSR = now
		dst := netip.AddrPortFrom(s.dst.Addr(), s.dst.Port()+1)
		s.rtcp.send(dst, senderReport(s.ssrc, now, s.ts, s.packets, s.octets, s.cname))
	}
}

// relayEvent sends on this stream an RFC 4733 event packet received on
// another leg: the same event, flags and duration in this stream's
// numbering and timestamps.
func (s *stream) relayEvent(p rtpPacket) {
	if p.ts != s.evIn || !s.evSet {
		s.evIn, s.evOut, s.evSet = p.ts, s.ts, true
	}
	b := rtpHeader(s.buf[:0], p.marker, uint8(s.te), s.seq, s.evOut, s.ssrc)
	b = append(b, p.payload[:4]...)
	s.buf = b
	s.out(b, 4)
	if p.payload[1]&0x80 != 0 {
		s.ts = s.evOut + uint32(binary.BigEndian.Uint16(p.payload[2:]))
	}
}

// keyDetector hears DTMF keys in audio: a tone of the row group and one
// of the column group (ITU-T Q.23) that together hold most of a frame's
// energy, for two frames or more. It is what a phone set to dtmf=inband
// listens with.
type keyDetector struct {
	heard  byte // key of the previous frame, 0 for none
	frames int
}

// keyShare is how much of a frame's energy each of the two tones of a key
// must hold; a pure pair holds half each.
const keyShare = 0.3

// frame returns the key heard when it has just held for two frames.
func (k *keyDetector) frame(pcm []int16) (byte, bool) {
	energy := 0.0
	for _, s := range pcm {
		energy += float64(s) * float64(s)
	}
	key := byte(0)
	if energy > 0 {
		row, rowShare := strongest(pcm, energy, [4]float64{697, 770, 852, 941})
		col, colShare := strongest(pcm, energy, [4]float64{1209, 1336, 1477, 1633})
		if rowShare > keyShare && colShare > keyShare {
			key = "123A456B789C*0#D"[row*4+col]
		}
	}
	if key != k.heard {
		k.heard, k.frames = key, 0
	}
	k.frames++
	return key, key != 0 && k.frames == 2
}

// strongest returns which of four frequencies is strongest in pcm
// (Goertzel's algorithm) and the share of the frame's energy it holds.
func strongest(pcm []int16, energy float64, freqs [4]float64) (int, float64) {
	best, share := 0, 0.0
	n := float64(len(pcm))
	for i, f := range freqs {
		coeff := 2 * math.Cos(2*math.Pi*f/sampleRate)
		var s1, s2 float64
		for _, x := range pcm {
			s1, s2 = float64(x)+coeff*s1-s2, s1
		}
		power := s1*s1 + s2*s2 - coeff*s1*s2
		if sh := power / (energy * n / 2); sh > share {
			best, share = i, sh
		}
	}
	return best, share
}
