package media

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/internal/pcaptest"
	"github.com/sipscope/sipscope/sdp"
)

// feeder sends generated RTP to a tracker, numbering frames as it goes.
type feeder struct {
	tr    *Tracker
	frame int
}

// flow sends n packets of 20 ms PCMU from src to dst starting at offset
// start, and returns the frame of the first.
func (f *feeder) flow(src, dst netip.AddrPort, ssrc uint32, start time.Duration, n int) int {
	first := f.frame + 1
	for i := range n {
		f.frame++
		m := decode.Meta{Frame: f.frame, Time: genBase.Add(start + time.Duration(i)*20*time.Millisecond), Src: src, Dst: dst}
		f.tr.Datagram(&m, pcaptest.RTP(uint16(i), uint32(160*i), ssrc, 0, i == 0, make([]byte, 160)))
	}
	return first
}

func (f *feeder) announce(leg string, side Side, signal, media netip.AddrPort) Announcement {
	f.frame++
	a := Announcement{Leg: leg, Side: side, Frame: f.frame, Time: genBase, Signal: signal,
		Media: sdp.Media{Type: "audio", Proto: "RTP/AVP", Port: int(media.Port()), Addr: media.Addr(),
			Codecs: []sdp.Codec{{PT: 0, Name: "PCMU", Rate: 8000}}}}
	if side == UAS {
		a.Role = Answer
	} else {
		a.Role = Offer
	}
	f.tr.Announce(a)
	return a
}

// phoneCall announces a call between two phones, 192.0.2.1 offering media
// on port 4000 and 192.0.2.2 answering on port 5000, and returns its view.
func (f *feeder) phoneCall() CallView {
	a, b := ap("192.0.2.1:5060"), ap("192.0.2.2:5060")
	anns := []Announcement{
		f.announce("c", UAC, a, ap("192.0.2.1:4000")),
		f.announce("c", UAS, b, ap("192.0.2.2:5000")),
	}
	return CallView{Legs: []LegView{{ID: "c", UAC: a.Addr(), UAS: b.Addr(), Announcements: anns}}}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestUnannouncedFlowNeedsSequence(t *testing.T) {
	tr := NewTracker(Options{})
	src, dst := ap("192.0.2.1:4000"), ap("192.0.2.2:5000")
	m := decode.Meta{Src: src, Dst: dst, Time: genBase}
	// Two packets out of sequence, then three in sequence.
	for i, seq := range []uint16{10, 50, 51, 52, 53} {
		m.Frame = i + 1
		m.Time = genBase.Add(time.Duration(i) * 20 * time.Millisecond)
		tr.Datagram(&m, pcaptest.RTP(seq, uint32(160*i), 7, 0, false, make([]byte, 160)))
		if n := len(tr.Streams()); (i < 3 && n != 0) || (i >= 3 && n != 1) {
			t.Fatalf("after packet %d: %d streams", i+1, n)
		}
	}
	s := tr.Streams()[0]
	// The held packets are replayed: the stream starts at the first.
	if s.Packets != 5 || s.FirstFrame != 1 || !s.Unannounced || tr.Counters().Promoted != 1 {
		t.Errorf("stream: %d packets from frame %d, unannounced %v; counters %+v", s.Packets, s.FirstFrame, s.Unannounced, tr.Counters())
	}
	// An SDP seen later claims it.
	f := feeder{tr: tr, frame: 10}
	f.announce("late", UAS, ap("192.0.2.2:5060"), dst)
	if s = tr.Streams()[0]; s.Unannounced || s.AnnouncedByFrame != 11 || s.AnnouncedLeg != "late" {
		t.Errorf("after the SDP: unannounced %v, announced by frame %d leg %q", s.Unannounced, s.AnnouncedByFrame, s.AnnouncedLeg)
	}
}

func TestNotRTPIsNotAStream(t *testing.T) {
	tr := NewTracker(Options{})
	m := decode.Meta{Src: ap("192.0.2.1:4000"), Dst: ap("192.0.2.2:5000"), Time: genBase}
	payloads := [][]byte{
		{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42}, // STUN
		{0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // DTLS
		[]byte("\r\n\r\n"),
		{0x80, 0x00, 0x00}, // too short for RTP
	}
	for i, p := range payloads {
		m.Frame = i + 1
		tr.Datagram(&m, p)
	}
	if c := tr.Counters(); c.Other != 2 || c.NotMedia != 2 || len(tr.Streams()) != 0 {
		t.Errorf("counters %+v, %d streams", c, len(tr.Streams()))
	}
}

func TestRejectedOfferFallsBack(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	dst := ap("192.0.2.2:5000")
	f.announce("leg", UAC, ap("192.0.2.2:5060"), dst)
	f.announce("leg", UAS, ap("192.0.2.9:5060"), dst) // a re-offer of the same address, refused
	tr.Reject("leg", 2)
	f.flow(ap("192.0.2.1:4000"), dst, 1, 0, 3)
	s := tr.Streams()[0]
	if s.AnnouncedByFrame != 1 {
		t.Errorf("announced by frame %d, want the offer before the refused one", s.AnnouncedByFrame)
	}
}

func TestIdleStreamsFinishInOrder(t *testing.T) {
	var got []int
	tr := NewTracker(Options{Idle: time.Second, OnFinish: func(s *Stream) { got = append(got, s.FirstFrame) }})
	f := feeder{tr: tr}
	f.flow(ap("192.0.2.1:4000"), ap("192.0.2.2:5000"), 1, 0, 3)
	f.flow(ap("192.0.2.3:4000"), ap("192.0.2.4:5000"), 2, 0, 3)
	// Packet time passes on another flow: the first two fall idle.
	f.flow(ap("192.0.2.5:4000"), ap("192.0.2.6:5000"), 3, 0, 200)
	if len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("finished %v, want frames 1 and 4", got)
	}
	tr.Flush()
	if len(got) != 3 || len(tr.Streams()) != 0 || tr.Counters().Finished != 3 {
		t.Errorf("after flush: finished %v, %d streams held", got, len(tr.Streams()))
	}
}

func TestBoundsEvict(t *testing.T) {
	tr := NewTracker(Options{MaxStreams: 2, MaxCandidates: 2})
	f := feeder{tr: tr}
	for i := range 3 {
		f.flow(netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 4000), ap("192.0.2.100:5000"), uint32(i), 0, 3)
	}
	if c := tr.Counters(); c.EvictedStreams != 1 || len(tr.Streams()) != 2 {
		t.Errorf("streams: counters %+v, %d held", c, len(tr.Streams()))
	}
	m := decode.Meta{Dst: ap("192.0.2.100:6000"), Time: genBase}
	for i := range 3 {
		m.Frame, m.Src = 100+i, netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 4000)
		tr.Datagram(&m, pcaptest.RTP(1, 1, 9, 0, false, nil))
	}
	if c := tr.Counters(); c.EvictedFlows != 1 || c.CandidatePackets != 1 {
		t.Errorf("candidates: counters %+v", c)
	}
}

