package media

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/internal/pcaptest"
	"github.com/sipscope/sipscope/sdp"
)

// unhex decodes a packet written in hex, spaces allowed between bytes.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDemuxByFirstByte(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want Kind
	}{
		{"empty", nil, KindUnknown},
		{"STUN binding request", []byte{0x00, 0x01, 0x00, 0x00}, KindSTUN},
		{"ZRTP", []byte{0x10, 0x00}, KindZRTP},
		{"DTLS handshake", []byte{0x16, 0xfe, 0xfd}, KindDTLS},
		{"TURN channel data", []byte{0x40, 0x00}, KindTURN},
		{"RTP PCMU", []byte{0x80, 0x00}, KindRTP},
		{"RTP with marker, PT 96", []byte{0x80, 0xe0}, KindRTP},
		{"RTCP SR", []byte{0x80, 200}, KindRTCP},
		{"RTCP RR with a report", []byte{0x81, 201}, KindRTCP},
		{"RTCP XR", []byte{0x80, 207}, KindRTCP},
		{"RTP alone in a one-byte datagram", []byte{0x80}, KindRTP},
		{"SIP keepalive", []byte("\r\n\r\n"), KindUnknown},
		{"version 3", []byte{0xc0, 0x00}, KindUnknown},
	}
	for _, tt := range tests {
		if got := Demux(tt.b); got != tt.want {
			t.Errorf("%s: Demux = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHeaderUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		want    Header
		wantErr string
	}{
		{
			name: "plain PCMU",
			hex:  "80 00 30 39 00 00 03 e8 11 22 33 44 ff ff",
			want: Header{PayloadType: 0, SequenceNumber: 12345, Timestamp: 1000, SSRC: 0x11223344, PayloadOffset: 12, PayloadLength: 2},
		},
		{
			name: "marker, CSRC, extension and padding",
			hex:  "b1 e5 00 01 00 00 00 02 00 00 00 03 aa aa aa aa be de 00 01 01 02 03 04 99 00 00 03",
			want: Header{Padding: true, Extension: true, CSRCCount: 1, Marker: true, PayloadType: 101,
				SequenceNumber: 1, Timestamp: 2, SSRC: 3, PayloadOffset: 24, PayloadLength: 1},
		},
		{name: "short", hex: "80 00 00 01", wantErr: "shorter than the 12-byte fixed header"},
		{name: "version 1", hex: "40 00 00 01 00 00 00 02 00 00 00 03", wantErr: "version is not 2"},
		{name: "CSRC list cut", hex: "82 00 00 01 00 00 00 02 00 00 00 03 00 00 00 01", wantErr: "CSRC list"},
		{name: "extension cut", hex: "90 00 00 01 00 00 00 02 00 00 00 03 be de 00 02 00 00 00 00", wantErr: "header extension"},
		{name: "padding longer than payload", hex: "a0 00 00 01 00 00 00 02 00 00 00 03 00 05", wantErr: "padding"},
		{name: "zero padding count", hex: "a0 00 00 01 00 00 00 02 00 00 00 03 00 00", wantErr: "padding"},
	}
	for _, tt := range tests {
		b := unhex(t, tt.hex)
		var h Header
		err := h.Unmarshal(b)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || h != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, h, err, tt.want)
		}
	}
}

func TestCompoundUnmarshal(t *testing.T) {
	tests := []struct {
		name      string
		hex       string
		types     []uint8
		truncated bool
		check     func(t *testing.T, c *Compound)
	}{
		{
			name:  "SR with a report block, then SDES CNAME",
			hex:   "81c8000c 11111111 00000001 00000002 00000a00 00000064 00003e80 22222222 05fffffe 00010203 00000010 aabbccdd 00000100" + "81ca0003 11111111 01036162 63000000",
			types: []uint8{TypeSR, TypeSDES},
			check: func(t *testing.T, c *Compound) {
				sr := c.Packets[0]
				if sr.SSRC != 0x11111111 || sr.Sender.PacketCount != 100 || sr.Sender.RTPTime != 2560 || len(sr.Reports) != 1 {
					t.Fatalf("SR = %+v", sr)
				}
				r := sr.Reports[0]
				if r.SSRC != 0x22222222 || r.FractionLost != 5 || r.CumulativeLost != -2 || r.HighestSequence != 0x00010203 || r.Jitter != 16 || r.DelaySinceLastSR != 256 {
					t.Errorf("report = %+v", r)
				}
				if c.Packets[1].CNAME != "abc" || c.Packets[1].SSRC != 0x11111111 {
					t.Errorf("SDES = %+v", c.Packets[1])
				}
			},
		},
		{
			name:  "RR, BYE with reason, APP",
			hex:   "80c90001 33333333" + "81cb0003 33333333 04627965 21000000" + "80cc0002 33333333 50494e47",
			types: []uint8{TypeRR, TypeBYE, TypeAPP},
			check: func(t *testing.T, c *Compound) {
				if b := c.Packets[1]; len(b.Sources) != 1 || b.Sources[0] != 0x33333333 || b.Reason != "bye!" {
					t.Errorf("BYE = %+v", b)
				}
				if a := c.Packets[2]; a.Name != "PING" {
					t.Errorf("APP = %+v", a)
				}
			},
		},
		{
			name:      "SRTCP trailer after the packet",
			hex:       "80c90001 33333333 80000001 0102030405060708090a",
			types:     []uint8{TypeRR},
			truncated: true,
		},
		{
			name:  "padding in the last packet",
			hex:   "a0c90002 33333333 00000004",
			types: []uint8{TypeRR},
		},
		{
			name:      "padding in a packet that is not the last",
			hex:       "a0c90002 33333333 00000004 80c90001 44444444",
			truncated: true,
		},
		{
			name:      "report count larger than the packet",
			hex:       "9fc90001 33333333",
			types:     []uint8{TypeRR},
			truncated: false,
		},
	}
	for _, tt := range tests {
		b := unhex(t, tt.hex)
		var c Compound
		err := c.Unmarshal(b)
		if len(tt.types) == 0 {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var types []uint8
		for _, p := range c.Packets {
			types = append(types, p.Type)
		}
		if !bytes.Equal(types, tt.types) || c.Truncated != tt.truncated {
			t.Errorf("%s: types %v truncated %v, want %v %v", tt.name, types, c.Truncated, tt.types, tt.truncated)
			continue
		}
		if tt.check != nil {
			tt.check(t, &c)
		}
	}
}

func TestEventNames(t *testing.T) {
	var got []string
	for _, c := range []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 32, 36, 255} {
		got = append(got, EventName(c))
	}
	want := "0 1 2 3 4 5 6 7 8 9 * # A B C D flash event 17 ANS CNG event 255"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("names = %q, want %q", g, want)
	}
}

