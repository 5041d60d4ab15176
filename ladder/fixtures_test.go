package ladder

import (
	"fmt"
	"strings"
	"time"
)

// The fixtures are calls as the analysis would describe them, written out
// by hand with documentation addresses (RFC 5737) so that the tests own
// them. Raw messages are short but shaped like real ones.

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// raw builds a SIP message text with CRLF line ends.
func raw(start string, headers ...string) string {
	return start + "\r\n" + strings.Join(headers, "\r\n") + "\r\n\r\n"
}

func msg(frame, ms int, from, to, label string, kind MessageKind, leg string) Message {
	method := label
	if kind != Request {
		method = "SIP/2.0 " + label
	} else {
		method = label + " sip:bob@example.com SIP/2.0"
	}
	return Message{
		Frame: frame, Time: at(ms), From: from, To: to, Label: label, Kind: kind, Leg: leg,
		Raw: raw(method,
			"Via: SIP/2.0/UDP "+from+";branch=z9hG4bK"+fmt.Sprint(frame),
			"From: <sip:alice@example.com>;tag=a1",
			"To: <sip:bob@example.com>",
			"Call-ID: "+leg,
			"CSeq: 1 "+strings.Fields(label)[0],
			"Content-Length: 0"),
	}
}

func withSDP(m Message, sdp string) Message {
	m.SDP = sdp
	return m
}

func retrans(m Message) Message {
	m.Retransmission = true
	return m
}

func glare(m Message) Message {
	m.Glare = true
	return m
}

// simpleCall is two phones talking directly: the smallest complete call,
// with an INVITE retransmission.
func simpleCall() *Diagram {
	const leg = "a84b4c76e66710@192.0.2.10"
	return &Diagram{
		Title: "Call " + leg,
		Hosts: []Host{
			{ID: "a", Addr: "192.0.2.10:5060", Role: RolePhone, Label: "Yealink T46S"},
			{ID: "b", Addr: "192.0.2.20:5060", Role: RolePhone},
		},
		Messages: []Message{
			withSDP(msg(1, 0, "a", "b", "INVITE", Request, leg), "192.0.2.10:16384 PCMU sendrecv"),
			retrans(withSDP(msg(2, 500, "a", "b", "INVITE", Request, leg), "192.0.2.10:16384 PCMU sendrecv")),
			msg(3, 520, "b", "a", "100 Trying", Response, leg),
			msg(4, 900, "b", "a", "180 Ringing", Response, leg),
			withSDP(msg(5, 3100, "b", "a", "200 OK", Response, leg), "192.0.2.20:30000 PCMU sendrecv"),
			msg(6, 3120, "a", "b", "ACK", Request, leg),
			msg(900, 21000, "b", "a", "BYE", Request, leg),
			msg(901, 21030, "a", "b", "200 OK", Response, leg),
		},
		Spans: []Span{
			{FromFrame: 7, ToFrame: 898, Start: at(3150), End: at(20990), From: "a", To: "b", Label: "PCMU 892 pkts, loss 0.0%, jitter 0.8 ms", SSRC: 0x1a2b3c4d},
			{FromFrame: 8, ToFrame: 899, Start: at(3160), End: at(20995), From: "b", To: "a", Label: "PCMU 891 pkts, loss 0.1%, jitter 1.2 ms", SSRC: 0x5e6f7081},
		},
		Reasons: []Reason{
			{Code: "direct", Text: "Media flowed directly between the phones, as both SDPs offered.", Frames: []int{1, 5, 7, 8}},
		},
	}
}