func TestRTCPMuxTiesToStream(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	a, b := ap("192.0.2.1:4000"), ap("192.0.2.2:5000")
	ann := Announcement{Leg: "l", Side: UAS, Frame: 1, Time: genBase,
		Media: sdp.Media{Type: "audio", Proto: "RTP/AVP", Port: 5000, Addr: b.Addr(), RTCPMux: true}}
	tr.Announce(ann)
	f.frame = 1
	f.flow(a, b, 0x11111111, 0, 5)
	// B reports on A's stream from its RTP port, which rtcp-mux shares.
	rr := []byte{0x81, 201, 0, 7, 0x22, 0x22, 0x22, 0x22,
		0x11, 0x11, 0x11, 0x11, 0x40, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0}
	m := decode.Meta{Frame: 10, Time: genBase.Add(time.Second), Src: b, Dst: a}
	tr.Datagram(&m, rr)
	s := tr.Streams()[0]
	if s.RTCP.Reports != 1 || s.RTCP.CumulativeLost != 2 || s.RTCP.FractionLostPct != 25 || s.RTCP.JitterMs != 10 {
		t.Errorf("RTCP = %+v", s.RTCP)
	}
	if tr.Counters().RTP != 5 {
		t.Errorf("RTCP counted as RTP: %+v", tr.Counters())
	}
}

// TestCountingAllocatesNothing holds the hot path to its promise: an RTP
// packet of a known stream costs no allocation.
func TestCountingAllocatesNothing(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	f.flow(ap("192.0.2.1:4000"), ap("192.0.2.2:5000"), 1, 0, 3)
	pkt := pcaptest.RTP(3, 480, 1, 0, false, make([]byte, 160))
	m := decode.Meta{Frame: 4, Src: ap("192.0.2.1:4000"), Dst: ap("192.0.2.2:5000"), Time: genBase.Add(60 * time.Millisecond)}
	seq := uint16(3)
	allocs := testing.AllocsPerRun(10000, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		putBE32(pkt[4:], uint32(seq)*160)
		m.Frame++
		m.Time = m.Time.Add(20 * time.Millisecond)
		tr.Datagram(&m, pkt)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet", allocs)
	}
}

