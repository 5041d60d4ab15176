package policy

import "time"

// Withhold says on which dialogs Asterisk withholds the first direct-media
// request, to avoid re-INVITE glare between two servers that both try to
// release media on the dialog between them.
type Withhold uint8

// Withhold modes. chan_sip's directmedia=outgoing withholds on incoming
// dialogs ("send only on outgoing calls"); chan_pjsip's
// direct_media_glare_mitigation names the dialogs it withholds on: outgoing
// means dialogs Asterisk originated (chan_pjsip.c direct_media_mitigate_glare
// checks the UAC role), incoming those it answered.
const (
	WithholdNone Withhold = iota
	WithholdIncoming
	WithholdOutgoing
)

func (w Withhold) String() string {
	switch w {
	case WithholdIncoming:
		return "incoming"
	case WithholdOutgoing:
		return "outgoing"
	}
	return "none"
}

// SendsReinvite reports whether Asterisk sends the first direct-media
// request (re-INVITE or UPDATE) of a dialog, given whether it originated the
// dialog and the leg's glare mitigation. After one withheld request the
// mitigation is spent: every later request on the dialog is sent.
func SendsReinvite(dialogOriginatedHere bool, w Withhold) bool {
	switch w {
	case WithholdIncoming:
		return dialogOriginatedHere
	case WithholdOutgoing:
		return !dialogOriginatedHere
	}
	return true
}

// RFC 3261 §14.1 retry delays after a 491 Request Pending, drawn in units of
// 10 ms. chan_sip and chan_pjsip draw 2100+rand()%2000 ms for the Call-ID
// owner, which can exceed RetryOwnerMax by up to 99 ms, and rand()%2000 ms
// for the other side.
const (
	RetryOwnerMin    = 2100 * time.Millisecond
	RetryOwnerMax    = 4 * time.Second
	RetryNonOwnerMax = 2 * time.Second
	RetryGranularity = 10 * time.Millisecond
)

// RetryWindow returns the RFC 3261 §14.1 window for the delay between a 491
// response and the retried request: 2.1 to 4 s for the UA that owns the
// Call-ID (it sent the dialog's first INVITE), 0 to 2 s for the other.
func RetryWindow(ownsCallID bool) (min, max time.Duration) {
	if ownsCallID {
		return RetryOwnerMin, RetryOwnerMax
	}
	return 0, RetryNonOwnerMax
}
