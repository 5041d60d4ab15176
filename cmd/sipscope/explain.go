package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sipscope/sipscope/explain"
)

type explainFlags struct {
	json   bool
	call   string
	width  int
	color  string
	common commonFlags
}

func newExplainCmd() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain FILE...",
		Short: "Say where each call's media went and why, citing frames",
		Long: `explain tells, for each call, whether the audio went directly between the
phones, through a PBX (anchored), through a media relay, one way only, or was
not captured, and why: a release by re-INVITE or UPDATE, directmedia=no, a
codec or DTMF mismatch, NAT, a refused re-INVITE, 491 glare between two PBXes
and the delay it cost, re-anchoring for music on hold. Every reason says how
sure it is and cites the frame numbers it rests on, so it can be checked in
Wireshark; where the capture lacks evidence it says so and what would settle it.

With --config (sip.conf, pjsip.conf, extensions.conf, repeatable) each leg is
matched to its peer or endpoint and the reasons name the option, section and
line that decided the outcome; the policy model's prediction is compared with
what the capture shows.`,
		Example: `  sipscope explain capture.pcap
  sipscope explain --call 2001 --config /etc/asterisk/sip.conf capture.pcap
  sipscope explain --json capture.pcap | jq '.[0].reasons[].code'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, &f)
		},
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.call, "call", "", "only the call with this Call-ID, number or row")
	cmd.Flags().IntVar(&f.width, "width", 0, "wrap text at this many columns (default: the terminal's width, or 100)")
	cmd.Flags().StringVar(&f.color, "color", "auto", "colour: auto (on a terminal), always, never")
	f.common.register(cmd)
	return cmd
}

func runExplain(stdout, stderr io.Writer, args []string, f *explainFlags) error {
	rep, err := f.common.analyze(args, stderr, false, nil)
	if err != nil {
		return err
	}
	calls := rep.Calls
	if f.call != "" {
		if calls = rep.Find(f.call); len(calls) == 0 {
			return fmt.Errorf("no call matches %q", f.call)
		}
	}
	exps := make([]explain.Explanation, 0, len(calls))
	for _, c := range calls {
		exps = append(exps, c.Explanation)
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(exps)
	} else {
		opt, werr := textOptions(stdout, f.width, f.color)
		if werr != nil {
			return werr
		}
		err = explain.WriteText(stdout, exps, opt)
	}
	if err != nil {
		return err
	}
	if rep.Summary.Damaged {
		return errDamaged
	}
	return nil
}

// textOptions decides width and colour for terminal text: colour only on a
// terminal unless forced, width from the terminal unless given.
func textOptions(w io.Writer, width int, color string) (explain.TextOptions, error) {
	opt := explain.TextOptions{Width: width}
	f, isFile := w.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	switch color {
	case "auto":
		opt.Color = tty
	case "always":
		opt.Color = true
	case "never":
	default:
		return opt, fmt.Errorf("--color %q: want auto, always or never", color)
	}
	if opt.Width == 0 {
		opt.Width = 100
		if tty {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
				opt.Width = cols
			}
		}
	}
	return opt, nil
}
