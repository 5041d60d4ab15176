package sdp

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestMarshalRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		s    Session
	}{
		{"offer with DTMF and ptime", Session{
			Origin: addr("192.0.2.1"), OriginUser: "sipscope", SessionID: "42", Version: 1, Name: "call",
			Media: []Media{{
				Type: "audio", Port: 4000, Proto: "RTP/AVP", Formats: []uint8{0, 8, 101}, Addr: addr("192.0.2.1"),
				Codecs: []Codec{{0, "PCMU", 8000, 0, ""}, {8, "PCMA", 8000, 0, ""}, {101, "telephone-event", 8000, 0, "0-16"}},
				Ptime:  20, RTCPPort: 4001,
			}},
		}},
		{"answer on hold with two streams at different addresses", Session{
			Origin: addr("2001:db8::1"), OriginUser: "-", SessionID: "7", Version: 3, Name: "-",
			Media: []Media{
				{Type: "audio", Port: 5000, Proto: "RTP/AVP", Formats: []uint8{96}, Addr: addr("2001:db8::2"),
					Codecs: []Codec{{96, "opus", 48000, 2, "useinbandfec=1"}}, Direction: SendOnly, RTCPPort: 5000, RTCPMux: true},
				{Type: "video", Port: 0, Proto: "RTP/AVP", Formats: []uint8{31}, Addr: addr("192.0.2.9"),
					Codecs: []Codec{{31, "H261", 90000, 0, ""}}, Direction: Inactive},
			},
		}},
		{"RTCP at another address", Session{
			Origin: addr("192.0.2.1"), OriginUser: "-", SessionID: "1", Version: 1, Name: "-",
			Media: []Media{{Type: "audio", Port: 4000, Proto: "RTP/AVP", Formats: []uint8{0}, Addr: addr("192.0.2.1"),
				Codecs: []Codec{{0, "PCMU", 8000, 0, ""}}, RTCPPort: 4005, RTCPAddr: addr("192.0.2.5")}},
		}},
		{"T.38", Session{
			Origin: addr("192.0.2.1"), OriginUser: "-", SessionID: "1", Version: 2, Name: "fax",
			Media: []Media{{Type: "image", Port: 16000, Proto: "udptl", FormatNames: []string{"t38"}, Addr: addr("192.0.2.1"), RTCPPort: 16001}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.s.Marshal()
			got, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.s
			want.Lenient = tt.s.Media[0].Type == "image" // pion does not know m=image
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", b, *got, want)
			}
		})
	}
}

func TestMarshalLines(t *testing.T) {
	s := Session{Media: []Media{{Port: 4000, Formats: []uint8{0}, Addr: addr("192.0.2.1"), Codecs: []Codec{{0, "PCMU", 8000, 1, ""}}, Ptime: 20, RTCPPort: 4001}}}
	want := lines("v=0", "o=- 0 0 IN IP4 0.0.0.0", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=sendrecv")
	if got := string(s.Marshal()); got != want {
		t.Errorf("Marshal() =\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalCannotInjectLines(t *testing.T) {
	s := Session{Name: "x\r\nc=IN IP4 203.0.113.66", OriginUser: "a b",
		Media: []Media{{Type: "audio\r\nm=video", Port: 4000, Proto: "RTP/AVP", Formats: []uint8{0}, Addr: addr("192.0.2.1"),
			Codecs: []Codec{{0, "PC MU\n", 8000, 0, "a\r\nb"}}}}}
	b := string(s.Marshal())
	if strings.Count(b, "\n") != strings.Count(b, "\r\n") || strings.Contains(b, "203.0.113.66\r\n") && strings.Contains(b, "\r\nc=IN IP4 203") {
		t.Errorf("injected lines: %q", b)
	}
	got, err := Parse([]byte(b))
	if err != nil || len(got.Media) != 1 || got.Media[0].Addr != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("Parse(%q) = %+v, %v", b, got, err)
	}
}
