package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// hepTime is the agent's clock: a second after the frames' capture time, as
// close as an NTP-synchronised agent's.
var hepTime = t0.Add(time.Second + 123456*time.Microsecond)

func hepSample(payload string) *HEPPacket {
	return &HEPPacket{
		Protocol:      protoUDP,
		Src:           netip.MustParseAddrPort("10.0.0.1:5060"),
		Dst:           netip.MustParseAddrPort("10.0.0.2:5080"),
		Time:          hepTime,
		ProtoType:     HEPProtoSIP,
		CaptureID:     2001,
		AuthKey:       []byte("secret"),
		CorrelationID: []byte("corr-1"),
		Payload:       []byte(payload),
	}
}

// TestHEP3RoundTrip encodes packets with AppendHEP3 and parses them back.
func TestHEP3RoundTrip(t *testing.T) {
	v6 := hepSample("OPTIONS sip:x SIP/2.0\r\n\r\n")
	v6.Src, v6.Dst, v6.Protocol = netip.MustParseAddrPort("[2001:db8::1]:5060"), netip.MustParseAddrPort("[2001:db8::2]:5060"), protoTCP
	noTime := hepSample("log line")
	noTime.Time, noTime.ProtoType, noTime.AuthKey, noTime.CorrelationID = time.Time{}, HEPProtoLog, nil, nil
	for _, in := range []*HEPPacket{hepSample(sipMsg("INVITE", "h", 10)), v6, noTime} {
		b := AppendHEP3([]byte("prefix"), in)
		if !bytes.HasPrefix(b, []byte("prefixHEP3")) {
			t.Fatalf("AppendHEP3 lost the prefix")
		}
		var out HEPPacket
		if err := ParseHEP(b[6:], &out); err != nil {
			t.Fatal(err)
		}
		if out.Version != 3 || out.Protocol != in.Protocol || out.Src != in.Src || out.Dst != in.Dst ||
			!out.Time.Equal(in.Time) || out.ProtoType != in.ProtoType || out.CaptureID != in.CaptureID ||
			string(out.AuthKey) != string(in.AuthKey) || string(out.CorrelationID) != string(in.CorrelationID) ||
			string(out.Payload) != string(in.Payload) || out.Compressed {
			t.Errorf("round trip:\n in %+v\nout %+v", in, out)
		}
	}
	huge := hepSample(strings.Repeat("x", 70000))
	if b := AppendHEP3([]byte("keep"), huge); string(b) != "keep" {
		t.Errorf("an oversized packet was appended (%d bytes)", len(b))
	}
}

// hep3Compressed builds a HEP3 packet whose payload is in a compressed chunk.
func hep3Compressed(t testing.TB, payload []byte, compress func(io.Writer) io.WriteCloser) []byte {
	var z bytes.Buffer
	w := compress(&z)
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := hepSample("")
	b := AppendHEP3(nil, p)
	// Replace the empty payload chunk by a compressed one.
	b = b[:len(b)-6]
	b = appendChunk(b, hepCompressed, z.Bytes()...)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	return b
}

var (
	zlibW  = func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }
	gzipW  = func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }
	flateW = func(w io.Writer) io.WriteCloser { z, _ := flate.NewWriter(w, flate.BestSpeed); return z }
)

// TestParseHEPCompressed inflates zlib, gzip and raw deflate payloads and
// refuses one that inflates beyond the bound.
func TestParseHEPCompressed(t *testing.T) {
	msg := []byte(sipMsg("REGISTER", "z", 100))
	var p HEPPacket
	for name, w := range map[string]func(io.Writer) io.WriteCloser{"zlib": zlibW, "gzip": gzipW, "deflate": flateW} {
		for range 2 { // the second parse reuses the decompressor
			if err := ParseHEP(hep3Compressed(t, msg, w), &p); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if string(p.Payload) != string(msg) || !p.Compressed {
				t.Errorf("%s: payload %q", name, p.Payload)
			}
		}
	}
	bomb := hep3Compressed(t, make([]byte, 4<<20), zlibW)
	if err := ParseHEP(bomb, &p); err == nil || !strings.Contains(err.Error(), "inflates beyond") {
		t.Errorf("bomb: err %v", err)
	}
	if err := ParseHEP(hep3Compressed(t, msg, zlibW)[:60], &p); err == nil {
		t.Errorf("a cut packet parsed")
	}
}

