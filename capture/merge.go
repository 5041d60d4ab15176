package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// OpenAll opens captures as one stream ordered by time, such as the files a
// rotating capture (tcpdump -C, dumpcap -b) leaves behind, so that calls
// spanning files stay whole. A directory stands for the regular files in it,
// in name order, skipping hidden ones and those that are not captures.
//
// Packets with equal times come from the earlier file first. Frame numbers
// count the merged stream from 1; with a single file they are the file's
// own. Warnings name the file they concern when there are several.
//
// Files are opened as the merge reaches their first packet and closed at
// their end, so a long rotation does not hold every file open at once.
func OpenAll(names []string, warn WarnFunc) (Source, error) {
	files, err := expand(names)
	if err != nil {
		return nil, err
	}
	if len(files) == 1 {
		return Open(files[0].name, warn)
	}
	m := &merger{warn: warn}
	for i, f := range files {
		in := &input{name: f.name, idx: i}
		in.warn = func(w Warning) { in.pending = append(in.pending, w) }
		if err := m.probe(in, f.fromDir); err != nil {
			m.Close()
			return nil, err
		}
	}
	if m.inputs == 0 {
		return nil, fmt.Errorf("%s: no capture files", strings.Join(names, ", "))
	}
	slices.SortStableFunc(m.waiting, func(a, b *input) int { return a.first.Compare(b.first) })
	return m, nil
}

type inputFile struct {
	name    string
	fromDir bool
}

// expand lists the files named, a directory standing for its regular
// files; fromDir marks those that were not named themselves.
func expand(names []string) ([]inputFile, error) {
	var files []inputFile
	stdin := false
	for _, name := range names {
		if name == "-" {
			if stdin {
				return nil, errors.New("standard input named twice")
			}
			stdin = true
			files = append(files, inputFile{name: name})
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, inputFile{name: name})
			continue
		}
		entries, err := os.ReadDir(name)
		if err != nil {
			return nil, err
		}
		n := len(files)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			path := filepath.Join(name, e.Name())
			if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			files = append(files, inputFile{name: path, fromDir: true})
		}
		if len(files) == n {
			return nil, fmt.Errorf("%s: no files in the directory", name)
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no input files")
	}
	return files, nil
}

// input is one file of a merge.
type input struct {
	name    string
	idx     int // position among the inputs, to break ties in time
	src     *reader
	head    Packet // next packet, valid while src is open
	first   time.Time
	warn    WarnFunc
	pending []Warning // warnings about head and what came before it
}

// merger interleaves its inputs by time with a binary heap of the open
// ones. Files that have not reached the front yet wait closed, sorted by
// the time of their first packet.
type merger struct {
	warn    WarnFunc
	heap    []*input
	waiting []*input
	last    *input // handed out its head; advanced on the next call
	frame   int
	inputs  int   // captures found
	done    Stats // counters of closed inputs
}

// probe opens in to learn when its first packet is. Regular files are
// closed again and wait until the merge reaches them; anything else cannot
// be read twice and joins the heap at once. Non-captures found in a
// directory are skipped with a warning.
func (m *merger) probe(in *input, fromDir bool) error {
	r, err := openReader(in.name, in.warn)
	if err != nil {
		if fromDir {
			m.warnf(Warning{Text: fmt.Sprintf("skipped: %v", err)})
			return nil
		}
		return err
	}
	m.inputs++
	in.src = r
	fi, serr := os.Stat(in.name)
	if in.name == "-" || serr != nil || !fi.Mode().IsRegular() {
		m.advance(in)
		return nil
	}
	if r.Next(&in.head) == nil {
		in.first = in.head.Time
	}
	r.Close()
	in.src = nil
	in.pending = in.pending[:0]
	m.waiting = append(m.waiting, in)
	return nil
}

