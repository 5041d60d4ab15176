package sip

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/pcaptest"
)

// fuzzSeeds are the inline seeds: edge cases of the grammar, added to every
// SIP message of the corpus.
var fuzzSeeds = []string{
	invite("Content-Length: 5", "") + "v=0\r\n",
	"\r\n\r\nSIP/2.0 200 OK\r\nv: SIP/2.0/UDP [2001:db8::1]:5060;rport;received=2001:db8::2\r\nl: 0\r\n\r\n",
	"OPTIONS sip:a SIP/2.0\nSubject: a,\n b\n\n",
	invite("Content-Type: multipart/mixed;boundary=x", "") + "--x\r\nc: application/sdp\r\n\r\nv=0\r\n--x--\r\n",
	invite("Content-Length: xyz", "To: \"a\\\"<\" <sip:b>;tag=\"x;y\"", ""),
	string(benchInvite),
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, p := range corpusSeeds(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		m, err := Parse(b, Options{})
		if !bytes.Equal(in, b) {
			t.Fatal("Parse changed its input")
		}
		if LooksLike(b) != (err == nil) {
			t.Fatalf("LooksLike = %v but Parse error = %v", LooksLike(b), err)
		}
		if err != nil {
			return
		}
		raw, err := Parse(b, Options{KeepRaw: true})
		if err != nil || !bytes.Equal(raw.Body, m.Body) || !bytes.Equal(raw.Raw, b) {
			t.Fatalf("KeepRaw changed the result: %v", err)
		}
		if sdp := m.SDP(); len(sdp) > len(m.Body) {
			t.Fatal("SDP longer than the body")
		}
		m.Values("Via")
		// Serialising normalises (one Content-Length, no CR or LF inside
		// values); after one more round it is a fixed point.
		m2, err := Parse(m.Bytes(), Options{})
		if err != nil {
			t.Fatalf("Parse(Bytes()) of %q: %v", m.Bytes(), err)
		}
		if !bytes.Equal(m2.Body, m.Body) {
			t.Fatalf("body changed: %q -> %q", m.Body, m2.Body)
		}
		b2 := m2.Bytes()
		if skip, n, ok := FrameLength(b2); skip != 0 || n != len(b2) || !ok {
			t.Fatalf("FrameLength(%q) = %d, %d, %v", b2, skip, n, ok)
		}
		m3, err := Parse(b2, Options{})
		if err != nil {
			t.Fatalf("Parse(%q): %v", b2, err)
		}
		if b3 := m3.Bytes(); !bytes.Equal(b2, b3) {
			t.Fatalf("not a fixed point:\n%q\n%q", b2, b3)
		}
		if !reflect.DeepEqual(m3.Via, m2.Via) || m3.CallID != m2.CallID || m3.From != m2.From || m3.To != m2.To || m3.CSeq != m2.CSeq {
			t.Fatalf("fields changed:\n%+v\n%+v", m2, m3)
		}
	})
}

func FuzzFrameLength(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s + s))
	}
	for _, p := range corpusSeeds(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		skip, n, ok := FrameLength(b)
		if skip < 0 || skip > len(b) {
			t.Fatalf("skip %d of %d bytes", skip, len(b))
		}
		if !ok {
			return
		}
		if n <= 0 || skip+n > len(b) {
			t.Fatalf("frame %d+%d of %d bytes", skip, n, len(b))
		}
		if LooksLike(b[skip:]) {
			if _, err := Parse(b[skip:skip+n], Options{}); err != nil {
				t.Fatalf("framed message does not parse: %v", err)
			}
		}
	})
}

// corpusSeeds returns the SIP payloads of the corpus, or none when the
// corpus is not checked out.
func corpusSeeds(f *testing.F) [][]byte {
	if corpustest.Root() == "" {
		return nil
	}
	var out [][]byte
	for _, p := range pcaptest.CorpusPayloads(f, LooksLike) {
		out = append(out, p.Data)
	}
	return out
}
