package policy

import "strings"

// maxDialNesting bounds parenthesis nesting in Dial() arguments.
const maxDialNesting = 16

// DialOptions are the Dial() options that decide whether the core must
// stay in the media path (app_dial's option letters).
type DialOptions struct {
	Raw string `json:"raw,omitempty"`
	// CallerFeatures are T, H, W, K, X: DTMF features the calling party
	// (the incoming channel) may use; CalleeFeatures are t, h, w, k, x for the
	// called party (the outgoing channel). Each puts DTMF hooks on that
	// channel's bridge side.
	CallerFeatures string `json:"caller_features,omitempty"`
	CalleeFeatures string `json:"callee_features,omitempty"`
	// TimeLimitWarning is L(x:y...) with a warning time: Asterisk plays
	// warnings into the call.
	TimeLimitWarning bool `json:"time_limit_warning,omitempty"`
	// MusicOrRinging is m or r: Asterisk generates the ringback itself, so
	// no early (directrtpsetup) bridge is made.
	MusicOrRinging bool `json:"music_or_ringing,omitempty"`
}

// HasFeatures reports whether any DTMF feature is enabled.
func (d DialOptions) HasFeatures() bool { return d.CallerFeatures != "" || d.CalleeFeatures != "" }

// ParseDialOptions reads the options argument of Dial(), e.g.
// "tTL(60000:30000)m(default)". Letters that do not affect the media path
// are ignored; arguments in parentheses are skipped except L's.
func ParseDialOptions(s string) DialOptions {
	d := DialOptions{Raw: s}
	for i := 0; i < len(s); i++ {
		c := s[i]
		arg := ""
		if i+1 < len(s) && s[i+1] == '(' {
			if end := closingParen(s, i+1); end >= 0 {
				arg, i = s[i+2:end], end
			} else {
				arg, i = s[i+2:], len(s)
			}
		}
		switch c {
		case 'T', 'H', 'W', 'K', 'X':
			if !strings.ContainsRune(d.CallerFeatures, rune(c)) {
				d.CallerFeatures += string(c)
			}
		case 't', 'h', 'w', 'k', 'x':
			if !strings.ContainsRune(d.CalleeFeatures, rune(c)) {
				d.CalleeFeatures += string(c)
			}
		case 'L':
			if _, warn, ok := strings.Cut(arg, ":"); ok && strings.TrimSpace(strings.SplitN(warn, ":", 2)[0]) != "" {
				d.TimeLimitWarning = true
			}
		case 'm', 'r':
			d.MusicOrRinging = true
		}
	}
	return d
}

// closingParen returns the index of the ')' closing the '(' at open, or -1
// when it is missing or nested too deep.
func closingParen(s string, open int) int {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
			if depth > maxDialNesting {
				return -1
			}
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// Dial is a parsed Dial() application argument string.
type Dial struct {
	Targets []string    `json:"targets"` // "SIP/bob", "PJSIP/alice", ... joined by & in the dialplan
	Timeout string      `json:"timeout,omitempty"`
	Options DialOptions `json:"options"`
}

// ParseDial reads the arguments of Dial(), e.g. "SIP/bob&SIP/carol,60,tT",
// with the separator "," (Asterisk 1.6 and later) or "|" (older). Commas
// inside parentheses belong to an option's argument.
func ParseDial(args string) Dial {
	args = strings.TrimSpace(args)
	sep := byte(',')
	if !strings.Contains(args, ",") && strings.Contains(args, "|") {
		sep = '|'
	}
	var fields []string
	depth, start := 0, 0
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case sep:
			if depth == 0 {
				fields = append(fields, args[start:i])
				start = i + 1
			}
		}
	}
	fields = append(fields, args[start:])
	var d Dial
	for _, t := range strings.Split(fields[0], "&") {
		if t = strings.TrimSpace(t); t != "" {
			d.Targets = append(d.Targets, t)
		}
	}
	if len(fields) > 1 {
		d.Timeout = strings.TrimSpace(fields[1])
	}
	if len(fields) > 2 {
		d.Options = ParseDialOptions(strings.TrimSpace(fields[2]))
	}
	return d
}