// Next implements Source.
func (m *merger) Next(p *Packet) error {
	if in := m.last; in != nil {
		m.last = nil
		m.advance(in)
	}
	for len(m.waiting) > 0 && (len(m.heap) == 0 || !m.heap[0].before(m.waiting[0].first, m.waiting[0].idx)) {
		in := m.waiting[0]
		m.waiting = m.waiting[1:]
		r, err := openReader(in.name, in.warn)
		if err != nil {
			m.done.Damaged++
			m.warnf(Warning{Frame: m.frame + 1, Text: err.Error(), Damaged: true})
			continue
		}
		in.src = r
		m.advance(in)
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	in := m.pop()
	m.frame++
	m.flush(in, m.frame)
	*p = in.head
	p.Frame = m.frame
	m.last = in
	return nil
}

// advance reads the next packet of in and puts it back in the heap, or
// closes in at its end.
func (m *merger) advance(in *input) {
	if err := in.src.Next(&in.head); err != nil {
		if err != io.EOF {
			m.done.Damaged++
			in.pending = append(in.pending, Warning{Frame: in.src.frame + 1, Text: err.Error(), Damaged: true})
		}
		m.finish(in)
		return
	}
	m.push(in)
}

// finish closes in and reports what it still had to say.
func (m *merger) finish(in *input) {
	m.flush(in, m.frame+1)
	m.done = m.done.add(in.src.Stats())
	in.src.Close()
	in.src = nil
}

// flush passes on the warnings of in, numbered in the merged stream.
func (m *merger) flush(in *input, frame int) {
	for _, w := range in.pending {
		if w.Frame != 0 {
			w.Text = fmt.Sprintf("%s, frame %d of the file: %s", in.name, w.Frame, w.Text)
			w.Frame = frame
		} else {
			w.Text = in.name + ": " + w.Text
		}
		m.warnf(w)
	}
	in.pending = in.pending[:0]
}

func (m *merger) warnf(w Warning) {
	if m.warn != nil {
		m.warn(w)
	}
}

// before orders inputs by the time of their next packet, then by position.
func (in *input) before(t time.Time, idx int) bool {
	if c := in.head.Time.Compare(t); c != 0 {
		return c < 0
	}
	return in.idx < idx
}

func (m *merger) push(in *input) {
	m.heap = append(m.heap, in)
	for i := len(m.heap) - 1; i > 0; {
		parent := (i - 1) / 2
		if !m.heap[i].before(m.heap[parent].head.Time, m.heap[parent].idx) {
			break
		}
		m.heap[i], m.heap[parent] = m.heap[parent], m.heap[i]
		i = parent
	}
}

func (m *merger) pop() *input {
	top := m.heap[0]
	last := len(m.heap) - 1
	m.heap[0] = m.heap[last]
	m.heap[last] = nil
	m.heap = m.heap[:last]
	for i := 0; ; {
		least := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(m.heap) && m.heap[c].before(m.heap[least].head.Time, m.heap[least].idx) {
				least = c
			}
		}
		if least == i {
			break
		}
		m.heap[i], m.heap[least] = m.heap[least], m.heap[i]
		i = least
	}
	return top
}

// Close implements Source.
func (m *merger) Close() error {
	var err error
	for _, in := range m.heap {
		if cerr := in.src.Close(); err == nil {
			err = cerr
		}
	}
	if m.last != nil && m.last.src != nil {
		if cerr := m.last.src.Close(); err == nil {
			err = cerr
		}
	}
	m.heap, m.waiting, m.last = nil, nil, nil
	return err
}

// Stats reports what was read so far from all inputs.
func (m *merger) Stats() Stats {
	s := m.done
	for _, in := range m.heap {
		s = s.add(in.src.Stats())
	}
	if m.last != nil && m.last.src != nil {
		s = s.add(m.last.src.Stats())
	}
	return s
}

func (s Stats) add(o Stats) Stats {
	return Stats{
		Packets:   s.Packets + o.Packets,
		Bytes:     s.Bytes + o.Bytes,
		Truncated: s.Truncated + o.Truncated,
		Damaged:   s.Damaged + o.Damaged,
	}
}
