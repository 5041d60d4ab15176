package sdp

import (
	"testing"

	"github.com/sipscope/sipscope/internal/pcaptest"
	"github.com/sipscope/sipscope/sip"
)

// corpusSDP is a session description from a SIP message of the corpus.
type corpusSDP struct {
	pcaptest.Payload
	Body []byte
}

// corpusSDPs returns the SDP bodies of the corpus's SIP messages, read
// from transport payloads without reassembly, and skips the test where
// there is no corpus.
func corpusSDPs(t testing.TB) []corpusSDP {
	t.Helper()
	var out []corpusSDP
	for _, p := range pcaptest.CorpusPayloads(t, sip.LooksLike) {
		m, err := sip.Parse(p.Data, sip.Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if b := m.SDP(); b != nil {
			out = append(out, corpusSDP{p, b})
		}
	}
	return out
}
