package capture

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 17, 10, 30, 0, 0, time.UTC)

func TestPcapReadsBothByteOrdersAndPrecisions(t *testing.T) {
	recs := []rec{
		{t: t0.Add(123456789 * time.Nanosecond), data: payload(1, 60)},
		{t: t0.Add(time.Second + 999999999*time.Nanosecond), data: payload(2, 1514)},
		{t: t0.Add(2 * time.Second), data: payload(3, 1)},
		{t: t0.Add(3 * time.Second), data: []byte{}},
	}
	tests := []struct {
		name     string
		be, nsec bool
		link     LinkType
	}{
		{"little-endian microseconds", false, false, LinkEthernet},
		{"big-endian microseconds", true, false, LinkLinuxSLL},
		{"little-endian nanoseconds", false, true, LinkRaw},
		{"big-endian nanoseconds", true, true, LinkLinuxSLL2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustRead(t, pcapFile(tc.be, tc.nsec, 65535, tc.link, recs...))
			if len(res.warns) != 0 || res.err != nil {
				t.Fatalf("warnings %v, error %v", res.warns, res.err)
			}
			if len(res.pkts) != len(recs) {
				t.Fatalf("read %d packets, want %d", len(res.pkts), len(recs))
			}
			for i, p := range res.pkts {
				want := recs[i].t
				if !tc.nsec {
					want = want.Truncate(time.Microsecond)
				}
				if p.Frame != i+1 || !p.Time.Equal(want) || p.LinkType != tc.link || p.Iface != 0 ||
					!bytes.Equal(p.Data, recs[i].data) || p.OrigLen != len(recs[i].data) || p.Truncated() {
					t.Errorf("packet %d = frame %d %v %v iface %d len %d/%d, want frame %d %v %v len %d",
						i, p.Frame, p.Time, p.LinkType, p.Iface, len(p.Data), p.OrigLen, i+1, want, tc.link, len(recs[i].data))
				}
			}
			want := Stats{Packets: 4, Bytes: 1575}
			if res.stats != want {
				t.Errorf("stats %+v, want %+v", res.stats, want)
			}
		})
	}
}

func TestPcapSnaplenCutPacketsAreDeliveredAndCounted(t *testing.T) {
	res := mustRead(t, pcapFile(false, false, 96, LinkEthernet,
		rec{t: t0, data: payload(1, 60)},
		rec{t: t0, data: payload(2, 96), orig: 1514},
		rec{t: t0, data: payload(3, 96), orig: 400},
	))
	if got := tags(res.pkts); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("packets %v", got)
	}
	if p := res.pkts[1]; !p.Truncated() || p.OrigLen != 1514 || len(p.Data) != 96 {
		t.Errorf("cut packet: len %d orig %d", len(p.Data), p.OrigLen)
	}
	// the decoder reports cut packets; the reader counts them
	if res.stats.Truncated != 2 || res.stats.Damaged != 0 || len(res.warns) != 0 {
		t.Errorf("stats %+v, warnings %v", res.stats, res.warns)
	}
}

