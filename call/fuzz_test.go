package call

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/sip"
)

var fuzzAddrs = []netip.AddrPort{
	netip.MustParseAddrPort("10.0.0.1:5060"),
	netip.MustParseAddrPort("10.0.0.2:5060"),
	netip.MustParseAddrPort("10.0.0.100:5060"),
	netip.MustParseAddrPort("[2001:db8::1]:5060"),
}

// fuzzInput encodes messages for FuzzEngine: each is a control byte
// (addresses and time step) followed by the message, separated by NUL.
func fuzzInput(h *harness) []byte {
	var b bytes.Buffer
	idx := map[string]byte{}
	for i, a := range fuzzAddrs {
		idx[a.String()] = byte(i)
	}
	for _, w := range h.sent {
		b.WriteByte(idx[w.src]<<6 | idx[w.dst]<<4 | 1)
		b.WriteString(w.text)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// FuzzEngine feeds arbitrary message sequences through the engine: it must
// never panic, and every call it emits must be internally consistent.
func FuzzEngine(f *testing.F) {
	for _, scenario := range []func(h *harness){
		func(h *harness) {
			d := h.dialog("seed-1", alice, bob)
			answer(h, d)
			re := d.in(UAS, "INVITE", sdpBody("10.0.0.2", 5002, "sendonly", 0))
			d.reply(re, 491, "")
			d.in(UAC, "BYE", "")
		},
		func(h *harness) {
			in := inbound(h, "seed-in", alice, "2001")
			out := outbound(h, "seed-out", "alice", bob)
			bridge(h, in, out, ms(3))
		},
		func(h *harness) {
			d := h.dialog("seed-2", alice, bob)
			inv := d.invite("")
			d.reply(inv, 183, sdpBody("10.0.0.2", 5000, "", 0), "Require: 100rel", "RSeq: 1")
			d.in(UAC, "PRACK", sdpBody("10.0.0.1", 4000, "", 0), "RAck: 1 101 INVITE")
			d.cancel(inv)
		},
	} {
		h := newHarness(f, Options{})
		scenario(h)
		f.Add(fuzzInput(h))
	}
	if dir := findCorpus("asterisk"); dir != "" {
		var b bytes.Buffer
		for i, c := range readCapture(f, filepath.Join(dir, "asterisk-two-pbx-glare.pcap")) {
			if c.data != nil && i < 120 {
				b.WriteByte(byte(i%3)<<6 | byte((i+1)%3)<<4)
				b.Write(c.data)
				b.WriteByte(0)
			}
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var calls []*Call
		e := NewEngine(Options{
			MaxDialogs: 4, Linger: time.Second, IdleTimeout: time.Minute,
			OnSDP:  func(SDPEvent) {},
			OnCall: func(c *Call) { calls = append(calls, c) },
		})
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		parts := bytes.Split(data, []byte{0})
		if len(parts) > 200 {
			parts = parts[:200]
		}
		for i, p := range parts {
			if len(p) < 2 {
				continue
			}
			ctl := p[0]
			m, err := sip.Parse(p[1:], sip.Options{})
			if err != nil {
				continue
			}
			now = now.Add(time.Duration(ctl&0x0f) * time.Duration(ctl&0x0f) * time.Second)
			e.Handle(m, &decode.Meta{
				Frame: i + 1, FirstFrame: i + 1, Time: now,
				Src: fuzzAddrs[ctl>>6], Dst: fuzzAddrs[ctl>>4&3],
			})
			// Both ends of the message's dialog read it as an endpoint would.
			for _, id := range []DialogID{{m.CallID, m.From.Tag, m.To.Tag}, {m.CallID, m.To.Tag, m.From.Tag}} {
				if v, ok := e.Dialog(id); ok {
					_, _ = v.Conflict(m.Method, len(m.Body) > 0), v.Ready()
					if v.Local != UAC && v.Local != UAS {
						t.Fatalf("%+v: the asking end plays no side", id)
					}
				}
			}
		}
		e.Finish()
		legs := 0
		for _, c := range calls {
			legs += len(c.Legs)
			if len(c.Legs) == 0 || len(c.Links) != len(c.Legs)-countRoots(c) {
				t.Fatalf("call %s: %d legs, %d links", c.ID, len(c.Legs), len(c.Links))
			}
			for _, l := range c.Legs {
				if l.EndReason == Ongoing {
					t.Fatalf("leg %s emitted without ending", l.CallID)
				}
			}
			_ = c.B2BUAs()
			Find(calls, c.ID)
		}
		if s := e.Stats(); s.LiveLegs != 0 || s.Legs != legs {
			t.Fatalf("%d legs left, %d counted, %d emitted", s.LiveLegs, s.Legs, legs)
		}
	})
}

// countRoots counts the legs of a call that have no upstream leg.
func countRoots(c *Call) int {
	down := map[int]bool{}
	for _, k := range c.Links {
		down[k.Downstream] = true
	}
	return len(c.Legs) - len(down)
}
