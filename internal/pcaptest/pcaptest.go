// Package pcaptest reads capture files for tests and builds the packets
// that synthetic captures hold. Packets come from capture.Open, the reader
// the tool itself uses. Tests that must not lean on package decode (those
// of the parsers it calls, and of the media tracker, which replay captures
// without it) find the transport layers with gopacket instead: a reading
// independent of ours, and one that never reassembles fragments or
// streams. TsharkFields asks tshark, the reference, what it dissects.
package pcaptest

import (
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/corpustest"
)

// Each reads the capture file at path with capture.Open and calls fn for
// every packet, in frame order. The packet and its Data are valid only
// during the call. Warnings are logged; a file that cannot be opened or
// read to its end fails the test.
func Each(t testing.TB, path string, fn func(*capture.Packet)) {
	t.Helper()
	src, err := capture.Open(path, func(w capture.Warning) { t.Logf("%s: frame %d: %s", path, w.Frame, w.Text) })
	if err != nil {
		t.Fatal(err)
	}
	Drain(t, src, fn)
}

// Drain calls fn for every packet of src, in order, and closes src. An
// error other than io.EOF fails the test.
func Drain(t testing.TB, src capture.Source, fn func(*capture.Packet)) {
	t.Helper()
	defer src.Close()
	var p capture.Packet
	for {
		err := src.Next(&p)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(&p)
	}
}

// Layers decodes a packet's headers with gopacket. The layers hold their
// own copy of the data.
func Layers(p *capture.Packet) []gopacket.Layer {
	lt := layers.LinkType(p.LinkType)
	if p.LinkType == capture.LinkIPv4 || p.LinkType == capture.LinkIPv6 {
		lt = layers.LinkTypeRaw
	}
	return gopacket.NewPacket(p.Data, lt, gopacket.Default).Layers()
}

// Payload is the transport payload of one packet of a capture.
type Payload struct {
	File  string // the capture, relative to the corpus directory
	Frame int    // 1-based
	TCP   bool   // carried by a stream transport: TCP, or SCTP
	Data  []byte
}

// String names the payload as the tests report it: file and frame.
func (p Payload) String() string {
	return p.File + " frame " + strconv.Itoa(p.Frame)
}

// Payloads returns the payload of the innermost UDP, TCP or SCTP DATA
// layer of every packet of the capture at path that has a non-empty one,
// in frame order. File is left empty.
func Payloads(t testing.TB, path string) []Payload {
	t.Helper()
	var out []Payload
	Each(t, path, func(p *capture.Packet) {
		var data []byte
		tcp := false
		for _, l := range Layers(p) {
			switch l := l.(type) {
			case *layers.UDP:
				data, tcp = l.Payload, false
			case *layers.TCP:
				data, tcp = l.Payload, true
			case *layers.SCTPData:
				data, tcp = l.Payload, true
			}
		}
		if len(data) > 0 {
			out = append(out, Payload{Frame: p.Frame, TCP: tcp, Data: data})
		}
	})
	return out
}

// CorpusPayloads returns the payloads that keep accepts from every capture
// of the shared corpus, in file and frame order, and skips the test where
// there is no corpus.
func CorpusPayloads(t testing.TB, keep func([]byte) bool) []Payload {
	t.Helper()
	root := corpustest.Dir(t)
	var out []Payload
	for _, rel := range corpustest.Captures(t, "") {
		for _, p := range Payloads(t, filepath.Join(root, filepath.FromSlash(rel))) {
			if keep(p.Data) {
				p.File = rel
				out = append(out, p)
			}
		}
	}
	return out
}
