package analysis

import (
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/media"
)

// Call is one call as the user sees it: its legs, how they were paired,
// glare, and where its media went. The JSON names are a public contract.
type Call struct {
	Row        int       `json:"row"`
	ID         string    `json:"id"`
	FirstFrame int       `json:"first_frame"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	// From and To are the caller and the dialled party of the first leg.
	From   string `json:"from"`
	To     string `json:"to"`
	Status int    `json:"status"`
	Reason string `json:"reason,omitempty"`
	// SetupMs is the time from the first INVITE to the first 2xx on the
	// caller's leg; DurationS from that 2xx to the end.
	SetupMs   float64 `json:"setup_ms,omitempty"`
	DurationS float64 `json:"duration_s,omitempty"`
	Messages  int     `json:"messages"`
	Legs      []Leg   `json:"legs"`
	Pairing   Pairing `json:"pairing"`
	Glare     []Glare `json:"glare"`
	Media     Media   `json:"media"`

	// Engine and Streams are the full records behind the summary, for
	// ladders, reports and explanations.
	Engine      *call.Call          `json:"-"`
	Streams     []*media.Stream     `json:"-"`
	Verdict     media.Verdict       `json:"-"`
	Explanation explain.Explanation `json:"-"`
}

// Leg is one SIP dialog of a call.
type Leg struct {
	CallID     string    `json:"call_id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	RequestURI string    `json:"request_uri"`
	FirstFrame int       `json:"first_frame"`
	Start      time.Time `json:"start"`
	Status     int       `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Messages   int       `json:"messages"`
	Retrans    int       `json:"retransmissions"`
	Src        string    `json:"src"`
	Dst        string    `json:"dst"`
	Transport  string    `json:"transport"`
	// Server names the software at the leg's ends that identified itself
	// as a server (PBX, proxy, SBC), else the UAS's software.
	Server    string     `json:"server,omitempty"`
	UACAgent  string     `json:"uac_agent,omitempty"`
	UASAgent  string     `json:"uas_agent,omitempty"`
	Hops      []string   `json:"hops,omitempty"`
	Forks     int        `json:"forks,omitempty"`
	Reinvites []Reinvite `json:"reinvites"`
	EndReason string     `json:"end_reason"`
	EndFrame  int        `json:"end_frame,omitempty"`
	Partial   bool       `json:"partial,omitempty"`
}

// Reinvite is one re-INVITE or UPDATE with what it tried and what came of it.
type Reinvite struct {
	Frame      int     `json:"frame"`
	Method     string  `json:"method"`
	CSeq       int     `json:"cseq"`
	From       string  `json:"from"` // sender's address
	Change     string  `json:"change"`
	Target     string  `json:"target,omitempty"` // sender, endpoint, server
	SDP        string  `json:"sdp,omitempty"`    // address:port offered
	Direction  string  `json:"direction,omitempty"`
	Outcome    string  `json:"outcome"`
	FinalFrame int     `json:"final_frame,omitempty"`
	RetryOf    int     `json:"retry_of,omitempty"`
	RetryDelay float64 `json:"retry_delay_ms,omitempty"`
}

// Pairing says how the legs were joined into one call.
type Pairing struct {
	Basis      string  `json:"basis"`
	Confidence float64 `json:"confidence"`
}

// Glare is one crossing of re-INVITEs or UPDATEs.
type Glare struct {
	CallID string `json:"call_id"`
	Frames []int  `json:"frames"`
	// RetryDelayMs is the longest retry delay: how long the call waited
	// for the media change because of the glare.
	RetryDelayMs float64 `json:"retry_delay_ms"`
	// RFC3261WindowOK is set when every retry fell in its RFC 3261 §14.1
	// window.
	RFC3261WindowOK bool         `json:"rfc3261_window_ok"`
	MediaRelease    bool         `json:"media_release"`
	BetweenServers  bool         `json:"between_servers"`
	Retries         []GlareRetry `json:"retries"`
}

// GlareRetry is one request sent again after a 491.
type GlareRetry struct {
	Frame           int     `json:"frame"`
	By              string  `json:"by"`
	RetryDelayMs    float64 `json:"retry_delay_ms"`
	CallIDOwner     bool    `json:"call_id_owner"`
	RFC3261WindowOK bool    `json:"rfc3261_window_ok"`
	Status          int     `json:"status,omitempty"`
}

// Media is where a call's audio went.
type Media struct {
	Verdict  media.PathKind   `json:"verdict"`
	Basis    string           `json:"basis"`
	Timeline []media.Segment  `json:"timeline"`
	NAT      []media.Evidence `json:"nat,omitempty"`
	Streams  []Stream         `json:"streams"`
	// Headline, Narrative, Reasons and Predictions explain the verdict
	// (package explain); every reason cites its frames.
	Headline    string               `json:"headline"`
	Narrative   string               `json:"narrative"`
	Reasons     []explain.Reason     `json:"reasons"`
	Predictions []explain.Prediction `json:"predictions,omitempty"`
}

// Stream is one RTP stream of a call; the fields are media.Stream's.
type Stream = *media.Stream

func streamOut(s *media.Stream) Stream { return s }

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// finishCall summarises an emitted call with its streams.
func (a *Analyzer) finishCall(c *call.Call, streams []*media.Stream) *Call {
	out := &Call{
		ID:         c.ID,
		FirstFrame: c.FirstFrame,
		Start:      c.Start,
		End:        c.End,
		Pairing:    Pairing{Basis: c.Pairing.Basis, Confidence: c.Pairing.Confidence},
		Glare:      []Glare{},
		Engine:     c,
		Streams:    streams,
	}
	for _, l := range c.Legs {
		out.Legs = append(out.Legs, legOut(l))
		out.Messages += len(l.Messages) + l.MessagesDropped
	}
	if len(c.Legs) > 0 {
		first := c.Legs[0]
		out.From, out.To = first.From.URI, first.To.URI
		out.Status, out.Reason = first.Status, first.Reason
		if first.Answered() {
			out.SetupMs = ms(first.Answer.Sub(first.Start))
			if !first.End.IsZero() {
				out.DurationS = math.Round(first.End.Sub(first.Answer).Seconds()*1000) / 1000
			}
		}
	}
	for i := range c.Glare {
		out.Glare = append(out.Glare, glareOut(&c.Glare[i]))
	}
	out.Verdict = media.Path(view(c), streams)
	out.Explanation = explain.Explain(explain.Input{
		Call: c, Streams: streams, Verdict: out.Verdict,
		Configs: a.opt.Configs, Dialplans: a.opt.Dialplans,
	})
	out.Media = mediaOut(out.Verdict, out.Explanation, streams)
	if a.opt.SummaryOnly {
		out.shed()
	}
	return out
}

// shed drops what only ladders and reports read: the engine's records and
// the streams' series. Strings taken from packets are copied, since each
// would otherwise keep its whole message alive.
func (c *Call) shed() {
	c.Engine, c.Streams = nil, nil
	for _, s := range c.Media.Streams {
		s.Shed()
	}
	c.ID, c.From, c.To, c.Reason = strings.Clone(c.ID), strings.Clone(c.From), strings.Clone(c.To), strings.Clone(c.Reason)
	c.Explanation.Call = c.ID
	for i := range c.Legs {
		l := &c.Legs[i]
		l.CallID, l.From, l.To = strings.Clone(l.CallID), strings.Clone(l.From), strings.Clone(l.To)
		l.RequestURI, l.Reason = strings.Clone(l.RequestURI), strings.Clone(l.Reason)
		for j := range l.Reinvites {
			l.Reinvites[j].Method = strings.Clone(l.Reinvites[j].Method)
		}
	}
	for i := range c.Glare {
		c.Glare[i].CallID = strings.Clone(c.Glare[i].CallID)
	}
}

func legOut(l *call.Leg) Leg {
	out := Leg{
		CallID:     l.CallID,
		From:       l.From.URI,
		To:         l.To.URI,
		RequestURI: l.RequestURI,
		FirstFrame: l.FirstFrame,
		Start:      l.Start,
		Status:     l.Status,
		Reason:     l.Reason,
		Messages:   len(l.Messages) + l.MessagesDropped,
		Src:        addrString(l.UAC),
		Dst:        addrString(l.UAS),
		Transport:  l.Transport.String(),
		UACAgent:   l.UACAgent.Kind(),
		UASAgent:   l.UASAgent.Kind(),
		Forks:      l.Forks(),
		Reinvites:  []Reinvite{},
		EndReason:  l.EndReason.String(),
		EndFrame:   l.EndFrame,
		Partial:    l.Partial,
	}
	switch {
	case l.UASAgent.Server:
		out.Server = l.UASAgent.Kind()
	case l.UACAgent.Server:
		out.Server = l.UACAgent.Kind()
	default:
		out.Server = l.UASAgent.Kind()
	}
	for _, m := range l.Messages {
		if m.Retransmission {
			out.Retrans++
		}
	}
	if len(l.Hops) > 1 {
		for _, h := range l.Hops {
			out.Hops = append(out.Hops, h.Src.String()+" > "+h.Dst.String())
		}
	}
	for _, r := range l.MidDialog {
		ri := Reinvite{
			Frame: r.Frame, Method: r.Method, CSeq: r.CSeq,
			Outcome: r.Outcome(), FinalFrame: r.StatusFrame,
			RetryOf: r.RetryOf,
		}
		if r.Baseline {
			ri.Change = r.Change.String()
		} else {
			ri.Change = "unknown"
		}
		if r.Target != call.TargetUnknown {
			ri.Target = r.Target.String()
		}
		if r.Offer != nil {
			ri.From = addrString(r.Offer.Src)
			ri.SDP = addrString(r.Offer.Media.Addr)
			ri.Direction = r.Offer.Media.Direction.String()
		}
		if r.RetryOf != 0 {
			ri.RetryDelay = ms(r.RetryDelay)
		}
		out.Reinvites = append(out.Reinvites, ri)
	}
	return out
}

func glareOut(g *call.Glare) Glare {
	out := Glare{
		CallID:          g.CallID,
		Frames:          g.Frames(),
		RFC3261WindowOK: len(g.Retries) > 0,
		MediaRelease:    g.MediaRelease,
		BetweenServers:  g.BetweenServers,
		Retries:         []GlareRetry{},
	}
	for _, r := range g.Retries {
		d := ms(r.Delay)
		out.Retries = append(out.Retries, GlareRetry{
			Frame: r.Frame, By: r.By.String(), RetryDelayMs: d,
			CallIDOwner: r.CallIDOwner, RFC3261WindowOK: r.WindowOK, Status: r.Status,
		})
		out.RetryDelayMs = max(out.RetryDelayMs, d)
		if !r.WindowOK {
			out.RFC3261WindowOK = false
		}
	}
	return out
}

// view builds what media.Path needs to know of a call.
func view(c *call.Call) media.CallView {
	var v media.CallView
	for _, l := range c.Legs {
		lv := media.LegView{ID: l.CallID, UAC: l.UAC.Addr(), UAS: l.UAS.Addr()}
		for _, d := range l.Dialogs {
			for _, n := range d.Negotiations {
				for _, ref := range []*call.SDPRef{n.Offer, n.Answer} {
					if ref == nil {
						continue
					}
					lv.Announcements = append(lv.Announcements, refAnnouncements(l.CallID, ref, ref == n.Offer, n.Rejected != 0)...)
				}
			}
		}
		v.Legs = append(v.Legs, lv)
	}
	for _, k := range c.Links {
		if k.Alias.IsValid() {
			v.Servers = append(v.Servers, k.Server, k.Alias)
		}
	}
	return v
}

func mediaOut(v media.Verdict, exp explain.Explanation, streams []*media.Stream) Media {
	out := Media{
		Verdict:     v.Kind,
		Basis:       v.Basis,
		Timeline:    v.Timeline,
		NAT:         v.NAT,
		Streams:     []Stream{},
		Headline:    exp.Headline,
		Narrative:   exp.Narrative,
		Reasons:     exp.Reasons,
		Predictions: exp.Predictions,
	}
	if out.Reasons == nil {
		out.Reasons = []explain.Reason{}
	}
	if out.Timeline == nil {
		out.Timeline = []media.Segment{}
	}
	for _, s := range streams {
		out.Streams = append(out.Streams, streamOut(s))
	}
	return out
}