func TestPcapngBlocks(t *testing.T) {
	var b ngBuilder
	b.shb(false)
	b.idb(LinkEthernet, 0)
	b.idb(LinkRaw, 65535, b.opt(optTSResol, []byte{9}), b.opt(optTSOffset, b.o().AppendUint64(nil, 100)))
	b.idb(LinkLinuxSLL, 64, b.opt(2, []byte("eth0")), b.opt(optTSResol, []byte{0x80 | 10}))
	usec := uint64(t0.UnixMicro())
	b.epb(0, usec+1, payload(1, 60), 0)
	b.block(blockNRB, make([]byte, 8))
	b.epb(1, uint64(t0.UnixNano()+5), payload(2, 40), 0)
	b.block(blockISB, make([]byte, 12))
	b.epb(2, uint64(t0.Unix())<<10|512, payload(3, 64), 100) // half a second in 2^-10 units
	b.block(blockCustom, []byte{0, 0, 0x7e, 0x7e, 1, 2, 3})
	b.block(0x12345, []byte("an unknown block"))
	b.block(blockDSB, make([]byte, 16))
	b.spb(payload(4, 80), 80) // cut to interface 0's snaplen: none
	b.pb(1, uint64(t0.UnixNano()+7), payload(5, 20))
	// a second section, big-endian, restarts the interface list
	b.shb(true)
	b.idb(LinkIPv6, 0)
	b.epb(0, usec+9, payload(6, 48), 0)
	b.spb(payload(7, 52), 300)

	res := mustRead(t, b.buf)
	if len(res.warns) != 0 || res.stats.Truncated != 2 || res.stats.Damaged != 0 {
		t.Fatalf("warnings %+v stats %+v", res.warns, res.stats)
	}
	tests := []struct {
		tag   byte
		time  time.Time
		link  LinkType
		iface int
		len   int
		orig  int
	}{
		{1, t0.Add(time.Microsecond), LinkEthernet, 0, 60, 60},
		{2, t0.Add(100*time.Second + 5), LinkRaw, 1, 40, 40},
		{3, t0.Add(500 * time.Millisecond), LinkLinuxSLL, 2, 64, 100},
		{4, t0.Add(500 * time.Millisecond), LinkEthernet, 0, 80, 80},
		{5, t0.Add(100*time.Second + 7), LinkRaw, 1, 20, 20},
		{6, t0.Add(9 * time.Microsecond), LinkIPv6, 3, 48, 48},
		{7, t0.Add(9 * time.Microsecond), LinkIPv6, 3, 52, 300},
	}
	if len(res.pkts) != len(tests) {
		t.Fatalf("read %d packets (%v), want %d", len(res.pkts), tags(res.pkts), len(tests))
	}
	for i, want := range tests {
		p := res.pkts[i]
		if p.Frame != i+1 || p.Data[0] != want.tag || !p.Time.Equal(want.time) || p.LinkType != want.link ||
			p.Iface != want.iface || len(p.Data) != want.len || p.OrigLen != want.orig {
			t.Errorf("frame %d: tag %d %v %v iface %d len %d/%d, want tag %d %v %v iface %d len %d/%d", p.Frame,
				p.Data[0], p.Time, p.LinkType, p.Iface, len(p.Data), p.OrigLen,
				want.tag, want.time, want.link, want.iface, want.len, want.orig)
		}
	}
}

func TestPcapngTimestampResolutions(t *testing.T) {
	sec := uint64(t0.Unix())
	tests := []struct {
		name    string
		tsresol byte
		ts      uint64
		want    time.Time
	}{
		{"default microseconds", 0, sec*1e6 + 250000, t0.Add(250 * time.Millisecond)},
		{"milliseconds", 3, sec*1e3 + 7, t0.Add(7 * time.Millisecond)},
		{"nanoseconds", 9, sec*1e9 + 123456789, t0.Add(123456789)},
		{"picoseconds", 12, 1e6*1e12 + 42000, time.Unix(1e6, 42)},
		{"seconds", 0x80, sec, t0},
		{"2^-20", 0x80 | 20, sec<<20 | 1<<19, t0.Add(500 * time.Millisecond)},
		{"2^-30", 0x80 | 30, sec<<30 | 1<<28, t0.Add(250 * time.Millisecond)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b ngBuilder
			b.shb(false)
			if tc.tsresol == 0 {
				b.idb(LinkEthernet, 0)
			} else {
				b.idb(LinkEthernet, 0, b.opt(optTSResol, []byte{tc.tsresol}))
			}
			b.epb(0, tc.ts, payload(1, 10), 0)
			res := mustRead(t, b.buf)
			if len(res.pkts) != 1 || !res.pkts[0].Time.Equal(tc.want) {
				t.Fatalf("got %v, want %v", res.pkts, tc.want)
			}
		})
	}
}

// damage builders: a clean capture of five packets tagged 1..5, broken in
// one place.
func fivePcap() ([]byte, []int) {
	b := pcapHeaderBytes(false, false, 1500, LinkEthernet)
	var offs []int
	for i := range 5 {
		offs = append(offs, len(b))
		b = append(b, pcapRecord(false, false, rec{t: t0.Add(time.Duration(i) * 20 * time.Millisecond), data: payload(byte(i+1), 200)})...)
	}
	return b, offs
}