// b2buaReinvite is a call through Asterisk that starts anchored and is
// moved to direct media by re-INVITEs on both legs.
func b2buaReinvite() *Diagram {
	const legA, legB = "3c26701f3a8e@192.0.2.11", "4f2d15c865ef0e0a@192.0.2.1"
	return &Diagram{
		Title: "Call 1: 1001 -> 1002 through Asterisk",
		Hosts: []Host{
			{ID: "alice", Addr: "192.0.2.11:5060", Role: RolePhone},
			{ID: "pbx", Addr: "192.0.2.1:5060", Role: RoleAsterisk, Label: "Asterisk 20 (chan_pjsip)"},
			{ID: "bob", Addr: "192.0.2.12:5060", Role: RolePhone},
		},
		Messages: []Message{
			withSDP(msg(1, 0, "alice", "pbx", "INVITE", Request, legA), "192.0.2.11:10000 PCMU,PCMA sendrecv"),
			msg(2, 2, "pbx", "alice", "401 Unauthorized", ErrorResponse, legA),
			msg(3, 4, "alice", "pbx", "ACK", Request, legA),
			withSDP(msg(4, 10, "alice", "pbx", "INVITE", Request, legA), "192.0.2.11:10000 PCMU,PCMA sendrecv"),
			msg(5, 12, "pbx", "alice", "100 Trying", Response, legA),
			withSDP(msg(6, 15, "pbx", "bob", "INVITE", Request, legB), "192.0.2.1:14000 PCMU,PCMA sendrecv"),
			msg(7, 40, "bob", "pbx", "180 Ringing", Response, legB),
			msg(8, 42, "pbx", "alice", "180 Ringing", Response, legA),
			withSDP(msg(9, 2000, "bob", "pbx", "200 OK", Response, legB), "192.0.2.12:20000 PCMU sendrecv"),
			msg(10, 2002, "pbx", "bob", "ACK", Request, legB),
			withSDP(msg(11, 2004, "pbx", "alice", "200 OK", Response, legA), "192.0.2.1:15000 PCMU sendrecv"),
			msg(12, 2030, "alice", "pbx", "ACK", Request, legA),
			withSDP(msg(60, 2600, "pbx", "alice", "INVITE", Request, legA), "192.0.2.12:20000 PCMU sendrecv"),
			withSDP(msg(61, 2601, "pbx", "bob", "INVITE", Request, legB), "192.0.2.11:10000 PCMU sendrecv"),
			withSDP(msg(62, 2620, "alice", "pbx", "200 OK", Response, legA), "192.0.2.11:10000 PCMU sendrecv"),
			msg(63, 2621, "pbx", "alice", "ACK", Request, legA),
			withSDP(msg(64, 2640, "bob", "pbx", "200 OK", Response, legB), "192.0.2.12:20000 PCMU sendrecv"),
			msg(65, 2641, "pbx", "bob", "ACK", Request, legB),
			msg(700, 9000, "alice", "pbx", "BYE", Request, legA),
			msg(701, 9001, "pbx", "alice", "200 OK", Response, legA),
			msg(702, 9002, "pbx", "bob", "BYE", Request, legB),
			msg(703, 9020, "bob", "pbx", "200 OK", Response, legB),
		},
		Spans: []Span{
			{FromFrame: 13, ToFrame: 58, Start: at(2040), End: at(2590), From: "alice", To: "pbx", Label: "PCMU 28 pkts, loss 0.0%, jitter 0.4 ms", SSRC: 1},
			{FromFrame: 14, ToFrame: 59, Start: at(2045), End: at(2595), From: "pbx", To: "bob", Label: "PCMU 28 pkts, loss 0.0%, jitter 0.5 ms", SSRC: 2},
			{FromFrame: 66, ToFrame: 698, Start: at(2650), End: at(8990), From: "alice", To: "bob", Label: "PCMU 317 pkts, loss 0.3%, jitter 2.1 ms", SSRC: 1},
			{FromFrame: 67, ToFrame: 699, Start: at(2660), End: at(8995), From: "bob", To: "alice", Label: "PCMU 316 pkts, loss 0.0%, jitter 1.7 ms", SSRC: 3},
		},
		Notes: []Note{
			{Frame: 60, Time: at(2600), Kind: NotePathChange, Text: "Asterisk hands the media to the phones: re-INVITEs point each at the other (direct media)"},
			{Frame: 66, Time: at(2650), Kind: NotePathChange, Text: "RTP now flows 192.0.2.11:10000 <-> 192.0.2.12:20000, bypassing Asterisk"},
			{Frame: 14, Time: at(2045), Kind: NoteWarning, Host: "bob", Text: "no RTP from bob until frame 66"},
		},
		Reasons: []Reason{
			{Code: "anchored-at-answer", Text: "Asterisk answered each leg with its own address, so media first went through it.", Frames: []int{9, 11}},
			{Code: "direct-media", Text: "Both phones share a codec and directmedia is allowed, so Asterisk re-INVITEd them to each other.", Frames: []int{60, 61, 66}},
		},
	}
}

