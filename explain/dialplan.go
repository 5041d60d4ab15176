package explain

import (
	"strings"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/call/policy"
	"github.com/sipscope/sipscope/sip"
)

// Bounds on the dialplan walk: include => nesting, and the lines of one
// extension read.
const (
	maxIncludeDepth = 8
	maxExtenLines   = 256
)

// features reads what the dialplan does with the dialled extension in the
// context of the peer that sent the call: the Dial() options, recording
// and jitter buffer that decide whether the core stays in the media path.
// The note says what was read, or why nothing was.
func (x *explainer) features(c *astconf.Config, b *bridge, peer string) (policy.Features, string) {
	var plans []*astconf.File
	for _, f := range x.f.in.Dialplans {
		if f != nil && (c.Server() == "" || f.Server == c.Server()) {
			plans = append(plans, f)
		}
	}
	if len(plans) == 0 {
		return policy.Features{}, "not given"
	}
	ctx := ""
	if p := c.SIP; p != nil {
		if sp := p.Peer(peer); sp != nil {
			ctx = sp.Context.Value
		}
	} else if e := c.PJSIP.Endpoint(peer); e != nil {
		ctx = e.Context.Value
	}
	exten := sip.URIUser(b.legs[0].leg.RequestURI)
	if ctx == "" || exten == "" {
		return policy.Features{}, "not read: the context or the dialled extension is unknown"
	}
	lines := findExten(plans, ctx, exten)
	if len(lines) == 0 {
		return policy.Features{}, "not read: no extension " + label(exten) + " in [" + ctx + "]"
	}
	var feat policy.Features
	note := ""
	for _, v := range lines {
		app, args := application(v)
		switch strings.ToLower(app) {
		case "dial":
			if feat.Known {
				continue
			}
			d := policy.ParseDial(args)
			feat.Known = true
			feat.Dial, feat.DialOption, feat.Targets = d.Options, policy.OptionOf(v), len(d.Targets)
			note = "[" + v.Source.Section + "] " + label(exten) + ": Dial(" + label(args) + ") at " + v.Source.String()
		case "mixmonitor", "monitor":
			feat.Recording, feat.RecordingOption = true, policy.OptionOf(v)
		case "set":
			if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(args)), "JITTERBUFFER(") {
				feat.JitterBuffer, feat.JitterBufferOption = true, policy.OptionOf(v)
			}
		}
	}
	if !feat.Known {
		return policy.Features{}, "not read: extension " + label(exten) + " in [" + ctx + "] has no Dial()"
	}
	return feat, note
}

// findExten returns the lines of the extension that a call to exten in
// ctx runs: an exact match first, else the first pattern that matches,
// following include => lines.
func findExten(plans []*astconf.File, ctx, exten string) []astconf.Var {
	var pattern []astconf.Var
	seen := map[string]bool{}
	var walk func(ctx string, depth int) []astconf.Var
	walk = func(ctx string, depth int) []astconf.Var {
		key := strings.ToLower(ctx)
		if depth > maxIncludeDepth || seen[key] {
			return nil
		}
		seen[key] = true
		for _, f := range plans {
			s := f.Section(ctx)
			if s == nil {
				continue
			}
			var cur, patName string
			var exact []astconf.Var
			var pat []astconf.Var
			var includes []string
			for _, v := range s.Vars {
				switch strings.ToLower(v.Key) {
				case "exten":
					name, _, _ := strings.Cut(v.Value, ",")
					cur = strings.TrimSpace(name)
				case "same":
				case "include":
					includes = append(includes, strings.TrimSpace(v.Value))
					continue
				default:
					continue
				}
				switch {
				case cur == exten && len(exact) < maxExtenLines:
					exact = append(exact, v)
				case pattern == nil && (patName == "" || patName == cur) && astconf.MatchExten(cur, exten) && len(pat) < maxExtenLines:
					patName = cur
					pat = append(pat, v)
				}
			}
			if len(exact) > 0 {
				return exact
			}
			if pattern == nil && len(pat) > 0 {
				pattern = pat
			}
			for _, inc := range includes {
				if r := walk(inc, depth+1); r != nil {
					return r
				}
			}
		}
		return nil
	}
	if r := walk(ctx, 0); r != nil {
		return r
	}
	return pattern
}

// application splits "exten => 2001,1,Dial(SIP/bob,60)" or "same =>
// n(label),Dial(...)" into the application name and its arguments.
func application(v astconf.Var) (string, string) {
	rest := v.Value
	if strings.EqualFold(v.Key, "exten") {
		_, rest, _ = strings.Cut(rest, ",")
	}
	_, rest, ok := strings.Cut(rest, ",")
	if !ok {
		return "", ""
	}
	rest = strings.TrimSpace(rest)
	open := strings.IndexByte(rest, '(')
	if open < 0 {
		return rest, ""
	}
	args := rest[open+1:]
	if end := strings.LastIndexByte(args, ')'); end >= 0 {
		args = args[:end]
	}
	return strings.TrimSpace(rest[:open]), args
}
