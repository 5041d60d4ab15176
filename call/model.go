package call

import (
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

// Side is one end of a leg: the UAC that sent the leg's first INVITE (the
// caller's side) or the UAS it was sent to (the callee's side). On a leg whose
// start the capture missed, the side that sent the first message seen is
// taken as the UAC.
type Side uint8

// Sides; the zero value means unknown.
const (
	UAC Side = iota + 1
	UAS
)

func (s Side) String() string {
	switch s {
	case UAC:
		return "uac"
	case UAS:
		return "uas"
	}
	return "?"
}

// Other returns the opposite side.
func (s Side) Other() Side {
	switch s {
	case UAC:
		return UAS
	case UAS:
		return UAC
	}
	return 0
}

// Call is what a user calls a call: one or more legs joined by B2BUAs (each
// leg its own SIP dialog with its own Call-ID), with how they were paired and
// the glare found on any of them.
type Call struct {
	// ID is the Call-ID of the first leg; it names the call in output.
	ID string
	// Legs run from the caller's side to the callee's side: a leg comes
	// after the leg it was created for, siblings (forking by a B2BUA) in
	// order of first frame.
	Legs []*Leg
	// Links say how each leg after the first was paired with its upstream leg.
	Links   []Link
	Pairing Pairing
	Glare   []Glare
	// FirstFrame is the first frame of any leg.
	FirstFrame int
	Start, End time.Time
}

// Pairing summarises the links of a call: their bases joined, and the lowest
// confidence among them (1 for a call of one leg).
type Pairing struct {
	Basis      string
	Confidence float64
}

// Link joins two legs of a call through the server that bridged them.
type Link struct {
	Upstream, Downstream int // indexes into Call.Legs
	// Server is the address that was UAS of the upstream leg and UAC of the
	// downstream leg (invalid when a correlation header alone joined legs
	// sent from elsewhere).
	Server netip.Addr
	// Alias is the server's other address when it received the upstream
	// INVITE on Server and sent the downstream one from Alias (a server
	// with a public and a private side); invalid otherwise.
	Alias      netip.Addr
	Basis      string
	Confidence float64
}

// Leg is one SIP dialog set: all messages with one Call-ID and one caller
// tag, wherever in the network they were seen (a proxy's hops share the
// Call-ID and tags, so they are one leg seen at several points). Forking
// gives a leg several dialogs.
type Leg struct {
	CallID     string
	From, To   sip.NameAddr // of the first INVITE (To without the UAS tag)
	RequestURI string
	// UAC and UAS are the source of the first INVITE at the hop nearest the
	// caller and the destination at the hop nearest the callee.
	UAC, UAS netip.AddrPort
	// Hops are the address pairs the leg's messages were seen between,
	// oriented UAC side to UAS side; more than one means proxies.
	Hops []Hop
	// UACAgent and UASAgent identify the software at each end from
	// User-Agent, Server, Via branches, tags and SDP.
	UACAgent, UASAgent Agent
	Transport          decode.Transport

	FirstFrame  int
	Start       time.Time // first message
	Answer      time.Time // first 2xx to the INVITE; zero when unanswered
	AnswerFrame int
	// End is when the leg ended: the time of the message that ended it
	// (EndFrame), or of the timeout or capture end (EndFrame 0).
	End      time.Time
	EndFrame int

	// Status is the final response to the leg's INVITE (2xx when any fork
	// answered), 0 when none was seen; Reason is its reason phrase, or the
	// Reason header (RFC 3326) of the BYE or CANCEL that ended the leg.
	Status    int
	Reason    string
	EndReason EndReason
	// Partial is set when the capture missed the leg's first INVITE; unless
	// the first message seen was a response to it, roles were guessed.
	Partial bool
	// Challenges counts 401/407 answers to the leg's INVITEs (RFC 3261
	// §22), after which a UAC sends the INVITE again with credentials.
	Challenges int

	// Messages holds every message of the leg in capture order, copies and
	// retransmissions included, up to a cap (MessagesDropped counts the rest).
	Messages        []*Msg
	MessagesDropped int

	// Dialogs are one per UAS tag that answered the INVITE; more than one
	// answering with 1xx or 2xx means the INVITE forked.
	Dialogs []*Dialog
	// MidDialog lists re-INVITEs and UPDATEs, in order.
	MidDialog []*Request

	// Correlation is the value of a correlation header (X-CID, X-Call-ID or
	// one named in Options) found on the leg's INVITE.
	Correlation string
}

// Forks returns how many UAS tags answered the INVITE with a provisional or
// a 2xx response: more than one means the request forked.
func (l *Leg) Forks() int {
	n := 0
	for _, d := range l.Dialogs {
		if !d.EarlyAt.IsZero() || !d.ConfirmedAt.IsZero() {
			n++
		}
	}
	return n
}

// Negotiations returns the offer/answer exchanges of all the leg's dialogs
// in the order their offers were seen.
func (l *Leg) Negotiations() []*Negotiation {
	var out []*Negotiation
	for _, d := range l.Dialogs {
		for _, n := range d.Negotiations {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *Negotiation) int { return a.firstFrame() - b.firstFrame() })
	return out
}

func (n *Negotiation) firstFrame() int {
	for _, r := range []*SDPRef{n.Offer, n.Preview, n.Answer} {
		if r != nil {
			return r.Frame
		}
	}
	return 0
}

// Answered reports whether any fork answered with 2xx.
func (l *Leg) Answered() bool { return !l.Answer.IsZero() }

// Dialog returns the dialog with the given UAS tag, or nil.
func (l *Leg) Dialog(tag string) *Dialog {
	for _, d := range l.Dialogs {
		if d.Tag == tag {
			return d
		}
	}
	return nil
}

// Hop is a pair of addresses a leg's messages passed between.
type Hop struct {
	Src, Dst   netip.AddrPort // in the UAC-to-UAS direction
	FirstFrame int
	// Vias counts the Via headers of the first request from the UAC side
	// seen on this hop: each proxy adds one, so it orders the hops.
	Vias int
}

// EndReason says why a leg ended.
type EndReason uint8

// End reasons; Ongoing means the leg has not ended.
const (
	Ongoing      EndReason = iota
	CallerHangup           // BYE from the UAC side
	CalleeHangup           // BYE from the UAS side
	Cancelled              // CANCEL before the final response
	Failed                 // final response 3xx-6xx (Leg.Status)
	TimedOut               // no final response, or idle past the limit
	CaptureEnded           // still up when the capture ended
	Evicted                // dropped to keep state within Options.MaxDialogs
)

func (r EndReason) String() string {
	switch r {
	case CallerHangup:
		return "caller-hangup"
	case CalleeHangup:
		return "callee-hangup"
	case Cancelled:
		return "cancelled"
	case Failed:
		return "failed"
	case TimedOut:
		return "timeout"
	case CaptureEnded:
		return "capture-ended"
	case Evicted:
		return "evicted"
	}
	return "ongoing"
}

// DialogState is the RFC 3261 §12 state of a dialog.
type DialogState uint8

// Dialog states.
const (
	Early      DialogState = iota + 1 // 1xx with a To tag
	Confirmed                         // 2xx
	Terminated                        // BYE, or a failure response ended it
)

func (s DialogState) String() string {
	switch s {
	case Early:
		return "early"
	case Confirmed:
		return "confirmed"
	case Terminated:
		return "terminated"
	}
	return "?"
}

// Dialog is one dialog of a leg, named by the UAS's tag.
type Dialog struct {
	Tag        string
	State      DialogState
	FirstFrame int
	// EarlyAt is when a provisional response created the dialog early,
	// ConfirmedAt when a 2xx confirmed it, EndedAt when it terminated;
	// the frames go with them.
	EarlyAt, ConfirmedAt, EndedAt      time.Time
	EarlyFrame, ConfirmFrame, EndFrame int
	// Status is the final response this UAS gave the INVITE, 0 if none.
	Status int
	// ACKFrame is the ACK of the 2xx that confirmed the dialog;
	// ACKMissing is set when none came within 64*T1 (RFC 3261 §13.3.1.4).
	ACKFrame   int
	ACKMissing bool
	// ByeFrame and ByeSide say who sent the BYE; ByeStatus is its final
	// response (0: none seen, ByeTimedOut: none within 64*T1).
	ByeFrame    int
	ByeSide     Side
	ByeStatus   int
	ByeTimedOut bool
	// Negotiations are the offer/answer exchanges (RFC 3264) in order.
	Negotiations []*Negotiation
}

// MediaAt returns the media each side had established by the given frame:
// the SDP of the latest completed negotiation at or before it.
func (d *Dialog) MediaAt(frame int) (uac, uas *SDPRef) {
	for _, n := range d.Negotiations {
		if n.Answer == nil || n.Rejected != 0 || n.Answer.Frame > frame {
			continue
		}
		if n.Offerer == UAC {
			uac, uas = n.Offer, n.Answer
		} else {
			uac, uas = n.Answer, n.Offer
		}
	}
	return uac, uas
}

// Negotiation is one offer/answer exchange: which messages carried the offer
// and the answer, and the media each described.
type Negotiation struct {
	// Method is the request whose transaction carried the exchange:
	// INVITE (the first or a re-INVITE), UPDATE or PRACK.
	Method  string
	CSeq    int
	Offerer Side
	// Offer is nil when the capture missed the message that carried it.
	Offer *SDPRef
	// Answer is nil while the offer is pending or when it was rejected.
	Answer *SDPRef
	// Preview is an answer sent in an unreliable provisional response,
	// before the answer proper (RFC 6337 §3.1.1).
	Preview *SDPRef
	// Rejected is the final response that refused the offer (488, 491,
	// 5xx...), 0 otherwise.
	Rejected int
}

// SDPRef is one session description and the message that carried it.
type SDPRef struct {
	Frame int
	Time  time.Time
	// Carrier names the message: "INVITE", "200 INVITE", "183 INVITE",
	// "ACK", "PRACK", "UPDATE", "200 UPDATE", ...
	Carrier string
	Sender  Side
	// Src is the address the carrying message came from.
	Src     netip.AddrPort
	Session *sdp.Session
	Media   MediaState
}

// MediaState is what one side's SDP says about its audio stream (the first
// audio m= line, else the first m= line).
type MediaState struct {
	Type string // media type of the m= line: audio, image (T.38 fax), video
	// Addr is where the side wants to receive RTP; port 0 means the stream
	// was refused.
	Addr      netip.AddrPort
	Proto     string
	PTs       []uint8
	Codecs    []string // audio codecs, telephone-event and CN left out
	DTMF      int      // telephone-event payload type, -1 when absent
	Crypto    bool     // SRTP (SDES, DTLS or a SAVP profile)
	Direction sdp.Direction
	// Hold is set for a direction other than sendrecv or the RFC 2543
	// c=0.0.0.0 convention.
	Hold bool
}

// Msg is one SIP message as captured, with where it was seen and what the
// engine made of it.
type Msg struct {
	Frame, FirstFrame int
	Time              time.Time
	Src, Dst          netip.AddrPort
	Transport         decode.Transport
	*sip.Message
	// SDP is the parsed session description, nil when none (or for a
	// retransmission, whose SDP is the original's).
	SDP *sdp.Session
	// Retransmission is set when the same transaction's message was seen
	// before between the same addresses (RFC 3261 §17): a repeat that
	// changes nothing.
	Retransmission bool
	// Duplicate is set on a repeat that came too soon to be a
	// retransmission (timers start at T1, 500 ms): the capture or the
	// network duplicated the packet.
	Duplicate bool
	// Direction says which side of the leg sent the message.
	Direction Side
	// Dialog is the UAS tag of the dialog the message belongs to, "" when
	// it precedes one.
	Dialog string
	// Hop indexes Leg.Hops.
	Hop int

	clock time.Time // Time on the engine's clock (see Engine.Advance)
}

// Label is the message's name on a ladder: the method of a request, the
// status code and CSeq method of a response ("200 INVITE").
func (m *Msg) Label() string {
	if m.IsRequest() {
		return m.Method
	}
	return strconv.Itoa(m.StatusCode) + " " + m.CSeqMethod
}

// Change says how a mid-dialog offer differs from the sender's previous SDP
// in the dialog. Several bits may be set; none means a session refresh with
// nothing changed.
type Change uint8

// Changes.
const (
	Hold        Change = 1 << iota // direction to sendonly/inactive, or c=0.0.0.0
	Resume                         // back to sendrecv from hold
	Redirect                       // media address or port changed
	CodecChange                    // the audio codecs differ
	OtherChange                    // DTMF, encryption or the set of streams changed
)

func (c Change) String() string {
	if c == 0 {
		return "refresh"
	}
	s := ""
	add := func(bit Change, name string) {
		if c&bit != 0 {
			if s != "" {
				s += "+"
			}
			s += name
		}
	}
	add(Hold, "hold")
	add(Resume, "resume")
	add(Redirect, "redirect")
	add(CodecChange, "codec-change")
	add(OtherChange, "other-change")
	return s
}

// Target says where the address in a mid-dialog offer points, judged
// against the roles of the call's addresses once the call is complete.
type Target uint8

// Targets.
const (
	TargetUnknown  Target = iota
	TargetSender          // the sender's own host: media anchored at it
	TargetEndpoint        // an endpoint of the call (a phone): direct media
	TargetServer          // another B2BUA of the call
)

func (t Target) String() string {
	switch t {
	case TargetSender:
		return "sender"
	case TargetEndpoint:
		return "endpoint"
	case TargetServer:
		return "server"
	}
	return "unknown"
}

// Request is one re-INVITE or UPDATE inside a dialog (retransmissions and
// copies at other hops folded in), with what it tried to change and what
// came of it.
type Request struct {
	Method string // INVITE or UPDATE
	CSeq   int
	Sender Side
	Dialog string // UAS tag
	Frame  int    // first copy seen
	Time   time.Time
	// Frames lists every copy: retransmissions and other hops.
	Frames []int

	// Offer is the SDP of the offer the exchange carried (in the request,
	// or in the 2xx of an offerless re-INVITE); Answer the answer to it.
	Offer, Answer *SDPRef
	// Change compares the offer with its sender's SDP established earlier
	// in the dialog; Baseline is false when there was none to compare
	// with, so Change means nothing.
	Change   Change
	Baseline bool
	// Target and TargetAddr say where the offer points the media;
	// filled in when the call is complete.
	Target     Target
	TargetAddr netip.AddrPort

	// Status is the final response, 0 while none; TimedOut is set when
	// none came within 64*T1 (Timer B/F).
	Status      int
	StatusFrame int
	StatusTime  time.Time
	TimedOut    bool
	// Responses lists the distinct responses (frames of their first copy).
	Responses []Response

	// RetryOf is the frame of the earlier request from the same side that
	// was refused with 491, when this request is its retry; RetryDelay
	// is the time since that 491.
	RetryOf    int
	RetryDelay time.Duration
}

// Outcome is the final response code as text, "timeout", or "pending".
func (r *Request) Outcome() string {
	switch {
	case r.Status != 0:
		return strconv.Itoa(r.Status)
	case r.TimedOut:
		return "timeout"
	}
	return "pending"
}

// Response is one distinct response to a request.
type Response struct {
	Frame  int
	Status int
	SDP    *SDPRef
}

// Glare is a pair of requests (re-INVITE or UPDATE) that crossed inside one
// dialog: each was sent before the other's final response, and at least one
// was refused with 491 Request Pending (RFC 3261 §14.1, RFC 3311 §5.1).
type Glare struct {
	CallID string
	Leg    int // index into Call.Legs
	Dialog string
	// Requests are the crossing requests in capture order; Responses491
	// the frames of the 491s that refused them.
	Requests     []*Request
	Responses491 []int
	// Retries are the requests each refused side sent next.
	Retries []Retry
	// MediaRelease is set when every crossing request carried an SDP
	// address other than its sender's: both servers were handing the media
	// off at once (direct media on both ends of a trunk).
	MediaRelease bool
	// BetweenServers is set when both ends of the leg are B2BUAs of the call.
	BetweenServers bool
}

// Frames returns the frames of the crossing requests and of their 491s.
func (g *Glare) Frames() []int {
	var out []int
	for _, r := range g.Requests {
		out = append(out, r.Frame)
	}
	return append(out, g.Responses491...)
}

// Retry is a request sent again after 491, with its delay judged against
// RFC 3261 §14.1: 2.1-4 s for the side that owns the Call-ID (sent the
// dialog's first INVITE), 0-2 s for the other.
type Retry struct {
	Frame       int
	By          Side
	Delay       time.Duration
	CallIDOwner bool
	WindowOK    bool
	Status      int // final response to the retry, 0 if none
}
