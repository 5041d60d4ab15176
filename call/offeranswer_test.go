package call

import (
	"strings"
	"testing"
)

// exchanges summarises a dialog's negotiations: "offer carrier > answer
// carrier" each, with who offered.
func exchanges(d *Dialog) string {
	var parts []string
	for _, n := range d.Negotiations {
		s := n.Offerer.String() + ":" + n.Offer.Carrier + ">"
		switch {
		case n.Answer != nil:
			s += n.Answer.Carrier
		case n.Rejected != 0:
			s += "rejected"
		default:
			s += "none"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func roles(evs []SDPEvent) string {
	var parts []string
	for _, ev := range evs {
		parts = append(parts, ev.SDP.Carrier+"="+ev.Role.String())
	}
	return strings.Join(parts, ", ")
}

// Which message carried each offer and answer, for the ways RFC 3261, 3262
// and 3311 allow.
func TestOfferAnswerCarriers(t *testing.T) {
	const reliable = "Require: 100rel"
	for _, tc := range []struct {
		name      string
		run       func(h *harness, d *dlg)
		exchanges string
		roles     string
	}{
		{
			name: "offer in INVITE, answer in 200",
			run: func(h *harness, d *dlg) {
				inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
				d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0))
				d.ack(inv, "")
			},
			exchanges: "uac:INVITE>200 INVITE",
			roles:     "INVITE=offer, 200 INVITE=answer",
		},
		{
			name: "late offer: offer in 200, answer in ACK",
			run: func(h *harness, d *dlg) {
				inv := d.invite("")
				d.reply(inv, 180, "")
				d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 0, 8))
				d.ack(inv, sdpBody("10.0.0.1", 4000, "", 8))
			},
			exchanges: "uas:200 INVITE>ACK",
			roles:     "200 INVITE=offer, ACK=answer",
		},
		{
			name: "answer in reliable 183, PRACK, then UPDATE in the early dialog",
			run: func(h *harness, d *dlg) {
				inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0, 8))
				d.reply(inv, 183, sdpBody("10.0.0.2", 5000, "", 8), reliable, "RSeq: 1")
				pr := d.in(UAC, "PRACK", "", "RAck: 1 101 INVITE")
				d.reply(pr, 200, "")
				up := d.in(UAC, "UPDATE", sdpBody("10.0.0.1", 4010, "", 8))
				d.reply(up, 200, sdpBody("10.0.0.2", 5000, "", 8))
				d.reply(inv, 200, "")
				d.ack(inv, "")
			},
			exchanges: "uac:INVITE>183 INVITE, uac:UPDATE>200 UPDATE",
			roles:     "INVITE=offer, 183 INVITE=answer, UPDATE=offer, 200 UPDATE=answer",
		},
		{
			name: "offerless INVITE: offer in reliable 183, answer in PRACK",
			run: func(h *harness, d *dlg) {
				inv := d.invite("")
				d.reply(inv, 183, sdpBody("10.0.0.2", 5000, "", 0), reliable, "RSeq: 7")
				pr := d.in(UAC, "PRACK", sdpBody("10.0.0.1", 4000, "", 0), "RAck: 7 101 INVITE")
				d.reply(pr, 200, "")
				d.reply(inv, 200, "")
				d.ack(inv, "")
			},
			exchanges: "uas:183 INVITE>PRACK",
			roles:     "183 INVITE=offer, PRACK=answer",
		},
		{
			name: "unreliable 183 previews the answer the 200 repeats",
			run: func(h *harness, d *dlg) {
				inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0))
				early := sdpBody("10.0.0.2", 5000, "", 0)
				d.reply(inv, 183, early)
				d.reply(inv, 200, early)
				d.ack(inv, "")
			},
			exchanges: "uac:INVITE>200 INVITE",
			roles:     "INVITE=offer, 183 INVITE=preview, 200 INVITE=answer",
		},
		{
			name: "re-INVITE refused with 488 keeps the old media",
			run: func(h *harness, d *dlg) {
				answer(h, d)
				re := d.in(UAC, "INVITE", sdpBody("10.0.0.1", 4000, "", 18))
				d.reply(re, 488, "")
			},
			exchanges: "uac:INVITE>200 INVITE, uac:INVITE>rejected",
			roles:     "INVITE=offer, 200 INVITE=answer, INVITE=offer",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			d := h.dialog("oa-1", alice, bob)
			d.aCSeq = 100
			tc.run(h, d)
			c := onlyCall(t, h.finish())
			l := c.Legs[0]
			if len(l.Dialogs) != 1 {
				t.Fatalf("%d dialogs", len(l.Dialogs))
			}
			if got := exchanges(l.Dialogs[0]); got != tc.exchanges {
				t.Errorf("exchanges %q, want %q", got, tc.exchanges)
			}
			if got := roles(h.sdps); got != tc.roles {
				t.Errorf("OnSDP roles %q, want %q", got, tc.roles)
			}
		})
	}
}

// The media state of each SDP says address, port, payload types, codecs,
// DTMF, encryption and direction; MediaAt replays them over time.
func TestMediaStateAtEachMoment(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.dialog("ms-1", alice, bob)
	inv := d.invite(sdpBody("10.0.0.1", 4000, "", 0, 8, 101))
	ok := d.reply(inv, 200, sdpBody("10.0.0.2", 5000, "", 8, 101))
	d.ack(inv, "")
	srtp := strings.Replace(sdpBody("10.0.0.1", 4002, "sendonly", 8), "RTP/AVP", "RTP/SAVP", 1) +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	re := d.in(UAC, "INVITE", srtp)
	rok := d.reply(re, 200, sdpBody("10.0.0.2", 5000, "recvonly", 8))
	d.ack(re, "")
	c := onlyCall(t, h.finish())
	dl := c.Legs[0].Dialogs[0]
	uac, uas := dl.MediaAt(ok.frame)
	if uac.Media.Addr.String() != "10.0.0.1:4000" || strings.Join(uac.Media.Codecs, ",") != "PCMU,PCMA" ||
		uac.Media.DTMF != 101 || uac.Media.Crypto || uac.Media.Hold {
		t.Errorf("uac at answer %+v", uac.Media)
	}
	if uas.Media.Addr.String() != "10.0.0.2:5000" || strings.Join(uas.Media.Codecs, ",") != "PCMA" || uas.Frame != ok.frame {
		t.Errorf("uas at answer %+v", uas.Media)
	}
	if before, _ := dl.MediaAt(ok.frame - 1); before != nil {
		t.Errorf("media before the answer: %+v", before)
	}
	uac, uas = dl.MediaAt(rok.frame)
	if uac.Media.Addr.Port() != 4002 || !uac.Media.Crypto || !uac.Media.Hold || uac.Media.DTMF != -1 || uas.Media.Direction.String() != "recvonly" {
		t.Errorf("after hold %+v / %+v", uac.Media, uas.Media)
	}
	r := c.Legs[0].MidDialog[0]
	if r.Change != Hold|Redirect|CodecChange|OtherChange {
		t.Errorf("change %v", r.Change)
	}
}
