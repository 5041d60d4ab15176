package sdp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
)

func FuzzSDP(f *testing.F) {
	for _, s := range []string{
		sdp("m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendonly"),
		sdp("a=inactive", "m=audio 4000 RTP/SAVP 96", "c=IN IP6 2001:db8::1", "a=rtpmap:96 opus/48000/2", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x", "a=rtcp:4005 IN IP4 192.0.2.5"),
		sdp("m=image 16756 udptl t38", "m=audio 0 RTP/AVP 0", "a=rtcp-mux", "a=ice-ufrag:x"),
		lines("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "c=IN IP4 233.252.0.1/127/2", "m=audio 4000/2 RTP/AVP 0"),
		"v=0\r\nm=audio x",
	} {
		f.Add([]byte(s))
	}
	if corpustest.Root() != "" {
		for _, d := range corpusSDPs(f) {
			f.Add(d.Body)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrNotSDP) {
				t.Fatalf("error %v is not ErrNotSDP", err)
			}
			return
		}
		if len(s.Problems) > maxProblems+1 {
			t.Fatalf("%d problems", len(s.Problems))
		}
		for i := range s.Media {
			m := &s.Media[i]
			m.Hold()
			m.AudioCodecs()
			m.TelephoneEvent()
		}
		// Marshal writes what Parse reads back to the same description.
		b1 := s.Marshal()
		s2, err := Parse(b1)
		if err != nil {
			t.Fatalf("Parse(Marshal()) of %q: %v", b1, err)
		}
		if b2 := s2.Marshal(); !bytes.Equal(b1, b2) {
			t.Fatalf("Marshal not stable:\n%q\n%q", b1, b2)
		}
	})
}
