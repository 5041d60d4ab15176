package scenario

import (
	"io"
	"net/netip"
	"slices"

	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/internal/gencap"
)

// Header lengths of the frames the capture holds (gencap.AppendUDPFrame):
// Ethernet II, IPv4 without options, UDP.
const (
	ethLen  = 14
	ipv4Len = 20
	udpLen  = 8
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
		buf = gencap.AppendUDPFrame(buf[:0], r.src, r.dst, 0, id, r.data)
		if err := pw.WritePacket(r.t, buf, len(buf)); err != nil {
			return err
		}
	}
	return nil
}
