package sdp

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipscope/sipscope/sip"
)

// findCorpus returns the shared capture corpus that CI checks out beside
// the repository, walking up from the package directory, or "".
func findCorpus() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for range 8 {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// corpusDir returns the corpus directory, skipping the test without one.
func corpusDir(t testing.TB) string {
	t.Helper()
	c := findCorpus()
	if c == "" {
		t.Skip("shared/corpus not found beside the repository")
	}
	return c
}

// corpusPayload is one UDP datagram or TCP segment payload from a capture.
type corpusPayload struct {
	File  string // path relative to the corpus directory
	Frame int    // 1-based
	TCP   bool
	Data  []byte
}

func (p corpusPayload) String() string {
	return p.File + " frame " + strconv.Itoa(p.Frame)
}

func corpusPayloadsIn(t testing.TB, root string) []corpusPayload {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []corpusPayload
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		for _, p := range readCapture(t, f) {
			if sip.LooksLike(p.Data) {
				p.File = filepath.ToSlash(rel)
				out = append(out, p)
			}
		}
	}
	return out
}

type packetReader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

func readCapture(t testing.TB, path string) []corpusPayload {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var (
		r        packetReader
		linkType func(ci gopacket.CaptureInfo) layers.LinkType
	)
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = ng
		linkType = func(ci gopacket.CaptureInfo) layers.LinkType {
			if intf, err := ng.Interface(ci.InterfaceIndex); err == nil {
				return intf.LinkType
			}
			return ng.LinkType()
		}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = pr
		linkType = func(gopacket.CaptureInfo) layers.LinkType { return pr.LinkType() }
	}
	var out []corpusPayload
	for frame := 1; ; frame++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			return out
		}
		lt := linkType(ci)
		if lt == 228 || lt == 229 {
			lt = layers.LinkTypeRaw
		}
		pkt := gopacket.NewPacket(data, lt, gopacket.Default)
		var payload []byte
		tcp := false
		for _, l := range pkt.Layers() {
			switch l := l.(type) {
			case *layers.UDP:
				payload, tcp = l.Payload, false
			case *layers.TCP:
				payload, tcp = l.Payload, true
			case *layers.SCTPData:
				payload, tcp = l.Payload, true
			}
		}
		if len(payload) > 0 {
			out = append(out, corpusPayload{Frame: frame, TCP: tcp, Data: append([]byte(nil), payload...)})
		}
	}
}

// corpusSDP is a session description from a SIP message of the corpus.
type corpusSDP struct {
	corpusPayload
	Body []byte
}

// corpusSDPs returns the SDP bodies of the corpus's SIP messages, or none
// when root is "".
func corpusSDPs(t testing.TB, root string) []corpusSDP {
	t.Helper()
	if root == "" {
		return nil
	}
	var out []corpusSDP
	for _, p := range corpusPayloadsIn(t, root) {
		m, err := sip.Parse(p.Data, sip.Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if b := m.SDP(); b != nil {
			out = append(out, corpusSDP{p, b})
		}
	}
	return out
}