// hep2 builds a HEPv1/v2 packet as Kamailio and captagent send it.
func hep2(version byte, src, dst netip.AddrPort, sec, usec uint32, payload string) []byte {
	family := byte(2)
	if src.Addr().Is6() {
		family = 10
	}
	b := []byte{version, 0, family, protoUDP}
	b = append(b, be16(src.Port())...)
	b = append(b, be16(dst.Port())...)
	b = append(b, src.Addr().AsSlice()...)
	b = append(b, dst.Addr().AsSlice()...)
	b[1] = byte(len(b))
	if version == 2 {
		b = binary.LittleEndian.AppendUint32(b, sec)
		b = binary.LittleEndian.AppendUint32(b, usec)
		b = binary.LittleEndian.AppendUint16(b, 77)
		b = append(b, 0, 0)
	}
	return append(b, payload...)
}

// TestParseHEP2 parses the fixed HEPv1/v2 headers.
func TestParseHEP2(t *testing.T) {
	msg := sipMsg("INVITE", "v2", 0)
	src, dst := netip.MustParseAddrPort("10.1.1.1:5060"), netip.MustParseAddrPort("10.1.1.2:5062")
	src6, dst6 := netip.MustParseAddrPort("[2001:db8::5]:5060"), netip.MustParseAddrPort("[2001:db8::6]:5060")
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.AddrPort
		time     time.Time
	}{
		{"v2 IPv4", hep2(2, src, dst, 1700000000, 250000, msg), src, dst, time.Unix(1700000000, 250000000)},
		{"v2 IPv6", hep2(2, src6, dst6, 1700000001, 0, msg), src6, dst6, time.Unix(1700000001, 0)},
		{"v1 IPv4", hep2(1, src, dst, 0, 0, msg), src, dst, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p HEPPacket
			if err := ParseHEP(tt.b, &p); err != nil {
				t.Fatal(err)
			}
			if p.Src != tt.src || p.Dst != tt.dst || !p.Time.Equal(tt.time) || string(p.Payload) != msg || p.ProtoType != HEPProtoSIP {
				t.Errorf("%+v", p)
			}
		})
	}
}

