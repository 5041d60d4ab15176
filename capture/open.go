package capture

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

const (
	// maxRecord is the largest packet accepted, Wireshark's
	// WTAP_MAX_PACKET_SIZE_STANDARD; a longer length field is damage.
	maxRecord = 256 << 10
	// maxResync bounds how far a reader scans for the next record after
	// damage, so a stream of garbage on stdin cannot keep it busy forever.
	maxResync = 64 << 20
	// maxWarnings per input; later problems are only counted in Stats, so
	// a shredded file cannot flood the caller.
	maxWarnings = 100
)

// Open opens a pcap or pcapng capture, optionally gzip-compressed; "-" reads
// standard input. The format is told by the file's magic number, never by its
// name. Damage found while reading goes to warn (which may be nil).
func Open(name string, warn WarnFunc) (Source, error) {
	r, err := openReader(name, warn)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// NewReader reads a pcap or pcapng capture, optionally gzip-compressed, from
// rd. The name is used in errors and warnings. Closing the Source does not
// close rd.
func NewReader(rd io.Reader, name string, warn WarnFunc) (Source, error) {
	r, err := newReader(rd, name, warn)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func openReader(name string, warn WarnFunc) (*reader, error) {
	if name == "-" {
		return newReader(os.Stdin, "stdin", warn)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory", name)
	}
	r, err := newReader(f, name, warn)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// reader reads one pcap or pcapng stream.
type reader struct {
	name   string
	in     *bufReader
	gz     *gzip.Reader
	closer io.Closer
	warn   WarnFunc
	nwarn  int
	frame  int
	stats  Stats
	done   bool
	err    error // returned once done

	be   bool // byte order of the file, or of the current pcapng section
	isNg bool

	// pcap
	nsec      bool
	snaplen   uint32 // as in the file header
	snapLimit uint32 // snaplen made sane, for plausibility checks
	link      LinkType
	prevSec   uint32
	havePrev  bool

	// pcapng
	ifaces    []iface
	ifaceBase int // interfaces of earlier sections
	prevTime  time.Time
}

func newReader(rd io.Reader, name string, warn WarnFunc) (*reader, error) {
	r := &reader{name: name, warn: warn, in: newBufReader(rd)}
	m, err := r.in.peek(4)
	if len(m) >= 2 && m[0] == 0x1f && m[1] == 0x8b {
		gz, gerr := gzip.NewReader(r.in)
		if gerr != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, gerr)
		}
		r.gz = gz
		r.in = newBufReader(gz)
		m, err = r.in.peek(4)
	}
	if len(m) < 4 {
		r.Close()
		switch {
		case err != nil && err != io.EOF:
			return nil, fmt.Errorf("%s: %w", name, err)
		case len(m) == 0:
			return nil, fmt.Errorf("%s: empty file", name)
		}
		return nil, fmt.Errorf("%s: too short to be a capture file", name)
	}
	var herr error
	switch {
	case m[0] == 0x0a && m[1] == 0x0d && m[2] == 0x0d && m[3] == 0x0a:
		herr = r.openPcapng()
	case binary.LittleEndian.Uint32(m) == magicMicro, binary.LittleEndian.Uint32(m) == magicNano:
		herr = r.openPcap(false)
	case binary.BigEndian.Uint32(m) == magicMicro, binary.BigEndian.Uint32(m) == magicNano:
		herr = r.openPcap(true)
	case compression(m) != "":
		herr = fmt.Errorf("%s: %s-compressed; only gzip is read, decompress it first", name, compression(m))
	default:
		herr = fmt.Errorf("%s: not a pcap or pcapng file (starts with % x)", name, m)
	}
	if herr != nil {
		r.Close()
		return nil, herr
	}
	return r, nil
}

// compression names the compressor whose magic number starts m, for those
// that capture tools offer besides gzip.
func compression(m []byte) string {
	switch {
	case bytes.HasPrefix(m, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	case bytes.HasPrefix(m, []byte{0x04, 0x22, 0x4d, 0x18}):
		return "lz4"
	case bytes.HasPrefix(m, []byte{0xfd, '7', 'z', 'X'}):
		return "xz"
	case bytes.HasPrefix(m, []byte("BZh")):
		return "bzip2"
	}
	return ""
}

// Next implements Source.
func (r *reader) Next(p *Packet) error {
	if r.done {
		return r.err
	}
	if r.isNg {
		return r.nextNg(p)
	}
	return r.nextPcap(p)
}

// Close implements Source.
func (r *reader) Close() error {
	var err error
	if r.gz != nil {
		err = r.gz.Close()
	}
	if r.closer != nil {
		if cerr := r.closer.Close(); err == nil {
			err = cerr
		}
		r.closer = nil
	}
	r.done = true
	if r.err == nil {
		r.err = io.EOF
	}
	return err
}

// Stats reports what was read so far.
func (r *reader) Stats() Stats { return r.stats }

// deliver fills p with the next frame. Link types and cut packets are the
// decoder's to report, once each, as it knows which link types it reads.
func (r *reader) deliver(p *Packet, t time.Time, link LinkType, ifc int, data []byte, orig uint32) {
	r.frame++
	p.Frame = r.frame
	p.Time = t
	p.LinkType = link
	p.Iface = ifc
	p.Data = data
	p.OrigLen = max(int(orig), len(data))
	r.stats.Packets++
	r.stats.Bytes += int64(len(data))
	if p.OrigLen > len(data) {
		r.stats.Truncated++
	}
}

func (r *reader) warnf(frame int, damaged bool, format string, args ...any) {
	if r.warn == nil {
		return
	}
	r.nwarn++
	switch {
	case r.nwarn < maxWarnings:
		r.warn(Warning{Frame: frame, Text: fmt.Sprintf(format, args...), Damaged: damaged})
	case r.nwarn == maxWarnings:
		r.warn(Warning{Frame: frame, Text: fmt.Sprintf("more than %d warnings; further problems are only counted", maxWarnings-1), Damaged: damaged})
	}
}

// damaged counts and reports a broken record that reading got past.
func (r *reader) damaged(format string, args ...any) {
	r.stats.Damaged++
	r.warnf(r.frame+1, true, format, args...)
}

// cut ends reading where the input stopped short: got of want bytes of what
// was there. A truncated file or damaged compressed data is a warning; any
// other read error is returned.
func (r *reader) cut(err error, got, want int, what string) error {
	r.done = true
	r.err = io.EOF
	corrupt := isCorrupt(err)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !corrupt {
		r.err = fmt.Errorf("%s: %w", r.name, err)
		return r.err
	}
	r.stats.Damaged++
	switch {
	case corrupt && got == 0:
		r.warnf(r.frame+1, true, "damaged compressed data after byte %d: %v", r.in.off, err)
	case corrupt:
		r.warnf(r.frame+1, true, "damaged compressed data inside %s at byte %d: %v", what, r.in.off, err)
	default:
		r.warnf(r.frame+1, true, "file ends inside %s (%d of %d bytes, at byte %d)", what, got, want, r.in.off)
	}
	return r.err
}

// giveUp ends reading when nothing readable follows damage.
func (r *reader) giveUp(err error, start, skipped int64, why string) error {
	r.done = true
	r.err = io.EOF
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !isCorrupt(err) {
		r.err = fmt.Errorf("%s: %w", r.name, err)
		return r.err
	}
	r.damaged("damaged input at byte %d (%s); nothing readable in the %d bytes after it", start, why, skipped)
	return r.err
}

func isCorrupt(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &ce)
}

func (r *reader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *reader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64(b []byte) uint64 {
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}