// TestJitterOfOneLatePacket checks the RFC 3550 A.8 arithmetic on a
// stream of 20 ms packets where one arrives 8 ms late: D is 8 ms for the
// late packet and 8 ms again for the next, which comes on time after it.
func TestJitterOfOneLatePacket(t *testing.T) {
	var a analysis
	for i := range 10 {
		at := float64(i * 20)
		if i == 5 {
			at += 8
		}
		a.add(uint16(i), uint32(i*160), 0, false, at, 8000, i+1)
	}
	j1 := 8.0 / 16
	j2 := (15*j1 + 8) / 16
	if a.maxJitter != j2 {
		t.Errorf("max jitter = %v, want %v", a.maxJitter, j2)
	}
	if a.maxDelta != 28 {
		t.Errorf("max delta = %v, want 28", a.maxDelta)
	}
}

func TestWindowTellsDuplicatesFromLatePackets(t *testing.T) {
	var w window
	seqs := []uint16{65534, 65535, 1, 0, 0, 2, 1, 300, 2}
	want := []string{"", "", "", "late", "dup", "", "dup", "", "late"}
	for i, s := range seqs {
		dup, late := w.add(s)
		got := ""
		if dup {
			got = "dup"
		} else if late {
			got = "late"
		}
		if got != want[i] {
			t.Errorf("packet %d (seq %d) = %q, want %q", i, s, got, want[i])
		}
	}
}

// rtcpSeeds are RTCP datagrams of the corpus, to seed the fuzzer.
func rtcpSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, rel := range []string{"public/nDPI/rtcp_multiple_pkts_in_the_same_datagram.pcap", "asterisk/asterisk-directmedia-no.pcap"} {
		for _, d := range readCorpus(t, rel) {
			if Demux(d.payload) == KindRTCP {
				out = append(out, d.payload)
			}
		}
	}
	return out
}

func FuzzRTCP(f *testing.F) {
	for _, s := range rtcpSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte{0x81, 0xc8, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Compound
		if err := c.Unmarshal(b); err != nil {
			return
		}
		n := 0
		for _, p := range c.Packets {
			n += 4
			if len(p.Reports)*24 > len(b) || len(p.Sources)*4 > len(b) || len(p.CNAME) > len(b) {
				t.Fatalf("packet %+v claims more than the %d-byte datagram", p, len(b))
			}
		}
		if n > len(b) {
			t.Fatalf("%d packets in %d bytes", len(c.Packets), len(b))
		}
		// Through a tracker that holds a stream the report may name.
		tr := NewTracker(Options{})
		tr.Announce(Announcement{Leg: "l", Frame: 1, Time: genBase, Media: sdp.Media{Type: "audio", Port: 40000, Addr: genAudA.Addr(), Proto: "RTP/AVP"}})
		m := decode.Meta{Frame: 2, Time: genBase, Src: genAudB, Dst: genAudA}
		ssrc := uint32(0x22222222)
		if len(b) >= 8 {
			ssrc = be32(b[4:])
		}
		tr.Datagram(&m, pcaptest.RTP(1, 1, ssrc, 0, false, make([]byte, 160)))
		m.Frame, m.Src, m.Dst = 3, genRTCPA, genRTCPB
		tr.Datagram(&m, b)
		m.Src, m.Dst = genRTCPB, genRTCPA
		tr.Datagram(&m, b)
		tr.Streams()
	})
}

func FuzzRTP(f *testing.F) {
	for _, d := range readCorpus(f, "public/nDPI/rtp.pcapng") {
		f.Add(d.payload)
	}
	f.Add(pcaptest.RTP(1, 2, 3, 101, true, eventBytes(5, true, 10, 800)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		if h.Unmarshal(b) != nil {
			return
		}
		if h.PayloadOffset < 12 || h.PayloadLength < 0 || h.PayloadOffset+h.PayloadLength > len(b) {
			t.Fatalf("payload [%d:+%d] outside %d bytes", h.PayloadOffset, h.PayloadLength, len(b))
		}
		// The tracker must take anything without panicking, as a stream.
		tr := NewTracker(Options{MinSequential: 1})
		m := decode.Meta{Src: genAudA, Dst: genAudB}
		for i := range 3 {
			m.Frame, m.Time = i+1, genBase.Add(time.Duration(i)*20*time.Millisecond)
			tr.Datagram(&m, b)
		}
		tr.Flush()
		tr.Streams()
	})
}
