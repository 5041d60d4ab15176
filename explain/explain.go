// Package explain says why a call's media went where it went: direct
// between the phones, anchored at a B2BUA, relayed, one-way or absent. It
// reads the call engine's view of the signalling (re-INVITEs, UPDATEs,
// 491 glare, offer/answer) and the media verdict, and, when Asterisk
// configurations are given, asks the B2BUA policy model (call/policy)
// what should have happened and names the option that decided it.
//
// Every reason cites the frames that support it. When the capture cannot
// tell, the reason says so and what would settle it.
package explain

import (
	"slices"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/media"
)

// Input is one call and what the pipeline found about its media.
type Input struct {
	Call *call.Call
	// Streams are RTP streams of the capture; those that no leg of the
	// call announced are left out (media.Announcement.Leg must be the
	// leg's Call-ID, as for media.CallView).
	Streams []*media.Stream
	Verdict media.Verdict
	// Configs are Asterisk channel driver configurations (sip.conf,
	// pjsip.conf); each is matched to the B2BUA of the call that listens
	// on its bind address.
	Configs []*astconf.Config
	// Dialplans are extensions.conf files: with them the prediction knows
	// the Dial() options and recording of the dialled extension.
	Dialplans []*astconf.File
}

// Level is a confidence in words.
type Level string

// Confidence levels: how sure a reason is, given the evidence it cites.
const (
	High   Level = "high"
	Medium Level = "medium"
	Low    Level = "low"
)

// levelOf puts a confidence score into words.
func levelOf(c float64) Level {
	switch {
	case c >= 0.8:
		return High
	case c >= 0.5:
		return Medium
	}
	return Low
}

// Reason is one finding about a call's media, with the frames that show
// it and, when a configuration decided it, the option lines.
type Reason struct {
	Code       string  `json:"code"`
	Text       string  `json:"text"`
	Level      Level   `json:"level"`
	Confidence float64 `json:"confidence"`
	// Frames support the reason; never empty. A no-evidence reason cites
	// the frames that were examined.
	Frames  []int      `json:"frames"`
	Options []Citation `json:"options,omitempty"`

	head    string  // the headline's wording of the reason
	explain bool    // accounts for the final media path
	bridge  *bridge // the B2BUA the reason is about, if one
}

// Citation is one configuration line.
type Citation struct {
	File string `json:"file"`
	Line int    `json:"line"` // 0: a built-in default, not a line
	// Section is where the line is written ([general] or a template when
	// the peer inherited it); Peer the peer or endpoint it applies to.
	Section string `json:"section"`
	Peer    string `json:"peer,omitempty"`
	Server  string `json:"server,omitempty"` // the bundle's server label, if any
	Key     string `json:"key"`
	Value   string `json:"value"`
}

// Explanation is the account of one call.
type Explanation struct {
	// Call is the Call-ID of the call's first leg, which names it.
	Call string `json:"call"`
	// Path is the media verdict's kind: direct, anchored, relayed,
	// one-way, none-captured; empty when no SDP was seen.
	Path      media.PathKind `json:"path"`
	Headline  string         `json:"headline"`
	Narrative string         `json:"narrative"`
	Reasons   []Reason       `json:"reasons"`
	// Predictions say, per B2BUA with a configuration, what the policy
	// model expected and where the capture disagrees.
	Predictions []Prediction `json:"predictions,omitempty"`
}

// Has reports whether a reason with the code was given.
func (e *Explanation) Has(code string) bool {
	return slices.ContainsFunc(e.Reasons, func(r Reason) bool { return r.Code == code })
}

// Reason returns the first reason with the code, or nil.
func (e *Explanation) Reason(code string) *Reason {
	for i := range e.Reasons {
		if e.Reasons[i].Code == code {
			return &e.Reasons[i]
		}
	}
	return nil
}

// Explain accounts for the media of one call.
func Explain(in Input) Explanation {
	if in.Call == nil || len(in.Call.Legs) == 0 {
		return Explanation{}
	}
	x := &explainer{f: gather(in)}
	x.out.Call = in.Call.ID
	x.out.Path = in.Verdict.Kind
	x.run()
	// The bridge a reason was about served the wording; kept, it would
	// keep the whole call's messages alive for as long as the reason.
	for i := range x.out.Reasons {
		x.out.Reasons[i].bridge = nil
	}
	return x.out
}
