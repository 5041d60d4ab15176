package capture

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
)

// FuzzOpen feeds arbitrary bytes to the reader: it must never panic, must
// end, and must keep its promises about what it hands out.
func FuzzOpen(f *testing.F) {
	p, po := fivePcap()
	n, no := fivePcapng()
	var ng ngBuilder
	ng.shb(true)
	ng.idb(LinkRaw, 64, ng.opt(optTSResol, []byte{0x80 | 20}), ng.opt(optTSOffset, ng.o().AppendUint64(nil, 7)))
	ng.epb(0, 1<<40, payload(1, 40), 100)
	ng.spb(payload(2, 20), 20)
	ng.pb(0, 5, payload(3, 8))
	ng.block(blockNRB, make([]byte, 8))
	ng.shb(false)
	ng.idb(LinkEthernet, 0)
	ng.epb(0, 9, payload(4, 12), 0)
	seeds := [][]byte{
		p, n, ng.buf,
		gzipped(f, p), gzipped(f, n),
		pcapFile(true, true, 128, LinkLinuxSLL2, at(1, 0), rec{t: t0, data: payload(2, 200), orig: 900}),
		insert(p, po[2], garbage(37)),
		insert(n, no[2], garbage(41)),
		put32(n, no[2]+4, 7),
		p[:len(p)-50],
	}
	for _, s := range seeds {
		f.Add(s)
	}
	for _, s := range corpusSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		warnings := 0
		src, err := NewReader(bytes.NewReader(data), "fuzz", func(Warning) { warnings++ })
		if err != nil {
			return
		}
		defer src.Close()
		var pkt Packet
		var bytesRead int64
		frames := 0
		for ; ; frames++ {
			err := src.Next(&pkt)
			if err != nil {
				if err != io.EOF {
					t.Fatalf("error from a bytes.Reader: %v", err)
				}
				break
			}
			if frames > 1<<24 {
				t.Fatal("reading does not end")
			}
			if pkt.Frame != frames+1 || len(pkt.Data) > maxRecord || pkt.OrigLen < len(pkt.Data) {
				t.Fatalf("packet %d: frame %d, %d of %d bytes", frames, pkt.Frame, len(pkt.Data), pkt.OrigLen)
			}
			bytesRead += int64(len(pkt.Data))
		}
		st, _ := StatsOf(src)
		if st.Packets != frames || st.Bytes != bytesRead || warnings > maxWarnings {
			t.Fatalf("stats %+v after %d packets, %d bytes, %d warnings", st, frames, bytesRead, warnings)
		}
	})
}

// corpusSeeds are the small captures of the shared corpus, if it is there.
func corpusSeeds(f *testing.F) [][]byte {
	root := corpustest.Root()
	if root == "" {
		return nil
	}
	var seeds [][]byte
	for _, rel := range corpustest.Captures(f, "") {
		if b, err := os.ReadFile(filepath.Join(root, rel)); err == nil && len(b) <= 16<<10 {
			seeds = append(seeds, b)
		}
	}
	return seeds
}
