// Package hep receives and sends HEP (Homer Encapsulation Protocol, also
// called EEP): the format in which Kamailio's siptrace, FreeSWITCH,
// Asterisk's res_hep, OpenSIPS and heplify mirror the SIP they see to a
// collector such as HOMER.
//
// A Listener is a collector: it takes HEP over UDP and TCP and hands each
// HEP packet out as a capture.Packet, a raw IP datagram from the agent to
// the listener, so the decoder unwraps it exactly as it unwraps HEP found
// in a capture file. A Sender is an agent: it wraps SIP messages into
// HEPv3 and sends them to one collector.
//
// The encoding itself (decode.ParseHEP, decode.AppendHEP3) lives in
// package decode.
package hep

import (
	"encoding/binary"
	"net/netip"
)

// Sizes of the headers a Listener puts in front of a HEP packet.
const (
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	udpHeaderLen  = 8
	// headroom is what a buffer keeps free before the HEP bytes so that
	// either IP header fits without moving them.
	headroom = ipv6HeaderLen + udpHeaderLen
	// maxHEP is the longest HEP3 packet: its length field has 16 bits.
	maxHEP = 0xffff
	// maxPayload4 and maxPayload6 are the longest UDP payloads an IPv4
	// datagram (total length, 16 bits) and an IPv6 one (payload length,
	// 16 bits, header excluded) can carry.
	maxPayload4 = 0xffff - ipv4HeaderLen - udpHeaderLen
	maxPayload6 = 0xffff - udpHeaderLen
)

// wrapUDP writes an IP and UDP header from src to dst in front of the n
// payload bytes at buf[headroom:], and returns the datagram: a slice of
// buf that ends with the payload. src and dst are of one family. It
// returns nil when the payload is too long for an IP datagram.
func wrapUDP(buf []byte, src, dst netip.AddrPort, n int) []byte {
	payloadEnd := headroom + n
	if src.Addr().Is4() {
		if n > maxPayload4 {
			return nil
		}
		start := headroom - ipv4HeaderLen - udpHeaderLen
		ip := buf[start : start+ipv4HeaderLen]
		ip[0] = 0x45 // version 4, 5 words of header
		ip[1] = 0
		binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HeaderLen+udpHeaderLen+n))
		binary.BigEndian.PutUint32(ip[4:], 0x4000) // identification 0, don't fragment
		ip[8] = 64                                 // TTL
		ip[9] = 17                                 // UDP
		ip[10], ip[11] = 0, 0
		s, d := src.Addr().As4(), dst.Addr().As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip)))
		// A zero UDP checksum means "none" over IPv4 (RFC 768).
		putUDP(buf[start+ipv4HeaderLen:headroom], src.Port(), dst.Port(), n, 0)
		return buf[start:payloadEnd]
	}
	if n > maxPayload6 {
		return nil
	}
	ip := buf[:ipv6HeaderLen]
	binary.BigEndian.PutUint32(ip[0:], 6<<28)
	binary.BigEndian.PutUint16(ip[4:], uint16(udpHeaderLen+n))
	ip[6] = 17 // next header: UDP
	ip[7] = 64 // hop limit
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	// Over IPv6 the UDP checksum is mandatory (RFC 8200 §8.1): over the
	// pseudo-header (addresses, length, next header) and the datagram.
	putUDP(buf[ipv6HeaderLen:headroom], src.Port(), dst.Port(), n, 0)
	c := sum(0, ip[8:40])
	c += uint32(udpHeaderLen+n) + 17
	c = sum(c, buf[ipv6HeaderLen:payloadEnd])
	ck := ^fold(c)
	if ck == 0 {
		ck = 0xffff
	}
	binary.BigEndian.PutUint16(buf[ipv6HeaderLen+6:], ck)
	return buf[:payloadEnd]
}

func putUDP(h []byte, sport, dport uint16, n int, ck uint16) {
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(udpHeaderLen+n))
	binary.BigEndian.PutUint16(h[6:], ck)
}

// sum adds b as big-endian 16-bit words to the one's complement sum c
// (RFC 1071).
func sum(c uint32, b []byte) uint32 {
	for len(b) >= 2 {
		c += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		c += uint32(b[0]) << 8
	}
	return c
}

func fold(c uint32) uint16 {
	for c > 0xffff {
		c = c>>16 + c&0xffff
	}
	return uint16(c)
}

// sameFamily returns local with the address family of remote: the
// unspecified address of that family when local's differs (a dual-stack
// socket bound to "::" receiving from IPv4), so the two fit one IP header.
func sameFamily(remote, local netip.AddrPort) (netip.AddrPort, netip.AddrPort) {
	r := netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	l := netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	if r.Addr().Is4() != l.Addr().Is4() || !l.Addr().IsValid() {
		u := netip.IPv6Unspecified()
		if r.Addr().Is4() {
			u = netip.IPv4Unspecified()
		}
		l = netip.AddrPortFrom(u, l.Port())
	}
	return r, l
}
