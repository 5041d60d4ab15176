package capture

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkLinuxSLL, 200)
	if err != nil {
		t.Fatal(err)
	}
	in := []struct {
		t        time.Time
		data     []byte
		orig     int
		wantLen  int
		wantOrig int
	}{
		{t0.Add(1500 * time.Nanosecond), payload(1, 60), 0, 60, 60},
		{t0.Add(time.Second), payload(2, 150), 1514, 150, 1514},
		{t0.Add(2 * time.Second), payload(3, 300), 300, 200, 300},
		{t0.Add(3 * time.Second), payload(4, 10), 5, 10, 10},
	}
	for _, p := range in {
		if err := w.WritePacket(p.t, p.data, p.orig); err != nil {
			t.Fatal(err)
		}
	}
	raw := bytes.Clone(buf.Bytes())
	res := mustRead(t, raw)
	if len(res.pkts) != len(in) {
		t.Fatalf("read %d packets", len(res.pkts))
	}
	for i, want := range in {
		p := res.pkts[i]
		if !p.Time.Equal(want.t.Truncate(time.Microsecond)) || p.LinkType != LinkLinuxSLL ||
			!bytes.Equal(p.Data, want.data[:want.wantLen]) || p.OrigLen != want.wantOrig {
			t.Errorf("packet %d: %v %v len %d/%d", i, p.Time, p.LinkType, len(p.Data), p.OrigLen)
		}
	}

	t.Run("tshark reads it", func(t *testing.T) {
		out := tshark(t, writeFile(t, filepath.Join(t.TempDir(), "w.pcap"), raw), "-e", "frame.len", "-e", "frame.cap_len")
		if got, want := strings.Join(out, ";"), "60\t60;1514\t150;300\t200;10\t10"; got != want {
			t.Errorf("tshark saw %q, want %q", got, want)
		}
	})
}

func TestWriterRejectsTimesPcapCannotHold(t *testing.T) {
	w, err := NewWriter(io.Discard, LinkEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []time.Time{time.Unix(-1, 0), time.Unix(1<<32, 0)} {
		if err := w.WritePacket(ts, payload(1, 10), 0); err == nil {
			t.Errorf("%v: no error", ts)
		}
	}
}

func TestWritePacketAllocatesNothing(t *testing.T) {
	w, err := NewWriter(io.Discard, LinkEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := payload(1, 1500)
	w.WritePacket(t0, data, 0)
	if allocs := testing.AllocsPerRun(1000, func() { w.WritePacket(t0, data, 0) }); allocs != 0 {
		t.Errorf("%v allocations per packet", allocs)
	}
}

func TestRotatingWriterNamesFilesLikeTcpdump(t *testing.T) {
	// 24-byte header and 116-byte records: a file passes 1000 bytes after
	// nine packets, so 40 packets fill files of 9, 9, 9, 9 and 4.
	tests := []struct {
		name     string
		fileSize int64
		count    int
		want     map[string][2]byte // file: first and last tag
	}{
		{"no rotation", 0, 0, map[string][2]byte{"cap": {1, 40}}},
		{"-C", 1000, 0, map[string][2]byte{"cap": {1, 9}, "cap1": {10, 18}, "cap2": {19, 27}, "cap3": {28, 36}, "cap4": {37, 40}}},
		{"-C -W 3", 1000, 3, map[string][2]byte{"cap0": {28, 36}, "cap1": {37, 40}, "cap2": {19, 27}}},
		{"-C -W 1", 1000, 1, map[string][2]byte{"cap": {37, 40}}},
		{"-C -W 10", 1000, 10, map[string][2]byte{"cap0": {1, 9}, "cap1": {10, 18}, "cap2": {19, 27}, "cap3": {28, 36}, "cap4": {37, 40}}},
		{"-C -W 11", 1000, 11, map[string][2]byte{"cap00": {1, 9}, "cap01": {10, 18}, "cap02": {19, 27}, "cap03": {28, 36}, "cap04": {37, 40}}},
		{"-C -W 101", 1000, 101, map[string][2]byte{"cap000": {1, 9}, "cap001": {10, 18}, "cap002": {19, 27}, "cap003": {28, 36}, "cap004": {37, 40}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rw, err := NewRotatingWriter(filepath.Join(dir, "cap"), tc.fileSize, tc.count, LinkEthernet)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				if err := rw.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), payload(byte(i+1), 100), 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			got := map[string][2]byte{}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				res, err := readBytes(t, mustReadFile(t, filepath.Join(dir, e.Name())))
				if err != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
				tg := tags(res.pkts)
				got[e.Name()] = [2]byte{tg[0], tg[len(tg)-1]}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("files %v, want %v", got, tc.want)
			}
			if tc.count == 0 {
				res, err := openAll(t, dir)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.pkts) != 40 || !slices.IsSortedFunc(res.pkts, func(a, b Packet) int { return a.Time.Compare(b.Time) }) {
					t.Errorf("reading the rotation back gave %v", tags(res.pkts))
				}
			}
		})
	}
}

// TestRotatingWriterMatchesTcpdump has tcpdump rotate a capture with -C and
// -W and checks that the writer makes the same files with the same packets.
func TestRotatingWriterMatchesTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	dir := t.TempDir()
	var src bytes.Buffer
	w, _ := NewWriter(&src, LinkEthernet, 0)
	for i := range 30000 {
		w.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), payload(byte(i), 100+i%200), 0)
	}
	in := writeFile(t, filepath.Join(dir, "in.pcap"), src.Bytes())
	for _, count := range []int{0, 3, 12} {
		t.Run("W="+strconv.Itoa(count), func(t *testing.T) {
			theirs, ours := filepath.Join(dir, fmt.Sprintf("t%d", count)), filepath.Join(dir, fmt.Sprintf("o%d", count))
			os.Mkdir(theirs, 0o755)
			os.Mkdir(ours, 0o755)
			args := []string{"-r", in, "-w", filepath.Join(theirs, "cap"), "-C", "1", "-Z", "root"}
			if count > 0 {
				args = append(args, "-W", strconv.Itoa(count))
			}
			if out, err := exec.Command(tcpdump, args...).CombinedOutput(); err != nil {
				t.Skipf("tcpdump: %v: %s", err, out)
			}
			rw, err := NewRotatingWriter(filepath.Join(ours, "cap"), 1_000_000, count, LinkEthernet)
			if err != nil {
				t.Fatal(err)
			}
			res := mustRead(t, src.Bytes())
			for _, p := range res.pkts {
				if err := rw.WritePacket(p.Time, p.Data, p.OrigLen); err != nil {
					t.Fatal(err)
				}
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			if a, b := fileCounts(t, theirs), fileCounts(t, ours); a != b {
				t.Errorf("tcpdump wrote %s\nwe wrote     %s", a, b)
			}
		})
	}
}

// fileCounts lists the files of dir with their packet counts.
func fileCounts(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		res := mustRead(t, mustReadFile(t, filepath.Join(dir, e.Name())))
		fmt.Fprintf(&b, "%s:%d ", e.Name(), len(res.pkts))
	}
	return b.String()
}

func mustReadFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tshark prints the given -e fields of every frame of file, one line each;
// the test is skipped when tshark is not installed.
func tshark(t testing.TB, file string, fields ...string) []string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	args := append([]string{"-n", "-r", file, "-T", "fields"}, fields...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}
