package decode

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/sipscope/sipscope/sip"
)

// vxlanPort is the IANA port of VXLAN (RFC 7348 §5).
const vxlanPort = 4789

// udp reads a UDP header and classifies the payload by content, never by
// port alone: HEP, SIP (whatever the port), VXLAN (on its port, with its
// flag set), and anything else as a datagram for the RTP/RTCP analysis.
func (d *Decoder) udp(srcIP, dstIP netip.Addr, b []byte, cut bool) {
	if len(b) < 8 {
		d.malformed()
		return
	}
	d.stats.UDP++
	sp := binary.BigEndian.Uint16(b[0:2])
	dp := binary.BigEndian.Uint16(b[2:4])
	n := int(binary.BigEndian.Uint16(b[4:6]))
	payload := b[8:]
	switch {
	case n >= 8 && n <= len(b):
		payload = b[8:n]
	case n > len(b):
		cut = true
	}
	src := netip.AddrPortFrom(srcIP, sp)
	dst := netip.AddrPortFrom(dstIP, dp)

	if isHEP(payload) {
		d.hepPayload(&d.cur, payload)
		return
	}
	if looksLikeSIP(payload) {
		if cut {
			d.warn(d.cur.frame, true, fmt.Sprintf("SIP message from %s to %s cut by the capture's snapshot length "+
				"(%d bytes captured)", src, dst, len(payload)))
		}
		d.splitSIP(d.setMeta(&d.cur, src, dst, UDP), payload)
		return
	}
	if dp == vxlanPort && d.vxlan(payload) {
		return
	}
	d.stats.Datagrams++
	d.h.Datagram(d.setMeta(&d.cur, src, dst, UDP), payload)
}

// looksLikeSIP is sip.LooksLike behind a one-byte test. A start line
// begins with a token character or "SIP/2.0" (RFC 3261 §7.1), after
// optional CRLFs; the binary first bytes of RTP, RTCP, STUN and DTLS are
// rejected without scanning for a line end.
func looksLikeSIP(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if c := b[0]; c != '\r' && c != '\n' && (c <= ' ' || c >= 0x7f) {
		return false
	}
	return sip.LooksLike(b)
}
