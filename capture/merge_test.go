package capture

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// at is a packet tagged tag at t0 plus ms milliseconds.
func at(tag byte, ms int) rec {
	return rec{t: t0.Add(time.Duration(ms) * time.Millisecond), data: payload(tag, 60)}
}

func TestOpenAllMergesByTime(t *testing.T) {
	tests := []struct {
		name  string
		files [][]rec
		want  []byte
	}{
		{
			"rotated files, a call spanning them",
			[][]rec{{at(1, 0), at(2, 10)}, {at(3, 20), at(4, 30)}, {at(5, 40)}},
			[]byte{1, 2, 3, 4, 5},
		},
		{
			"overlapping captures interleave",
			[][]rec{{at(1, 0), at(3, 20), at(5, 40)}, {at(2, 10), at(4, 30), at(6, 50)}},
			[]byte{1, 2, 3, 4, 5, 6},
		},
		{
			"equal times keep the earlier file first",
			[][]rec{{at(1, 0), at(3, 10)}, {at(2, 0), at(4, 10)}, {at(5, 10)}},
			[]byte{1, 2, 3, 4, 5},
		},
		{
			"files given out of time order",
			[][]rec{{at(4, 30), at(5, 40)}, {at(1, 0), at(2, 10)}, {at(3, 20)}},
			[]byte{1, 2, 3, 4, 5},
		},
		{
			"a file out of order inside keeps its own order",
			[][]rec{{at(1, 0), at(3, 30), at(4, 20)}, {at(2, 10), at(5, 40)}},
			[]byte{1, 2, 3, 4, 5},
		},
		{
			"an empty file",
			[][]rec{{at(1, 0)}, {}, {at(2, 10)}},
			[]byte{1, 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var names []string
			for i, recs := range tc.files {
				names = append(names, writeFile(t, filepath.Join(dir, fmt.Sprintf("f%d.pcap", i)),
					pcapFile(i%2 == 1, false, 65535, LinkEthernet, recs...)))
			}
			res, err := openAll(t, names...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tags(res.pkts), tc.want) || len(res.warns) != 0 || res.err != nil {
				t.Fatalf("read %v (warnings %v, error %v), want %v", tags(res.pkts), res.warns, res.err, tc.want)
			}
			for i, p := range res.pkts {
				if p.Frame != i+1 {
					t.Errorf("packet %d has frame %d", i, p.Frame)
				}
			}
			if res.stats.Packets != len(tc.want) || res.stats.Bytes != int64(60*len(tc.want)) {
				t.Errorf("stats %+v", res.stats)
			}
		})
	}
}

func TestOpenAllExpandsDirectories(t *testing.T) {
	dir := t.TempDir()
	rot := filepath.Join(dir, "rot")
	if err := os.MkdirAll(filepath.Join(rot, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rot, "cap"), pcapFile(false, false, 0, LinkEthernet, at(1, 0), at(2, 10)))
	writeFile(t, filepath.Join(rot, "cap1"), pcapFile(false, false, 0, LinkEthernet, at(3, 20), at(4, 30)))
	writeFile(t, filepath.Join(rot, "cap2.gz"), gzipped(t, pcapFile(false, false, 0, LinkEthernet, at(5, 40))))
	writeFile(t, filepath.Join(rot, ".cap3"), pcapFile(false, false, 0, LinkEthernet, at(9, 15)))
	writeFile(t, filepath.Join(rot, "sub", "cap4"), pcapFile(false, false, 0, LinkEthernet, at(9, 15)))
	writeFile(t, filepath.Join(rot, "README"), []byte("rotated by tcpdump -C 100\n"))
	if err := os.Symlink(filepath.Join(rot, "cap1"), filepath.Join(rot, "link")); err != nil {
		t.Fatal(err)
	}
	extra := writeFile(t, filepath.Join(dir, "extra.pcap"), pcapFile(false, false, 0, LinkEthernet, at(6, 25)))

	res, err := openAll(t, rot, extra)
	if err != nil {
		t.Fatal(err)
	}
	// link duplicates cap1: its packets come right after cap1's
	if got, want := tags(res.pkts), []byte{1, 2, 3, 3, 6, 4, 4, 5}; !bytes.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
	if len(res.warns) != 1 || !strings.Contains(res.warns[0].Text, "README") || res.warns[0].Damaged {
		t.Errorf("warnings %+v, want one skipping README", res.warns)
	}

	t.Run("only non-captures", func(t *testing.T) {
		empty := t.TempDir()
		writeFile(t, filepath.Join(empty, "notes.txt"), []byte("nothing"))
		if _, err := openAll(t, empty); err == nil || !strings.Contains(err.Error(), empty) {
			t.Errorf("error %v, want one naming %s", err, empty)
		}
	})
	t.Run("empty directory", func(t *testing.T) {
		empty := t.TempDir()
		if _, err := openAll(t, empty); err == nil || !strings.Contains(err.Error(), empty) {
			t.Errorf("error %v, want one naming %s", err, empty)
		}
	})
	t.Run("named non-capture", func(t *testing.T) {
		if _, err := openAll(t, extra, filepath.Join(rot, "README")); err == nil || !strings.Contains(err.Error(), "README") {
			t.Errorf("error %v", err)
		}
	})
}

