package sip

import (
	"testing"

	"github.com/sipscope/sipscope/internal/pcaptest"
)

// corpusMessages returns the transport payloads of the corpus that start
// like SIP: whole messages or, on TCP, segments starting with one. IP
// fragments and multi-segment TCP messages are not reassembled: the
// decoder's job, not this package's.
func corpusMessages(t testing.TB) []pcaptest.Payload {
	t.Helper()
	msgs := pcaptest.CorpusPayloads(t, LooksLike)
	if len(msgs) == 0 {
		t.Fatal("corpus holds no SIP")
	}
	return msgs
}
