package ladder

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/media"
	"github.com/sipscope/sipscope/sdp"
)

// FromCall builds the diagram of one analyzed call: a column per host in
// the order the call passed them (caller, servers, callee), every SIP
// message of every leg as an arrow, each RTP stream as a span, the media
// path's changes and the NAT evidence as notes, and the call's explain
// reasons in the legend, marked at the frames they cite. The messages'
// text is there only when the analysis kept it (analysis.Options.KeepRaw).
func FromCall(c *analysis.Call) *Diagram {
	if c == nil {
		return &Diagram{}
	}
	d := &Diagram{Title: callTitle(c), Reasons: reasonsOf(&c.Explanation)}
	if c.Engine == nil {
		return d
	}
	b := newHostBuilder(c.Engine, c.Streams)
	d.Hosts = b.hosts()
	glare := glareFrames(c.Engine)
	for _, l := range c.Engine.Legs {
		for _, m := range l.Messages {
			if m == nil || m.Message == nil {
				continue
			}
			d.Messages = append(d.Messages, message(m, l.CallID, b, glare))
		}
	}
	slices.SortStableFunc(d.Messages, func(a, b Message) int { return cmp.Compare(a.Frame, b.Frame) })
	for _, s := range c.Streams {
		if s == nil || s.Packets == 0 {
			continue
		}
		d.Spans = append(d.Spans, Span{
			FromFrame: s.FirstFrame, ToFrame: s.LastFrame, Start: s.First, End: s.Last,
			From: b.mediaHost(s.Src, s.SourceAnnounced), To: b.mediaHost(s.Dst, s.Announced),
			Label: streamLabel(s), SSRC: s.SSRC,
		})
	}
	d.Notes = mediaNotes(&c.Media)
	dropped := 0
	for _, l := range c.Engine.Legs {
		dropped += l.MessagesDropped
	}
	if dropped > 0 {
		d.Notes = append(d.Notes, Note{Kind: NoteWarning,
			Text: strconv.Itoa(dropped) + " more SIP messages of this call were counted but not kept (per-leg cap)"})
	}
	return d
}

// reasonsOf turns explain's reasons into the diagram's legend; a reason
// that is not sure of itself says how sure it is.
func reasonsOf(e *explain.Explanation) []Reason {
	out := make([]Reason, 0, len(e.Reasons))
	for _, r := range e.Reasons {
		text := r.Text
		if r.Level != "" && r.Level != explain.High {
			text += " (" + string(r.Level) + " confidence)"
		}
		out = append(out, Reason{Code: r.Code, Text: text, Frames: slices.Clone(r.Frames)})
	}
	return out
}

// streamLabel describes an RTP stream in a few words: codec, packets,
// loss and the worst jitter.
func streamLabel(s *media.Stream) string {
	codec := s.Codec
	if codec == "" {
		codec = "PT " + strconv.Itoa(int(s.PayloadType))
	}
	return fmt.Sprintf("%s %d pkts, loss %.1f%%, max jitter %.1f ms", codec, s.Packets, s.LostPct, s.MaxJitterMs)
}

func callTitle(c *analysis.Call) string {
	t := c.From + " -> " + c.To
	// A call drawn as it ends (a report built call by call) has no row
	// number yet.
	if c.Row > 0 {
		t = "Call " + strconv.Itoa(c.Row) + ": " + t
	}
	var st []string
	switch {
	case c.Status >= 300:
		st = append(st, strings.TrimSpace(strconv.Itoa(c.Status)+" "+c.Reason))
	case c.Status != 0:
		// An answered call's Reason may be the BYE's Reason header
		// (RFC 3326), which would read as the answer's phrase.
		st = append(st, strconv.Itoa(c.Status))
	}
	if c.Media.Verdict != "" {
		st = append(st, "media "+string(c.Media.Verdict))
	}
	if len(st) > 0 {
		t += " (" + strings.Join(st, ", ") + ")"
	}
	return t
}

// glareFrames are the frames of every copy of the requests that crossed.
func glareFrames(c *call.Call) map[int]bool {
	out := map[int]bool{}
	for i := range c.Glare {
		for _, r := range c.Glare[i].Requests {
			if r == nil {
				continue
			}
			out[r.Frame] = true
			for _, f := range r.Frames {
				out[f] = true
			}
		}
	}
	return out
}

func message(m *call.Msg, leg string, b *hostBuilder, glare map[int]bool) Message {
	out := Message{
		Frame: m.Frame, Time: m.Time,
		From: b.sipHost(m.Src), To: b.sipHost(m.Dst),
		Label: m.Label(), Leg: leg,
		Retransmission: m.Retransmission,
		Glare:          m.IsRequest() && glare[m.Frame],
		Raw:            string(m.Raw),
	}
	switch {
	case m.IsRequest():
		out.Kind = Request
	case m.StatusCode >= 400:
		out.Kind = ErrorResponse
	default:
		out.Kind = Response
	}
	if m.SDP != nil {
		out.SDP = sdpNote(m.SDP)
	}
	return out
}