func TestOpenAllSingleFileKeepsItsFramesAndWarnings(t *testing.T) {
	dir := t.TempDir()
	p, po := fivePcap()
	name := writeFile(t, filepath.Join(dir, "one.pcap"), insert(p, po[2], garbage(10)))
	res, err := openAll(t, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.pkts) != 5 || len(res.warns) != 1 || res.warns[0].Frame != 3 || strings.Contains(res.warns[0].Text, name) {
		t.Errorf("packets %v warnings %+v", tags(res.pkts), res.warns)
	}
}

func TestOpenAllWarningsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	b := pcapFile(false, false, 0, LinkEthernet, at(2, 10), at(4, 30), at(6, 50))
	bOffs := 24 + 76
	a := writeFile(t, filepath.Join(dir, "a.pcap"), pcapFile(false, false, 0, LinkEthernet, at(1, 0), at(3, 20), at(5, 40)))
	bad := writeFile(t, filepath.Join(dir, "b.pcap"), insert(b, bOffs, garbage(13))[:len(b)+13-20])
	res, err := openAll(t, a, bad)
	if err != nil {
		t.Fatal(err)
	}
	if got := tags(res.pkts); !bytes.Equal(got, []byte{1, 2, 3, 4, 5}) {
		t.Fatalf("read %v", got)
	}
	want := []Warning{
		{Frame: 4, Damaged: true, Text: bad + ", frame 2 of the file: damaged record at byte 100 (capture length 225262023 is absurd); skipped 13 bytes to the next plausible record"},
		{Frame: 5, Damaged: true, Text: bad + ", frame 3 of the file: file ends inside a record (56 of 76 bytes, at byte 189)"},
	}
	if fmt.Sprint(res.warns) != fmt.Sprint(want) {
		t.Errorf("warnings\n%v\nwant\n%v", res.warns, want)
	}
	if res.stats.Damaged != 2 || res.stats.Packets != 5 {
		t.Errorf("stats %+v", res.stats)
	}
}

func TestOpenAllKeepsFewFilesOpen(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := range 40 {
		names = append(names, writeFile(t, filepath.Join(dir, fmt.Sprintf("cap%02d", i)),
			pcapFile(false, false, 0, LinkEthernet, at(byte(i), i*100), at(byte(i), i*100+50), at(byte(i), i*100+100))))
	}
	src, err := OpenAll(names, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := src.(*merger)
	most, n := 0, 0
	var p Packet
	for ; src.Next(&p) == nil; n++ {
		open := len(m.heap)
		if m.last != nil {
			open++
		}
		most = max(most, open)
	}
	if n != 120 || most > 2 {
		t.Errorf("read %d packets with up to %d files open, want 120 with at most 2", n, most)
	}
}

func TestOpenAllReadsStdinOnce(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "a.pcap"), pcapFile(false, false, 0, LinkEthernet, at(1, 0), at(3, 20)))
	stdinFrom(t, pcapFile(true, true, 0, LinkEthernet, at(2, 10), at(4, 30)))
	res, err := openAll(t, file, "-")
	if err != nil {
		t.Fatal(err)
	}
	if got := tags(res.pkts); !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Errorf("read %v", got)
	}
	if _, err := OpenAll([]string{"-", "-"}, nil); err == nil {
		t.Error("standard input twice: no error")
	}
}

func TestOpenAllEndsAfterLastPacket(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a"), pcapFile(false, false, 0, LinkEthernet, at(1, 0)))
	b := writeFile(t, filepath.Join(dir, "b"), pcapFile(false, false, 0, LinkEthernet, at(2, 0)))
	src, err := OpenAll([]string{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	for range 2 {
		if err := src.Next(&p); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := src.Next(&p); err != io.EOF {
			t.Fatalf("Next after the end: %v", err)
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}
