package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// writeManyCalls writes a raw-IPv4 capture of n calls through one B2BUA
// (RFC 1918 addresses), a new call every 20 ms: INVITE, 100, 180, 200 and
// ACK on both legs, 10 G.729 RTP packets each way on each leg (a tenth of
// the calls lose one), then BYE and 200 on both legs.
func writeManyCalls(t *testing.T, w io.Writer, n int) {
	t.Helper()
	pw, err := capture.NewWriter(w, capture.LinkRaw, 0)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	pbx := netip.MustParseAddr("10.0.0.1")
	var pkts []genPkt
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		b := netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})
		at := base.Add(time.Duration(i) * 20 * time.Millisecond)
		pkts = append(pkts, callPackets(i, at, a, pbx, b)...)
	}
	sortPkts(pkts)
	for _, p := range pkts {
		if err := pw.WritePacket(p.at, p.data, 0); err != nil {
			t.Fatal(err)
		}
	}
}

type genPkt struct {
	at   time.Time
	data []byte
}

func sortPkts(p []genPkt) {
	// Calls are written in time order and overlap little, so an
	// insertion sort is quick.
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].at.Before(p[j-1].at); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

func callPackets(i int, at time.Time, a, pbx, b netip.Addr) []genPkt {
	var out []genPkt
	ms := func(d int) time.Time { return at.Add(time.Duration(d) * time.Millisecond) }
	sip := func(d int, from, to netip.Addr, text string) {
		out = append(out, genPkt{ms(d), genUDP(from, 5060, to, 5060, []byte(text))})
	}
	num := 2000 + i%7000
	legA, legB := fmt.Sprintf("a%d@%s", i, a), fmt.Sprintf("b%d@%s", i, pbx)
	msg := func(first, callID, fromTag, toTag, cseq, via string, sdp string) string {
		s := first + "\r\nVia: SIP/2.0/UDP " + via + ";branch=z9hG4bK" + callID + cseq[:1] + "\r\n" +
			"From: <sip:caller" + fmt.Sprint(i) + "@example.com>;tag=" + fromTag + "\r\n" +
			"To: <sip:" + fmt.Sprint(num) + "@example.com>"
		if toTag != "" {
			s += ";tag=" + toTag
		}
		s += "\r\nCall-ID: " + callID + "\r\nCSeq: " + cseq + "\r\nMax-Forwards: 70\r\n"
		if sdp != "" {
			return s + "Content-Type: application/sdp\r\nContent-Length: " + fmt.Sprint(len(sdp)) + "\r\n\r\n" + sdp
		}
		return s + "Content-Length: 0\r\n\r\n"
	}
	sdp := func(addr netip.Addr, port int) string {
		return "v=0\r\no=- 1 1 IN IP4 " + addr.String() + "\r\ns=-\r\nc=IN IP4 " + addr.String() + "\r\nt=0 0\r\n" +
			"m=audio " + fmt.Sprint(port) + " RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=sendrecv\r\n"
	}
	req := "INVITE sip:" + fmt.Sprint(num) + "@example.com SIP/2.0"
	viaA, viaP := a.String()+":5060", pbx.String()+":5060"
	pbxA, pbxB := 10000+2*(i%5000), 20000+2*(i%5000)
	sip(0, a, pbx, msg(req, legA, "fa", "", "1 INVITE", viaA, sdp(a, 4000)))
	sip(1, pbx, a, msg("SIP/2.0 100 Trying", legA, "fa", "", "1 INVITE", viaA, ""))
	sip(2, pbx, b, msg(req, legB, "fb", "", "1 INVITE", viaP, sdp(pbx, pbxB)))
	sip(5, b, pbx, msg("SIP/2.0 180 Ringing", legB, "fb", "tb", "1 INVITE", viaP, ""))
	sip(6, pbx, a, msg("SIP/2.0 180 Ringing", legA, "fa", "ta", "1 INVITE", viaA, ""))
	sip(50, b, pbx, msg("SIP/2.0 200 OK", legB, "fb", "tb", "1 INVITE", viaP, sdp(b, 6000)))
	sip(51, pbx, b, msg("ACK sip:"+fmt.Sprint(num)+"@"+b.String()+" SIP/2.0", legB, "fb", "tb", "1 ACK", viaP, ""))
	sip(52, pbx, a, msg("SIP/2.0 200 OK", legA, "fa", "ta", "1 INVITE", viaA, sdp(pbx, pbxA)))
	sip(53, a, pbx, msg("ACK sip:"+fmt.Sprint(num)+"@"+pbx.String()+" SIP/2.0", legA, "fa", "ta", "1 ACK", viaA, ""))
	for k := range 10 {
		for s, f := range []struct {
			src       netip.Addr
			sport     int
			dst       netip.Addr
			dport     int
			ssrc, off uint32
		}{
			{a, 4000, pbx, pbxA, uint32(4 * i), 0}, {pbx, pbxA, a, 4000, uint32(4*i + 1), 1},
			{pbx, pbxB, b, 6000, uint32(4*i + 2), 2}, {b, 6000, pbx, pbxB, uint32(4*i + 3), 3},
		} {
			d := 60 + 20*k + s
			if i%10 == 3 && k == 4 && s == 0 {
				continue // every tenth call loses a packet
			}
			out = append(out, genPkt{ms(d), genUDP(f.src, uint16(f.sport), f.dst, uint16(f.dport), genRTP(uint16(k), uint32(160*k), f.ssrc))})
		}
	}
	sip(300, a, pbx, msg("BYE sip:"+fmt.Sprint(num)+"@"+pbx.String()+" SIP/2.0", legA, "fa", "ta", "2 BYE", viaA, ""))
	sip(301, pbx, a, msg("SIP/2.0 200 OK", legA, "fa", "ta", "2 BYE", viaA, ""))
	sip(302, pbx, b, msg("BYE sip:"+fmt.Sprint(num)+"@"+b.String()+" SIP/2.0", legB, "fb", "tb", "2 BYE", viaP, ""))
	sip(305, b, pbx, msg("SIP/2.0 200 OK", legB, "fb", "tb", "2 BYE", viaP, ""))
	return out
}

func genRTP(seq uint16, ts, ssrc uint32) []byte {
	b := make([]byte, 12+20)
	b[0], b[1] = 0x80, 18
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

// genUDP wraps a payload in IPv4 and UDP headers; the UDP checksum is left
// out, which IPv4 allows.
func genUDP(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, payload []byte) []byte {
	b := make([]byte, 28+len(payload))
	b[0], b[8], b[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return b
}
