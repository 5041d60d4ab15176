package capture

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchPackets is the size of the generated capture: a million frames, as a
// busy trunk writes in about a minute.
const benchPackets = 1_000_000

// BenchmarkRead reads a generated capture of benchPackets frames (RTP-sized
// with a SIP-sized one in fifty) packet by packet; one op is one packet.
// Run it with -benchtime=3000000x or more to cover whole files.
func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	frames := benchFrames()
	pcap := filepath.Join(dir, "bench.pcap")
	ng := filepath.Join(dir, "bench.pcapng")
	gz := filepath.Join(dir, "bench.pcap.gz")
	rot := filepath.Join(dir, "rotated")
	writeBench(b, pcap, frames, func(w io.Writer) (func(time.Time, []byte), func() error) {
		pw, err := NewWriter(w, LinkEthernet, 0)
		if err != nil {
			b.Fatal(err)
		}
		return func(t time.Time, d []byte) { pw.WritePacket(t, d, 0) }, func() error { return nil }
	})
	writeBench(b, ng, frames, func(w io.Writer) (func(time.Time, []byte), func() error) {
		var nb ngBuilder
		nb.shb(false)
		nb.idb(LinkEthernet, 0, nb.opt(optTSResol, []byte{9}))
		w.Write(nb.buf)
		return func(t time.Time, d []byte) {
			nb.buf = nb.buf[:0]
			nb.epb(0, uint64(t.UnixNano()), d, 0)
			w.Write(nb.buf)
		}, func() error { return nil }
	})
	writeBench(b, gz, frames, func(w io.Writer) (func(time.Time, []byte), func() error) {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		pw, err := NewWriter(zw, LinkEthernet, 0)
		if err != nil {
			b.Fatal(err)
		}
		return func(t time.Time, d []byte) { pw.WritePacket(t, d, 0) }, zw.Close
	})
	os.Mkdir(rot, 0o755)
	fi, err := os.Stat(pcap)
	if err != nil {
		b.Fatal(err)
	}
	rw, err := NewRotatingWriter(filepath.Join(rot, "cap"), fi.Size()/4, 0, LinkEthernet)
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchPackets {
		rw.WritePacket(benchTime(i), frames[i%len(frames)], 0)
	}
	rw.Close()

	tests := []struct {
		name  string
		files []string
	}{
		{"pcap", []string{pcap}},
		{"pcapng", []string{ng}},
		{"pcap.gz", []string{gz}},
		{"rotated-4-files", []string{rot}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			open := func() Source {
				src, err := OpenAll(tc.files, nil)
				if err != nil {
					b.Fatal(err)
				}
				return src
			}
			src := open()
			var p Packet
			var total int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := src.Next(&p); err != nil {
					b.StopTimer()
					src.Close()
					src = open()
					b.StartTimer()
					if src.Next(&p) != nil {
						b.Fatal("empty capture")
					}
				}
				total += int64(len(p.Data)) + 16
			}
			b.StopTimer()
			src.Close()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/sec, "packets/s")
			b.ReportMetric(float64(total)/sec/1e6, "MB/s")
		})
	}
}

// benchFrames are the frame bodies of the benchmark: 49 RTP frames of a
// G.711 call (214 bytes) and one SIP message (900 bytes), noise-filled as
// audio is.
func benchFrames() [][]byte {
	var frames [][]byte
	x := uint32(88172645)
	for i := range 50 {
		n := 214
		if i == 49 {
			n = 900
		}
		f := make([]byte, n)
		for j := range f {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			f[j] = byte(x)
		}
		frames = append(frames, f)
	}
	return frames
}

func benchTime(i int) time.Time { return t0.Add(time.Duration(i) * 20 * time.Microsecond) }

// writeBench writes the benchmark capture to name with the writer that
// start sets up on the file.
func writeBench(b *testing.B, name string, frames [][]byte, start func(io.Writer) (write func(time.Time, []byte), finish func() error)) {
	b.Helper()
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	write, finish := start(bw)
	for i := range benchPackets {
		write(benchTime(i), frames[i%len(frames)])
	}
	if err := finish(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
}
