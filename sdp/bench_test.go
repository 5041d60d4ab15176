package sdp

import "testing"

var benchSDP = []byte(sdp("m=audio 12018 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
	"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=maxptime:150", "a=sendrecv"))

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchSDP); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLenient(b *testing.B) {
	in := benchSDP[:len(benchSDP)-1] // cut inside the last CRLF: pion refuses it
	b.ReportAllocs()
	for b.Loop() {
		if s, err := Parse(in); err != nil || !s.Lenient {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	s, err := Parse(benchSDP)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Marshal()
	}
}
