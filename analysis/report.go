package analysis

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"github.com/sipscope/sipscope/capture"
)

// Report is everything sipscope found in a capture, in the shape that
// `analyze --json` prints. Field names in JSON tags are a public contract:
// other tools read them.
type Report struct {
	Summary Summary  `json:"summary"`
	Calls   []*Call  `json:"calls"`
	Traffic Traffic  `json:"traffic"`
	Streams []Stream `json:"unassociated_streams"`
}

// Summary counts what was read and what went wrong.
type Summary struct {
	Files          []string  `json:"files"`
	Packets        int       `json:"packets"`
	Bytes          int64     `json:"bytes"`
	SIPMessages    int       `json:"sip_messages"`
	MalformedSIP   int       `json:"malformed_sip"`
	Retransmission int       `json:"sip_retransmissions"`
	CallIDs        int       `json:"call_ids"`
	Dialogs        int       `json:"invite_dialogs"`
	RTPPackets     int       `json:"rtp_packets"`
	RTCPPackets    int       `json:"rtcp_packets"`
	TLSPackets     int       `json:"tls_packets"`
	HEPPackets     int       `json:"hep_packets"`
	Expired        int       `json:"expired_dialogs"`
	Evicted        int       `json:"evicted"`
	First          time.Time `json:"first_packet_time"`
	Last           time.Time `json:"last_packet_time"`
	Damaged        bool      `json:"damaged"`
	// TruncatedPackets were cut short by the capture's snaplen.
	TruncatedPackets int               `json:"truncated_packets,omitempty"`
	Warnings         []capture.Warning `json:"warnings"`
	// LooseOmitted counts streams outside calls beyond the ones listed.
	LooseOmitted int `json:"unassociated_streams_omitted,omitempty"`
	// WarningsOmitted counts warnings beyond the cap kept in Warnings.
	WarningsOmitted int `json:"warnings_omitted,omitempty"`
}

// Traffic counts the SIP traffic that is not part of INVITE dialogs.
type Traffic struct {
	Register  RegisterCounts `json:"register"`
	Options   int            `json:"options"`
	Subscribe int            `json:"subscribe"`
	Notify    int            `json:"notify"`
	Message   int            `json:"message"`
	Publish   int            `json:"publish"`
	Info      int            `json:"info"`
	Refer     int            `json:"refer"`
	Other     int            `json:"other"`
}

// RegisterCounts are REGISTER transactions by outcome.
type RegisterCounts struct {
	Total      int `json:"total"`
	OK         int `json:"ok"`
	Challenged int `json:"challenged"`
	Failed     int `json:"failed"`
	NoAnswer   int `json:"no_answer"`
}

// WriteJSON writes the report as `analyze --json` prints it: the bytes
// json.Encoder gives with a two-space indent, but marshalled one call at
// a time, so that a capture of many calls is not held a second time as
// one block of text.
func (r *Report) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	field := func(name string, v any, last bool) error {
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("  \"" + name + "\": ")
		bw.Write(b)
		if !last {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
		return nil
	}
	bw.WriteString("{\n")
	if err := field("summary", r.Summary, false); err != nil {
		return err
	}
	if len(r.Calls) == 0 {
		if err := field("calls", r.Calls, false); err != nil {
			return err
		}
	} else {
		bw.WriteString("  \"calls\": [\n")
		for i, c := range r.Calls {
			b, err := json.MarshalIndent(c, "    ", "  ")
			if err != nil {
				return err
			}
			bw.WriteString("    ")
			bw.Write(b)
			if i < len(r.Calls)-1 {
				bw.WriteByte(',')
			}
			bw.WriteByte('\n')
		}
		bw.WriteString("  ],\n")
	}
	if err := field("traffic", r.Traffic, false); err != nil {
		return err
	}
	if err := field("unassociated_streams", r.Streams, true); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}
