package media

import (
	"strconv"
	"time"
)

// maxEvents bounds the telephone events kept per stream.
const maxEvents = 1024

// Event is one RFC 4733 telephone event (a DTMF digit or flash) as the
// capture shows it. The packets of one event share an RTP timestamp, so an
// event is counted once however often it is updated or its end repeated.
type Event struct {
	Digit string    `json:"digit"` // 0-9, *, #, A-D, flash, a fax tone, or "event N"
	Code  uint8     `json:"code"`
	Start time.Time `json:"start"` // arrival of the event's first packet
	Frame int       `json:"frame"` // its frame
	// EndFrame is the first packet with the E bit; 0 when the capture
	// holds no end packet.
	EndFrame int `json:"end_frame,omitempty"`
	// Duration is the duration field of the end packet (or of the latest
	// update when there is none) in the event clock's units, converted.
	Duration time.Duration `json:"duration_ns"`
	Volume   uint8         `json:"volume"` // power level, 0 to -63 dBm0 as 0-63
	Ended    bool          `json:"ended"`

	timestamp uint32
}

// eventPayload is the RFC 4733 §2.3 payload format for named events.
type eventPayload struct {
	code     uint8
	end      bool
	volume   uint8
	duration uint16
}

func parseEvent(b []byte) (eventPayload, bool) {
	if len(b) < 4 {
		return eventPayload{}, false
	}
	return eventPayload{
		code:     b[0],
		end:      b[1]&0x80 != 0,
		volume:   b[1] & 0x3f,
		duration: uint16(b[2])<<8 | uint16(b[3]),
	}, true
}

// plausibleEvent reports whether a payload on a dynamic payload type that
// no SDP named looks like a DTMF telephone event: exactly one 4-byte event
// block with a DTMF or flash code (RFC 4733 §3.2, codes 0-16).
func plausibleEvent(b []byte) bool {
	return len(b) == 4 && b[0] <= 16
}

// EventName names a telephone event code: the DTMF events of RFC 4733
// §3.2 and the fax and modem tones of RFC 4734 §2.3 that show a fax call.
func EventName(code uint8) string {
	switch code {
	case 32:
		return "ANS"
	case 33:
		return "/ANS"
	case 34:
		return "ANSam"
	case 35:
		return "/ANSam"
	case 36:
		return "CNG"
	}
	switch {
	case code <= 9:
		return string(rune('0' + code))
	case code == 10:
		return "*"
	case code == 11:
		return "#"
	case code <= 15:
		return string(rune('A' + code - 12))
	case code == 16:
		return "flash"
	}
	return "event " + strconv.Itoa(int(code))
}

// addEvent folds one telephone-event packet into the stream's events.
func (s *Stream) addEvent(ev eventPayload, ts uint32, frame int, at time.Time, rate int) {
	if rate <= 0 {
		rate = 8000
	}
	dur := time.Duration(ev.duration) * time.Second / time.Duration(rate)
	if n := len(s.DTMF); n > 0 && s.DTMF[n-1].timestamp == ts && s.DTMF[n-1].Code == ev.code {
		e := &s.DTMF[n-1]
		if e.Ended {
			return // a repeated end packet (RFC 4733 §2.5.1.4)
		}
		e.Duration = max(e.Duration, dur)
		e.Volume = ev.volume
		if ev.end {
			e.Ended = true
			e.EndFrame = frame
			e.Duration = dur
		}
		return
	}
	if len(s.DTMF) >= maxEvents {
		s.EventsDropped++
		return
	}
	e := Event{
		Digit:     EventName(ev.code),
		Code:      ev.code,
		Start:     at,
		Frame:     frame,
		Duration:  dur,
		Volume:    ev.volume,
		Ended:     ev.end,
		timestamp: ts,
	}
	if ev.end {
		e.EndFrame = frame
	}
	s.DTMF = append(s.DTMF, e)
}