// TestParseHEPErrors checks that damaged packets are refused with errors
// that say what is wrong.
func TestParseHEPErrors(t *testing.T) {
	good := AppendHEP3(nil, hepSample("x"))
	badChunk := bytes.Clone(good)
	binary.BigEndian.PutUint16(badChunk[6+4:], 3) // first chunk length below its header
	badAddr := AppendHEP3(nil, hepSample("x"))
	badAddr = appendChunk(badAddr[:6], hepSrcIPv4, 1, 2, 3)
	binary.BigEndian.PutUint16(badAddr[4:], uint16(len(badAddr)))
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"not HEP", []byte("INVITE sip:x SIP/2.0"), "not a HEP packet"},
		{"short header", []byte("HEP3\x00"), "shorter than a HEP3 header"},
		{"length beyond data", good[:len(good)-1], "HEP3 length"},
		{"chunk length too small", badChunk, "has length 3"},
		{"address of wrong size", badAddr, "not the size its type fixes"},
		{"HEPv2 with unknown family", []byte{2, 16, 99, 17, 0, 1, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8}, "no HEPv1/v2 header"},
	}
	for _, tt := range tests {
		var p HEPPacket
		if err := ParseHEP(tt.b, &p); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestHEPIsUnwrapped decodes HEP over UDP and TCP: inner SIP is delivered
// with the agent's addresses and time, other payloads are counted.
func TestHEPIsUnwrapped(t *testing.T) {
	sipPkt := AppendHEP3(nil, hepSample(sipMsg("INVITE", "hep-1", 20)))
	p2 := hepSample(sipMsg("BYE", "hep-2", 0))
	p2.Protocol = protoTCP
	sipPkt2 := AppendHEP3(nil, p2)
	rtcp := hepSample(`{"type":200}`)
	rtcp.ProtoType = HEPProtoRTCP
	logPkt := hepSample("log")
	logPkt.ProtoType = HEPProtoLog
	c := conn{cport: 40000, sport: 9061, ciss: 1, siss: 1}
	both := string(sipPkt) + string(sipPkt2)
	hepSrc, hepDst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5080")
	tests := []struct {
		name   string
		frames [][]byte
		want   string
		stats  func(st Stats) bool
	}{
		{name: "HEP3 over UDP", frames: [][]byte{udp4(40000, 9060, sipPkt)}, want: "hep-1@1/1"},
		{name: "compressed HEP3", frames: [][]byte{udp4(40000, 9060, hep3Compressed(t, []byte(sipMsg("INVITE", "hep-z", 5)), zlibW))},
			want: "hep-z@1/1"},
		{name: "HEPv2 on any port", frames: [][]byte{udp4(1234, 5678, hep2(2, hepSrc, hepDst, uint32(hepTime.Unix()), 123456,
			sipMsg("INVITE", "hep-v2", 0)))}, want: "hep-v2@1/1"},
		{name: "RTCP and log counted", frames: [][]byte{udp4(1, 9060, AppendHEP3(nil, rtcp)), udp4(1, 9060, AppendHEP3(nil, logPkt))},
			want: "", stats: func(st Stats) bool { return st.HEPRTCP == 1 && st.HEPLog == 1 && st.HEPPackets == 2 }},
		{name: "two HEP3 packets in one TCP segment", frames: [][]byte{c.c2s(0, 0, both)}, want: "hep-1@1/1 hep-2@1/1"},
		{name: "HEP3 packet across TCP segments", frames: [][]byte{c.c2s(0, 0, both[:20]), c.c2s(20, 0, both[20:len(sipPkt)+3]),
			c.c2s(len(sipPkt)+3, 0, both[len(sipPkt)+3:])}, want: "hep-1@1/2 hep-2@2/3"},
		{name: "damaged HEP3 is reported", frames: [][]byte{udp4(1, 9060, sipPkt[:len(sipPkt)-4])}, want: "",
			stats: func(st Stats) bool { return st.HEPErrors == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, d := decodeFrames(Options{}, tt.frames...)
			wantSummary(t, r, tt.want)
			for _, s := range r.sips {
				m := s.meta
				if m.Src != hepSrc || m.Dst != hepDst || m.Carrier&CarrierHEP == 0 || !m.Time.Truncate(time.Microsecond).Equal(hepTime.Truncate(time.Microsecond)) {
					t.Errorf("meta %+v", m)
				}
			}
			if tt.stats != nil && !tt.stats(d.Stats()) {
				t.Errorf("stats %+v", d.Stats())
			}
		})
	}
}

// TestHEPAgentClockFarOffUsesArrivalTime keeps the call engine's timers on
// one clock: an agent whose timestamps are a year off is not believed, the
// arrival time is used, and the skew is warned about once.
func TestHEPAgentClockFarOffUsesArrivalTime(t *testing.T) {
	for _, tt := range []struct {
		name     string
		agent    time.Time
		wantTime time.Time
		skewed   uint64
	}{
		{"agent clock close to arrival is kept", t0.Add(1500 * time.Millisecond), t0.Add(1500 * time.Millisecond), 0},
		{"agent clock a year behind is replaced", t0.AddDate(-1, 0, 0), t0, 2},
		{"agent clock a minute ahead is replaced", t0.Add(time.Minute), t0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := hepSample(sipMsg("INVITE", "skew", 0))
			p.Time = tt.agent
			pkt := AppendHEP3(nil, p)
			var r recorder
			d := NewDecoder(&r, Options{})
			frame := udp4(40000, 9060, pkt)
			for i := 1; i <= 2; i++ {
				d.Decode(&capture.Packet{Frame: i, Time: t0, LinkType: capture.LinkEthernet, Data: frame, OrigLen: len(frame)})
			}
			if len(r.sips) != 2 || !r.sips[0].meta.Time.Equal(tt.wantTime) {
				t.Fatalf("delivered %+v, want 2 at %v", r.sips, tt.wantTime)
			}
			if got := d.Stats().HEPClockSkew; got != tt.skewed {
				t.Errorf("HEPClockSkew %d, want %d", got, tt.skewed)
			}
			if warned := len(r.warns) > 0; warned != (tt.skewed > 0) || len(r.warns) > 1 {
				t.Errorf("warnings %v", r.warns)
			}
		})
	}
}
