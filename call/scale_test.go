package call

import (
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/longtest"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/sip"
)

const scaleSDP = "v=0\r\no=- 1 1 IN IP4 10.1.0.1\r\ns=-\r\nc=IN IP4 10.1.0.1\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"

// scaleMessage writes one message of a call that is answered and never
// ended: step 0 INVITE, 1 200 OK, 2 ACK.
func scaleMessage(b *strings.Builder, n, step int) {
	b.Reset()
	id := strconv.Itoa(n)
	switch step {
	case 0:
		b.WriteString("INVITE sip:" + id + "@pbx.example.com SIP/2.0\r\n")
	case 1:
		b.WriteString("SIP/2.0 200 OK\r\n")
	default:
		b.WriteString("ACK sip:" + id + "@10.2.0.1:5060 SIP/2.0\r\n")
	}
	branch := "z9hG4bK" + id
	if step == 2 {
		branch += "a"
	}
	b.WriteString("Via: SIP/2.0/UDP 10.1.0.1:5060;branch=" + branch + "\r\n")
	b.WriteString("From: <sip:caller" + id + "@example.com>;tag=f" + id + "\r\n")
	b.WriteString("To: <sip:" + id + "@pbx.example.com>")
	if step > 0 {
		b.WriteString(";tag=t" + id)
	}
	b.WriteString("\r\nCall-ID: scale-" + id + "@10.1.0.1\r\n")
	method := "INVITE"
	if step == 2 {
		method = "ACK"
	}
	b.WriteString("CSeq: 1 " + method + "\r\nMax-Forwards: 70\r\nUser-Agent: scale/1.0\r\n")
	if step < 2 {
		b.WriteString("Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(scaleSDP)) + "\r\n\r\n" + scaleSDP)
	} else {
		b.WriteString("Content-Length: 0\r\n\r\n")
	}
}

// runScale feeds calls answered and never ended, one per millisecond of
// packet time, and returns the stats and the high-water mark of the live
// heap (sampled after a collection) above where it started.
func runScale(t *testing.T, calls int, opt Options) (Stats, uint64) {
	emitted := 0
	opt.OnCall = func(*Call) { emitted++ }
	e := NewEngine(opt)
	uac, uas := netip.MustParseAddrPort("10.1.0.1:5060"), netip.MustParseAddrPort("10.2.0.1:5060")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ms0, ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	var high uint64
	var b strings.Builder
	frame := 0
	for n := 0; n < calls; n++ {
		for step := 0; step < 3; step++ {
			scaleMessage(&b, n, step)
			m, err := sip.Parse([]byte(b.String()), sip.Options{})
			if err != nil {
				t.Fatal(err)
			}
			frame++
			meta := decode.Meta{Frame: frame, FirstFrame: frame, Time: base.Add(time.Duration(n)*time.Millisecond + time.Duration(step)*10*time.Microsecond)}
			meta.Src, meta.Dst = uac, uas
			if step == 1 {
				meta.Src, meta.Dst = uas, uac
			}
			e.Handle(m, &meta)
		}
		if n%50000 == 0 {
			runtime.GC() // count what is live, not garbage awaiting collection
			runtime.ReadMemStats(&ms)
			high = max(high, ms.HeapAlloc)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	high = max(high, ms.HeapAlloc)
	e.Finish()
	s := e.Stats()
	if emitted != calls || s.Calls != calls || s.LiveLegs != 0 {
		t.Errorf("emitted %d calls (stats %d), want %d; %d legs left", emitted, s.Calls, calls, s.LiveLegs)
	}
	if high > ms0.HeapAlloc {
		high -= ms0.HeapAlloc
	} else {
		high = 0
	}
	return s, high
}

// A million distinct Call-IDs that never end: state expires on packet time
// and stays bounded; what expired is counted.
// Without SIPSCOPE_LONG=1 it runs a fifth of the size, with the same bounds.
func TestMillionEndlessCallIDsExpire(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	calls := 1000000
	if !longtest.Enabled() {
		calls = 200000
	}
	s, high := runScale(t, calls, Options{IdleTimeout: 30 * time.Second})
	t.Logf("%d calls, idle timeout 30 s: expired %d, evicted %d, max live legs %d, heap high-water %d MiB",
		calls, s.Expired, s.Evicted, s.MaxLiveLegs, high>>20)
	// At one call per millisecond, 30 s of idle time holds about 30000.
	if s.MaxLiveLegs > 40000 || s.Expired < calls-40000 || s.Evicted != 0 {
		t.Errorf("max live %d expired %d evicted %d", s.MaxLiveLegs, s.Expired, s.Evicted)
	}
	if high > 512<<20 {
		t.Errorf("heap high-water %d MiB", high>>20)
	}
}

// When the idle timeout is long, MaxDialogs bounds the state instead; the
// oldest calls are evicted and counted.
func TestEndlessCallIDsEvictedAtCap(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	const calls = 200000
	s, high := runScale(t, calls, Options{MaxDialogs: 10000})
	t.Logf("200k calls, cap 10000: expired %d, evicted %d, max live legs %d, heap high-water %d MiB",
		s.Expired, s.Evicted, s.MaxLiveLegs, high>>20)
	if s.MaxLiveLegs > 10001 || s.Evicted != calls-10000 || s.Expired != 0 {
		t.Errorf("max live %d evicted %d expired %d", s.MaxLiveLegs, s.Evicted, s.Expired)
	}
}

// BenchmarkHandle measures the engine on a realistic call flow (INVITE,
// 100, 180, 200, ACK, re-INVITE, 200, ACK, BYE, 200, with SDP), messages
// parsed beforehand so that only the engine is timed.
func BenchmarkHandle(b *testing.B) {
	h := newHarness(b, Options{})
	d := h.dialog("bench", alice, bob)
	answer(h, d)
	re := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "sendonly", 0, 101))
	d.reply(re, 200, sdpBody("10.0.0.1", 4000, "recvonly", 0, 101))
	d.ack(re, "")
	bye := d.in(UAC, "BYE", "")
	d.reply(bye, 200, "")
	calls := h.finish()
	tmpl := calls[0].Legs[0].Messages
	e := NewEngine(Options{})
	meta := decode.Meta{}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	msgs := make([]sip.Message, len(tmpl))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := "bench-" + strconv.Itoa(i)
		for j, t := range tmpl {
			msgs[j] = *t.Message
			msgs[j].CallID = id
			meta = decode.Meta{Frame: i*len(tmpl) + j + 1, Time: base.Add(time.Duration(i)*time.Second + t.Time.Sub(tmpl[0].Time)), Src: t.Src, Dst: t.Dst}
			meta.FirstFrame = meta.Frame
			e.Handle(&msgs[j], &meta)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	n := float64(b.N * len(tmpl))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/msg")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/msg")
}
