// Package capture reads and writes packet captures: pcap and pcapng files
// (optionally gzip-compressed, or on standard input) and live interfaces.
//
// A Source hands out packets one at a time into a caller-owned Packet, so
// reading a capture allocates nothing per packet.
package capture

import (
	"fmt"
	"time"
)

// LinkType is a LINKTYPE_ value from the pcap and pcapng file formats,
// naming the link-layer header that starts Packet.Data.
type LinkType uint16

// Link types that the decoder understands.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte address family in host order
	LinkEthernet  LinkType = 1   // IEEE 802.3 Ethernet
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6, version from the first nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte address family, network order
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
)

// String returns the short name of a link type, or linktype-N.
func (l LinkType) String() string {
	switch l {
	case LinkNull:
		return "null"
	case LinkEthernet:
		return "ethernet"
	case LinkRaw:
		return "raw"
	case LinkLoop:
		return "loop"
	case LinkLinuxSLL:
		return "linux-sll"
	case LinkIPv4:
		return "ipv4"
	case LinkIPv6:
		return "ipv6"
	case LinkLinuxSLL2:
		return "linux-sll2"
	}
	return fmt.Sprintf("linktype-%d", uint16(l))
}

// Packet is one captured frame. Data aliases the Source's buffer and is
// valid only until the next call to Next.
type Packet struct {
	Frame    int       // 1-based position in the capture, as Wireshark counts
	Time     time.Time // capture timestamp, in UTC
	LinkType LinkType
	OrigLen  int // length on the wire; larger than len(Data) when the snaplen cut it
	Iface    int // pcapng interface index, counted across sections; 0 for pcap
	Data     []byte
}

// Truncated reports whether the capture kept less than the frame's length.
func (p *Packet) Truncated() bool { return p.OrigLen > len(p.Data) }

// Warning is a problem found in the input, tied to the frame it concerns
// (0 when it concerns the file as a whole).
type Warning struct {
	Frame int    `json:"frame"`
	Text  string `json:"text"`
	// Damaged marks input damage (truncated file, bad length fields, cut
	// packets) as opposed to content we merely could not interpret.
	Damaged bool `json:"damaged,omitempty"`
}

// WarnFunc receives warnings as they are found.
type WarnFunc func(Warning)

// Source yields the packets of a capture in order. The sources this package
// opens also count what they read; see StatsOf.
type Source interface {
	// Next fills p with the next packet. It returns io.EOF after the last
	// packet. Recoverable damage is reported to the WarnFunc the source was
	// opened with and reading goes on; an error other than io.EOF means
	// nothing more can be read.
	Next(p *Packet) error
	Close() error
}

// Stats counts what a Source has read so far. Damaged or Truncated above
// zero means the analysis saw less than was on the wire.
type Stats struct {
	Packets   int   // packets handed out
	Bytes     int64 // captured bytes handed out
	Truncated int   // packets cut short by the snaplen (Packet.Truncated)
	Damaged   int   // broken records or blocks that were skipped or cut the file short
}

// StatsOf returns the counters of a Source opened by this package, and
// false for any other Source.
func StatsOf(s Source) (Stats, bool) {
	if c, ok := s.(interface{ Stats() Stats }); ok {
		return c.Stats(), true
	}
	return Stats{}, false
}