func TestPathRelayed(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	phoneA, phoneB := ap("203.0.113.10:5060"), ap("198.51.100.20:5060")
	mediaA, mediaB := ap("203.0.113.10:4000"), ap("198.51.100.20:5000")
	relayToB, relayToA := ap("192.0.2.99:30000"), ap("192.0.2.99:30002")
	var anns []Announcement
	anns = append(anns,
		f.announce("c", UAC, phoneA, mediaA),
		f.announce("c", UAC, ap("192.0.2.98:5060"), relayToB), // the proxy's INVITE to B, rewritten by the relay
		f.announce("c", UAS, phoneB, mediaB),
		f.announce("c", UAS, ap("192.0.2.98:5060"), relayToA), // and its 200 OK to A
	)
	first := f.flow(mediaA, relayToA, 1, 0, 50)
	f.flow(relayToA, mediaA, 2, 0, 50)
	f.flow(relayToB, mediaB, 1, 0, 50)
	f.flow(mediaB, relayToB, 3, 0, 50)
	v := Path(CallView{Legs: []LegView{{ID: "c", UAC: phoneA.Addr(), UAS: phoneB.Addr(), Announcements: anns}}}, tr.Streams())
	if v.Kind != Relayed || len(v.Timeline) != 1 || v.Timeline[0].FromFrame != first || !strings.Contains(v.Basis, "192.0.2.99") {
		t.Errorf("verdict %+v", v)
	}
}

func TestPathOneWayAndNoneCaptured(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	call := f.phoneCall()
	if v := Path(call, tr.Streams()); v.Kind != NoneCaptured || !strings.Contains(v.Basis, "filtered") || v.Timeline[0].FromFrame != 1 {
		t.Errorf("no RTP: %+v", v)
	}
	f.flow(ap("192.0.2.1:4000"), ap("192.0.2.2:5000"), 1, 0, 100)
	if v := Path(call, tr.Streams()); v.Kind != OneWay || !strings.Contains(v.Basis, "192.0.2.1:4000 (phone) -> 192.0.2.2:5000 (phone)") {
		t.Errorf("one way: %+v", v)
	}
}

func TestPathNATEvidence(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	phoneA, phoneB := ap("203.0.113.10:5060"), ap("198.51.100.20:5060")
	anns := []Announcement{
		f.announce("c", UAC, phoneA, ap("192.168.1.10:4000")), // private SDP, public signalling
		f.announce("c", UAS, phoneB, ap("198.51.100.20:5000")),
	}
	f.flow(ap("203.0.113.10:4000"), ap("198.51.100.20:5000"), 1, 0, 50) // from the NAT's public side
	f.flow(ap("198.51.100.20:5000"), ap("192.168.1.10:4000"), 2, 0, 50) // to where the SDP said
	v := Path(CallView{Legs: []LegView{{ID: "c", UAC: phoneA.Addr(), UAS: phoneB.Addr(), Announcements: anns}}}, tr.Streams())
	kinds := map[string][]int{}
	for _, e := range v.NAT {
		kinds[e.Kind] = e.Frames
	}
	if len(kinds) != 3 || kinds["private-sdp"][0] != 1 || kinds["symmetric-rtp"][1] != 3 || kinds["rtp-to-private"][0] != 53 {
		t.Errorf("evidence %+v", v.NAT)
	}
	if v.Kind != Direct {
		t.Errorf("kind %s: %s", v.Kind, v.Basis)
	}
}

