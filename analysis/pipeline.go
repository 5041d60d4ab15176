// Package analysis runs the whole pipeline over a capture: packets are
// decoded, SIP messages drive the call engine, other datagrams feed the
// media tracker, and each finished call gets its media verdict and
// explanation. It is the one place where call and media meet.
package analysis

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sip"
)

// DefaultMaxWarnings is how many warnings a Report keeps; the rest are
// counted in Summary.WarningsOmitted.
const DefaultMaxWarnings = 1000

// Options configure an Analyzer. Zero values take the defaults of each
// stage.
type Options struct {
	// CorrelateHeaders name extra headers tying a B2BUA's legs together.
	CorrelateHeaders []string
	// KeepRaw keeps every SIP message's text, for ladders and reports.
	KeepRaw bool
	// Configs are Asterisk channel driver configurations (sip.conf,
	// pjsip.conf) and Dialplans extensions.conf files to explain calls
	// against; explain.LoadConfig reads both from a --config argument.
	Configs   []*astconf.Config
	Dialplans []*astconf.File
	// MaxWarnings caps Summary.Warnings (default DefaultMaxWarnings).
	MaxWarnings int
	// MaxLooseStreams caps the streams outside any call that the Report
	// lists (default DefaultMaxLooseStreams); the rest are counted.
	MaxLooseStreams int

	Decode decode.Options
	Call   call.Options // OnSDP, OnCall and KeepRaw are set by the Analyzer
	Media  media.Options

	// OnCall, when set, receives each call as soon as it is finished and
	// explained, and the Analyzer does not keep it: this is how live
	// capture prints calls as they end. When nil, calls are collected in
	// the Report.
	OnCall func(*Call)
	// SummaryOnly keeps of each finished call its summary and explanation
	// only, not the records behind them (Call.Engine and Call.Streams):
	// what a table or JSON needs, in a fraction of the memory, for
	// captures of many calls.
	SummaryOnly bool
	// NoCallIDCount leaves Summary.CallIDs at 0 instead of keeping the set
	// of distinct Call-IDs: a live capture that runs for days must not
	// grow with the calls it has seen.
	NoCallIDCount bool
	// Progress, when set, is called every ProgressEvery packets with the
	// packets and captured bytes read so far.
	Progress func(packets int, bytes int64)
	// OnMessage, when set, receives every SIP message as it is parsed,
	// before the call engine sees it.
	OnMessage func(m *sip.Message, meta *decode.Meta)
}

// Analyzer is the pipeline for one capture. Feed it packets in capture
// order with Packet, then call Finish.
type Analyzer struct {
	opt Options
	dec *decode.Decoder
	eng *call.Engine
	trk *media.Tracker

	report Report
	// pending holds, per leg Call-ID, the streams finished before the
	// engine handed over the leg's call.
	pending map[string][]*media.Stream
	// loose are streams that no leg claimed.
	loose   []*media.Stream
	callIDs map[string]struct{}
}

// New returns an Analyzer.
func New(opt Options) *Analyzer {
	if opt.MaxWarnings <= 0 {
		opt.MaxWarnings = DefaultMaxWarnings
	}
	if opt.MaxLooseStreams <= 0 {
		opt.MaxLooseStreams = DefaultMaxLooseStreams
	}
	a := &Analyzer{
		opt:     opt,
		pending: map[string][]*media.Stream{},
		callIDs: map[string]struct{}{},
	}
	a.report.Summary.Warnings = []capture.Warning{}
	mo := opt.Media
	mo.OnFinish = a.streamFinished
	a.trk = media.NewTracker(mo)
	co := opt.Call
	co.KeepRaw = opt.KeepRaw
	co.CorrelateHeaders = append(co.CorrelateHeaders, opt.CorrelateHeaders...)
	co.OnSDP = a.sdpSeen
	co.OnReject = a.trk.Reject
	co.OnCall = a.callDone
	a.eng = call.NewEngine(co)
	a.dec = decode.NewDecoder((*sink)(a), opt.Decode)
	return a
}

// Warn records a warning about the input (the capture reader reports
// through it too).
func (a *Analyzer) Warn(w capture.Warning) {
	s := &a.report.Summary
	if w.Damaged {
		s.Damaged = true
	}
	if len(s.Warnings) >= a.opt.MaxWarnings {
		s.WarningsOmitted++
		return
	}
	s.Warnings = append(s.Warnings, w)
}

