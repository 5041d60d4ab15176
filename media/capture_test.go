package media

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/pcaptest"
	"github.com/sipscope/sipscope/sdp"
)

// datagram is one UDP payload of a test capture (or a TCP segment that
// starts a SIP message), with the Meta the decoder would give it.
type datagram struct {
	meta    decode.Meta
	payload []byte
	tcp     bool
}

// readCapture reads a capture file and decodes it with gopacket far enough
// for this package's tests: link layer, VLAN, IPv4/IPv6 (tunnels included,
// the innermost header before the transport wins), then the first UDP or
// TCP header. It stands in for the decode package, whose decoder this
// package does not call. ICMP errors are not opened, so the UDP packets
// they quote are not seen, as in tshark's RTP tap.
func readCapture(t testing.TB, path string) []datagram {
	t.Helper()
	var out []datagram
	pcaptest.Each(t, path, func(p *capture.Packet) {
		var src, dst netip.Addr
		d := datagram{meta: decode.Meta{Frame: p.Frame, FirstFrame: p.Frame, Time: p.Time}}
		found := false
		for _, l := range pcaptest.Layers(p) {
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
			out = append(out, d)
		}
	})
	return out
}

// readCorpus reads a capture of the shared corpus, named by its path below
// the corpus directory; the test is skipped when there is no corpus.
func readCorpus(t testing.TB, rel string) []datagram {
	t.Helper()
	return readCapture(t, filepath.Join(corpustest.Dir(t), filepath.FromSlash(rel)))
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
