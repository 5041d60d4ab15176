package sdp

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/pcaptest"
)

// knownLenient lists the corpus descriptions that pion refuses, with the
// problems the lenient scanner must find in them.
var knownLenient = map[string][]string{
	// m=image (T.38): valid, but not a media type pion knows.
	"public/heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap frame 3100": nil,
	"public/heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap frame 3101": nil,
	"public/heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap frame 3104": nil,
	"public/heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap frame 3107": nil,
	// A scanner's INVITE: SQL in c=, Content-Length one short.
	"public/heplify/ipip0.pcap frame 1": {`last line "a=sendrend" has no line end`, "is not an IP address"},
	// Content-Length one short: the body ends in CR without LF.
	"public/sip3-captain-ce/BootstrapTest.pcap frame 1": {`last line "a=rtcp-fb:* ccm tmmbr" has no line end`},
}

// TestCorpusDescriptionsParse parses the SDP of every SIP datagram in the
// corpus: pion reads all but the known ones, which the scanner reads.
func TestCorpusDescriptionsParse(t *testing.T) {
	seen, total := 0, 0
	for _, d := range corpusSDPs(t) {
		s, err := Parse(d.Body)
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		if d.TCP {
			continue
		}
		total++
		want, known := knownLenient[d.String()]
		if !known {
			if s.Lenient || len(s.Problems) > 0 {
				t.Errorf("%s: lenient %v, problems %q", d, s.Lenient, s.Problems)
			}
			continue
		}
		seen++
		t.Run(d.String(), func(t *testing.T) {
			if !s.Lenient {
				t.Error("pion read it")
			}
			wantProblems(t, s, want...)
			if len(s.Media) == 0 {
				t.Error("no media")
			}
		})
	}
	if seen != len(knownLenient) {
		t.Errorf("found %d of %d known-lenient descriptions", seen, len(knownLenient))
	}
	t.Logf("%d descriptions in datagrams", total)
}

// TestCorpusDescriptionsRoundTrip marshals every corpus description and
// parses it back to the same streams.
func TestCorpusDescriptionsRoundTrip(t *testing.T) {
	for _, d := range corpusSDPs(t) {
		s, err := Parse(d.Body)
		if err != nil {
			continue
		}
		b := s.Marshal()
		got, err := Parse(b)
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		if len(got.Media) != len(s.Media) {
			t.Errorf("%s: %d streams, then %d", d, len(s.Media), len(got.Media))
			continue
		}
		for i, m := range got.Media {
			o := s.Media[i]
			if m.Endpoint() != o.Endpoint() || m.Direction != o.Direction || !slices.Equal(m.Formats, o.Formats) ||
				m.RTCPPort != o.RTCPPort || m.Ptime != o.Ptime || !slices.Equal(m.AudioCodecs(), o.AudioCodecs()) {
				t.Errorf("%s: stream %d\n got %+v\nwant %+v", d, i, m, o)
			}
		}
	}
}

// TestCorpusAgreesWithTshark compares the streams Parse reads with the
// m= and c= lines tshark dissects from the same frames.
func TestCorpusAgreesWithTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every capture")
	}
	root := corpustest.Dir(t)
	byFile := map[string][]corpusSDP{}
	for _, d := range corpusSDPs(t) {
		if !d.TCP {
			byFile[d.File] = append(byFile[d.File], d)
		}
	}
	compared := 0
	for file, descs := range byFile {
		want := pcaptest.TsharkFields(t, filepath.Join(root, filepath.FromSlash(file)), "sdp && udp", []string{"occurrence=a", "aggregator=,"},
			"sdp.media.media", "sdp.media.port", "sdp.connection_info.address")
		for _, d := range descs {
			w, ok := want[d.Frame]
			if !ok {
				continue // an IP fragment: tshark shows the message at the last one
			}
			s, err := Parse(d.Body)
			if err != nil {
				t.Fatalf("%s: %v", d, err)
			}
			var types, ports []string
			for _, m := range s.Media {
				types = append(types, m.Type)
				ports = append(ports, strconv.Itoa(m.Port))
				if m.Addr.IsValid() && !slices.ContainsFunc(strings.Split(w[2], ","), func(a string) bool {
					p, err := netip.ParseAddr(a)
					return err == nil && p == m.Addr
				}) {
					t.Errorf("%s: address %v not among tshark's %q", d, m.Addr, w[2])
				}
			}
			if strings.Join(types, ",") != w[0] || strings.Join(ports, ",") != w[1] {
				t.Errorf("%s: streams %v %v, tshark %q %q", d, types, ports, w[0], w[1])
			}
			compared++
		}
	}
	t.Logf("%d descriptions compared with tshark", compared)
	if compared == 0 {
		t.Error("nothing compared")
	}
}
