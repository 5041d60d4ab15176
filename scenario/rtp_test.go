package scenario

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestG711RoundTrip(t *testing.T) {
	for _, codec := range []string{"ulaw", "alaw"} {
		worst := 0.0
		for x := -32768; x <= 32767; x += 7 {
			var out []int16
			out = decodeG711(codec, encodeG711(codec, []int16{int16(x)}, nil), out)
			err := math.Abs(float64(out[0]) - float64(x))
			// G.711 keeps 4 bits of mantissa: the error is at most about
			// 1/32 of the magnitude, plus the smallest step.
			if allowed := math.Abs(float64(x))/16 + 16; err > allowed {
				t.Fatalf("%s: %d comes back as %d", codec, x, out[0])
			}
			worst = max(worst, err)
		}
		t.Logf("%s: worst error %.0f", codec, worst)
	}
	// Silence and the sign: the well-known code points.
	if linearToULaw(0) != 0xff || linearToALaw(0) != 0xd5 {
		t.Errorf("silence encodes as 0x%02x (µ-law) and 0x%02x (A-law)", linearToULaw(0), linearToALaw(0))
	}
}

// TestKeypressSendsRFC4733 presses one digit on a stream that negotiated
// telephone-event: five packets with growing durations, the first marked,
// then the end three times (RFC 4733 §2.5.1), all with the event's start
// timestamp, then audio again.
func TestKeypressSendsRFC4733(t *testing.T) {
	n := newNetwork(true, fixedStart, t.Logf)
	var got []rtpPacket
	sink, err := n.bind(netip.MustParseAddrPort("127.203.2.2:40000"), func(netip.AddrPort, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	src, err := n.bind(netip.MustParseAddrPort("127.203.2.1:40000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	s := newStream(n, src, nil, 0x1234, 100, 8000, "test")
	s.codec, s.te, s.dst = "ulaw", tePT, sink.addr
	s.press("5")
	for range digitFrames + teEnds {
		before := len(n.records)
		s.frame()
		for _, r := range n.records[before:] {
			p, ok := parseRTP(r.data)
			if !ok {
				t.Fatal("not RTP")
			}
			got = append(got, p)
		}
	}
	if len(got) != digitFrames+teEnds {
		t.Fatalf("%d packets", len(got))
	}
	for i, p := range got[:len(got)-1] {
		if p.pt != tePT || p.ts != 8000 || p.payload[0] != 5 {
			t.Fatalf("packet %d: pt %d ts %d event %d", i, p.pt, p.ts, p.payload[0])
		}
		dur := binary.BigEndian.Uint16(p.payload[2:])
		end := p.payload[1]&0x80 != 0
		if want := min(i+1, digitFrames) * frameSamples; int(dur) != want || end != (i >= digitFrames-1) || p.marker != (i == 0) {
			t.Errorf("packet %d: duration %d end %v marker %v", i, dur, end, p.marker)
		}
	}
	if last := got[len(got)-1]; last.pt != 0 || last.ts != 8000+uint32((digitFrames+teEnds-1)*frameSamples) {
		t.Errorf("audio after the event: pt %d ts %d", last.pt, last.ts)
	}
}

func TestKeyDetectorHearsTones(t *testing.T) {
	tests := []struct {
		name  string
		freqs []float64
		want  string
	}{
		{"a key", []float64{852, 1477}, "9"},
		{"the hash key", []float64{941, 1477}, "#"},
		{"a phone's tone", []float64{440}, ""},
		{"music on hold", []float64{mohLow, mohHigh}, ""},
		{"silence", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var k keyDetector
			osc := newOscillator(tc.freqs...)
			pcm := make([]int16, frameSamples)
			got := ""
			for range digitFrames {
				osc.frame(pcm)
				if key, ok := k.frame(pcm); ok {
					got += string(key)
				}
			}
			if got != tc.want {
				t.Errorf("heard %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSenderReportIsWellFormed(t *testing.T) {
	b := senderReport(0xabcd, fixedStart.Add(time.Second), 160, 10, 1600, "alice@127.0.0.30")
	if len(b)%4 != 0 {
		t.Fatalf("length %d is not a multiple of 4", len(b))
	}
	sr := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
	if b[1] != 200 || sr != 28 {
		t.Fatalf("SR type %d length %d", b[1], sr)
	}
	sdes := b[sr:]
	if sdes[1] != 202 || 4*(int(binary.BigEndian.Uint16(sdes[2:]))+1) != len(sdes) {
		t.Fatalf("SDES type %d, length field %d for %d bytes", sdes[1], binary.BigEndian.Uint16(sdes[2:]), len(sdes))
	}
	if got := string(sdes[10 : 10+int(sdes[9])]); sdes[8] != 1 || got != "alice@127.0.0.30" {
		t.Errorf("CNAME %q", got)
	}
}
