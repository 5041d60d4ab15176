package gencap

import (
	"net/netip"
	"testing"
)

func TestFrameChecksums(t *testing.T) {
	src := netip.MustParseAddrPort("127.0.0.30:40000")
	dst := netip.MustParseAddrPort("127.0.0.31:5060")
	for _, payload := range [][]byte{nil, []byte("x"), []byte("INVITE sip:2001@127.0.0.12 SIP/2.0\r\n\r\n")} {
		b := AppendUDPFrame(nil, src, dst, 0, 7, payload)
		ip := b[14:]
		if fold(sum(ip[:20], 0)) != 0xffff {
			t.Errorf("IPv4 header of %q does not sum to 0xffff", payload)
		}
		udp := ip[20:]
		pseudo := sum(ip[16:20], sum(ip[12:16], 0)) + 17 + uint32(len(udp))
		if fold(sum(udp, pseudo)) != 0xffff {
			t.Errorf("UDP datagram of %q does not sum to 0xffff", payload)
		}
	}
}
