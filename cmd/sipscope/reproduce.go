package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sipscope/sipscope/explain"
	"github.com/sipscope/sipscope/internal/textsafe"
	"github.com/sipscope/sipscope/ladder"
	"github.com/sipscope/sipscope/scenario"
)

type reproduceFlags struct {
	list          bool
	write         string
	conf          string
	ladder        bool
	explain       bool
	fast          bool
	seed          uint64
	pbx           string
	allowNonlocal string
	verbose       bool
	width         int
	color         string
}

// errDisagree makes reproduce exit non-zero when the analysis of the
// capture is not what the scenario demonstrates.
var errDisagree = errors.New("the analysis of the capture disagrees with the scenario")

func newReproduceCmd() *cobra.Command {
	var f reproduceFlags
	cmd := &cobra.Command{
		Use:   "reproduce SCENARIO",
		Short: "Play a call between phones and Asterisk-like PBXes on loopback, capture it and analyze it",
		Long: `reproduce runs a scenario: phones and B2BUAs that behave as Asterisk's chan_sip
does with the sip.conf options the scenario gives them, built from the same
call engine and B2BUA policy model the analyzer uses. They send real SIP and
RTP (G.711 tones, RFC 4733 digits, RTCP) over UDP on their own loopback
addresses; the capture of it all is analyzed, and the verdict and reasons are
printed next to what the scenario says it demonstrates. The exit status is
non-zero when they disagree.

SCENARIO is a built-in name (--list shows them) or a scenario file; the
format is described in the documentation of package scenario, and every
built-in scenario is written in it.

Nothing is sent outside 127.0.0.0/8 unless --allow-nonlocal names the one
address it may go to. --pbx plays only the phones, against a PBX you run
(on loopback unless allowed), to see what your own Asterisk does; the
scenario's Asterisk configuration for it is written by --asterisk-conf.

Timers are real: a call of 8 seconds takes 8 seconds. --fast runs on virtual
time instead and finishes at once, with the timestamps a real run would have.`,
		Example: `  sipscope reproduce --list
  sipscope reproduce two-pbx-glare -w glare.pcap --explain
  sipscope reproduce --fast --seed 7 my-scenario.conf --ladder
  sipscope reproduce direct-media --pbx 127.0.0.12:5060 --asterisk-conf sip-bundle.conf`,
		Args: func(cmd *cobra.Command, args []string) error {
			if f.list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.list {
				return listScenarios(cmd.OutOrStdout())
			}
			return runReproduce(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.list, "list", false, "list the built-in scenarios and what each demonstrates")
	fl.StringVarP(&f.write, "write", "w", "", "write the capture to this pcap file")
	fl.StringVar(&f.conf, "asterisk-conf", "", "write the scenario's Asterisk configuration (sip.conf and extensions.conf of each PBX) to this file")
	fl.BoolVar(&f.ladder, "ladder", false, "draw the ladder of the call")
	fl.BoolVar(&f.explain, "explain", false, "print the full explanation of the call")
	fl.BoolVar(&f.fast, "fast", false, "run on virtual time: no waiting, same timestamps")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of every random choice (identifiers, SSRCs, glare retry delays)")
	fl.StringVar(&f.pbx, "pbx", "", "play only the phones, against the PBX at this address[:port]")
	fl.StringVar(&f.allowNonlocal, "allow-nonlocal", "", "the one address[:port] outside 127.0.0.0/8 packets may be sent to")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "print what each host does as it happens")
	fl.IntVar(&f.width, "width", 0, "wrap text at this many columns (default: the terminal's width, or 100)")
	fl.StringVar(&f.color, "color", "auto", "colour: auto (on a terminal), always, never")
	return cmd
}

func listScenarios(w io.Writer) error {
	for _, s := range scenario.List() {
		fmt.Fprintf(w, "%s\n    %s\n    expect: %s", s.Name, s.Description, s.Expect.Verdict)
		if len(s.Expect.Reasons) > 0 {
			fmt.Fprintf(w, "; %s", strings.Join(s.Expect.Reasons, ", "))
		}
		if len(s.Expect.Absent) > 0 {
			fmt.Fprintf(w, "; not %s", strings.Join(s.Expect.Absent, ", "))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// sipAddr reads address[:port]; the port defaults to 5060, or to 0 (any)
// when anyPort.
func sipAddr(s string, anyPort bool) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not an address or address:port", s)
	}
	if anyPort {
		return netip.AddrPortFrom(a, 0), nil
	}
	return netip.AddrPortFrom(a, scenario.DefaultSIPPort), nil
}

func runReproduce(stdout, stderr io.Writer, name string, f *reproduceFlags) error {
	s, err := scenario.Load(name)
	if err != nil {
		return err
	}
	opt := scenario.RunOptions{Fast: f.fast, Seed: f.seed}
	if f.allowNonlocal != "" {
		if opt.AllowNonlocal, err = sipAddr(f.allowNonlocal, true); err != nil {
			return fmt.Errorf("--allow-nonlocal: %w", err)
		}
	}
	if f.pbx != "" {
		if opt.PBX, err = sipAddr(f.pbx, false); err != nil {
			return fmt.Errorf("--pbx: %w", err)
		}
		if f.fast {
			return errors.New("--pbx needs real time: leave out --fast")
		}
	}
	if f.verbose {
		opt.Log = func(line string) { fmt.Fprintln(stderr, textsafe.Terminal(line)) }
	}
	if f.conf != "" {
		if err := os.WriteFile(f.conf, s.AsteriskConf(), 0o644); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if !f.fast {
		fmt.Fprintf(stderr, "running %s in real time (%s); --fast does it at once\n", s.Name, (s.Script.HangupAt + time.Second).Round(time.Second))
	}
	res, err := scenario.Run(ctx, s, opt)
	if err != nil {
		return err
	}
	if f.write != "" {
		if err := os.WriteFile(f.write, res.Capture, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s: %d packets over %s", s.Name, res.Packets, res.Span.Round(time.Millisecond))
	if f.write != "" {
		fmt.Fprintf(stdout, ", written to %s", f.write)
	}
	if res.Refused > 0 {
		fmt.Fprintf(stdout, "; %d packets to addresses outside loopback not sent", res.Refused)
	}
	fmt.Fprintln(stdout)
	if s.Description != "" {
		fmt.Fprintf(stdout, "%s\n", s.Description)
	}
	fmt.Fprintln(stdout)
	o, err := scenario.Analyze(s, res.Capture)
	if err != nil {
		return err
	}
	if err := o.WriteComparison(stdout); err != nil {
		return err
	}
	if o.Call != nil && f.ladder {
		fmt.Fprintln(stdout)
		tty, cols := terminal(stdout)
		lopt := ladder.Options{Width: f.width}
		if lopt.Width == 0 && tty {
			lopt.Width = cols
		}
		color, err := colorMode(f.color)
		if err != nil {
			return err
		}
		lopt.Color = color == colorAlways || color == colorAuto && tty && os.Getenv("NO_COLOR") == ""
		if err := ladder.Render(stdout, ladder.FromCall(o.Call), ladder.Text, lopt); err != nil {
			return err
		}
	}
	if o.Call != nil && f.explain {
		fmt.Fprintln(stdout)
		topt, err := textOptions(stdout, f.width, f.color)
		if err != nil {
			return err
		}
		if err := explain.WriteText(stdout, []explain.Explanation{o.Explanation}, topt); err != nil {
			return err
		}
	}
	if !o.Agrees() {
		return fmt.Errorf("%w: %s", errDisagree, strings.Join(o.Problems, "; "))
	}
	return nil
}