func fivePcapng() ([]byte, []int) {
	var b ngBuilder
	b.shb(false)
	b.idb(LinkEthernet, 0)
	var offs []int
	for i := range 5 {
		offs = append(offs, len(b.buf))
		b.epb(0, uint64(t0.UnixMicro())+uint64(i)*20000, payload(byte(i+1), 200), 0)
	}
	return b.buf, offs
}

func insert(b []byte, at int, junk []byte) []byte {
	return append(append(append([]byte{}, b[:at]...), junk...), b[at:]...)
}

func put32(b []byte, at int, v uint32) []byte {
	b = bytes.Clone(b)
	b[at], b[at+1], b[at+2], b[at+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	return b
}

func garbage(n int) []byte {
	g := make([]byte, n)
	x := uint32(2463534242)
	for i := range g {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		g[i] = byte(x)
	}
	return g
}

func TestDamagedInputIsWarnedAndSkipped(t *testing.T) {
	p, po := fivePcap()
	n, no := fivePcapng()
	var unknownIface ngBuilder
	unknownIface.shb(false)
	unknownIface.idb(LinkEthernet, 0)
	unknownIface.epb(0, 1, payload(1, 10), 0)
	unknownIface.epb(5, 2, payload(2, 10), 0)
	unknownIface.epb(0, 3, payload(3, 10), 0)
	var overlong ngBuilder
	overlong.shb(false)
	overlong.idb(LinkEthernet, 0)
	overlong.epb(0, 1, payload(1, 10), 0)
	bad := len(overlong.buf)
	overlong.epb(0, 2, payload(2, 10), 0)
	overlong.epb(0, 3, payload(3, 10), 0)
	overlongBytes := put32(overlong.buf, bad+20, 64)

	scapyLike := pcapFile(false, false, 128, LinkEthernet,
		rec{t: t0, data: payload(1, 100)}, rec{t: t0, data: payload(2, 1000)}, rec{t: t0, data: payload(3, 100)})
	years := pcapFile(false, false, 1500, LinkEthernet,
		rec{t: t0, data: payload(1, 100)}, rec{t: t0.AddDate(4, 0, 0), data: payload(2, 100)}, rec{t: t0.AddDate(4, 0, 0), data: payload(3, 100)})
	overSnap := insert(p, po[3], append(pcapRecord(false, false, rec{t: t0.Add(41 * time.Millisecond), data: payload(9, 1400)})[:16], garbage(30)...))
	overSnap = put32(overSnap, po[3]+8, 2000)

	tests := []struct {
		name    string
		in      []byte
		want    []byte // tags read
		damaged int
		text    string // in the first damage warning
	}{
		{"pcap garbage between records", insert(p, po[2], garbage(37)), []byte{1, 2, 3, 4, 5}, 1, "skipped 37 bytes"},
		{"pcap absurd capture length", put32(p, po[2]+8, 0x7fffff00), []byte{1, 2, 4, 5}, 1, "absurd"},
		{"pcap capture length over the snaplen", overSnap, []byte{1, 2, 3, 4, 5}, 1, "exceeds the snaplen"},
		{"pcap record longer than the snaplen but framed right", scapyLike, []byte{1, 2, 3}, 0, ""},
		{"pcap jump of years", years, []byte{1, 2, 3}, 0, ""},
		{"pcap truncated final record", p[:len(p)-50], []byte{1, 2, 3, 4}, 1, "file ends inside a record (166 of 216 bytes"},
		{"pcap truncated record header", p[:po[4]+9], []byte{1, 2, 3, 4}, 1, "record header (9 of 16"},
		{"pcap zeros where a crash left them", append(bytes.Clone(p), make([]byte, 4096)...), []byte{1, 2, 3, 4, 5}, 1, "nothing readable"},
		{"pcap zeros in the middle", insert(p, po[3], make([]byte, 4096)), []byte{1, 2, 3, 4, 5}, 1, "skipped 4096 bytes"},
		{"pcapng zeros in the middle", insert(n, no[3], make([]byte, 4096)), []byte{1, 2, 3, 4, 5}, 1, "skipped 4096 bytes"},
		{"pcap nothing but garbage after damage", append(p[:po[1]], garbage(5000)...), []byte{1}, 1, "nothing readable"},
		{"pcapng garbage between blocks", insert(n, no[2], garbage(41)), []byte{1, 2, 3, 4, 5}, 1, "skipped 41 bytes"},
		{"pcapng broken block length", put32(n, no[2]+4, 7), []byte{1, 2, 4, 5}, 1, "length 7"},
		{"pcapng trailing length differs", put32(n, no[3]-4, 9999), []byte{1, 2, 4, 5}, 1, "but 9999 at its end"},
		{"pcapng huge block length", put32(n, no[1]+4, 0xfffffff0), []byte{1, 3, 4, 5}, 1, "damaged block"},
		{"pcapng truncated final block", n[:len(n)-10], []byte{1, 2, 3, 4}, 1, "file ends inside a block"},
		{"pcapng truncated block header", n[:no[4]+5], []byte{1, 2, 3, 4}, 1, "block header (5 of 12"},
		{"pcapng packet of an undescribed interface", unknownIface.buf, []byte{1, 3}, 1, "refers to interface 5"},
		{"pcapng capture length beyond its block", overlongBytes, []byte{1, 3}, 1, "does not fit"},
		{"gzip cut short", gzipped(t, p)[:300], nil, 1, ""},
		{"gzip bad checksum", put32(gzipped(t, p), len(gzipped(t, p))-8, 0), []byte{1, 2, 3, 4, 5}, 1, "checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustRead(t, tc.in)
			if res.err != nil {
				t.Fatalf("error %v", res.err)
			}
			if tc.want != nil && !bytes.Equal(tags(res.pkts), tc.want) {
				t.Errorf("read packets %v, want %v", tags(res.pkts), tc.want)
			}
			for i, p := range res.pkts {
				if p.Frame != i+1 {
					t.Errorf("packet %d has frame %d", i, p.Frame)
				}
			}
			if res.stats.Damaged != tc.damaged || res.damaged() != tc.damaged {
				t.Errorf("damaged %d (warnings %+v), want %d", res.stats.Damaged, res.warns, tc.damaged)
			}
			if tc.damaged > 0 {
				var first Warning
				for _, w := range res.warns {
					if w.Damaged {
						first = w
						break
					}
				}
				if !strings.Contains(first.Text, tc.text) {
					t.Errorf("warning %q, want it to say %q", first.Text, tc.text)
				}
				if first.Frame < 1 || first.Frame > len(res.pkts)+1 {
					t.Errorf("warning frame %d outside 1..%d", first.Frame, len(res.pkts)+1)
				}
			}
		})
	}
}

