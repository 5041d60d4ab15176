package scenario

import (
	"encoding/binary"
	"io"
	"net/netip"
	"slices"

	"github.com/sipscope/sipscope/capture"
)

// Header lengths of the frames the capture holds: Ethernet II with
// all-zero addresses (as tcpdump writes for lo), IPv4 without options, UDP.
const (
	ethLen  = 14
	ipv4Len = 20
	udpLen  = 8
	ipTTL   = 64
)

// writeCapture writes the records as a classic pcap, Ethernet link type,
// in time order.
func writeCapture(w io.Writer, recs []record) error {
	pw, err := capture.NewWriter(w, capture.LinkEthernet, 0)
	if err != nil {
		return err
	}
	slices.SortStableFunc(recs, func(a, b record) int { return a.t.Compare(b.t) })
	ids := map[netip.Addr]uint16{}
	var buf []byte
	for _, r := range recs {
		id := ids[r.src.Addr()]
		ids[r.src.Addr()] = id + 1
		buf = appendFrame(buf[:0], r.src, r.dst, id, r.data)
		if err := pw.WritePacket(r.t, buf, len(buf)); err != nil {
			return err
		}
	}
	return nil
}

// appendFrame appends an Ethernet/IPv4/UDP frame carrying payload, with
// the IPv4 header checksum (RFC 791) and the UDP checksum over the
// pseudo-header (RFC 768) filled in.
func appendFrame(b []byte, src, dst netip.AddrPort, id uint16, payload []byte) []byte {
	total := ipv4Len + udpLen + len(payload)
	start := len(b)
	b = append(b, make([]byte, ethLen+ipv4Len+udpLen)...)
	b = append(b, payload...)
	eth := b[start:]
	binary.BigEndian.PutUint16(eth[12:], 0x0800)
	ip := eth[ethLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], id)
	ip[6] = 0x40 // don't fragment
	ip[8] = ipTTL
	ip[9] = 17
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip[:ipv4Len])))
	udp := ip[ipv4Len:]
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen+len(payload)))
	pseudo := sum(0, s4[:])
	pseudo = sum(pseudo, d4[:])
	pseudo += 17 + uint32(udpLen+len(payload))
	c := ^fold(sum(pseudo, udp[:udpLen+len(payload)]))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], c)
	return b
}

// sum adds b to a ones' complement sum as 16-bit big-endian words.
func sum(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

func fold(acc uint32) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}
