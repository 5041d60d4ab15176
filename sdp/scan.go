package sdp

import (
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// maxLines bounds the lines the lenient scanner reads.
const maxLines = 4096

// sessionOrder and mediaOrder rank the line types in the order RFC 8866 §5
// prescribes for the session and for each media description.
var (
	sessionOrder = map[byte]int{'v': 0, 'o': 1, 's': 2, 'i': 3, 'u': 4, 'e': 5, 'p': 6, 'c': 7, 'b': 8, 't': 9, 'r': 10, 'z': 11, 'k': 12, 'a': 13}
	mediaOrder   = map[byte]int{'m': 0, 'i': 1, 'c': 2, 'b': 3, 'k': 4, 'a': 5}
	// repeatable line types may follow themselves.
	repeatable = map[byte]bool{'e': true, 'p': true, 'b': true, 't': true, 'r': true, 'a': true, 'c': true}
)

// scan is the lenient fallback parser: it reads type=value lines in any
// order into d, listing what a strict parser would refuse. Parse has made
// sure that the first line is v=.
func scan(b []byte, d *psdp.SessionDescription) []string {
	text := string(b)
	var problems []string
	problem := func(format string, args ...any) {
		if len(problems) <= maxProblems {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var (
		media      *psdp.MediaDescription
		last       = -1
		seen       = map[byte]bool{}
		outOfOrder bool
	)
	for n := 0; text != "" && n < maxLines; n++ {
		line, rest, terminated := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		if !terminated && text == "" && line != "" {
			problem("last line %s has no line end (body cut short?)", quote(line))
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			problem("line %s is not <type>=<value> (RFC 8866 §5)", quote(line))
			continue
		}
		typ, value := line[0], line[2:]
		order, inMedia := sessionOrder, media != nil
		if typ == 'm' || inMedia {
			order = mediaOrder
		}
		rank, known := order[typ]
		switch {
		case !known:
			problem("%c= line %s is not allowed here (RFC 8866 §5)", typ, quote(line))
		case typ == 'm':
			last = 0
		case rank < last || rank == last && !repeatable[typ]:
			if !outOfOrder {
				problem("%c= line %s is out of the RFC 8866 §5 order", typ, quote(line))
				outOfOrder = true
			}
		default:
			last = rank
		}
		seen[typ] = true
		switch typ {
		case 'o':
			if inMedia {
				break
			}
			f := strings.Fields(value)
			if len(f) != 6 {
				problem("o= line %s does not have 6 fields", quote(line))
			}
			for len(f) < 6 {
				f = append(f, "")
			}
			d.Origin.Username, d.Origin.NetworkType, d.Origin.AddressType, d.Origin.UnicastAddress = f[0], f[3], f[4], f[5]
			var err1, err2 error
			d.Origin.SessionID, err1 = strconv.ParseUint(f[1], 10, 64)
			d.Origin.SessionVersion, err2 = strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				problem("o= line %s has a session id or version that is not a 64-bit number", quote(line))
			}
		case 's':
			if !inMedia {
				d.SessionName = psdp.SessionName(value)
			}
		case 'c':
			f := strings.Fields(value)
			if len(f) != 3 {
				problem("c= line %s does not have 3 fields", quote(line))
				break
			}
			ci := &psdp.ConnectionInformation{NetworkType: f[0], AddressType: f[1], Address: &psdp.Address{Address: f[2]}}
			if inMedia {
				if media.ConnectionInformation == nil {
					media.ConnectionInformation = ci
				}
			} else if d.ConnectionInformation == nil {
				d.ConnectionInformation = ci
			}
		case 't':
			d.TimeDescriptions = append(d.TimeDescriptions, psdp.TimeDescription{})
		case 'm':
			f := strings.Fields(value)
			if len(f) < 3 {
				problem("m= line %s does not have media, port and proto", quote(line))
				for len(f) < 3 {
					f = append(f, "")
				}
			}
			portStr, _, _ := strings.Cut(f[1], "/")
			port, err := strconv.Atoi(portStr)
			if err != nil || port < 0 || port > 65535 {
				problem("m= line %s has a bad port", quote(line))
				port = 0
			}
			media = &psdp.MediaDescription{MediaName: psdp.MediaName{
				Media:   f[0],
				Port:    psdp.RangedPort{Value: port},
				Protos:  strings.Split(f[2], "/"),
				Formats: f[3:],
			}}
			d.MediaDescriptions = append(d.MediaDescriptions, media)
		case 'a':
			key, val, _ := strings.Cut(value, ":")
			a := psdp.Attribute{Key: key, Value: val}
			if inMedia {
				media.Attributes = append(media.Attributes, a)
			} else {
				d.Attributes = append(d.Attributes, a)
			}
		}
	}
	if text != "" {
		problem("more than %d lines; the rest ignored", maxLines)
	}
	for _, typ := range []byte{'o', 's', 't'} {
		if !seen[typ] {
			problem("no %c= line (RFC 8866 §5)", typ)
		}
	}
	return problems
}