// glareCall is two PBXes re-INVITing each other at once: both get 491 and
// the owner of the Call-ID retries first (RFC 3261 §14.1).
func glareCall() *Diagram {
	const leg = "glare-7d1c@198.51.100.1"
	return &Diagram{
		Title: "Trunk call with re-INVITE glare",
		Hosts: []Host{
			{ID: "p1", Addr: "198.51.100.1:5060", Role: RolePBX, Label: "FreeSWITCH 1.10"},
			{ID: "p2", Addr: "198.51.100.2:5060", Role: RoleAsterisk},
		},
		Messages: []Message{
			withSDP(msg(1, 0, "p1", "p2", "INVITE", Request, leg), "198.51.100.1:30000 PCMA sendrecv"),
			msg(2, 3, "p2", "p1", "100 Trying", Response, leg),
			withSDP(msg(3, 40, "p2", "p1", "200 OK", Response, leg), "198.51.100.2:40000 PCMA sendrecv"),
			msg(4, 42, "p1", "p2", "ACK", Request, leg),
			glare(withSDP(msg(50, 5000, "p1", "p2", "INVITE", Request, leg), "198.51.100.1:30000 PCMA sendonly")),
			glare(withSDP(msg(51, 5001, "p2", "p1", "INVITE", Request, leg), "198.51.100.2:40000 PCMA sendonly")),
			msg(52, 5003, "p2", "p1", "491 Request Pending", ErrorResponse, leg),
			msg(53, 5004, "p1", "p2", "491 Request Pending", ErrorResponse, leg),
			msg(54, 5005, "p1", "p2", "ACK", Request, leg),
			msg(55, 5006, "p2", "p1", "ACK", Request, leg),
			withSDP(msg(90, 7100, "p1", "p2", "INVITE", Request, leg), "198.51.100.1:30000 PCMA sendonly"),
			withSDP(msg(91, 7120, "p2", "p1", "200 OK", Response, leg), "198.51.100.2:40000 PCMA recvonly"),
			msg(92, 7121, "p1", "p2", "ACK", Request, leg),
		},
		Spans: []Span{
			{FromFrame: 5, ToFrame: 49, Start: at(60), End: at(4990), From: "p1", To: "p2", Label: "PCMA 246 pkts, loss 0.0%, jitter 0.3 ms", SSRC: 10},
			{FromFrame: 6, ToFrame: 48, Start: at(61), End: at(4980), From: "p2", To: "p1", Label: "PCMA 245 pkts, loss 0.0%, jitter 0.2 ms", SSRC: 11},
		},
		Notes: []Note{
			{Frame: 90, Time: at(7100), Kind: NoteReason, Text: "p1 owns the Call-ID, so it retries after 2.1 to 4 s (RFC 3261 §14.1)"},
		},
		Reasons: []Reason{
			{Code: "glare", Text: "Both PBXes sent a re-INVITE before seeing the other's; each answered 491.", Frames: []int{50, 51, 52, 53}},
		},
	}
}

// forkingCall is a proxy forking an INVITE to two registrations of one
// user: one answers, the other is cancelled.
func forkingCall() *Diagram {
	const leg = "fork-1b2f@203.0.113.5"
	return &Diagram{
		Title: "Forked call via Kamailio",
		Hosts: []Host{
			{ID: "caller", Addr: "203.0.113.5:5060", Role: RolePhone},
			{ID: "proxy", Addr: "203.0.113.1:5060", Role: RoleProxy, Label: "Kamailio 5.7"},
			{ID: "desk", Addr: "203.0.113.21:5060", Role: RolePhone, Label: "desk phone"},
			{ID: "mobile", Addr: "203.0.113.22:5062", Role: RolePhone, Label: "softphone"},
			{ID: "relay", Addr: "203.0.113.2", Role: RoleMediaRelay, Label: "rtpengine"},
		},
		Messages: []Message{
			withSDP(msg(1, 0, "caller", "proxy", "INVITE", Request, leg), "203.0.113.5:4000 G722,PCMU sendrecv"),
			msg(2, 1, "proxy", "caller", "100 Trying", Response, leg),
			withSDP(msg(3, 3, "proxy", "desk", "INVITE", Request, leg), "203.0.113.2:30000 G722,PCMU sendrecv"),
			withSDP(msg(4, 3, "proxy", "mobile", "INVITE", Request, leg), "203.0.113.2:30000 G722,PCMU sendrecv"),
			msg(5, 50, "desk", "proxy", "180 Ringing", Response, leg),
			msg(6, 51, "proxy", "caller", "180 Ringing", Response, leg),
			msg(7, 80, "mobile", "proxy", "180 Ringing", Response, leg),
			msg(8, 81, "proxy", "caller", "180 Ringing", Response, leg),
			withSDP(msg(9, 4000, "desk", "proxy", "200 OK", Response, leg), "203.0.113.21:12000 G722 sendrecv"),
			msg(10, 4001, "proxy", "mobile", "CANCEL", Request, leg),
			withSDP(msg(11, 4002, "proxy", "caller", "200 OK", Response, leg), "203.0.113.2:30002 G722 sendrecv"),
			msg(13, 4021, "mobile", "proxy", "487 Request Terminated", ErrorResponse, leg),
			msg(14, 4022, "proxy", "mobile", "ACK", Request, leg),
			msg(15, 4030, "caller", "proxy", "ACK", Request, leg),
			msg(16, 4031, "proxy", "desk", "ACK", Request, leg),
			msg(17, 4032, "proxy", "proxy", "OPTIONS", Request, "keepalive-9@203.0.113.1"),
		},
		Spans: []Span{
			{FromFrame: 18, ToFrame: 400, Start: at(4040), End: at(12000), From: "caller", To: "relay", Label: "G722 398 pkts, loss 0.0%, jitter 0.9 ms", SSRC: 100},
			{FromFrame: 19, ToFrame: 401, Start: at(4041), End: at(12001), From: "relay", To: "desk", Label: "G722 398 pkts, loss 1.5%, jitter 12.4 ms", SSRC: 100},
			{FromFrame: 20, ToFrame: 402, Start: at(4045), End: at(12002), From: "desk", To: "relay", Label: "G722 397 pkts, loss 0.0%, jitter 1.1 ms", SSRC: 200},
			{FromFrame: 21, ToFrame: 403, Start: at(4046), End: at(12003), From: "relay", To: "caller", Label: "G722 397 pkts, loss 0.0%, jitter 1.0 ms", SSRC: 200},
		},
		Reasons: []Reason{
			{Code: "relayed", Text: "The proxy rewrote both SDPs to rtpengine, so media was relayed.", Frames: []int{3, 11, 19}},
			{Code: "fork-cancelled", Text: "The losing branch was cancelled after the winner answered.", Frames: []int{10, 13, 250}},
		},
	}
}

