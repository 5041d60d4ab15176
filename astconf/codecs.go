package astconf

import (
	"slices"
	"strconv"
	"strings"
)

// knownCodecs are the format names Asterisk's format cache knows
// (main/codec_builtin.c), in registration order; "allow=all" means these.
var knownCodecs = []string{
	"g723", "gsm", "ulaw", "alaw", "g726", "adpcm", "slin", "slin12", "slin16",
	"slin24", "slin32", "slin44", "slin48", "slin96", "slin192", "lpc10", "g729",
	"speex", "speex16", "speex32", "ilbc", "g726aal2", "g722", "siren7", "siren14",
	"testlaw", "g719", "opus", "codec2", "silk8", "silk12", "silk16", "silk24",
	"jpeg", "png", "h261", "h263", "h263p", "h264", "h265", "mpeg4", "vp8", "vp9",
	"red", "t140", "t38",
}

// IsKnownCodec reports whether name is an Asterisk format name.
func IsKnownCodec(name string) bool { return slices.Contains(knownCodecs, strings.ToLower(name)) }

// sdpNames maps an RTP encoding name (RFC 3551 and later registrations) to
// Asterisk's format name; rate-dependent names are resolved in CodecFromSDP.
var sdpNames = map[string]string{
	"pcmu": "ulaw", "pcma": "alaw", "gsm": "gsm", "g723": "g723", "g726-32": "g726",
	"aal2-g726-32": "g726aal2", "lpc": "lpc10", "g729": "g729", "ilbc": "ilbc",
	"g722": "g722", "g719": "g719", "opus": "opus", "codec2": "codec2",
	"h261": "h261", "h263": "h263", "h263-1998": "h263p", "h264": "h264",
	"h265": "h265", "mp4v-es": "mpeg4", "vp8": "vp8", "vp9": "vp9", "red": "red",
	"t140": "t140", "jpeg": "jpeg",
}

// CodecFromSDP returns Asterisk's format name for an SDP rtpmap encoding name
// and clock rate, so a codec seen on the wire can be checked against an
// allow list. telephone-event and CN are not codecs and return false.
func CodecFromSDP(encoding string, rate int) (string, bool) {
	e := strings.ToLower(encoding)
	switch e {
	case "dvi4":
		if rate == 8000 || rate == 0 {
			return "adpcm", true
		}
		return "", false
	case "l16":
		switch rate {
		case 8000:
			return "slin", true
		case 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000:
			if rate == 44100 {
				return "slin44", true
			}
			return "slin" + strconv.Itoa(rate/1000), true
		}
		return "", false
	case "speex":
		switch rate {
		case 16000:
			return "speex16", true
		case 32000:
			return "speex32", true
		}
		return "speex", true
	case "g7221":
		if rate == 32000 {
			return "siren14", true
		}
		return "siren7", true
	case "silk":
		switch rate {
		case 12000, 16000, 24000:
			return "silk" + strconv.Itoa(rate/1000), true
		}
		return "silk8", true
	}
	n, ok := sdpNames[e]
	return n, ok
}

// Codec is one allowed format and its packetization ("allow=ulaw:30").
type Codec struct {
	Name  string `json:"name"`
	Ptime int    `json:"ptime,omitempty"` // milliseconds; 0 when not given
}

// CodecList is the result of a sequence of allow/disallow lines, evaluated
// in order as ast_format_cap_update_by_allow_disallow does.
type CodecList struct {
	Codecs []Codec `json:"codecs"` // named formats in preference order
	// All is set after "allow=all": every known format not in Except is
	// allowed too, after Codecs.
	All    bool     `json:"all,omitempty"`
	Except []string `json:"except,omitempty"`
}

// Names returns the named formats in preference order.
func (c CodecList) Names() []string {
	out := make([]string, len(c.Codecs))
	for i, x := range c.Codecs {
		out[i] = x.Name
	}
	return out
}

// Allows reports whether the list allows the format name.
func (c CodecList) Allows(name string) bool {
	name = strings.ToLower(name)
	for _, x := range c.Codecs {
		if x.Name == name {
			return true
		}
	}
	return c.All && !contains(c.Except, name)
}

// Empty reports whether nothing is allowed.
func (c CodecList) Empty() bool { return len(c.Codecs) == 0 && !c.All }

// Common returns the formats both lists allow, in c's order. When both
// lists allow "all", the intersection is every known format not excluded.
func (c CodecList) Common(o CodecList) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] && c.Allows(n) && o.Allows(n) {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, x := range c.Codecs {
		add(x.Name)
	}
	for _, x := range o.Codecs {
		add(x.Name)
	}
	if c.All && o.All {
		for _, n := range knownCodecs {
			add(n)
		}
	}
	return out
}

// Apply evaluates one allow (allow=true) or disallow line and returns the
// names it did not know, which Asterisk ignores with a warning.
func (c *CodecList) Apply(value string, allow bool) (unknown []string) {
	for _, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		on := allow
		if item[0] == '!' {
			on = !on
			item = strings.TrimSpace(item[1:])
		}
		ptime := 0
		if i := strings.LastIndexByte(item, ':'); i >= 0 {
			if n, err := strconv.Atoi(item[i+1:]); err == nil && n > 0 && n <= 1000 {
				ptime = n
			}
			item = item[:i]
		}
		name := strings.ToLower(item)
		if name == "all" {
			if on {
				c.All, c.Except = true, nil
			} else {
				*c = CodecList{}
			}
			continue
		}
		if !IsKnownCodec(name) {
			unknown = append(unknown, item)
			continue
		}
		if on {
			c.Except = remove(c.Except, name)
			found := false
			for i := range c.Codecs {
				if c.Codecs[i].Name == name {
					found = true
					if ptime > 0 {
						c.Codecs = slices.Clone(c.Codecs)
						c.Codecs[i].Ptime = ptime
					}
				}
			}
			if !found {
				c.Codecs = append(slices.Clip(c.Codecs), Codec{name, ptime})
			}
			continue
		}
		kept := make([]Codec, 0, len(c.Codecs))
		for _, x := range c.Codecs {
			if x.Name != name {
				kept = append(kept, x)
			}
		}
		c.Codecs = kept
		if c.All && !contains(c.Except, name) {
			c.Except = append(slices.Clip(c.Except), name)
		}
	}
	return unknown
}

func (c CodecList) String() string {
	var parts []string
	for _, x := range c.Codecs {
		parts = append(parts, x.Name)
	}
	if c.All {
		s := "all"
		if len(c.Except) > 0 {
			s += " except " + strings.Join(c.Except, ",")
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ",")
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func remove(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
