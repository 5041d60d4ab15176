package media

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/internal/pcaptest"
)

// genBase is the first timestamp of every generated capture, fixed so the
// captures and tshark's view of them are the same on every run.
var genBase = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// genPacket is one UDP datagram of a generated capture.
type genPacket struct {
	at       time.Duration // after genBase
	src, dst netip.AddrPort
	payload  []byte
}

// writePcap writes datagrams as Ethernet/IP/UDP frames, in the order given.
func writePcap(t testing.TB, path string, pkts []genPacket) {
	t.Helper()
	dgs := make([]pcaptest.Datagram, len(pkts))
	for i, p := range pkts {
		dgs[i] = pcaptest.Datagram{Time: genBase.Add(p.at), Src: p.src, Dst: p.dst, Payload: p.payload}
	}
	pcaptest.WriteUDP(t, path, dgs)
}

func putBE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// eventBytes is an RFC 4733 payload.
func eventBytes(code uint8, end bool, volume uint8, duration uint16) []byte {
	b := []byte{code, volume & 0x3f, byte(duration >> 8), byte(duration)}
	if end {
		b[1] |= 0x80
	}
	return b
}

func sipWithSDP(first, callID, cseq string, from, media netip.AddrPort) []byte {
	body := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n", media.Addr(), media.Addr(), media.Port())
	return []byte(fmt.Sprintf("%s\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:a@%s>;tag=1\r\n"+
		"To: <sip:b@example.invalid>\r\nCall-ID: %s\r\nCSeq: %s\r\nContact: <sip:a@%s>\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		first, from, cseq[:1], from.Addr(), callID, cseq, from, len(body), body))
}

// Addresses of the generated captures: documentation ranges (RFC 5737,
// RFC 3849).
var (
	genA     = netip.MustParseAddrPort("192.0.2.10:5060")
	genB     = netip.MustParseAddrPort("198.51.100.20:5060")
	genAudA  = netip.MustParseAddrPort("192.0.2.10:40000")
	genAudB  = netip.MustParseAddrPort("198.51.100.20:50000")
	genRTCPA = netip.MustParseAddrPort("192.0.2.10:40001")
	genRTCPB = netip.MustParseAddrPort("198.51.100.20:50001")
)

// genCall is a SIP call with RTP both ways and every impairment the
// statistics must see, each at a known place:
//
// A to B, SSRC 0x11111111, 200 slots of 20 ms from sequence number 65500
// (so the numbers wrap) and timestamp 1000: slots 50-52 lost; 81 sent
// before 80; 100 sent twice; 120 delayed by 8 ms; slots 140-148 carry
// telephone event 5 (end bit from 146, sent three times) and 170-176
// event # (end from 174); markers on the first packet and each event's
// first packet. Slot 199 is the last, arriving in order.
//
// B to A: SSRC 0x22222222 for slots 0-99, then 0x33333333 (an SSRC change)
// for 100-199 from sequence number 7 and timestamp 90000.
//
// RTCP: at 2 s B reports on A's SSRC (fraction 3/256, 3 lost, jitter 16
// timestamp units) and A sends an SR with its CNAME; at the end A says BYE.
func genCall() []genPacket {
	pkts := []genPacket{
		{0, genA, genB, sipWithSDP("INVITE sip:b@198.51.100.20 SIP/2.0", "gen-call-1", "1 INVITE", genA, genAudA)},
		{5 * time.Millisecond, genB, genA, sipWithSDP("SIP/2.0 200 OK", "gen-call-1", "1 INVITE", genB, genAudB)},
	}
	start := 10 * time.Millisecond
	slot := func(i int) time.Duration { return start + time.Duration(i)*20*time.Millisecond }
	for i := range 200 {
		seq := uint16(65500 + i)
		ts := uint32(1000 + 160*i)
		var payload []byte
		pt, marker := uint8(0), i == 0
		switch {
		case i >= 140 && i <= 148:
			pt, ts = 101, 1000+160*140
			marker = i == 140
			d := min(160*(i-140+1), 160*7)
			payload = eventBytes(5, i >= 146, 10, uint16(d))
		case i >= 170 && i <= 176:
			pt, ts = 101, 1000+160*170
			marker = i == 170
			d := min(160*(i-170+1), 160*5)
			payload = eventBytes(11, i >= 174, 12, uint16(d))
		default:
			payload = make([]byte, 160)
		}
		at := slot(i)
		switch i {
		case 50, 51, 52:
			continue
		case 80:
			at += 21 * time.Millisecond // after 81
		case 81:
			at -= 19 * time.Millisecond
		case 120:
			at += 8 * time.Millisecond
		}
		p := genPacket{at, genAudA, genAudB, pcaptest.RTP(seq, ts, 0x11111111, pt, marker, payload)}
		pkts = append(pkts, p)
		if i == 100 {
			p.at += time.Millisecond
			pkts = append(pkts, p)
		}
	}
	for i := range 200 {
		ssrc, seq, ts := uint32(0x22222222), uint16(30000+i), uint32(5000+160*i)
		if i >= 100 {
			ssrc, seq, ts = 0x33333333, uint16(7+i-100), uint32(90000+160*(i-100))
		}
		pkts = append(pkts, genPacket{slot(i) + 3*time.Millisecond, genAudB, genAudA,
			pcaptest.RTP(seq, ts, ssrc, 0, i == 0 || i == 100, make([]byte, 160))})
	}
	rr := []byte{0x81, 201, 0, 7, 0x22, 0x22, 0x22, 0x22,
		0x11, 0x11, 0x11, 0x11, 3, 0, 0, 3, 0, 1, 0xff, 0xa0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0}
	srSDES := append([]byte{0x80, 200, 0, 6, 0x11, 0x11, 0x11, 0x11,
		0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x7d, 0, 0, 0, 0, 100, 0, 0, 0x3e, 0x80},
		0x81, 202, 0, 4, 0x11, 0x11, 0x11, 0x11, 1, 7, 'a', '@', 'g', 'e', 'n', '.', 'a', 0, 0, 0)
	bye := []byte{0x81, 203, 0, 1, 0x11, 0x11, 0x11, 0x11}
	pkts = append(pkts,
		genPacket{2 * time.Second, genRTCPB, genRTCPA, rr},
		genPacket{2*time.Second + time.Millisecond, genRTCPA, genRTCPB, srSDES},
		genPacket{slot(200), genRTCPA, genRTCPB, append(append([]byte(nil), srSDES[:28]...), bye...)},
	)
	sortPackets(pkts)
	return pkts
}

// genIPv6 is an unannounced stream over IPv6, PCMA, 60 slots with slots
// 10 and 11 lost.
func genIPv6() []genPacket {
	src := netip.MustParseAddrPort("[2001:db8::1]:20000")
	dst := netip.MustParseAddrPort("[2001:db8::2]:30000")
	var pkts []genPacket
	for i := range 60 {
		if i == 10 || i == 11 {
			continue
		}
		pkts = append(pkts, genPacket{time.Duration(i) * 20 * time.Millisecond, src, dst,
			pcaptest.RTP(uint16(100+i), uint32(160*i), 0xabcdef01, 8, i == 0, make([]byte, 160))})
	}
	return pkts
}

// genDTMF is telephone events with no SDP and no audio, the way SIPp's
// play_pcap_audio files carry them: digit 7 for 7 updates and three end
// packets that repeat one sequence number.
func genDTMF() []genPacket {
	src := netip.MustParseAddrPort("203.0.113.5:16000")
	dst := netip.MustParseAddrPort("203.0.113.6:17000")
	var pkts []genPacket
	for i := range 10 {
		seq, end, d := uint16(500+i), i >= 7, uint16(160*(i+1))
		if end {
			seq, d = 507, 160*8
		}
		pkts = append(pkts, genPacket{time.Duration(i) * 20 * time.Millisecond, src, dst,
			pcaptest.RTP(seq, 4242, 0x0e05384e, 101, i == 0, eventBytes(7, end, 6, d))})
	}
	return pkts
}

func sortPackets(p []genPacket) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].at < p[j-1].at; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

var generated = []struct {
	name  string
	build func() []genPacket
}{
	{"call", genCall},
	{"ipv6", genIPv6},
	{"dtmf", genDTMF},
}

// generatedCaptures writes the generated captures into a temporary
// directory and returns their paths by name.
func generatedCaptures(t testing.TB) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	for _, g := range generated {
		p := filepath.Join(dir, g.name+".pcap")
		writePcap(t, p, g.build())
		out[g.name] = p
	}
	return out
}