// Link types are the decoder's to judge: the reader hands them on as they
// are, without a warning of its own.
func TestUnknownLinkTypesAreHandedOn(t *testing.T) {
	var b ngBuilder
	b.shb(false)
	b.idb(LinkEthernet, 0)
	b.idb(147, 0) // LINKTYPE_USER0
	b.epb(0, 1, payload(1, 10), 0)
	b.epb(1, 2, payload(2, 10), 0)
	tests := []struct {
		name string
		in   []byte
	}{
		{"pcap", pcapFile(false, false, 0, 147, rec{t: t0, data: payload(1, 10)}, rec{t: t0, data: payload(2, 10)})},
		{"pcapng", b.buf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustRead(t, tc.in)
			if len(res.pkts) != 2 || res.pkts[1].LinkType != 147 || len(res.warns) != 0 {
				t.Fatalf("packets %v, warnings %v", res.pkts, res.warns)
			}
		})
	}
}

func TestWarningsAreBounded(t *testing.T) {
	p, _ := fivePcap()
	in := append([]byte{}, p...)
	for range 300 {
		in = append(in, garbage(20)...)
		in = append(in, pcapRecord(false, false, rec{t: t0, data: payload(7, 30)})...)
		in = append(in, pcapRecord(false, false, rec{t: t0, data: payload(8, 30)})...)
	}
	res := mustRead(t, in)
	if len(res.pkts) != 605 || res.stats.Damaged != 300 {
		t.Errorf("read %d packets with %d damaged, want 605 and 300", len(res.pkts), res.stats.Damaged)
	}
	if len(res.warns) != maxWarnings || !strings.Contains(res.warns[maxWarnings-1].Text, "only counted") {
		t.Errorf("%d warnings, want %d ending with a note", len(res.warns), maxWarnings)
	}
}

