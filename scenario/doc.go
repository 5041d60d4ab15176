// Package scenario is sipscope's active mode: it plays a call between
// phones and Asterisk-like B2BUAs over real UDP sockets on loopback, writes
// the capture, and checks that the analyzer finds in it what the scenario
// demonstrates.
//
// The hosts are built from the same code the analyzer uses. SIP messages
// are made with package sip's builder and parsed with its parser; SDP with
// package sdp. Each host feeds every message it sends and receives into
// its own call engine (package call), which classifies each session
// description as offer or answer and gives, after the run, the host's own
// account of its calls (Result.Views). The host's SIP stack keeps of a
// dialog only what it needs to build requests (tags, remote target, its
// CSeq counter) and reads the engine's account (call.Engine.Dialog) to
// know the dialog's state, to answer a request that crosses one of its own
// with 491 or 500 (RFC 3261 §14.2, RFC 3311 §5.2), to wait before it
// starts a re-INVITE while another exchange is under way (§14.1), and to
// know whether it owns the Call-ID. A B2BUA reads its options with
// astconf.ReadSIP, matches each INVITE to a peer with the reader's Match,
// and decides where the media goes with the B2BUA policy model
// (call/policy.Decide): release by re-INVITE or UPDATE, direct from the
// first INVITE (directrtpsetup), held back by glare mitigation
// (SendsReinvite), relayed unchanged (native bridge, local mode) or run
// through its core (transcoding, DTMF translation, music on hold). After
// a 491 it waits RFC 3261 §14.1's delay (policy.RetryWindow: 2.1-4 s for
// the Call-ID owner, 0-2 s for the other), in steps of 10 ms as chan_sip.
//
// # Scenario files
//
// A scenario is an Asterisk-style configuration file, read with package
// astconf (the reader `sipscope explain --config` uses), so templates,
// "[name](template)" inheritance and #include work. Its sections:
//
//	[scenario]          what the scenario demonstrates
//	name                optional; the file name without .conf otherwise
//	description         one line for `reproduce --list`
//	expect_verdict      direct, anchored, relayed, one-way or none-captured
//	expect_reasons      reason codes (package explain) the analysis must give
//	expect_absent       reason codes it must not give
//
//	[HOST]              one per host, with role = phone or asterisk
//	role                phone or asterisk
//	addr                its address, in 127.0.0.0/8, one per host
//	port                SIP port (5060)
//
//	  phone options:
//	user                SIP user (the section name)
//	rtp_port            even RTP port (40000); RTCP is the next one
//	codecs              ulaw, alaw or both, in preference order (ulaw)
//	dtmf                rfc2833 (events when negotiated, else tones), inband or info
//	pbx                 the asterisk host its calls go to (the only one, if one)
//	private_addr        the address it believes it has behind a NAT: it writes it
//	                    in Via, Contact and SDP while its packets come from addr
//	reinvite            accept, or refuse: 488 to a re-INVITE or UPDATE that moves
//	                    its media
//	update              yes, or no: UPDATE left out of Allow and answered 501
//	tone                the frequency it sends, Hz (440)
//	useragent           its User-Agent
//
//	  asterisk options:
//	rtpstart            first RTP port (10000)
//	exten => ...        its dialplan, as extensions.conf writes it, in every
//	                    context its peers use: Answer, Wait, Dial(SIP/peer[/exten]),
//	                    Ringing, Hangup, MixMonitor, Set(JITTERBUFFER(...))
//	anything else       a [general] option of its sip.conf: directmedia, nat,
//	                    allow, disallow, dtmfmode, directrtpsetup, useragent, ...
//
//	[HOST/PEER]         a peer of asterisk host HOST's sip.conf, with any chan_sip
//	                    peer option; type=friend, host= and port= are implied
//	                    from the scenario host named PEER unless written
//
//	[script]            the call, times from the dial ("1.5s", "300ms" or seconds)
//	dial                CALLER -> NUMBER
//	answer_after        how long the called phone rings (0)
//	hold_at, resume_at  when hold_by (the caller) holds and resumes
//	dtmf_at             TIME:DIGITS pressed by dtmf_by (the caller)
//	hangup_at           when hangup_by (the caller) hangs up
//
// A full example, the built-in scenario direct-media:
//
//	[scenario]
//	description = directmedia=yes on both peers: Asterisk re-INVITEs each phone with the other's address
//	expect_verdict = direct
//	expect_reasons = direct-reinvite
//
//	[alice]
//	role = phone
//	addr = 127.0.0.30
//	codecs = ulaw
//
//	[bob]
//	role = phone
//	addr = 127.0.0.31
//	codecs = ulaw
//	tone = 1000
//
//	[pbx1]
//	role = asterisk
//	addr = 127.0.0.12
//	disallow = all
//	allow = ulaw
//	exten => 2001,1,Dial(SIP/bob,60)
//
//	[pbx1/alice]
//	directmedia = yes
//
//	[pbx1/bob]
//	directmedia = yes
//
//	[script]
//	dial = alice -> 2001
//	answer_after = 0.5s
//	hangup_at = 8s
//
// The built-in catalogue (List) is written in this format and shipped in
// the binary. Scenario.Configs gives each Asterisk host's configuration
// with its lines citing the scenario file, and Scenario.AsteriskConf
// writes it as a bundle that `explain --config` reads and that a real
// Asterisk can be given.
//
// # Time
//
// In real time (the default) timers wait and the capture carries the
// wall clock. In fast mode (RunOptions.Fast, `reproduce --fast`) the run
// is a discrete-event simulation on a virtual clock that starts at the
// wall clock: a timer fires as soon as every datagram in flight has been
// received and handled, and the clock then jumps to the timer's time; a
// datagram is received 60 µs after it was sent. Datagrams still cross real
// sockets, in the order they were sent, so a fast run is deterministic for
// a seed and its capture carries the timestamps a real-time run would
// have: a glare retry 2.9 s after its 491 is 2.9 s later in the pcap, so
// the analyzer judges the §14.1 windows as it would on a real capture.
// Scaling timers down would instead scale every interval the analyzer
// measures. A real PBX (RunOptions.PBX) needs real time.
//
// # Network
//
// Every host binds its own loopback address. One send function carries
// every datagram, and it refuses any destination outside 127.0.0.0/8 but
// the one target RunOptions.AllowNonlocal names: a phone behind NAT whose
// private address a B2BUA sends media to loses those packets, as on a real
// network, and Result.Refused counts them. The capture is not sniffed:
// each datagram is recorded when sent (and, from a PBX outside the run,
// when received), as Ethernet/IPv4/UDP with correct checksums, Ethernet
// addresses zero as tcpdump writes them for lo.
package scenario
