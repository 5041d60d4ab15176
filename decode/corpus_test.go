package decode

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/corpustest"
	"github.com/sipscope/sipscope/internal/pcaptest"
	"github.com/sipscope/sipscope/sip"
)

// manifestRow is what the corpus MANIFEST.md records of one file, from
// tshark: SIP messages (start lines parsed), distinct Call-IDs and SIP
// messages reassembled from several TCP segments.
type manifestRow struct {
	sip, callIDs, spanning int
}

var spanningRE = regexp.MustCompile(`SIP spanning TCP segments x(\d+)`)

// readManifest parses the file table of MANIFEST.md.
func readManifest(t *testing.T, dir string) map[string]manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]manifestRow{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 10 {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimSpace(cols[1])); err != nil {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cols[2]), "`")
		frMsg := strings.Split(strings.TrimSpace(cols[8]), "/")
		if len(frMsg) != 2 {
			t.Fatalf("MANIFEST row %s: SIP column %q", name, cols[8])
		}
		msgs, err1 := strconv.Atoi(frMsg[1])
		ids, err2 := strconv.Atoi(strings.TrimSpace(cols[9]))
		if err1 != nil || err2 != nil {
			t.Fatalf("MANIFEST row %s: bad numbers", name)
		}
		row := manifestRow{sip: msgs, callIDs: ids}
		if m := spanningRE.FindStringSubmatch(sc.Text()); m != nil {
			row.spanning, _ = strconv.Atoi(m[1])
		}
		rows[name] = row
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// corpusCounter counts SIP messages and distinct Call-IDs.
type corpusCounter struct {
	recorder
	callIDs  map[string]bool
	sip      int
	spanning int
}

func (c *corpusCounter) SIP(m *Meta, msg []byte) {
	c.sip++
	if m.FirstFrame != m.Frame && (m.Transport == TCP || m.Transport == WS) {
		c.spanning++
	}
	if pm, err := sip.Parse(msg, sip.Options{}); err == nil && pm.CallID != "" {
		c.callIDs[pm.CallID] = true
	}
}

func (c *corpusCounter) Datagram(*Meta, []byte) {}

// TestCorpusAgreesWithTshark decodes every public capture and compares
// the SIP messages, Call-IDs and messages reassembled across TCP segments
// with tshark's numbers in the corpus MANIFEST. Where we must find more
// than tshark, the row says why. (heplify/sip_ipv4_tcp_fragmented.pcap
// needs tshark's -d tcp.port==6060,sip, which MANIFEST's numbers include;
// the decoder finds SIP by content on any port.)
func TestCorpusAgreesWithTshark(t *testing.T) {
	dir := filepath.Join(corpustest.Dir(t), "public")
	manifest := readManifest(t, dir)
	// Files where the decoder's numbers differ from tshark's, and why.
	differ := map[string]struct {
		sip, callIDs int
		why          string
	}{
		"hep-wireshark/hep.pcap": {6, 1,
			"tshark 4.0 has no HEP dissector; the 8 HEP3 packets hold 6 SIP, 1 RTCP report, 1 log"},
		"hep-wireshark/hep3_compressed.pcap.pcapng": {21, 1,
			"tshark 4.0 has no HEP dissector; 21 HEP3 packets with zlib-compressed SIP"},
	}
	var names []string
	for name := range manifest {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("MANIFEST lists no files")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want := manifest[name]
			if d, ok := differ[name]; ok {
				want = manifestRow{sip: d.sip, callIDs: d.callIDs, spanning: want.spanning}
				t.Logf("tshark: %d SIP, %d Call-IDs; expected %d, %d: %s",
					manifest[name].sip, manifest[name].callIDs, d.sip, d.callIDs, d.why)
			}
			c := &corpusCounter{callIDs: map[string]bool{}}
			dec := NewDecoder(c, Options{})
			pcaptest.Each(t, filepath.Join(dir, filepath.FromSlash(name)), func(p *capture.Packet) { dec.Decode(p) })
			dec.Flush()
			if c.sip != want.sip || len(c.callIDs) != want.callIDs || c.spanning != want.spanning {
				t.Errorf("SIP messages %d, Call-IDs %d, spanning segments %d; want %d, %d, %d",
					c.sip, len(c.callIDs), c.spanning, want.sip, want.callIDs, want.spanning)
			}
			st := dec.Stats()
			t.Logf("stats: sip=%d (udp %d tcp %d sctp %d ws %d hep %d) datagrams=%d tcp gaps=%d retrans=%d tls flows=%d warnings=%d",
				st.SIP, st.SIPUDP, st.SIPTCP, st.SIPSCTP, st.SIPWS, st.SIPHEP, st.Datagrams, st.TCPGaps,
				st.TCPRetransmissions, st.TLSFlows, len(c.warns))
			for i, w := range c.warns {
				if i < 5 {
					t.Logf("warning frame %d: %s", w.Frame, w.Text)
				}
			}
		})
	}
}

// TestAsteriskCorpusFrames decodes the Asterisk captures and checks the
// ground truth: every leg's Call-ID is found, and its INVITE, answer and
// BYE are SIP messages delivered at exactly the frames the truth names.
func TestAsteriskCorpusFrames(t *testing.T) {
	dir := filepath.Join(corpustest.Dir(t), "asterisk")
	truths, err := filepath.Glob(filepath.Join(dir, "*.truth.json"))
	if err != nil || len(truths) == 0 {
		t.Fatalf("no truth files: %v", err)
	}
	for _, path := range truths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var truth struct {
				PCAP   string `json:"pcap"`
				Frames int    `json:"pcap_frames"`
				Legs   []struct {
					CallID string `json:"call_id"`
					Invite int    `json:"initial_invite_frame"`
					Answer int    `json:"answer_frame"`
					Bye    int    `json:"bye_frame"`
				} `json:"legs"`
			}
			if err := json.Unmarshal(raw, &truth); err != nil {
				t.Fatal(err)
			}
			c := &corpusCounter{callIDs: map[string]bool{}}
			sipFrames := map[int]bool{}
			dec := NewDecoder(frameRecorder{c, sipFrames}, Options{})
			frames := 0
			pcaptest.Each(t, filepath.Join(dir, filepath.Base(truth.PCAP)), func(p *capture.Packet) {
				frames++
				dec.Decode(p)
			})
			dec.Flush()
			if frames != truth.Frames {
				t.Errorf("%d frames, truth says %d", frames, truth.Frames)
			}
			for _, leg := range truth.Legs {
				if !c.callIDs[leg.CallID] {
					t.Errorf("Call-ID %s not found", leg.CallID)
				}
				for _, f := range []int{leg.Invite, leg.Answer, leg.Bye} {
					if f > 0 && !sipFrames[f] {
						t.Errorf("leg %s: no SIP message at frame %d", leg.CallID, f)
					}
				}
			}
			if len(c.warns) != 0 {
				t.Errorf("warnings %+v", c.warns)
			}
		})
	}
}

// frameRecorder notes the frames SIP messages were delivered at.
type frameRecorder struct {
	*corpusCounter
	frames map[int]bool
}

func (r frameRecorder) SIP(m *Meta, msg []byte) {
	r.frames[m.Frame] = true
	r.corpusCounter.SIP(m, msg)
}
