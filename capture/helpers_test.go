package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// rec is one packet for the capture builders.
type rec struct {
	t    time.Time
	data []byte
	orig int // wire length; 0 means len(data)
}

func (r rec) origLen() int {
	if r.orig == 0 {
		return len(r.data)
	}
	return r.orig
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func order(be bool) byteOrder {
	if be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// pcapHeaderBytes is a classic pcap file header.
func pcapHeaderBytes(be, nsec bool, snaplen uint32, link LinkType) []byte {
	o := order(be)
	magic := uint32(magicMicro)
	if nsec {
		magic = magicNano
	}
	h := make([]byte, 24)
	o.PutUint32(h, magic)
	o.PutUint16(h[4:], 2)
	o.PutUint16(h[6:], 4)
	o.PutUint32(h[16:], snaplen)
	o.PutUint32(h[20:], uint32(link))
	return h
}

// pcapRecord is one classic pcap record, cut to caplen bytes of data.
func pcapRecord(be, nsec bool, r rec) []byte {
	o := order(be)
	frac := uint32(r.t.Nanosecond() / 1000)
	if nsec {
		frac = uint32(r.t.Nanosecond())
	}
	b := make([]byte, 16, 16+len(r.data))
	o.PutUint32(b, uint32(r.t.Unix()))
	o.PutUint32(b[4:], frac)
	o.PutUint32(b[8:], uint32(len(r.data)))
	o.PutUint32(b[12:], uint32(r.origLen()))
	return append(b, r.data...)
}

func pcapFile(be, nsec bool, snaplen uint32, link LinkType, recs ...rec) []byte {
	b := pcapHeaderBytes(be, nsec, snaplen, link)
	for _, r := range recs {
		b = append(b, pcapRecord(be, nsec, r)...)
	}
	return b
}

// ngBuilder writes pcapng blocks in the byte order of its current section.
type ngBuilder struct {
	be  bool
	buf []byte
}

func (b *ngBuilder) o() byteOrder { return order(b.be) }

// block appends a block with body padded to 32 bits.
func (b *ngBuilder) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b.buf = b.o().AppendUint32(b.buf, typ)
	b.buf = b.o().AppendUint32(b.buf, n)
	b.buf = append(b.buf, body...)
	b.buf = b.o().AppendUint32(b.buf, n)
}

func (b *ngBuilder) shb(be bool) {
	b.be = be
	body := b.o().AppendUint32(nil, byteOrderMagic)
	body = b.o().AppendUint16(body, 1)
	body = b.o().AppendUint16(body, 0)
	body = b.o().AppendUint64(body, ^uint64(0))
	b.block(blockSHB, body)
}

// opt is one option: code, length, value padded to 32 bits.
func (b *ngBuilder) opt(code uint16, v []byte) []byte {
	o := b.o().AppendUint16(nil, code)
	o = b.o().AppendUint16(o, uint16(len(v)))
	o = append(o, v...)
	for len(o)%4 != 0 {
		o = append(o, 0)
	}
	return o
}

func (b *ngBuilder) idb(link LinkType, snaplen uint32, opts ...[]byte) {
	body := b.o().AppendUint16(nil, uint16(link))
	body = b.o().AppendUint16(body, 0)
	body = b.o().AppendUint32(body, snaplen)
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, 0, 0, 0, 0)
	}
	b.block(blockIDB, body)
}

func (b *ngBuilder) epb(id uint32, ts uint64, data []byte, orig int) {
	body := b.o().AppendUint32(nil, id)
	body = b.o().AppendUint32(body, uint32(ts>>32))
	body = b.o().AppendUint32(body, uint32(ts))
	body = b.o().AppendUint32(body, uint32(len(data)))
	body = b.o().AppendUint32(body, uint32(max(orig, len(data))))
	b.block(blockEPB, append(body, data...))
}

func (b *ngBuilder) pb(id uint16, ts uint64, data []byte) {
	body := b.o().AppendUint16(nil, id)
	body = b.o().AppendUint16(body, 0)
	body = b.o().AppendUint32(body, uint32(ts>>32))
	body = b.o().AppendUint32(body, uint32(ts))
	body = b.o().AppendUint32(body, uint32(len(data)))
	body = b.o().AppendUint32(body, uint32(len(data)))
	b.block(blockPB, append(body, data...))
}

func (b *ngBuilder) spb(data []byte, orig int) {
	body := b.o().AppendUint32(nil, uint32(orig))
	b.block(blockSPB, append(body, data...))
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// result is everything a Source produced.
type result struct {
	pkts  []Packet // Data copied
	warns []Warning
	stats Stats
	err   error // the error that ended reading, other than io.EOF
}

func (r result) damaged() int {
	n := 0
	for _, w := range r.warns {
		if w.Damaged {
			n++
		}
	}
	return n
}

// drain reads src to the end, with a bound so a looping reader fails the
// test instead of hanging it.
func drain(t testing.TB, src Source, warns *[]Warning) result {
	t.Helper()
	var res result
	for i := 0; ; i++ {
		if i > 50_000_000 {
			t.Fatal("source does not end")
		}
		var p Packet
		err := src.Next(&p)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				res.err = err
			}
			break
		}
		p.Data = bytes.Clone(p.Data)
		res.pkts = append(res.pkts, p)
	}
	if err := src.Next(&Packet{}); err == nil {
		t.Error("Next after the end returned a packet")
	}
	res.stats, _ = StatsOf(src)
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	res.warns = *warns
	return res
}

// readBytes reads a capture held in memory.
func readBytes(t testing.TB, b []byte) (result, error) {
	t.Helper()
	var warns []Warning
	src, err := NewReader(bytes.NewReader(b), "test", func(w Warning) { warns = append(warns, w) })
	if err != nil {
		return result{}, err
	}
	return drain(t, src, &warns), nil
}

// mustRead reads a capture held in memory that must open.
func mustRead(t testing.TB, b []byte) result {
	t.Helper()
	res, err := readBytes(t, b)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return res
}

// mustOpen reads the capture file name, which must open.
func mustOpen(t testing.TB, name string) result {
	t.Helper()
	var warns []Warning
	src, err := Open(name, func(w Warning) { warns = append(warns, w) })
	if err != nil {
		t.Fatal(err)
	}
	return drain(t, src, &warns)
}

// openAll reads names through OpenAll.
func openAll(t testing.TB, names ...string) (result, error) {
	t.Helper()
	var warns []Warning
	src, err := OpenAll(names, func(w Warning) { warns = append(warns, w) })
	if err != nil {
		return result{}, err
	}
	return drain(t, src, &warns), nil
}

// stdinFrom makes b the standard input of the process until the test ends.
func stdinFrom(t testing.TB, b []byte) {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = rd
	t.Cleanup(func() { os.Stdin = old; rd.Close() })
	go func() {
		wr.Write(b)
		wr.Close()
	}()
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// payload is a recognisable packet body: a tag byte then n-1 bytes.
func payload(tag byte, n int) []byte {
	b := make([]byte, n)
	b[0] = tag
	for i := 1; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

// tags lists the first byte of every packet, to compare what was read.
func tags(pkts []Packet) []byte {
	var b []byte
	for _, p := range pkts {
		if len(p.Data) == 0 {
			b = append(b, 0)
			continue
		}
		b = append(b, p.Data[0])
	}
	return b
}
