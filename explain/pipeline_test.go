package explain

import (
	"slices"
	"strconv"
	"testing"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/internal/pcaptest"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sip"
)

// pipeline stands in for package analysis in these tests: SIP messages
// drive the call engine, whose SDP feeds the media tracker; other UDP
// payloads go to the tracker.
type pipeline struct {
	eng   *call.Engine
	trk   *media.Tracker
	calls []*call.Call
	anns  map[string][]media.Announcement // by leg Call-ID
	// offers remembers the frame of each request that carried SDP, so
	// that a failure response can reject its offer in the tracker.
	offers map[string]int
}

func newPipeline() *pipeline {
	p := &pipeline{trk: media.NewTracker(media.Options{}), anns: map[string][]media.Announcement{}, offers: map[string]int{}}
	p.eng = call.NewEngine(call.Options{
		OnSDP:  p.sdp,
		OnCall: func(c *call.Call) { p.calls = append(p.calls, c) },
	})
	return p
}

func (p *pipeline) sdp(ev call.SDPEvent) {
	if ev.SDP == nil || ev.SDP.Session == nil || ev.Role == call.RoleRepeat {
		return
	}
	role := media.Offer
	if ev.Role == call.RoleAnswer || ev.Role == call.RolePreview {
		role = media.Answer
	}
	for _, m := range ev.SDP.Session.Media {
		a := media.Announcement{
			Leg: ev.CallID, Side: media.Side(ev.SDP.Sender), Role: role, Frame: ev.SDP.Frame, Time: ev.SDP.Time,
			Message: ev.SDP.Carrier, Signal: ev.SDP.Src, Media: m,
		}
		p.trk.Announce(a)
		p.anns[ev.CallID] = append(p.anns[ev.CallID], a)
	}
}

func txnKey(callID string, cseq int, method, sender string) string {
	return callID + "\x00" + strconv.Itoa(cseq) + method + "\x00" + sender
}

func (p *pipeline) SIP(meta *decode.Meta, b []byte) {
	m, err := sip.Parse(b, sip.Options{})
	if err != nil {
		return
	}
	switch {
	case m.IsRequest() && len(m.SDP()) > 0:
		k := txnKey(m.CallID, m.CSeq, m.Method, meta.Src.String())
		if _, ok := p.offers[k]; !ok {
			p.offers[k] = meta.Frame
		}
	case !m.IsRequest() && m.StatusCode >= 300:
		if f, ok := p.offers[txnKey(m.CallID, m.CSeq, m.CSeqMethod, meta.Dst.String())]; ok {
			p.trk.Reject(m.CallID, f)
			for i := range p.anns[m.CallID] {
				if a := &p.anns[m.CallID][i]; a.Frame == f {
					a.Rejected = true
				}
			}
		}
	}
	p.eng.Handle(m, meta)
}

func (p *pipeline) Datagram(meta *decode.Meta, b []byte) { p.trk.Datagram(meta, b) }
func (p *pipeline) Warn(capture.Warning)                 {}

// run analyzes a capture and returns each call's Input.
func (p *pipeline) run(t testing.TB, src capture.Source) []Input {
	t.Helper()
	dec := decode.NewDecoder(p, decode.Options{})
	pcaptest.Drain(t, src, func(pkt *capture.Packet) {
		p.eng.Advance(pkt.Time)
		dec.Decode(pkt)
	})
	dec.Flush()
	p.eng.Finish()
	p.trk.Flush()
	streams := p.trk.Streams()
	slices.SortStableFunc(p.calls, func(a, b *call.Call) int { return a.FirstFrame - b.FirstFrame })
	var out []Input
	for _, c := range p.calls {
		var v media.CallView
		for _, l := range c.Legs {
			v.Legs = append(v.Legs, media.LegView{
				ID: l.CallID, UAC: l.UAC.Addr().Unmap(), UAS: l.UAS.Addr().Unmap(), Announcements: p.anns[l.CallID],
			})
		}
		out = append(out, Input{Call: c, Streams: streams, Verdict: media.Path(v, streams)})
	}
	return out
}

// analyzeFile runs the pipeline over a capture file.
func analyzeFile(t testing.TB, name string) []Input {
	t.Helper()
	src, err := capture.Open(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return newPipeline().run(t, src)
}