// Packet analyzes one captured packet.
func (a *Analyzer) Packet(p *capture.Packet) {
	a.arrive(p.Time, len(p.Data))
	a.dec.Decode(p)
	a.progress()
}

// arrive counts a packet of n captured bytes and moves the call engine's
// clock to it, before the packet is decoded.
func (a *Analyzer) arrive(t time.Time, n int) {
	s := &a.report.Summary
	if s.Packets == 0 {
		s.First = t
	}
	s.Packets++
	s.Bytes += int64(n)
	if t.After(s.Last) {
		s.Last = t
	}
	a.eng.Advance(t)
}

// progress reports progress after a packet has been decoded.
func (a *Analyzer) progress() {
	s := &a.report.Summary
	if a.opt.Progress != nil && s.Packets%ProgressEvery == 0 {
		a.opt.Progress(s.Packets, s.Bytes)
	}
}

// Advance moves packet time forward without a packet: in live capture a
// quiet link still ends calls on time. Times before the latest packet are
// ignored, so the clock never runs backwards.
func (a *Analyzer) Advance(now time.Time) {
	if now.After(a.report.Summary.Last) {
		a.eng.Advance(now)
	}
}

// ProgressEvery is how many packets pass between calls of Options.Progress.
const ProgressEvery = 1 << 16

// sink receives the decoder's output; a separate type keeps the Handler
// methods off the Analyzer's API.
type sink Analyzer

func (s *sink) SIP(m *decode.Meta, b []byte) {
	a := (*Analyzer)(s)
	msg, err := sip.Parse(b, sip.Options{KeepRaw: a.opt.KeepRaw})
	if err != nil {
		a.report.Summary.MalformedSIP++
		a.Warn(capture.Warning{Frame: m.Frame, Text: "SIP-like payload without a valid start line"})
		return
	}
	a.report.Summary.SIPMessages++
	if msg.Malformed() {
		a.report.Summary.MalformedSIP++
		a.Warn(capture.Warning{Frame: m.Frame, Text: "malformed SIP " + msg.Summary() + ": " + msg.Problems[0]})
	}
	if msg.CallID != "" && !a.opt.NoCallIDCount && len(a.callIDs) < maxCallIDs {
		if _, ok := a.callIDs[msg.CallID]; !ok {
			a.callIDs[msg.CallID] = struct{}{}
		}
	}
	if a.opt.OnMessage != nil {
		a.opt.OnMessage(msg, m)
	}
	a.eng.Handle(msg, m)
}

// maxCallIDs bounds the set used to count distinct Call-IDs; past it the
// count is a lower bound.
const maxCallIDs = 1 << 20

func (s *sink) Datagram(m *decode.Meta, b []byte) { (*Analyzer)(s).trk.Datagram(m, b) }

func (s *sink) Warn(w capture.Warning) { (*Analyzer)(s).Warn(w) }

func (a *Analyzer) sdpSeen(ev call.SDPEvent) {
	for _, ann := range announcements(ev) {
		a.trk.Announce(ann)
	}
}

// streamFinished files a finished stream with a leg the engine still
// follows, to be handed over with its call; a stream that ends after its
// call was emitted (a phone still sending after the BYE) belongs to none.
func (a *Analyzer) streamFinished(s *media.Stream) {
	for _, leg := range s.Owners() {
		if a.eng.Holds(leg) {
			a.pending[leg] = append(a.pending[leg], s)
			return
		}
	}
	a.addLoose(s)
}

// addLoose keeps a stream that belongs to no call, up to Options.MaxLooseStreams.
func (a *Analyzer) addLoose(s *media.Stream) {
	if len(a.loose) >= a.opt.MaxLooseStreams {
		a.report.Summary.LooseOmitted++
		return
	}
	a.loose = append(a.loose, s)
}

// DefaultMaxLooseStreams caps the streams a Report lists outside calls.
const DefaultMaxLooseStreams = 10000

