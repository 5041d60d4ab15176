package sip

import "testing"

// benchInvite is an INVITE as a PBX sends it: nine Via-to-Contact headers,
// the usual capability headers and a G.711 offer with DTMF.
var benchInvite = []byte("INVITE sip:bob@192.0.2.31:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.12:5060;branch=z9hG4bK14c71432;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: \"Alice\" <sip:alice@192.0.2.12>;tag=as7acbae3c\r\n" +
	"To: <sip:bob@192.0.2.31:5060>\r\n" +
	"Contact: <sip:alice@192.0.2.12:5060>\r\n" +
	"Call-ID: 5edd3061025e217f38d659bf52b087c7@192.0.2.12:5060\r\n" +
	"CSeq: 102 INVITE\r\n" +
	"User-Agent: Asterisk PBX 20.9.3\r\n" +
	"Date: Thu, 21 Nov 2024 12:00:00 GMT\r\n" +
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE\r\n" +
	"Supported: replaces, timer\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 245\r\n" +
	"\r\n" +
	"v=0\r\n" +
	"o=root 1580155409 1580155409 IN IP4 192.0.2.12\r\n" +
	"s=Asterisk PBX 20.9.3\r\n" +
	"c=IN IP4 192.0.2.12\r\n" +
	"t=0 0\r\n" +
	"m=audio 12018 RTP/AVP 0 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=ptime:20\r\n" +
	"a=maxptime:150\r\n" +
	"a=sendrecv\r\n")

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInvite)))
	for b.Loop() {
		if _, err := Parse(benchInvite, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseKeepRaw(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInvite)))
	for b.Loop() {
		if _, err := Parse(benchInvite, Options{KeepRaw: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLooksLike(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !LooksLike(benchInvite) {
			b.Fatal("not SIP")
		}
	}
}

func BenchmarkFrameLength(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := FrameLength(benchInvite); !ok {
			b.Fatal("no frame")
		}
	}
}

func BenchmarkBytes(b *testing.B) {
	m, err := Parse(benchInvite, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Bytes()
	}
}
