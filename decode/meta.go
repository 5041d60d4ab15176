// Package decode turns captured frames into the payloads sipscope analyzes:
// complete SIP messages (from UDP, TCP, SCTP, WebSocket or HEP) and UDP
// datagrams that may be RTP or RTCP. It handles link layers, tunnels, IP
// fragment reassembly and TCP stream reassembly, reusing its buffers so that a
// packet that is not SIP costs no allocation.
package decode

import (
	"net/netip"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// Transport is the protocol that carried a payload to its destination.
type Transport uint8

// Transports, as SIP's Via header names them where it has a name.
const (
	UDP Transport = iota
	TCP
	SCTP
	WS  // SIP over WebSocket (RFC 7118)
	TLS // counted only: the payload cannot be read without keys
)

func (t Transport) String() string {
	switch t {
	case UDP:
		return "UDP"
	case TCP:
		return "TCP"
	case SCTP:
		return "SCTP"
	case WS:
		return "WS"
	case TLS:
		return "TLS"
	}
	return "?"
}

// Carrier flags say what wrapped the innermost IP packet.
type Carrier uint16

// Carrier flags; several may be set.
const (
	CarrierVLAN Carrier = 1 << iota
	CarrierIPinIP
	CarrierGRE
	CarrierERSPAN
	CarrierVXLAN
	CarrierHEP
	CarrierFragmented // reassembled from IP fragments
	CarrierPPP
)

// Meta describes where a payload came from. It is filled in place by the
// Decoder and valid only during the Handler call that receives it.
type Meta struct {
	Frame     int // frame that completed the payload
	Time      time.Time
	Src, Dst  netip.AddrPort
	Transport Transport
	Carrier   Carrier
	// FirstFrame is the first frame that contributed to the payload (the
	// first fragment or TCP segment); equal to Frame for a single packet.
	FirstFrame int
}

// Handler receives what the Decoder finds. Byte slices alias the decoder's
// buffers and are valid only during the call.
type Handler interface {
	// SIP receives one complete SIP message, framed by its Content-Length
	// when it came over a stream.
	SIP(m *Meta, msg []byte)
	// Datagram receives a UDP payload that is not SIP (RTP, RTCP, STUN, ...).
	Datagram(m *Meta, payload []byte)
	// Warn receives problems with the input, with their frame numbers.
	Warn(w capture.Warning)
}