func (a *Analyzer) callDone(c *call.Call) {
	var streams []*media.Stream
	for _, l := range c.Legs {
		a.trk.FinishLeg(l.CallID)
		a.trk.ForgetLeg(l.CallID)
	}
	for _, l := range c.Legs {
		streams = append(streams, a.pending[l.CallID]...)
		delete(a.pending, l.CallID)
	}
	slices.SortStableFunc(streams, func(x, y *media.Stream) int { return x.FirstFrame - y.FirstFrame })
	streams = slices.CompactFunc(streams, func(x, y *media.Stream) bool { return x == y })
	out := a.finishCall(c, streams)
	if a.opt.OnCall != nil {
		a.opt.OnCall(out)
		return
	}
	a.report.Calls = append(a.report.Calls, out)
}

// Finish ends the analysis: stream and call state still open is closed as
// "capture ended", and the Report is complete.
func (a *Analyzer) Finish() *Report {
	a.dec.Flush()
	a.eng.Finish()
	a.trk.Flush()
	legs := make([]string, 0, len(a.pending))
	for leg := range a.pending {
		legs = append(legs, leg)
	}
	slices.Sort(legs)
	for _, leg := range legs {
		for _, s := range a.pending[leg] {
			a.addLoose(s)
		}
	}
	clear(a.pending)
	slices.SortStableFunc(a.loose, func(x, y *media.Stream) int { return x.FirstFrame - y.FirstFrame })
	r := &a.report
	r.Streams = r.Streams[:0]
	for _, s := range a.loose {
		r.Streams = append(r.Streams, streamOut(s))
	}
	slices.SortStableFunc(r.Calls, func(x, y *Call) int { return x.FirstFrame - y.FirstFrame })
	for i, c := range r.Calls {
		c.Row = i + 1
	}
	a.fillSummary()
	return r
}

func (a *Analyzer) fillSummary() {
	s := &a.report.Summary
	ds := a.dec.Stats()
	es := a.eng.Stats()
	mc := a.trk.Counters()
	s.CallIDs = len(a.callIDs)
	s.Retransmission = es.Retransmissions
	s.Dialogs = es.Legs
	s.Expired = es.Expired
	s.Evicted = es.Evicted + mc.EvictedStreams
	s.RTPPackets = mc.RTP
	s.RTCPPackets = mc.RTCP
	s.TLSPackets = int(ds.TLSPackets)
	s.HEPPackets = int(ds.HEPPackets)
	t := &a.report.Traffic
	t.Register = RegisterCounts{
		Total: es.Register.Transactions, OK: es.Register.OK, Challenged: es.Register.Challenged,
		Failed: es.Register.Failed, NoAnswer: es.Register.Unanswered,
	}
	t.Options = es.Options.Transactions
	t.Subscribe = es.Subscribe.Transactions
	t.Notify = es.Notify.Transactions
	t.Message = es.Message.Transactions
	t.Publish = es.Publish.Transactions
	t.Other = es.OtherNonCall.Transactions
}

// Read analyzes every packet of src, to its end. A read error that ends
// the capture early is recorded as damage, not returned: what was read is
// still analyzed.
func (a *Analyzer) Read(src capture.Source) {
	drain(src, a.Warn, a.Packet)
	a.readDone(src)
}

// drain hands every packet of src to each, to the end; a read error that
// ends the capture early becomes a damage warning.
func drain(src capture.Source, warn capture.WarnFunc, each func(*capture.Packet)) {
	var p capture.Packet
	for {
		err := src.Next(&p)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			warn(capture.Warning{Frame: p.Frame, Text: err.Error(), Damaged: true})
			return
		}
		each(&p)
	}
}

// readDone records the damage that src counted while it was read.
func (a *Analyzer) readDone(src capture.Source) {
	if st, ok := capture.StatsOf(src); ok && (st.Truncated > 0 || st.Damaged > 0) {
		a.report.Summary.Damaged = true
		a.report.Summary.TruncatedPackets += st.Truncated
	}
}

// Files analyzes the named captures (files, directories of rotated files,
// or "-" for standard input) as one time-ordered stream.
func Files(names []string, opt Options) (*Report, error) {
	a := New(opt)
	in := newInput(a)
	src, err := capture.OpenAll(names, in.Warn)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	a.report.Summary.Files = append([]string(nil), names...)
	in.read(src)
	return a.Finish(), nil
}
