package explain

import "github.com/sipscope/sipscope/call/policy"

// Reason codes found in the capture. They are stable: scripts match on
// them. Codes shared with the policy model (codec-mismatch, dtmf-mismatch,
// srtp-mismatch, family-mismatch) keep its spelling, and reasons the
// configuration adds use the policy's own codes (directmedia-no,
// dial-options, recording, ...).
const (
	CodeDirectReinvite      = "direct-reinvite"
	CodeDirectUpdate        = "direct-update"
	CodeDirectInitialInvite = "direct-initial-invite"
	CodeDirectEndToEnd      = "direct-end-to-end"
	CodeNoReleaseAttempted  = "no-release-attempted"
	CodeNAT                 = "nat"
	CodeReleaseRefused      = "release-refused"
	CodeGlare               = "glare"
	CodeReanchored          = "reanchored"
	CodeOneWayAudio         = "one-way-audio"
	CodeNoRTPCaptured       = "no-rtp-captured"
	CodeMediaRelay          = "media-relay"
	CodeNotAnswered         = "not-answered"
	CodeNoEvidence          = "no-evidence"
	// CodeConfigContradiction flags a capture that disagrees with what
	// the configuration predicts.
	CodeConfigContradiction = "config-contradiction"
)

// Codes lists every reason code with what it means, for documentation
// and for tools that read the JSON.
var Codes = []struct{ Code, Meaning string }{
	{CodeDirectReinvite, "the B2BUA released the media with re-INVITEs carrying the other side's address: who, when, how long the media was anchored before"},
	{CodeDirectUpdate, "as direct-reinvite, with UPDATE (RFC 3311; chan_sip directmedia=update, pjsip direct_media_method=update)"},
	{CodeDirectInitialInvite, "the B2BUA's first SDP already carried the far side's address (chan_sip directrtpsetup=yes): direct from the start"},
	{CodeDirectEndToEnd, "no B2BUA in the signalling: the phones' own SDP set up the media between them"},
	{CodeNoReleaseAttempted, "both legs could have gone direct, but the B2BUA sent no release: likely causes in order of evidence, and what the capture cannot tell"},
	{policy.CodeCodecMismatch, "the legs share no codec: the B2BUA transcodes and keeps the media"},
	{policy.CodeDTMFMismatch, "telephone-event (RFC 4733) on one leg only: a risk after release, a blocker for Asterisk's local bridge"},
	{CodeNAT, "an endpoint appears behind NAT: Via received/rport differing from sent-by, a private Contact or SDP address from a public source, or RTP from an unannounced port"},
	{policy.CodeSRTPMismatch, "SRTP on one leg and plain RTP on the other: the B2BUA must stay in the path"},
	{policy.CodeFamilyMismatch, "IPv4 media on one leg and IPv6 on the other: the endpoints cannot reach each other"},
	{CodeReleaseRefused, "a release request was refused (488, 415, 5xx, ...) or never answered"},
	{CodeGlare, "re-INVITEs crossed and were refused with 491: the retries, their RFC 3261 §14.1 windows, the time lost, and the remedy"},
	{CodeReanchored, "the B2BUA took the media back mid-call (hold with music on hold, transfer, parking), and whether it released it again"},
	{CodeOneWayAudio, "RTP flows one way only, or one direction goes to a NATed endpoint's private address that the public network does not route: the direction that cannot arrive, the likely cause (SDP direction, NAT, RTP to an address no one answers from, or not captured) and, for NAT, the remedy"},
	{CodeNoRTPCaptured, "SDP announced media but the capture holds no RTP for it"},
	{CodeMediaRelay, "RTP passes an address that belongs to neither end: a media relay rewrote the SDP"},
	{CodeNotAnswered, "no leg was answered, so no media was set up"},
	{CodeNoEvidence, "nothing in the capture explains the media path; says what would"},
	{CodeConfigContradiction, "the capture disagrees with what the given configuration predicts"},
	{policy.CodeDirectMediaNo, "from the configuration: directmedia=no (canreinvite=no, pjsip direct_media=no) on a peer"},
	{policy.CodeNATNoNAT, "from the configuration: directmedia=nonat with symmetric RTP keeps the media"},
	{policy.CodeDialOptions, "from the configuration: Dial() options that give DTMF features or play warnings keep the core in the path"},
	{policy.CodeRecording, "from the configuration: MixMonitor/Monitor in the dialplan keeps the core in the path"},
	{policy.CodeJitterBuffer, "from the configuration: JITTERBUFFER() in the dialplan keeps the core in the path"},
	{policy.CodeJBForce, "from the configuration: jbenable and jbforce keep even a local bridge off"},
	{policy.CodeMediaACL, "from the configuration: directmediadeny/permit refuses the other side's address"},
	{policy.CodeSRTP, "from the configuration or SDP: SRTP on both legs is terminated per hop"},
	{policy.CodeT38, "T.38 fax is never bridged natively"},
	{policy.CodePtimeMismatch, "different packetization on the legs: the core repacketizes"},
	{policy.CodeGlareWithheld, "from the configuration: glare mitigation withholds the first request on this dialog"},
}
