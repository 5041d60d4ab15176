package sip

import (
	"strings"
	"testing"
)

func TestFrameLength(t *testing.T) {
	msg := invite("Content-Length: 5", "") + "v=0\r\n"
	tests := []struct {
		name string
		in   string
		skip int
		n    int
		ok   bool
	}{
		{"whole message", msg, 0, len(msg), true},
		{"message followed by the next one", msg + "SIP/2.0 100 Trying\r\n", 0, len(msg), true},
		{"headers not complete", msg[:40], 0, 0, false},
		{"body not complete", msg[:len(msg)-1], 0, 0, false},
		{"keep-alives before the message", "\r\n\r\n" + msg, 4, len(msg), true},
		{"only keep-alives", "\r\n\r\n", 4, 0, false},
		{"no Content-Length ends at the empty line", invite("") + "trailing", 0, len(invite("")), true},
		{"compact form in any case", invite("L: 2", "") + "ab", 0, len(invite("L: 2", "")) + 2, true},
		{"whitespace before the colon", invite("Content-Length : 2", "") + "ab", 0, len(invite("Content-Length : 2", "")) + 2, true},
		{"bare LF line ends", strings.ReplaceAll(invite("Content-Length: 2", ""), "\r\n", "\n") + "ab",
			0, len(strings.ReplaceAll(invite("Content-Length: 2", ""), "\r\n", "\n")) + 2, true},
		{"folded Content-Length", invite("Content-Length:", " 2", "") + "ab", 0, len(invite("Content-Length:", " 2", "")) + 2, true},
		{"non-numeric Content-Length counts as none", invite("Content-Length: xyz", "") + "ab", 0, len(invite("Content-Length: xyz", "")), true},
		{"absurd Content-Length counts as none", invite("Content-Length: 999999999999", "") + "ab", 0, len(invite("Content-Length: 999999999999", "")), true},
		{"first Content-Length wins", invite("Content-Length: 1", "Content-Length: 2", "") + "ab", 0, len(invite("Content-Length: 1", "Content-Length: 2", "")) + 1, true},
		{"Content-Length in the body is not read", invite("") + "Content-Length: 9\r\n", 0, len(invite("")), true},
		{"empty", "", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skip, n, ok := FrameLength([]byte(tt.in))
			if skip != tt.skip || n != tt.n || ok != tt.ok {
				t.Errorf("FrameLength = %d, %d, %v; want %d, %d, %v", skip, n, ok, tt.skip, tt.n, tt.ok)
			}
		})
	}
}

func TestFrameLengthSplitsAStream(t *testing.T) {
	a := invite("Content-Length: 5", "") + "v=0\r\n"
	b := crlf(append([]string{"SIP/2.0 100 Trying"}, append(basicHeaders, "l: 0", "")...)...)
	stream := []byte(a + "\r\n\r\n" + b)
	var got []string
	for len(stream) > 0 {
		skip, n, ok := FrameLength(stream)
		if !ok {
			t.Fatalf("stuck at %q", stream)
		}
		got = append(got, string(stream[skip:skip+n]))
		stream = stream[skip+n:]
	}
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Errorf("messages %q", got)
	}
}

func TestFrameLengthAllocatesNothing(t *testing.T) {
	b := []byte(invite("Content-Length: 5", "") + "v=0\r\n")
	if n := testing.AllocsPerRun(100, func() { FrameLength(b) }); n != 0 {
		t.Errorf("FrameLength allocates %v times", n)
	}
}
