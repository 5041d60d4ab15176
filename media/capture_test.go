package media

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/sdp"
)

// corpusDir finds the shared capture corpus that CI checks out beside the
// repository, walking up from the package directory; the test is skipped
// when there is none.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
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
	t.Skip("shared/corpus not found beside the repository")
	return ""
}

// datagram is one UDP payload of a test capture (or a TCP segment that
// starts a SIP message), with the Meta the decoder would give it.
type datagram struct {
	meta    decode.Meta
	payload []byte
	tcp     bool
}

// readCapture decodes a pcap or pcapng file far enough for this
// package's tests: link layer, VLAN, IPv4/IPv6 (tunnels included, the
// innermost header wins), UDP and TCP. It stands in for the decode
// package, which this package does not call. ICMP errors are not opened,
// so the UDP packets they quote are not seen, as in tshark's RTP tap.
func readCapture(t testing.TB, path string) []datagram {
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
	type reader interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var (
		r        reader
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
	var out []datagram
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
		var src, dst netip.Addr
		d := datagram{meta: decode.Meta{Frame: frame, FirstFrame: frame, Time: ci.Timestamp}}
		found := false
		for _, l := range pkt.Layers() {
			switch l := l.(type) {
			case *layers.IPv4:
				src, _ = netip.AddrFromSlice(l.SrcIP.To4())
				dst, _ = netip.AddrFromSlice(l.DstIP.To4())
			case *layers.IPv6:
				src, _ = netip.AddrFromSlice(l.SrcIP)
				dst, _ = netip.AddrFromSlice(l.DstIP)
			case *layers.UDP:
				d.meta.Src = netip.AddrPortFrom(src, uint16(l.SrcPort))
				d.meta.Dst = netip.AddrPortFrom(dst, uint16(l.DstPort))
				d.payload, found = l.Payload, true
			case *layers.TCP:
				d.meta.Src = netip.AddrPortFrom(src, uint16(l.SrcPort))
				d.meta.Dst = netip.AddrPortFrom(dst, uint16(l.DstPort))
				d.meta.Transport = decode.TCP
				d.payload, d.tcp, found = l.Payload, true, true
			}
			if found {
				break
			}
		}
		if found && len(d.payload) > 0 && src.IsValid() {
			d.payload = append([]byte(nil), d.payload...)
			out = append(out, d)
		}
	}
}

// sipMessage is the little of a SIP message the tests need to announce
// its SDP: enough to replay captures before the call engine exists.
type sipMessage struct {
	request bool
	method  string // of the request, or of the CSeq of a response
	status  string
	callID  string
	body    []byte
}

func parseSIP(b []byte) (sipMessage, bool) {
	line, rest, ok := bytes.Cut(b, []byte("\r\n"))
	if !ok {
		return sipMessage{}, false
	}
	var m sipMessage
	f := strings.Fields(string(line))
	switch {
	case len(f) >= 2 && f[0] == "SIP/2.0":
		m.status = f[1]
	case len(f) == 3 && f[2] == "SIP/2.0":
		m.request, m.method = true, f[0]
	default:
		return sipMessage{}, false
	}
	head, body, _ := bytes.Cut(rest, []byte("\r\n\r\n"))
	for _, h := range strings.Split(string(head), "\r\n") {
		name, val, ok := strings.Cut(h, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			m.callID = val
		case "cseq":
			if ff := strings.Fields(val); len(ff) == 2 && !m.request {
				m.method = ff[1]
			}
		}
	}
	m.body = body
	return m, true
}

// replay feeds a capture to a tracker: SDP bodies of SIP messages as
// announcements (leg = Call-ID), every other UDP payload as a datagram.
// It returns the announcements made.
func replay(t testing.TB, tr *Tracker, dgs []datagram) []Announcement {
	t.Helper()
	var anns []Announcement
	for i := range dgs {
		d := &dgs[i]
		if m, ok := parseSIP(d.payload); ok {
			for _, a := range sdpOf(d, m) {
				tr.Announce(a)
				anns = append(anns, a)
			}
			continue
		}
		if !d.tcp {
			tr.Datagram(&d.meta, d.payload)
		}
	}
	return anns
}

// sdpOf returns the announcements of a SIP message's SDP: offers in
// requests, answers in responses (enough for the captures at hand).
func sdpOf(d *datagram, m sipMessage) []Announcement {
	if !bytes.HasPrefix(bytes.TrimSpace(m.body), []byte("v=0")) {
		return nil
	}
	s, err := sdp.Parse(m.body)
	if err != nil {
		return nil
	}
	role, msg := Offer, m.method
	if !m.request {
		role, msg = Answer, m.status+" "+m.method
	}
	var out []Announcement
	for _, md := range s.Media {
		out = append(out, Announcement{
			Leg: m.callID, Role: role, Frame: d.meta.Frame, Time: d.meta.Time,
			Message: msg, Signal: d.meta.Src, Media: md,
		})
	}
	return out
}
