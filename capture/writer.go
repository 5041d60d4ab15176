package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"
)

// defaultSnaplen is tcpdump's default, enough for any frame.
const defaultSnaplen = maxRecord

// Writer writes a classic pcap stream: little-endian, microsecond
// timestamps, the format every tool reads.
type Writer struct {
	w       io.Writer
	snaplen int
	buf     []byte // one record, so each packet is a single Write
}

// NewWriter writes the pcap file header for link to w and returns a Writer
// for its packets. Packets longer than snaplen are cut to it; a snaplen that
// is not positive or above 262144 means 262144, as in tcpdump.
func NewWriter(w io.Writer, link LinkType, snaplen int) (*Writer, error) {
	if snaplen <= 0 || snaplen > maxRecord {
		snaplen = defaultSnaplen
	}
	h := make([]byte, pcapFileHeaderLen, 64)
	binary.LittleEndian.PutUint32(h[0:], magicMicro)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(h[20:], uint32(link))
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &Writer{w: w, snaplen: snaplen, buf: h[:0]}, nil
}

// WritePacket writes one packet captured at t. origLen is its length on
// the wire; a value below len(data) means len(data).
func (w *Writer) WritePacket(t time.Time, data []byte, origLen int) error {
	sec := t.Unix()
	if sec < 0 || sec > math.MaxUint32 {
		return fmt.Errorf("pcap: timestamp %v does not fit the format", t)
	}
	if origLen < len(data) {
		origLen = len(data)
	}
	data = data[:min(len(data), w.snaplen)]
	b := w.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(sec))
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Nanosecond()/1000))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(min(origLen, math.MaxUint32)))
	b = append(b, data...)
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// RotatingWriter writes pcap files that rotate by size, as tcpdump -w base
// -C size -W count does.
//
// Before each packet it checks whether the current file has grown past
// fileSize bytes and, if so, goes on in the next file. With count zero the
// files are base, base1, base2 and so on without limit. With count set,
// they are base0 .. base<count-1>, the number zero-padded to the width of
// count-1 (base00 .. base99 for 100) so they sort by name, and the first is
// overwritten after the last: a ring buffer. This is tcpdump's MakeFilename.
// A fileSize of zero or less never rotates. tcpdump counts -C in millions
// of bytes; fileSize is in bytes.
type RotatingWriter struct {
	base     string
	fileSize int64
	count    int
	digits   int
	link     LinkType
	n        int // number of the current file
	f        *os.File
	bw       *bufio.Writer
	cw       countWriter
	pw       *Writer
}

// NewRotatingWriter creates the first file of the rotation.
func NewRotatingWriter(base string, fileSize int64, count int, link LinkType) (*RotatingWriter, error) {
	if base == "" {
		return nil, fmt.Errorf("pcap: empty file name")
	}
	if count < 0 {
		return nil, fmt.Errorf("pcap: negative file count %d", count)
	}
	rw := &RotatingWriter{base: base, fileSize: fileSize, count: count, link: link}
	for c := count - 1; c > 0; c /= 10 {
		rw.digits++
	}
	if err := rw.open(); err != nil {
		return nil, err
	}
	return rw, nil
}

func (rw *RotatingWriter) name() string {
	if rw.n == 0 && rw.digits == 0 {
		return rw.base
	}
	s := strconv.Itoa(rw.n)
	for len(s) < rw.digits {
		s = "0" + s
	}
	return rw.base + s
}

func (rw *RotatingWriter) open() error {
	f, err := os.Create(rw.name())
	if err != nil {
		return err
	}
	if rw.bw == nil {
		rw.bw = bufio.NewWriterSize(f, 256<<10)
	} else {
		rw.bw.Reset(f)
	}
	rw.f = f
	rw.cw = countWriter{w: rw.bw}
	rw.pw, err = NewWriter(&rw.cw, rw.link, 0)
	if err != nil {
		f.Close()
		rw.f = nil
	}
	return err
}

// WritePacket writes one packet, first moving to the next file if the
// current one is full.
func (rw *RotatingWriter) WritePacket(t time.Time, data []byte, origLen int) error {
	if rw.f == nil {
		return fmt.Errorf("pcap: %s: writer is closed", rw.base)
	}
	if rw.fileSize > 0 && rw.cw.n > rw.fileSize {
		if err := rw.closeFile(); err != nil {
			return err
		}
		rw.n++
		if rw.count > 0 && rw.n >= rw.count {
			rw.n = 0
		}
		if err := rw.open(); err != nil {
			return err
		}
	}
	return rw.pw.WritePacket(t, data, origLen)
}

// Flush writes buffered packets to the current file.
func (rw *RotatingWriter) Flush() error {
	if rw.f == nil {
		return nil
	}
	return rw.bw.Flush()
}

// Close flushes and closes the current file.
func (rw *RotatingWriter) Close() error {
	if rw.f == nil {
		return nil
	}
	return rw.closeFile()
}

func (rw *RotatingWriter) closeFile() error {
	err := rw.bw.Flush()
	if cerr := rw.f.Close(); err == nil {
		err = cerr
	}
	rw.f = nil
	return err
}

// countWriter counts the bytes of the current file, as tcpdump's ftell.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