func TestOpenRejectsWhatIsNotACapture(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty.pcap", nil, "empty file"},
		{"notes.pcap", []byte("INVITE sip:bob@example.com SIP/2.0\r\n"), "not a pcap or pcapng file"},
		{"short.pcap", []byte{0xd4, 0xc3}, "too short"},
		{"header.pcap", pcapHeaderBytes(false, false, 0, 1)[:20], "pcap file header cut short"},
		{"ng.pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4}, "byte-order magic"},
		{"bad.gz", []byte{0x1f, 0x8b, 0, 0, 0}, "gzip"},
		{"notes.gz", gzipped(t, []byte("hello, world")), "not a pcap or pcapng file"},
		{"capture.pcap.zst", []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0x58}, "zstd-compressed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, tc.name), tc.data)
			src, err := Open(path, nil)
			if err == nil {
				src.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to name the file and say %q", err, tc.want)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		if _, err := Open(dir, nil); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.pcap")
		if _, err := Open(missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("error %v", err)
		}
	})
}

func TestGzipIsToldByMagicNotName(t *testing.T) {
	dir := t.TempDir()
	p, _ := fivePcap()
	n, _ := fivePcapng()
	tests := []struct {
		name string
		data []byte
	}{
		{"capture.pcap", gzipped(t, p)},
		{"capture.bin", gzipped(t, n)},
		{"capture.pcapng.gz", n},
		{"capture.pcap.gz", append(gzipped(t, p[:600]), gzipped(t, p[600:])...)}, // multistream
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustOpen(t, writeFile(t, filepath.Join(dir, tc.name), tc.data))
			if !bytes.Equal(tags(res.pkts), []byte{1, 2, 3, 4, 5}) || len(res.warns) != 0 {
				t.Errorf("read %v, warnings %v", tags(res.pkts), res.warns)
			}
		})
	}
}

func TestOpenDashReadsStdin(t *testing.T) {
	p, _ := fivePcap()
	stdinFrom(t, gzipped(t, p))
	res := mustOpen(t, "-")
	if !bytes.Equal(tags(res.pkts), []byte{1, 2, 3, 4, 5}) || len(res.warns) != 0 {
		t.Errorf("read %v, warnings %v", tags(res.pkts), res.warns)
	}
}

func TestNextAllocatesNothing(t *testing.T) {
	var recs []rec
	for i := range 2000 {
		recs = append(recs, rec{t: t0.Add(time.Duration(i) * time.Millisecond), data: payload(byte(i), 60+i%1400)})
	}
	p := pcapFile(false, false, 65535, LinkEthernet, recs...)
	var ng ngBuilder
	ng.shb(false)
	ng.idb(LinkEthernet, 0)
	for _, r := range recs {
		ng.epb(0, uint64(r.t.UnixMicro()), r.data, 0)
	}
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.pcap"), pcapFile(false, false, 65535, LinkEthernet, every(recs, 0, 2)...))
	b := writeFile(t, filepath.Join(dir, "b.pcap"), pcapFile(false, false, 65535, LinkEthernet, every(recs, 1, 2)...))
	tests := []struct {
		name string
		open func() (Source, error)
	}{
		{"pcap", func() (Source, error) { return NewReader(bytes.NewReader(p), "p", nil) }},
		{"pcapng", func() (Source, error) { return NewReader(bytes.NewReader(ng.buf), "ng", nil) }},
		{"gzip", func() (Source, error) { return NewReader(bytes.NewReader(gzipped(t, p)), "gz", nil) }},
		{"merge", func() (Source, error) { return OpenAll([]string{a, b}, nil) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var pkt Packet
			for range 100 { // let buffers reach their size
				if err := src.Next(&pkt); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if err := src.Next(&pkt); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per packet", allocs)
			}
		})
	}
}

func every(recs []rec, start, step int) []rec {
	var out []rec
	for i := start; i < len(recs); i += step {
		out = append(out, recs[i])
	}
	return out
}
