package capture

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
)

// TestCorpusMatchesTshark reads every capture of the shared corpus and
// checks that it yields the frames tshark sees, with the same times,
// lengths and interfaces.
func TestCorpusMatchesTshark(t *testing.T) {
	root := corpustest.Dir(t)
	rels := corpustest.Captures(t, "")
	if len(rels) == 0 {
		t.Skip("no captures in the corpus")
	}
	for _, rel := range rels {
		file := filepath.Join(root, rel)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			lines := tshark(t, file, "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.interface_id")
			res := mustOpen(t, file)
			if res.err != nil || res.damaged() > 0 {
				t.Errorf("error %v, warnings %v", res.err, res.warns)
			}
			if len(res.pkts) != len(lines) {
				t.Fatalf("read %d packets, tshark %d", len(res.pkts), len(lines))
			}
			for i, p := range res.pkts {
				f := strings.Split(lines[i], "\t")
				if len(f) < 4 {
					t.Fatalf("tshark line %q", lines[i])
				}
				if f[3] == "" {
					f[3] = "0"
				}
				want := strings.Join(f[:4], " ")
				got := fmt.Sprintf("%d.%09d %d %d %s", p.Time.Unix(), p.Time.Nanosecond(), p.OrigLen, len(p.Data), strconv.Itoa(p.Iface))
				if got != want {
					t.Errorf("frame %d: time, length, captured, interface %q, tshark %q", p.Frame, got, want)
				}
			}
			if res.stats.Packets != len(lines) {
				t.Errorf("stats %+v", res.stats)
			}
		})
	}
}
