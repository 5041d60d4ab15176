package sdp

import "testing"

func TestParseBasic(t *testing.T) {
	s, err := Parse([]byte("v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=Asterisk PBX 20\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendonly\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := s.Audio()
	if !ok || a.Port != 4000 || a.Addr.String() != "10.0.0.1" || a.Direction != SendOnly {
		t.Fatalf("%+v", s)
	}
	if pt, ok := a.TelephoneEvent(); !ok || pt != 101 {
		t.Fatal("no telephone-event")
	}
	if got := a.AudioCodecs(); len(got) != 2 || got[1] != "PCMA" {
		t.Fatalf("codecs %v", got)
	}
}
