//go:build !linux

package capture

import (
	"fmt"
	"io"
	"runtime"
)

// Live is a live capture. It needs Linux packet sockets (AF_PACKET); on
// other systems OpenLive fails.
type Live struct{}

// OpenLive fails: live capture needs Linux.
func OpenLive(iface string, opt LiveOptions) (*Live, error) {
	return nil, fmt.Errorf("capture: live capture on %q needs Linux packet sockets (AF_PACKET), not available on %s; capture with tcpdump -w and analyze the file", iface, runtime.GOOS)
}

// LinkType is the link type of the packets.
func (l *Live) LinkType() LinkType { return LinkEthernet }

// Next returns io.EOF.
func (l *Live) Next(p *Packet) error { return io.EOF }

// Stats returns zero counters.
func (l *Live) Stats() (LiveStats, error) { return LiveStats{}, nil }

// Close does nothing.
func (l *Live) Close() error { return nil }
