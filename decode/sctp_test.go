package decode

import (
	"strings"
	"testing"

	"github.com/sipscope/sipscope/capture"
)

func sctpFrame(vtag uint32, chunks ...[]byte) []byte {
	p := cat(be16(5060), be16(5060), be32(vtag), be32(0))
	for _, c := range chunks {
		p = append(p, c...)
	}
	return eth(etherIPv4, ipv4(ipA, ipB, protoSCTP, 1, 0, false, p))
}

// chunk builds an SCTP chunk, padded to 4 bytes.
func chunk(typ, flags byte, body []byte) []byte {
	c := cat([]byte{typ, flags}, be16(uint16(4+len(body))), body)
	for len(c)%4 != 0 {
		c = append(c, 0)
	}
	return c
}

func dataChunk(flags byte, tsn uint32, sid uint16, ppid uint32, data string) []byte {
	return chunk(sctpDATA, flags, cat(be32(tsn), be16(sid), be16(0), be32(ppid), []byte(data)))
}

func idataChunk(flags byte, tsn uint32, sid uint16, mid, ppidOrFSN uint32, data string) []byte {
	return chunk(sctpIDATA, flags, cat(be32(tsn), be16(sid), be16(0), be32(mid), be32(ppidOrFSN), []byte(data)))
}

// TestSCTPCarriesSIP reads SIP from DATA and I-DATA chunks, bundled,
// fragmented and retransmitted.
func TestSCTPCarriesSIP(t *testing.T) {
	m1, m2 := sipMsg("INVITE", "s1", 200), sipMsg("ACK", "s2", 0)
	const be = sctpBegin | sctpEnd
	sack := chunk(3, 0, cat(be32(1), be32(65535), be16(0), be16(0)))
	tests := []struct {
		name   string
		frames [][]byte
		want   string
		check  func(t *testing.T, st Stats, warns []capture.Warning)
	}{
		{name: "one DATA chunk",
			frames: [][]byte{sctpFrame(7, dataChunk(be, 10, 0, 0, m1))},
			want:   "s1@1/1"},
		{name: "bundled with a SACK",
			frames: [][]byte{sctpFrame(7, sack, dataChunk(be, 10, 0, 0, m1), dataChunk(be, 11, 1, 0, m2))},
			want:   "s1@1/1 s2@1/1"},
		{name: "fragmented over three packets",
			frames: [][]byte{
				sctpFrame(7, dataChunk(sctpBegin, 20, 2, 0, m1[:50])),
				sctpFrame(7, dataChunk(0, 21, 2, 0, m1[50:100])),
				sctpFrame(7, dataChunk(sctpEnd, 22, 2, 0, m1[100:])),
			},
			want: "s1@1/3"},
		{name: "missing fragment",
			frames: [][]byte{
				sctpFrame(7, dataChunk(sctpBegin, 20, 2, 0, m1[:50])),
				sctpFrame(7, dataChunk(sctpEnd, 22, 2, 0, m1[100:])),
			},
			want: "",
			check: func(t *testing.T, st Stats, _ []capture.Warning) {
				if st.SCTPPartialsDropped != 1 {
					t.Errorf("SCTPPartialsDropped %d", st.SCTPPartialsDropped)
				}
			}},
		{name: "retransmitted chunk",
			frames: [][]byte{sctpFrame(7, dataChunk(be, 10, 0, 0, m1)), sctpFrame(7, dataChunk(be, 10, 0, 0, m1)),
				sctpFrame(7, dataChunk(be, 9, 0, 0, m2))},
			want: "s1@1/1 s2@3/3",
			check: func(t *testing.T, st Stats, _ []capture.Warning) {
				if st.SCTPDuplicates != 1 {
					t.Errorf("SCTPDuplicates %d", st.SCTPDuplicates)
				}
			}},
		{name: "I-DATA",
			frames: [][]byte{sctpFrame(7, idataChunk(be, 5, 0, 0, 0, m2))},
			want:   "s2@1/1"},
		{name: "I-DATA fragmented",
			frames: [][]byte{
				sctpFrame(7, idataChunk(sctpBegin, 5, 1, 3, 0, m1[:60])),
				sctpFrame(7, idataChunk(0, 6, 1, 3, 1, m1[60:120])),
				sctpFrame(7, idataChunk(sctpEnd, 7, 1, 3, 2, m1[120:])),
			},
			want: "s1@1/3"},
		{name: "not SIP",
			frames: [][]byte{sctpFrame(7, dataChunk(be, 1, 0, 46, "\x01\x00\x00\x14\x80\x00\x01\x01"))},
			want:   ""},
		{name: "incomplete at the end",
			frames: [][]byte{sctpFrame(7, dataChunk(sctpBegin, 20, 2, 0, m1[:50]))},
			want:   "",
			check: func(t *testing.T, _ Stats, warns []capture.Warning) {
				if len(warns) != 1 || !strings.Contains(warns[0].Text, "50 bytes of an incomplete message on stream 2") {
					t.Errorf("warnings %+v", warns)
				}
			}},
		{name: "chunk length beyond the packet",
			frames: [][]byte{sctpFrame(7, []byte{0, 3, 0xff, 0xff})},
			want:   "",
			check: func(t *testing.T, st Stats, _ []capture.Warning) {
				if st.Malformed != 1 {
					t.Errorf("Malformed %d", st.Malformed)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, d := decodeFrames(Options{}, tt.frames...)
			wantSummary(t, r, tt.want)
			for _, s := range r.sips {
				if s.meta.Transport != SCTP {
					t.Errorf("transport %v", s.meta.Transport)
				}
			}
			if tt.check != nil {
				tt.check(t, d.Stats(), r.warns)
			}
		})
	}
}