func genStreams(t testing.TB, path string) (*Tracker, map[uint32]*Stream) {
	t.Helper()
	tr := NewTracker(Options{})
	replay(t, tr, readCapture(t, path))
	by := map[uint32]*Stream{}
	for _, s := range tr.Streams() {
		by[s.SSRC] = s
	}
	return tr, by
}

// TestGeneratedAgreesWithTshark holds the generated captures to tshark's
// figures as well.
func TestGeneratedAgreesWithTshark(t *testing.T) {
	for name, path := range generatedCaptures(t) {
		t.Run(name, func(t *testing.T) {
			rel := "generated/" + name
			want := parseTshark(t, tsharkGolden(t, path, rel))
			if haveTshark() && !*update {
				if got := runTshark(t, path); got != tsharkGolden(t, path, rel) {
					t.Errorf("tshark output differs from %s", goldenName(rel))
				}
			}
			_, by := genStreams(t, path)
			var got []*Stream
			for _, s := range by {
				got = append(got, s)
			}
			compareTshark(t, rel, want, got)
		})
	}
}

func TestGeneratedCallFigures(t *testing.T) {
	caps := generatedCaptures(t)
	tr, by := genStreams(t, caps["call"])
	ab := by[0x11111111]
	if ab == nil {
		t.Fatal("no A to B stream")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"src", ab.Src, genAudA},
		{"dst", ab.Dst, genAudB},
		{"packets", ab.Packets, 198},
		// 200 expected; 3 lost and 1 duplicate received: RFC 3550 A.3
		// counts duplicates as received, so lost is 2.
		{"expected", ab.Expected, 200},
		{"lost", ab.Lost, 2},
		{"duplicates", ab.Duplicates, 1},
		{"out of order", ab.OutOfOrder, 1},
		// the gap at 53, 81 before 80, 80 late, the second 100
		{"sequence errors", ab.SequenceErrors, 4},
		{"markers", ab.Markers, 3},
		{"codec", ab.Codec, "PCMU"},
		{"payload type", ab.PayloadType, uint8(0)},
		{"announced by", ab.AnnouncedByFrame, 2},
		{"unannounced", ab.Unannounced, false},
		{"first frame", ab.FirstFrame, 3},
		{"payload types", len(ab.PayloadTypes), 2},
		{"events", len(ab.DTMF), 2},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("A to B %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(ab.DTMF) == 2 {
		wantEv := []struct {
			digit string
			start time.Duration
			dur   time.Duration
			vol   uint8
		}{
			{"5", 10*time.Millisecond + 140*20*time.Millisecond, 140 * time.Millisecond, 10},
			{"#", 10*time.Millisecond + 170*20*time.Millisecond, 100 * time.Millisecond, 12},
		}
		for i, w := range wantEv {
			e := ab.DTMF[i]
			if e.Digit != w.digit || e.Start.Sub(genBase) != w.start || e.Duration != w.dur || e.Volume != w.vol || !e.Ended || e.EndFrame == 0 {
				t.Errorf("event %d = %+v, want digit %s at %v for %v volume %d, ended", i, e, w.digit, w.start, w.dur, w.vol)
			}
		}
	}
	if ab.RTCP.Reports != 1 || ab.RTCP.CumulativeLost != 3 || ab.RTCP.JitterMs != 2 ||
		ab.RTCP.SenderReports != 2 || ab.RTCP.CNAME != "a@gen.a" || ab.RTCP.ByeFrame == 0 {
		t.Errorf("A to B RTCP = %+v", ab.RTCP)
	}
	if got := ab.RTCP.FractionLostPct; got < 1.17 || got > 1.18 {
		t.Errorf("RTCP fraction lost = %.3f%%, want 3/256", got)
	}

	first, second := by[0x22222222], by[0x33333333]
	if first == nil || second == nil {
		t.Fatalf("B to A streams missing: %v", by)
	}
	if first.Packets != 100 || second.Packets != 100 || first.Lost != 0 || second.Lost != 0 {
		t.Errorf("B to A packets %d/%d lost %d/%d, want 100/100 and 0/0", first.Packets, second.Packets, first.Lost, second.Lost)
	}
	if first.SSRCChanges != 0 || second.SSRCChanges != 1 || second.ReplacedSSRC != 0x22222222 || second.ChangeFrame != second.FirstFrame {
		t.Errorf("SSRC change: first %d, second %d replacing %#x at frame %d (first frame %d)",
			first.SSRCChanges, second.SSRCChanges, second.ReplacedSSRC, second.ChangeFrame, second.FirstFrame)
	}
	if c := tr.Counters(); c.RTCP != 3 || c.RTP != 398 || c.RTCPUnmatched != 0 {
		t.Errorf("counters = %+v", c)
	}
}

