package sdp

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// lines joins SDP lines with CRLF, ending the last one too.
func lines(l ...string) string { return strings.Join(l, "\r\n") + "\r\n" }

// head is a session part that pion accepts.
var head = []string{"v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"}

func sdp(extra ...string) string { return lines(append(append([]string{}, head...), extra...)...) }

func mustParse(t *testing.T, s string) *Session {
	t.Helper()
	sess, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return sess
}

// wantProblems checks that the problems are exactly those containing the
// wanted fragments, one each.
func wantProblems(t *testing.T, s *Session, want ...string) {
	t.Helper()
	if len(s.Problems) != len(want) {
		t.Errorf("problems %q, want %q", s.Problems, want)
		return
	}
	for i, w := range want {
		if !strings.Contains(s.Problems[i], w) {
			t.Errorf("problem %q does not contain %q", s.Problems[i], w)
		}
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		check    func(t *testing.T, s *Session)
		problems []string
	}{
		{
			name: "origin, name and one audio stream",
			in:   sdp("m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=sendonly"),
			check: func(t *testing.T, s *Session) {
				if s.Origin != addr("192.0.2.1") || s.OriginUser != "-" || s.SessionID != "1" || s.Version != 2 || s.Name != "-" || s.Lenient {
					t.Errorf("session %+v", s)
				}
				a, ok := s.Audio()
				if !ok || a.Endpoint() != netip.MustParseAddrPort("192.0.2.1:4000") || a.Direction != SendOnly || !a.Hold() {
					t.Fatalf("audio %+v", a)
				}
				if pt, ok := a.TelephoneEvent(); !ok || pt != 101 {
					t.Error("no telephone-event")
				}
				if got := a.AudioCodecs(); !reflect.DeepEqual(got, []string{"PCMU", "PCMA"}) {
					t.Errorf("codecs %v", got)
				}
				if c, _ := a.Codec(101); c.Fmtp != "0-16" || c.Rate != 8000 {
					t.Errorf("telephone-event %+v", c)
				}
				if a.RTCPPort != 4001 {
					t.Errorf("RTCP port %d", a.RTCPPort)
				}
			},
		},
		{
			name: "media c= overrides session c=",
			in:   sdp("m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.7", "m=video 4002 RTP/AVP 96", "a=rtpmap:96 H264/90000"),
			check: func(t *testing.T, s *Session) {
				if s.Media[0].Addr != addr("198.51.100.7") || s.Media[1].Addr != addr("192.0.2.1") {
					t.Errorf("addresses %v %v", s.Media[0].Addr, s.Media[1].Addr)
				}
			},
		},
		{
			name: "c=0.0.0.0 is the RFC 2543 hold",
			in:   lines("v=0", "o=- 1 3 IN IP4 192.0.2.1", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			check: func(t *testing.T, s *Session) {
				if a := s.Media[0]; !a.Hold() || a.Direction != SendRecv {
					t.Errorf("audio %+v", a)
				}
			},
		},
		{
			name: "session-level direction applies to every stream without one",
			in:   sdp("a=inactive", "m=audio 4000 RTP/AVP 0", "m=audio 4002 RTP/AVP 0", "a=recvonly"),
			check: func(t *testing.T, s *Session) {
				if s.Media[0].Direction != Inactive || s.Media[1].Direction != RecvOnly {
					t.Errorf("directions %v %v", s.Media[0].Direction, s.Media[1].Direction)
				}
			},
		},
		{
			name: "a=rtcp with an address",
			in:   sdp("m=audio 49170 RTP/AVP 0", "a=rtcp:53020 IN IP4 126.16.64.4"),
			check: func(t *testing.T, s *Session) {
				if a := s.Media[0]; a.RTCPPort != 53020 || a.RTCPAddr != addr("126.16.64.4") {
					t.Errorf("RTCP %d %v", a.RTCPPort, a.RTCPAddr)
				}
			},
		},
		{
			name: "a=rtcp with a port only",
			in:   sdp("m=audio 49170 RTP/AVP 0", "a=rtcp:53020"),
			check: func(t *testing.T, s *Session) {
				if a := s.Media[0]; a.RTCPPort != 53020 || a.RTCPAddr.IsValid() {
					t.Errorf("RTCP %d %v", a.RTCPPort, a.RTCPAddr)
				}
			},
		},
		{
			name: "rtcp-mux puts RTCP on the RTP port",
			in:   sdp("m=audio 49170 RTP/AVP 0", "a=rtcp-mux"),
			check: func(t *testing.T, s *Session) {
				if a := s.Media[0]; !a.RTCPMux || a.RTCPPort != 49170 {
					t.Errorf("RTCP %d mux %v", a.RTCPPort, a.RTCPMux)
				}
			},
		},
		{
			name: "SDES crypto",
			in:   sdp("m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"),
			check: func(t *testing.T, s *Session) {
				if a := s.Media[0]; !a.Crypto || !a.Secure() || a.DTLS {
					t.Errorf("audio %+v", a)
				}
			},
		},
		{
			name: "session-level fingerprint and ICE apply to every stream",
			in: sdp("a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3B:2E:5B:22:1A:2A:6F:2D:0C:1C:8F:26",
				"a=ice-lite", "m=audio 4000 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "m=video 4002 UDP/TLS/RTP/SAVPF 96"),
			check: func(t *testing.T, s *Session) {
				for _, m := range s.Media {
					if !m.DTLS || !m.ICE || !m.Secure() {
						t.Errorf("%s %+v", m.Type, m)
					}
				}
				if c, _ := s.Media[0].Codec(111); c.Channels != 2 || c.Rate != 48000 || c.Name != "opus" {
					t.Errorf("opus %+v", c)
				}
			},
		},
		{
			name: "media-level ICE candidates",
			in:   sdp("m=audio 4000 RTP/AVP 0", "a=ice-ufrag:F7gI", "a=ice-pwd:x9cml/YzichV2+XlhiMu8g", "a=candidate:1 1 UDP 2130706431 192.0.2.1 4000 typ host", "m=audio 0 RTP/AVP 0"),
			check: func(t *testing.T, s *Session) {
				if !s.Media[0].ICE || s.Media[1].ICE {
					t.Errorf("ICE %v %v", s.Media[0].ICE, s.Media[1].ICE)
				}
			},
		},
		{
			name: "port 0 rejects a stream",
			in:   sdp("m=audio 4000 RTP/AVP 0", "m=video 0 RTP/AVP 31"),
			check: func(t *testing.T, s *Session) {
				if v := s.Media[1]; !v.Rejected() || v.RTCPPort != 0 || s.Media[0].Rejected() {
					t.Errorf("video %+v", v)
				}
			},
		},
		{
			name: "IPv6 connection address",
			in:   lines("v=0", "o=- 1 1 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::2", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			check: func(t *testing.T, s *Session) {
				if s.Origin != addr("2001:db8::1") || s.Media[0].Endpoint() != netip.MustParseAddrPort("[2001:db8::2]:4000") || s.Media[0].Hold() {
					t.Errorf("session %+v", s)
				}
			},
		},
		{
			name: "multicast address with TTL",
			in:   lines("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 233.252.0.1/127", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			check: func(t *testing.T, s *Session) {
				if s.Media[0].Addr != addr("233.252.0.1") {
					t.Errorf("address %v", s.Media[0].Addr)
				}
			},
		},
		{
			name: "dynamic payload types with fmtp",
			in:   sdp("m=audio 4000 RTP/AVP 96 97 18", "a=rtpmap:96 AMR-WB/16000/1", "a=fmtp:96 octet-align=1", "a=rtpmap:97 iLBC/8000", "a=fmtp:97 mode=30", "a=fmtp:18 annexb=no"),
			check: func(t *testing.T, s *Session) {
				a := s.Media[0]
				want := []Codec{{96, "AMR-WB", 16000, 1, "octet-align=1"}, {97, "iLBC", 8000, 0, "mode=30"}, {18, "G729", 8000, 1, ""}}
				if !reflect.DeepEqual(a.Codecs, want) {
					t.Errorf("codecs %+v", a.Codecs)
				}
				if got := a.AudioCodecs(); !reflect.DeepEqual(got, []string{"AMR-WB", "iLBC", "G729"}) {
					t.Errorf("codec names %v", got)
				}
			},
		},
		{
			name: "ptime",
			in:   sdp("m=audio 4000 RTP/AVP 0", "a=ptime:30", "m=audio 4002 RTP/AVP 0", "a=ptime:20.0"),
			check: func(t *testing.T, s *Session) {
				if s.Media[0].Ptime != 30 || s.Media[1].Ptime != 20 {
					t.Errorf("ptime %d %d", s.Media[0].Ptime, s.Media[1].Ptime)
				}
			},
		},
		{
			name: "unknown payload type is listed by number",
			in:   sdp("m=audio 4000 RTP/AVP 0 99"),
			check: func(t *testing.T, s *Session) {
				if got := s.Media[0].AudioCodecs(); !reflect.DeepEqual(got, []string{"PCMU", "99"}) {
					t.Errorf("codecs %v", got)
				}
			},
		},
		{
			name:     "host name as connection address is a problem",
			in:       lines("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 media.example.com", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			problems: []string{`session: connection address "media.example.com" is not an IP address`},
			check: func(t *testing.T, s *Session) {
				if s.Media[0].Addr.IsValid() {
					t.Errorf("address %v", s.Media[0].Addr)
				}
			},
		},
		{
			name:     "stream without any c= is a problem",
			in:       lines("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0", "m=audio 0 RTP/AVP 0"),
			problems: []string{"m=audio 4000 has no c= line"},
		},
		{
			name:     "bad rtpmap, rtcp and ptime are problems",
			in:       sdp("m=audio 4000 RTP/AVP 96", "a=rtpmap:96", "a=rtcp:none", "a=ptime:x"),
			problems: []string{`bad a=rtpmap:"96"`, `bad a=rtcp:"none"`, `bad a=ptime:"x"`},
		},
		{
			name: "LF line ends",
			in:   strings.ReplaceAll(sdp("m=audio 4000 RTP/AVP 0"), "\r\n", "\n"),
			check: func(t *testing.T, s *Session) {
				if s.Lenient || len(s.Media) != 1 {
					t.Errorf("session %+v", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.in)
			if tt.check != nil {
				tt.check(t, s)
			}
			wantProblems(t, s, tt.problems...)
		})
	}
}

// TestParseLenient covers descriptions that pion refuses and the
// fallback scanner reads.
func TestParseLenient(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		check    func(t *testing.T, s *Session)
		problems []string
	}{
		{
			name:     "last line without line end",
			in:       strings.TrimSuffix(sdp("m=audio 4000 RTP/AVP 0", "a=sendrecv"), "\r\n"),
			problems: []string{`last line "a=sendrecv" has no line end`},
		},
		{
			name:     "last line cut inside its CRLF",
			in:       strings.TrimSuffix(sdp("m=audio 4000 RTP/AVP 0", "a=rtcp-fb:* ccm tmmbr"), "\n"),
			problems: []string{`last line "a=rtcp-fb:* ccm tmmbr" has no line end`},
		},
		{
			name:     "c= after t=",
			in:       lines("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "c=IN IP4 192.0.2.9", "m=audio 4000 RTP/AVP 0"),
			problems: []string{`c= line "c=IN IP4 192.0.2.9" is out of the RFC 8866 §5 order`},
			check: func(t *testing.T, s *Session) {
				if s.Media[0].Addr != addr("192.0.2.9") {
					t.Errorf("address %v", s.Media[0].Addr)
				}
			},
		},
		{
			name: "T.38 image stream",
			in:   sdp("m=image 16756 udptl t38", "a=T38FaxVersion:0", "a=T38FaxRateManagement:transferredTCF"),
			check: func(t *testing.T, s *Session) {
				m := s.Media[0]
				if m.Type != "image" || m.Port != 16756 || m.Proto != "udptl" || len(m.Formats) != 0 ||
					!reflect.DeepEqual(m.FormatNames, []string{"t38"}) || m.Addr != addr("192.0.2.1") {
					t.Errorf("image %+v", m)
				}
			},
		},
		{
			name:     "session id that is not a number",
			in:       lines("v=0", "o=- abc 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			problems: []string{"session id or version that is not a 64-bit number"},
		},
		{
			name:     "missing o=, s= and t=",
			in:       lines("v=0", "c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0"),
			problems: []string{"no o= line", "no s= line", "no t= line"},
			check: func(t *testing.T, s *Session) {
				if s.Media[0].Endpoint() != netip.MustParseAddrPort("192.0.2.1:4000") {
					t.Errorf("audio %+v", s.Media[0])
				}
			},
		},
		{
			name:     "garbage lines and a bad port",
			in:       sdp("m=audio 4000 RTP/AVP 0", "hello", "X=1", "m=audio none RTP/AVP 0"),
			problems: []string{`line "hello" is not <type>=<value>`, `line "X=1" is not <type>=<value>`, `m= line "m=audio none RTP/AVP 0" has a bad port`},
			check: func(t *testing.T, s *Session) {
				if len(s.Media) != 2 || s.Media[1].Port != 0 {
					t.Errorf("media %+v", s.Media)
				}
			},
		},
		{
			name:     "SQL injection in c= from a scanner",
			in:       strings.TrimSuffix(lines("v=0", "o=- 279118510 1 IN IP4 192.0.2.26", "s=SonicSIP", "c=IN IP4 '/**/OR/**/'1'/**/=/**/'1'--", "t=0 0", "m=audio 20002 RTP/AVP 0 8", "a=sendrend"), "\r\n"),
			problems: []string{`last line "a=sendrend" has no line end`, `connection address "'/**/OR/**/'1'/**/=/**/'1'--" is not an IP address`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.in)
			if !s.Lenient {
				t.Error("not read by the lenient scanner")
			}
			if tt.check != nil {
				tt.check(t, s)
			}
			wantProblems(t, s, tt.problems...)
		})
	}
}

func TestParseRejectsNonSDP(t *testing.T) {
	for _, in := range []string{"", "\r\n", "hello", "o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", "<?xml version=\"1.0\"?>", "\x00\x01"} {
		t.Run(in, func(t *testing.T) {
			s, err := Parse([]byte(in))
			if !errors.Is(err, ErrNotSDP) || s != nil {
				t.Fatalf("Parse = %+v, %v", s, err)
			}
			if in != "" && strings.TrimSpace(in) != "" && !strings.Contains(err.Error(), quote(strings.TrimSpace(strings.SplitN(in, "\r\n", 2)[0]))) {
				t.Errorf("error %q does not name the input", err)
			}
		})
	}
}

func TestParseBoundsProblems(t *testing.T) {
	s := mustParse(t, "v=0\r\n"+strings.Repeat("junk\r\n", 100))
	if len(s.Problems) != maxProblems+1 || s.Problems[maxProblems] != "further problems not listed" {
		t.Errorf("%d problems: %q", len(s.Problems), s.Problems[len(s.Problems)-1])
	}
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{SendRecv: "sendrecv", SendOnly: "sendonly", RecvOnly: "recvonly", Inactive: "inactive"} {
		if d.String() != want {
			t.Errorf("%d: %q", d, d.String())
		}
	}
}
