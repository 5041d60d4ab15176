package capture

import "io"

const (
	initialBuffer = 64 << 10
	// maxEmptyReads bounds the reads that return nothing and no error, as
	// bufio does, so a misbehaving reader cannot spin us forever.
	maxEmptyReads = 100
)

// bufReader is a read buffer whose peeked bytes stay put until the next
// peek, so packets are handed out as slices of it without a copy. Unlike
// bufio.Reader it grows on demand to hold a whole record, and it counts the
// input offset for warnings.
type bufReader struct {
	rd   io.Reader
	buf  []byte
	r, w int
	err  error
	off  int64 // input offset of buf[r]
}

func newBufReader(rd io.Reader) *bufReader {
	return &bufReader{rd: rd, buf: make([]byte, initialBuffer)}
}

// peek returns the next n bytes without consuming them. With fewer bytes
// left it returns what there is and the error that ended the input.
func (b *bufReader) peek(n int) ([]byte, error) {
	for b.w-b.r < n && b.err == nil {
		b.fill(n)
	}
	if b.w-b.r >= n {
		return b.buf[b.r : b.r+n], nil
	}
	return b.buf[b.r:b.w], b.err
}

// fill makes room for n buffered bytes and reads once.
func (b *bufReader) fill(n int) {
	if b.r > 0 {
		copy(b.buf, b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	if n > len(b.buf) {
		nb := make([]byte, max(n, 2*len(b.buf)))
		copy(nb, b.buf[:b.w])
		b.buf = nb
	}
	for range maxEmptyReads {
		m, err := b.rd.Read(b.buf[b.w:])
		b.w += m
		if err != nil {
			b.err = err
			return
		}
		if m > 0 {
			return
		}
	}
	b.err = io.ErrNoProgress
}

// discard consumes n bytes and reports how many it could.
func (b *bufReader) discard(n int64) (int64, error) {
	var done int64
	for {
		avail := int64(b.w - b.r)
		if avail >= n-done {
			b.r += int(n - done)
			b.off += n - done
			return n, nil
		}
		done += avail
		b.off += avail
		b.r, b.w = 0, 0
		if b.err != nil {
			return done, b.err
		}
		b.fill(1)
	}
}

// Read lets compress/gzip read the raw file through this buffer.
func (b *bufReader) Read(p []byte) (int, error) {
	if b.r == b.w {
		if b.err != nil {
			return 0, b.err
		}
		b.fill(1)
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	b.off += int64(n)
	if n == 0 {
		return 0, b.err
	}
	return n, nil
}

// ReadByte keeps compress/flate from wrapping the buffer in another one.
func (b *bufReader) ReadByte() (byte, error) {
	if b.r == b.w {
		if b.err != nil {
			return 0, b.err
		}
		b.fill(1)
		if b.r == b.w {
			return 0, b.err
		}
	}
	c := b.buf[b.r]
	b.r++
	b.off++
	return c, nil
}
