package call

import (
	"slices"
	"strconv"
	"strings"

	"github.com/sipscope/sipscope/sip"
)

// SortCalls orders calls by first frame, the order output uses.
func SortCalls(calls []*Call) {
	slices.SortStableFunc(calls, func(a, b *Call) int {
		if a.FirstFrame != b.FirstFrame {
			return a.FirstFrame - b.FirstFrame
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Find returns the calls a user's --call argument names: a row number
// (1-based, in the order given), the Call-ID of any leg (or a prefix of at
// least six characters of one), or a number or user name in the From, To or
// Request-URI of any leg.
func Find(calls []*Call, q string) []*Call {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	if n, err := strconv.Atoi(q); err == nil && n >= 1 && n <= len(calls) && len(q) < 6 {
		return []*Call{calls[n-1]}
	}
	var exact, prefix, number []*Call
	num := normNumber(q)
	for _, c := range calls {
		matchedID, matchedPrefix, matchedNum := false, false, false
		for _, l := range c.Legs {
			switch {
			case l.CallID == q:
				matchedID = true
			case len(q) >= 6 && strings.HasPrefix(l.CallID, q):
				matchedPrefix = true
			}
			if num != "" {
				for _, uri := range []string{l.From.URI, l.To.URI, l.RequestURI} {
					if u := normNumber(sip.URIUser(uri)); u != "" && sameNumber(u, num) {
						matchedNum = true
					}
				}
			}
		}
		switch {
		case matchedID:
			exact = append(exact, c)
		case matchedPrefix:
			prefix = append(prefix, c)
		case matchedNum:
			number = append(number, c)
		}
	}
	switch {
	case len(exact) > 0:
		return exact
	case len(prefix) > 0:
		return prefix
	}
	return number
}