func TestGeneratedUnannouncedFigures(t *testing.T) {
	caps := generatedCaptures(t)
	_, by := genStreams(t, caps["ipv6"])
	s := by[0xabcdef01]
	if s == nil || s.Packets != 58 || s.Lost != 2 || !s.Unannounced || s.Codec != "PCMA" || s.FirstFrame != 1 {
		t.Fatalf("IPv6 stream = %+v", s)
	}
	if got := s.Src.String() + " " + s.Dst.String(); got != "[2001:db8::1]:20000 [2001:db8::2]:30000" {
		t.Errorf("addresses %s", got)
	}
	_, by = genStreams(t, caps["dtmf"])
	d := by[0x0e05384e]
	if d == nil {
		t.Fatal("no DTMF stream")
	}
	// 8 sequence numbers, 10 packets: Wireshark's lost is -2.
	if d.Packets != 10 || d.Lost != -2 || d.Duplicates != 2 || len(d.DTMF) != 1 {
		t.Fatalf("DTMF stream: packets %d lost %d duplicates %d events %d", d.Packets, d.Lost, d.Duplicates, len(d.DTMF))
	}
	if e := d.DTMF[0]; e.Digit != "7" || e.Duration != 160*time.Millisecond || e.Frame != 1 || e.EndFrame != 8 || !strings.HasPrefix(d.PayloadTypes[0].Codec, "") {
		t.Errorf("event %+v", e)
	}
}

// TestStreamJSON checks the field names the JSON output promises, and
// the address forms ip:port and [ipv6]:port.
func TestStreamJSON(t *testing.T) {
	caps := generatedCaptures(t)
	_, by := genStreams(t, caps["ipv6"])
	b, err := json.Marshal(by[0xabcdef01])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"src", "dst", "ssrc", "payload_type", "codec", "packets", "lost", "lost_pct",
		"max_jitter_ms", "mean_jitter_ms", "max_delta_ms", "first_frame", "last_frame", "announced_by_frame", "dtmf"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	if m["src"] != "[2001:db8::1]:20000" || m["ssrc"] != float64(0xabcdef01) || m["announced_by_frame"] != float64(0) {
		t.Errorf("src %v ssrc %v announced_by_frame %v", m["src"], m["ssrc"], m["announced_by_frame"])
	}
	if d, ok := m["dtmf"].([]any); !ok || len(d) != 0 {
		t.Errorf("dtmf = %v, want []", m["dtmf"])
	}
}
