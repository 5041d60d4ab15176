package analysis

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/gencap"
)

// TestWriteJSONIsWhatTheEncoderWrites checks that the call-by-call writer
// gives the very bytes of json.Encoder with a two-space indent, on an
// empty report, generated captures and every corpus capture.
func TestWriteJSONIsWhatTheEncoderWrites(t *testing.T) {
	reports := map[string]*Report{"empty": {}, "no calls": {Calls: []*Call{}}}
	for _, names := range generatedCaptures(t) {
		rep, err := Files(names, Options{SummaryOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		reports[filepath.Base(names[0])] = rep
	}
	if root := corpustest.Root(); root != "" {
		for _, rel := range corpustest.Captures(t, "") {
			rep, err := Files([]string{filepath.Join(root, rel)}, Options{SummaryOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			reports[rel] = rep
		}
	}
	t.Logf("%d reports", len(reports))
	for name, rep := range reports {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: WriteJSON differs from the encoder (%d bytes, want %d)", name, got.Len(), want.Len())
		}
	}
}

// TestSummaryOnlyKeepsLittlePerCall bounds what a finished call costs when
// only its summary is kept (analyze, explain): a capture of a hundred
// thousand calls must fit in memory. Keeping the engine's records and the
// streams' series (about 21 KB a call here, against under 7 KB) fails it.
func TestSummaryOnlyKeepsLittlePerCall(t *testing.T) {
	p := filepath.Join(t.TempDir(), "turnover.pcap")
	if _, err := gencap.WriteFile(p, gencap.Config{Calls: 40, Duration: 4 * time.Minute, Hold: 2 * time.Second, Seed: 21}); err != nil {
		t.Fatal(err)
	}
	before := heapInUse()
	rep, err := Files([]string{p}, Options{SummaryOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	per := float64(heapInUse()-min(before, heapInUse())) / float64(len(rep.Calls))
	t.Logf("%d calls, %.0f bytes each", len(rep.Calls), per)
	if len(rep.Calls) < 2000 || per > 7500 {
		t.Errorf("%d calls kept %.0f bytes each, want at most 7500", len(rep.Calls), per)
	}
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