// maxNoteCodecs bounds the codecs an SDP note lists; offers of a dozen
// codecs would otherwise widen every arrow.
const maxNoteCodecs = 4

// sdpNote summarises a session description by its first audio stream
// (else its first stream): where it wants media, the codecs, the
// direction.
func sdpNote(s *sdp.Session) string {
	m, ok := s.Audio()
	if !ok {
		if len(s.Media) == 0 {
			return "no media"
		}
		m = &s.Media[0]
	}
	parts := []string{m.Endpoint().String()}
	if m.Type != "audio" {
		parts = []string{m.Type, m.Endpoint().String()}
	}
	codecs := m.AudioCodecs()
	codecs = append(codecs, m.FormatNames...)
	if len(codecs) > maxNoteCodecs {
		codecs = append(codecs[:maxNoteCodecs:maxNoteCodecs], "+"+strconv.Itoa(len(codecs)-maxNoteCodecs))
	}
	if len(codecs) > 0 {
		parts = append(parts, strings.Join(codecs, ","))
	}
	parts = append(parts, m.Direction.String())
	if m.Secure() {
		parts = append(parts, "SRTP")
	}
	if m.Rejected() {
		parts = append(parts, "(rejected)")
	}
	return strings.Join(parts, " ")
}

// mediaNotes marks where the media path began and changed, and the signs
// of NAT.
func mediaNotes(m *analysis.Media) []Note {
	var out []Note
	for i, s := range m.Timeline {
		text := string(s.Kind) + ", " + s.Basis
		if i > 0 {
			text = "now " + text
		}
		out = append(out, Note{Frame: s.FromFrame, Time: s.FromTime, Kind: NotePathChange, Text: text})
	}
	for _, e := range m.NAT {
		n := Note{Kind: NoteWarning, Text: "NAT (" + e.Kind + "): " + e.Text}
		if len(e.Frames) > 0 {
			n.Frame = e.Frames[0]
		}
		out = append(out, n)
	}
	return out
}

// hostBuilder decides the columns of a call. A host is an IP address; an
// address is split into address:port hosts only when SIP messages passed
// between two ports of it, which is how several SIP agents on one machine
// show themselves (a test bed on loopback, a proxy beside a PBX).
type hostBuilder struct {
	c       *call.Call
	streams []*media.Stream
	split   map[netip.Addr]bool
	order   []string
	info    map[string]*hostInfo
}

type hostInfo struct {
	ip    netip.Addr
	ports []uint16 // the SIP ports the host used
	sip   bool
	ends  int // legs the host is an end of
	// forwards is set when the host received a leg's messages on one hop
	// and sent them on along another without being an end of it: a proxy.
	forwards bool
	agent    call.Agent
	// via is the host whose SDP announced a media relay's address.
	via string
}

func newHostBuilder(c *call.Call, streams []*media.Stream) *hostBuilder {
	b := &hostBuilder{c: c, streams: streams, split: map[netip.Addr]bool{}, info: map[string]*hostInfo{}}
	for _, l := range c.Legs {
		for _, m := range l.Messages {
			if m != nil && m.Src.Addr() == m.Dst.Addr() && m.Src.Port() != m.Dst.Port() {
				b.split[m.Src.Addr()] = true
			}
		}
	}
	return b
}

func (b *hostBuilder) key(ap netip.AddrPort) string {
	if b.split[ap.Addr()] {
		return ap.String()
	}
	return ap.Addr().String()
}

// sipHost names the host of a signalling address, adding it if new.
func (b *hostBuilder) sipHost(ap netip.AddrPort) string {
	k := b.key(ap)
	h := b.info[k]
	if h == nil {
		h = &hostInfo{ip: ap.Addr()}
		b.info[k] = h
		b.order = append(b.order, k)
	}
	h.sip = true
	if !slices.Contains(h.ports, ap.Port()) {
		h.ports = append(h.ports, ap.Port())
	}
	return k
}

// mediaHost names the host of an RTP address: the signalling host on its
// IP (the one that announced it when the IP is split), else a media
// relay, to be placed beside the host whose SDP announced it.
func (b *hostBuilder) mediaHost(ap netip.AddrPort, ann *media.Announcement) string {
	if ann != nil && ann.Signal.Addr() == ap.Addr() {
		if k := b.key(ann.Signal); b.info[k] != nil && b.info[k].sip {
			return k
		}
	}
	for _, k := range b.order {
		if h := b.info[k]; h.sip && h.ip == ap.Addr() {
			return k
		}
	}
	k := ap.Addr().String()
	if b.info[k] == nil {
		h := &hostInfo{ip: ap.Addr()}
		if ann != nil && ann.Signal.IsValid() {
			h.via = b.key(ann.Signal)
		}
		b.info[k] = h
		b.order = append(b.order, k)
	}
	return k
}

