package analysis

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/gencap"
)

// analyzeSequential is Files with everything on one goroutine.
func analyzeSequential(t testing.TB, names []string, opt Options) *Report {
	t.Helper()
	a := New(opt)
	src, err := capture.OpenAll(names, a.Warn)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a.report.Summary.Files = append([]string(nil), names...)
	a.Read(src)
	return a.Finish()
}

// analyzeApart is Files with reading and decoding on a goroutine of their
// own, whatever GOMAXPROCS says, in batches of the given bounds.
func analyzeApart(t testing.TB, names []string, opt Options, maxEvents, maxBytes int) *Report {
	t.Helper()
	a := New(opt)
	in := newInput(a)
	in.maxEvents, in.maxBytes = maxEvents, maxBytes
	src, err := capture.OpenAll(names, in.Warn)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a.report.Summary.Files = append([]string(nil), names...)
	in.readApart(src)
	return a.Finish()
}

func reportJSON(t *testing.T, r *Report) []byte {
	t.Helper()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batchBounds cross batch boundaries everywhere (one event a batch), at
// odd places, and as in production.
var batchBounds = []struct {
	name             string
	maxEvents, bytes int
}{
	{"one-event", 1, 1},
	{"odd", 7, 999},
	{"default", batchEvents, batchBytes},
}

// generatedCaptures writes small captures of the kinds the benchmarks
// use: direct calls back to back with loss, B2BUA calls, and a rotated
// set of files.
func generatedCaptures(t *testing.T) [][]string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, cfg gencap.Config) string {
		p := filepath.Join(dir, name)
		if _, err := gencap.WriteFile(p, cfg); err != nil {
			t.Fatal(err)
		}
		return p
	}
	direct := write("direct.pcap", gencap.Config{Calls: 12, Duration: 12 * time.Second, Hold: 3 * time.Second, Loss: 2, Seed: 3})
	b2bua := write("b2bua.pcap", gencap.Config{Calls: 6, Duration: 8 * time.Second, B2BUA: true, Loss: 1, Seed: 4})
	rot := filepath.Join(dir, "rotated")
	if err := os.Mkdir(rot, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := gencap.WriteRotated(filepath.Join(rot, "cap"), 200<<10, gencap.Config{Calls: 8, Duration: 10 * time.Second, Hold: 4 * time.Second, B2BUA: true, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return [][]string{{direct}, {b2bua}, {rot}, {direct, b2bua}}
}

// TestReadingApartChangesNoByte runs every corpus capture and generated
// captures through the sequential pipeline and through the one that reads
// and decodes on a goroutine of its own, and wants the same JSON.
func TestReadingApartChangesNoByte(t *testing.T) {
	var inputs [][]string
	root := corpustest.Dir(t)
	for _, sub := range []string{"public", "asterisk"} {
		for _, rel := range corpustest.Captures(t, sub) {
			inputs = append(inputs, []string{filepath.Join(root, rel)})
		}
	}
	inputs = append(inputs, generatedCaptures(t)...)
	for _, names := range inputs {
		name := filepath.Base(names[0])
		if len(names) > 1 {
			name += "+more"
		}
		t.Run(name, func(t *testing.T) {
			for _, keepRaw := range []bool{false, true} {
				opt := Options{KeepRaw: keepRaw}
				want := reportJSON(t, analyzeSequential(t, names, opt))
				for _, bb := range batchBounds {
					if got := reportJSON(t, analyzeApart(t, names, opt, bb.maxEvents, bb.bytes)); !bytes.Equal(got, want) {
						t.Errorf("keepRaw %v, batches %s: report differs from the sequential one\n%s",
							keepRaw, bb.name, firstDifference(got, want))
					}
				}
			}
		})
	}
}

// firstDifference shows where two reports part.
func firstDifference(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-200)
	return "got:  ..." + string(got[lo:min(len(got), i+200)]) + "\nwant: ..." + string(want[lo:min(len(want), i+200)])
}

// TestRotatedFilesAnalyzeAsOne splits a generated capture with calls in
// progress across file boundaries and wants the same calls and streams,
// frame numbers included, as from the single file.
func TestRotatedFilesAnalyzeAsOne(t *testing.T) {
	dir := t.TempDir()
	cfg := gencap.Config{Calls: 10, Duration: 15 * time.Second, Hold: 5 * time.Second, B2BUA: true, Loss: 1, Seed: 9}
	single := filepath.Join(dir, "single.pcap")
	st, err := gencap.WriteFile(single, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rot := filepath.Join(dir, "rotated")
	if err := os.Mkdir(rot, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := gencap.WriteRotated(filepath.Join(rot, "cap"), 150<<10, cfg); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(rot)
	if len(entries) < 5 {
		t.Fatalf("only %d rotated files", len(entries))
	}
	one, err := Files([]string{single}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	many, err := Files([]string{rot}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Calls) != st.Calls {
		t.Errorf("%d calls in the single file, generated %d", len(one.Calls), st.Calls)
	}
	one.Summary.Files, many.Summary.Files = nil, nil
	if got, want := reportJSON(t, many), reportJSON(t, one); !bytes.Equal(got, want) {
		t.Errorf("%d rotated files analyze differently from the single file\n%s", len(entries), firstDifference(got, want))
	}
}

// TestAllocationsDoNotGrowWithLength analyzes the same calls for 20 and
// for 60 seconds: the 80,000 packets more may not cost allocations, in
// either pipeline, since every buffer is recycled once the calls are up.
func TestAllocationsDoNotGrowWithLength(t *testing.T) {
	dir := t.TempDir()
	write := func(seconds int) (string, gencap.Stats) {
		p := filepath.Join(dir, strconv.Itoa(seconds)+".pcap")
		st, err := gencap.WriteFile(p, gencap.Config{Calls: 20, Duration: time.Duration(seconds) * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return p, st
	}
	short, sst := write(20)
	long, lst := write(60)
	mallocs := func(run func()) uint64 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		run()
		runtime.ReadMemStats(&m1)
		return m1.Mallocs - m0.Mallocs
	}
	for _, apart := range []bool{false, true} {
		run := func(p string) func() {
			return func() {
				if apart {
					analyzeApart(t, []string{p}, Options{}, batchEvents, batchBytes)
				} else {
					analyzeSequential(t, []string{p}, Options{})
				}
			}
		}
		run(short)() // warm up: the first run sets up what is global
		ms, ml := mallocs(run(short)), mallocs(run(long))
		extra := lst.Packets - sst.Packets
		// Leave room for what the runtime and the test allocate besides.
		if ml > ms+uint64(extra)/100 {
			t.Errorf("reading apart %v: %d allocations for %d packets, %d for %d: %.3f per extra packet",
				apart, ms, sst.Packets, ml, lst.Packets, float64(ml-ms)/float64(extra))
		}
	}
}