// hostileCall carries markup, script and terminal escapes in every field a
// packet can fill: none of it may execute or reach a terminal raw.
func hostileCall() *Diagram {
	const leg = "x\"><script>window.pwned=1</script>@evil"
	inv := msg(1, 0, "a", "b", "INVITE", Request, leg)
	inv.Raw = raw("INVITE sip:bob@example.com SIP/2.0",
		"From: \"<script>window.pwned=2;alert(1)</script>\" <sip:a@example.com>;tag=1",
		"To: <sip:bob@example.com>",
		"Subject: </script><script>window.pwned=3</script><!--<script>",
		"User-Agent: \x1b]0;owned\x07\x1b[2J<img src=x onerror=\"window.pwned=4\">",
		"X-Sep: a\u2028b\u2029c",
		"Call-ID: "+leg,
		"Content-Length: 0")
	inv.SDP = "<svg onload=window.pwned=5>:4000 PCMU \x1b[31mred"
	ok := msg(2, 30, "b", "a", "200 <b onmouseover=window.pwned=6>OK</b>]]>", Response, leg)
	ok.Raw = "SIP/2.0 200 OK\r\nX: <img src=x onerror=window.pwned=7>\r\n\r\n"
	return &Diagram{
		Title: "<script>window.pwned=8</script> \x1b[31mred\x1b[0m \u202egnp.exe",
		Hosts: []Host{
			{ID: "a", Addr: "192.0.2.66:5060\x1b[1A", Role: RolePhone, Label: "<iframe src=javascript:window.pwned=9>"},
			{ID: "b", Addr: "192.0.2.67:5060", Role: RolePBX, Label: "PBX \"quoted\" #1; [[http://example.com]] `code` %date()"},
		},
		Messages: []Message{inv, ok},
		Spans: []Span{
			{FromFrame: 3, ToFrame: 9, Start: at(40), End: at(900), From: "a", To: "b", Label: "PCMU </text><script>window.pwned=10</script>", SSRC: 1},
		},
		Notes: []Note{
			{Frame: 3, Time: at(40), Kind: NoteWarning, Text: "line1\nline2\r\n@enduml\n!include /etc/passwd\nend"},
		},
		Reasons: []Reason{
			{Code: "<x>", Text: "reason <script>window.pwned=11</script> & \x07bell", Frames: []int{2}},
		},
	}
}

// fixtures are the named diagrams every format is tested on.
func fixtures() []struct {
	name string
	d    *Diagram
} {
	return []struct {
		name string
		d    *Diagram
	}{
		{"simple", simpleCall()},
		{"b2bua-reinvite", b2buaReinvite()},
		{"glare", glareCall()},
		{"forking", forkingCall()},
		{"hostile", hostileCall()},
	}
}