// TestDTMFInCorpus decodes the telephone events of the corpus: SIPp's
// one-digit files (three end packets with one sequence number) and
// rtpproxy's two event-only streams; the fax call's ANS tone, which the
// SDP names as telephone-event payload; and nothing from nDPI's stream
// of large packets on payload type 101, which are not events at all.
func TestDTMFInCorpus(t *testing.T) {
	digits := func(rel string) []string {
		tr := NewTracker(Options{})
		replay(t, tr, readCorpus(t, rel))
		var out []string
		for _, s := range tr.Streams() {
			var ds []string
			for _, e := range s.DTMF {
				ds = append(ds, e.Digit)
			}
			if len(ds) > 0 {
				out = append(out, strings.Join(ds, ""))
			}
		}
		return out
	}
	for name, digit := range map[string]string{"0": "0", "1": "1", "5": "5", "9": "9", "pound": "#", "star": "*"} {
		rel := "public/sipp/dtmf_2833_" + name + ".pcap"
		if got := digits(rel); len(got) != 1 || got[0] != digit {
			t.Errorf("%s: %q, want %q", rel, got, digit)
		}
	}
	tr := NewTracker(Options{})
	replay(t, tr, readCorpus(t, "public/sipp/dtmf_2833_star.pcap"))
	if e := tr.Streams()[0].DTMF[0]; e.Frame != 1 || e.EndFrame != 8 || e.Duration != 280*time.Millisecond || e.Volume != 10 || !e.Ended {
		t.Errorf("SIPp star: %+v", e)
	}
	if got := digits("public/rtpproxy/dtmf.pcap"); strings.Join(got, " ") != "123456789*0#5 54321#" {
		t.Errorf("rtpproxy: %q", got)
	}
	if got := digits("public/heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"); strings.Join(got, " ") != "ANS" {
		t.Errorf("fax: %q", got)
	}
	if got := digits("public/nDPI/rtp.pcapng"); len(got) != 0 {
		t.Errorf("nDPI: %q", got)
	}
}

// TestPathOfStrayPacketsOnly covers a call whose only RTP is a packet each
// way at different moments (what a PBX sees of phones that went direct at
// once): no span makes a path, so the verdict says only strays were seen.
func TestPathOfStrayPacketsOnly(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	call := f.phoneCall()
	f.flow(ap("192.0.2.1:4000"), ap("192.0.2.2:5000"), 1, 0, 1)
	f.flow(ap("192.0.2.2:5000"), ap("192.0.2.1:4000"), 2, 3*time.Second, 1)
	v := Path(call, tr.Streams())
	if v.Kind != NoneCaptured || !strings.Contains(v.Basis, "stray") || len(v.Timeline) != 1 {
		t.Errorf("verdict %+v", v)
	}
}

// TestForgetLegFreesItsAddresses checks that a finished call's SDP
// addresses are forgotten (bounded memory over hours) while an address a
// later call took over is kept.
func TestForgetLegFreesItsAddresses(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	a, b := ap("192.0.2.1:5060"), ap("192.0.2.2:5060")
	f.announce("old", UAC, a, ap("192.0.2.1:4000"))
	f.announce("old", UAS, b, ap("192.0.2.2:5000"))
	f.announce("new", UAC, a, ap("192.0.2.1:4000"))
	tr.ForgetLeg("old")
	if _, ok := tr.rtpEnds[ap("192.0.2.2:5000")]; ok {
		t.Error("the forgotten leg's address is still announced")
	}
	if got := tr.rtpEnds[ap("192.0.2.1:4000")]; got == nil || got.Leg != "new" {
		t.Errorf("address taken over by a later leg: %+v", got)
	}
	if _, ok := tr.byLeg["old"]; ok {
		t.Error("the leg's index entry survived")
	}
}

// TestSharedAnswerAddressStaysBounded covers a server that answers every
// call from the same media address (a media server, SIPp): each answer
// supersedes the last, and the superseded announcements must not pile up
// while calls come and go.
func TestSharedAnswerAddressStaysBounded(t *testing.T) {
	tr := NewTracker(Options{})
	f := feeder{tr: tr}
	server := ap("192.0.2.2:6000")
	const calls, concurrent = 20000, 300
	leg := func(i int) string { return "call-" + strconv.Itoa(i) }
	most := 0
	for i := range calls + concurrent {
		if i < calls {
			phone := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(10000+2*(i%20000)))
			f.announce(leg(i), UAC, ap("192.0.2.1:5060"), phone)
			f.announce(leg(i), UAS, ap("192.0.2.2:5060"), server)
		}
		if i >= concurrent {
			tr.ForgetLeg(leg(i - concurrent))
		}
		most = max(most, len(tr.endOrder))
	}
	// Each call in progress needs four entries (RTP and RTCP, both ends).
	if most > 4*concurrent+2048 {
		t.Errorf("%d announcement entries kept at once, with %d calls in progress", most, concurrent)
	}
	if len(tr.rtpEnds)+len(tr.rtcpEnds) != 0 || len(tr.byLeg) != 0 {
		t.Errorf("finished calls left %d RTP, %d RTCP addresses, %d legs", len(tr.rtpEnds), len(tr.rtcpEnds), len(tr.byLeg))
	}
}
