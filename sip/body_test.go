package sip

import (
	"strings"
	"testing"
)

const testSDP = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

func TestSDP(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{"application/sdp", "application/sdp", testSDP, testSDP},
		{"media type in any case with parameters", "Application/SDP; charset=utf-8", testSDP, testSDP},
		{"no Content-Type but an SDP body", "", testSDP, testSDP},
		{"other body", "application/dtmf-relay", "Signal=1\r\nDuration=160\r\n", ""},
		{"multipart with SDP as second part", `multipart/mixed;boundary=unique-boundary-1`,
			"preamble\r\n--unique-boundary-1\r\nContent-Type: application/isup; version=nxv3\r\n\r\n\x01\x02\r\n" +
				"--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\n" + testSDP + "\r\n--unique-boundary-1--\r\n",
			testSDP},
		{"quoted boundary and compact part header", `multipart/mixed; boundary="b 1"`,
			"--b 1\r\nc: application/sdp\r\nContent-Disposition: session\r\n\r\n" + testSDP + "\r\n--b 1--\r\n", testSDP},
		{"nested multipart", `multipart/mixed;boundary=outer`,
			"--outer\r\nContent-Type: multipart/alternative;boundary=inner\r\n\r\n" +
				"--inner\r\nContent-Type: text/plain\r\n\r\nhello\r\n--inner\r\nContent-Type: application/sdp\r\n\r\n" + testSDP + "\r\n--inner--\r\n" +
				"\r\n--outer--\r\n", testSDP},
		{"multipart with LF line ends", "multipart/mixed;boundary=x",
			"--x\nContent-Type: application/sdp\n\n" + strings.ReplaceAll(testSDP, "\r\n", "\n") + "\n--x--\n",
			strings.ReplaceAll(testSDP, "\r\n", "\n")},
		{"boundary text inside a part is not a delimiter", "multipart/mixed;boundary=x",
			"--x\r\nContent-Type: application/sdp\r\n\r\n" + testSDP + "a=x-note:--x\r\n\r\n--x--\r\n", testSDP + "a=x-note:--x\r\n"},
		{"unterminated multipart", "multipart/mixed;boundary=x",
			"--x\r\nContent-Type: application/sdp\r\n\r\n" + testSDP, testSDP},
		{"multipart without parameters", "multipart/mixed", "--x\r\n\r\n" + testSDP, ""},
		{"multipart without SDP", "multipart/mixed;boundary=x", "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n", ""},
		{"empty body", "application/sdp", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{ContentType: tt.contentType, Body: []byte(tt.body)}
			if got := string(m.SDP()); got != tt.want {
				t.Errorf("SDP() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSDPOfDeepMultipartIsBounded(t *testing.T) {
	body := testSDP
	ct := "application/sdp"
	for i := range 10 {
		b := "b" + strings.Repeat("x", i)
		body = "--" + b + "\r\nContent-Type: " + ct + "\r\n\r\n" + body + "\r\n--" + b + "--\r\n"
		ct = "multipart/mixed;boundary=" + b
	}
	m := &Message{ContentType: ct, Body: []byte(body)}
	if got := m.SDP(); got != nil {
		t.Errorf("SDP found %d levels deep", 10)
	}
}
