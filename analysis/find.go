package analysis

import (
	"strconv"
	"strings"

	"github.com/sipscope/sipscope/sip"
)

// Find returns the calls that q names: a row number ("3" or "#3"), a
// Call-ID of any leg, or a number (user part) that appears as caller or
// dialled party of any leg. A row number wins over a number when both
// match.
func (r *Report) Find(q string) []*Call {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(q, "#")); err == nil && n >= 1 && n <= len(r.Calls) && r.Calls[n-1].Row == n {
		return []*Call{r.Calls[n-1]}
	}
	var out []*Call
	for _, c := range r.Calls {
		for _, l := range c.Legs {
			if l.CallID == q {
				return []*Call{c}
			}
		}
	}
	for _, c := range r.Calls {
		for _, l := range c.Legs {
			if sip.URIUser(l.From) == q || sip.URIUser(l.To) == q || sip.URIUser(l.RequestURI) == q {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