// hosts lays out the columns: the addresses along each leg from the
// caller's side to the callee's (legs come in that order), then any other
// signalling address in order of appearance, then media relays beside the
// host that announced them.
func (b *hostBuilder) hosts() []Host {
	for _, l := range b.c.Legs {
		b.endOf(l.UAC, l.UACAgent)
		hops := slices.Clone(l.Hops)
		slices.SortStableFunc(hops, func(x, y call.Hop) int {
			return cmp.Or(cmp.Compare(x.Vias, y.Vias), cmp.Compare(x.FirstFrame, y.FirstFrame))
		})
		in, out := map[string]bool{}, map[string]bool{}
		for _, h := range hops {
			out[b.sipHost(h.Src)] = true
			in[b.sipHost(h.Dst)] = true
		}
		b.endOf(l.UAS, l.UASAgent)
		for k := range in {
			if out[k] && k != b.key(l.UAC) && k != b.key(l.UAS) {
				b.info[k].forwards = true
			}
		}
	}
	var msgs []*call.Msg
	for _, l := range b.c.Legs {
		for _, m := range l.Messages {
			if m != nil && m.Message != nil {
				msgs = append(msgs, m)
			}
		}
	}
	slices.SortStableFunc(msgs, func(x, y *call.Msg) int { return cmp.Compare(x.Frame, y.Frame) })
	for _, m := range msgs {
		b.sipHost(m.Src)
		b.sipHost(m.Dst)
		// A proxy does not forward 100 Trying (RFC 3261 §16.7), so its
		// Server header speaks for the host that sent it.
		if !m.IsRequest() && m.StatusCode == 100 && m.UserAgent != "" {
			if h := b.info[b.key(m.Src)]; h.ends == 0 && h.agent.Product == "" {
				h.agent = call.Identify(m.UserAgent)
			}
		}
	}
	for _, s := range b.streams {
		if s != nil && s.Packets > 0 {
			b.mediaHost(s.Src, s.SourceAnnounced)
			b.mediaHost(s.Dst, s.Announced)
		}
	}
	order := b.placeRelays()
	out := make([]Host, 0, len(order))
	for _, k := range order {
		out = append(out, b.host(k))
	}
	return out
}

// endOf records a leg's end: its address and the software there.
func (b *hostBuilder) endOf(ap netip.AddrPort, a call.Agent) {
	if !ap.IsValid() {
		return
	}
	h := b.info[b.sipHost(ap)]
	h.ends++
	if h.agent.Product == "" || (a.Server && !h.agent.Server) {
		h.agent = a
	}
}

// placeRelays moves each media relay right after the host that announced
// it, keeping relays of one host in order of appearance.
func (b *hostBuilder) placeRelays() []string {
	var order, relays []string
	for _, k := range b.order {
		if h := b.info[k]; !h.sip && h.via != "" && b.info[h.via] != nil && b.info[h.via].sip {
			relays = append(relays, k)
			continue
		}
		order = append(order, k)
	}
	for _, r := range relays {
		via := b.info[r].via
		i := slices.Index(order, via) + 1
		for i < len(order) && !b.info[order[i]].sip && b.info[order[i]].via == via {
			i++
		}
		order = slices.Insert(order, i, r)
	}
	return order
}

// host describes one column: its role from what the software said of
// itself and where the host sits in the call.
func (b *hostBuilder) host(k string) Host {
	h := b.info[k]
	out := Host{ID: k, Addr: k}
	if !b.split[h.ip] && len(h.ports) == 1 {
		out.Addr = netip.AddrPortFrom(h.ip, h.ports[0]).String()
	}
	agent := agentLabel(h.agent)
	proxy := h.agent.Product == "Kamailio" || h.agent.Product == "OpenSIPS"
	switch {
	case !h.sip:
		out.Role = RoleMediaRelay
	case h.agent.Asterisk():
		out.Role, out.Label = RoleAsterisk, agent
	case h.ends > 1 || (h.agent.Server && !proxy && h.ends > 0):
		// An end of two legs bridges them, whatever the software.
		out.Role, out.Label = RolePBX, agent
		if agent == "" {
			out.Label = "B2BUA"
		}
	case h.forwards || proxy:
		out.Role = RoleProxy
	case h.ends > 0:
		out.Role = RolePhone
	default:
		// Seen only as a sender or destination of some messages.
		out.Label = agent
	}
	if out.Label == "" && h.agent.Product != "" {
		out.Label = out.Role.String() + " (" + h.agent.Product + ")"
	}
	return out
}

// agentLabel names software in few enough cells that a column header is
// no wider than its address: the product, then what tells its versions
// apart in behaviour (Asterisk's SIP stack, else the release).
func agentLabel(a call.Agent) string {
	s := a.Product
	switch {
	case s == "":
		return ""
	case a.Stack != "":
		return s + " " + a.Stack
	case a.Version != "":
		v := strings.SplitN(a.Version, ".", 3)
		return s + " " + strings.Join(v[:min(len(v), 2)], ".")
	}
	return s
}
