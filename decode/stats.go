package decode

// Stats counts what a Decoder has seen, for the summary that tells a user
// how much of a capture was understood and why the rest was not.
type Stats struct {
	Packets uint64 `json:"packets"` // frames given to Decode
	Bytes   uint64 `json:"bytes"`   // captured bytes of those frames

	Truncated       uint64 `json:"truncated"`         // frames cut short by the snapshot length
	UnknownLinkType uint64 `json:"unknown_link_type"` // frames of a link type the decoder cannot read
	NonIP           uint64 `json:"non_ip"`            // frames carrying something other than IP (ARP, LLDP, ...)
	Malformed       uint64 `json:"malformed"`         // headers with impossible lengths, versions or nesting

	IPv4    uint64 `json:"ipv4"`
	IPv6    uint64 `json:"ipv6"`
	UDP     uint64 `json:"udp"`
	SCTP    uint64 `json:"sctp"`
	ICMP    uint64 `json:"icmp"`     // ICMP and ICMPv6, not looked into
	OtherIP uint64 `json:"other_ip"` // other IP protocols (ESP, OSPF, ...)

	// Encapsulations, counted once per header met.
	VLAN   uint64 `json:"vlan"` // 802.1Q and 802.1ad tags
	MPLS   uint64 `json:"mpls"`
	PPP    uint64 `json:"ppp"` // PPP headers, including those inside PPPoE and GRE
	PPPoE  uint64 `json:"pppoe"`
	GRE    uint64 `json:"gre"`
	ERSPAN uint64 `json:"erspan"`
	VXLAN  uint64 `json:"vxlan"`
	IPinIP uint64 `json:"ip_in_ip"`

	// IP fragment reassembly.
	Fragments        uint64 `json:"fragments"`         // IPv4 and IPv6 fragments seen
	Reassembled      uint64 `json:"reassembled"`       // datagrams completed from fragments
	FragmentOverlaps uint64 `json:"fragment_overlaps"` // fragments overlapping data already held
	FragmentsDropped uint64 `json:"fragments_dropped"` // datagrams given up: conflicting overlap, too large, evicted
	FragmentsExpired uint64 `json:"fragments_expired"` // datagrams whose fragments never all arrived

	// TCP stream reassembly.
	TCPSegments        uint64 `json:"tcp_segments"`        // TCP packets
	TCPRetransmissions uint64 `json:"tcp_retransmissions"` // segments whose data had been seen already
	TCPOutOfOrder      uint64 `json:"tcp_out_of_order"`    // segments held until a hole before them filled
	TCPGaps            uint64 `json:"tcp_gaps"`            // holes the capture never filled
	TCPFlows           uint64 `json:"tcp_flows"`           // stream directions tracked
	TCPFlowsExpired    uint64 `json:"tcp_flows_expired"`   // dropped after FlowIdle without traffic
	TCPFlowsEvicted    uint64 `json:"tcp_flows_evicted"`   // dropped to stay under MaxFlows
	TCPIgnored         uint64 `json:"tcp_ignored"`         // stream directions found to carry neither SIP nor HEP

	// What was delivered.
	SIP       uint64 `json:"sip"` // SIP messages, all transports
	SIPUDP    uint64 `json:"sip_udp"`
	SIPTCP    uint64 `json:"sip_tcp"`
	SIPSCTP   uint64 `json:"sip_sctp"`
	SIPWS     uint64 `json:"sip_ws"`
	SIPHEP    uint64 `json:"sip_hep"` // of all the above, those unwrapped from HEP
	Datagrams uint64 `json:"datagrams"`

	// SIP over TLS is counted, not decodable: without keys it is noise.
	TLSFlows   uint64 `json:"tls_flows"`   // stream directions that start with a TLS record
	TLSPackets uint64 `json:"tls_packets"` // segments with payload on those streams

	WebSocketFrames   uint64 `json:"websocket_frames"`
	WebSocketMessages uint64 `json:"websocket_messages"`

	SCTPDataChunks      uint64 `json:"sctp_data_chunks"` // DATA and I-DATA chunks
	SCTPDuplicates      uint64 `json:"sctp_duplicates"`  // chunks with a TSN already seen
	SCTPFlowsExpired    uint64 `json:"sctp_flows_expired"`
	SCTPFlowsEvicted    uint64 `json:"sctp_flows_evicted"`
	SCTPPartialsDropped uint64 `json:"sctp_partials_dropped"` // fragmented messages never completed

	HEPPackets uint64 `json:"hep_packets"`
	HEPErrors  uint64 `json:"hep_errors"` // packets that looked like HEP but did not parse
	HEPSIP     uint64 `json:"hep_sip"`
	HEPRTCP    uint64 `json:"hep_rtcp"` // RTCP reports (proto type 5)
	HEPLog     uint64 `json:"hep_log"`  // log lines (proto type 100)
	HEPOther   uint64 `json:"hep_other"`
	// HEPClockSkew counts SIP payloads whose agent time was too far from
	// the arrival time to be used.
	HEPClockSkew uint64 `json:"hep_clock_skew"`
}

// Expired is the number of pieces of state dropped for lack of traffic or
// of room: fragments, TCP streams and SCTP associations.
func (s Stats) Expired() uint64 {
	return s.FragmentsExpired + s.TCPFlowsExpired + s.TCPFlowsEvicted +
		s.SCTPFlowsExpired + s.SCTPFlowsEvicted
}
