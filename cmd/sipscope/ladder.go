package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/internal/textsafe"
	"github.com/sipscope/sipscope/ladder"
)

type ladderFlags struct {
	call   string
	format string
	output string
	ascii  bool
	width  int
	color  string
	common commonFlags
}

func newLadderCmd() *cobra.Command {
	var f ladderFlags
	cmd := &cobra.Command{
		Use:   "ladder FILE...",
		Short: "Draw one call as a ladder: its legs, SIP messages, RTP streams and reasons",
		Long: `ladder draws one call as a sequence diagram: a column per host (phone,
Asterisk, proxy, media relay), an arrow per SIP message of every leg with its
frame number, time and a short SDP note, RTP streams as double lines with
their packets, loss and jitter, where the media path changed, and the explain
reasons marked at the frames they cite. Re-INVITEs that crossed (glare) are
marked and drawn crossing; when only other legs' messages came between them,
the later request is drawn next to the first, keeping its frame number.

On a terminal the ladder is text that fits the terminal's width, in colour;
--format (or the extension of -o) picks SVG, a self-contained HTML page (click
an arrow to read the message), Mermaid or PlantUML instead.`,
		Example: `  sipscope ladder capture.pcap
  sipscope ladder capture.pcap --call 2001 -o call.svg
  sipscope ladder capture.pcap --call 3 --format mermaid
  sipscope ladder capture.pcap --ascii --width 100 | less`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLadder(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, &f)
		},
	}
	cmd.Flags().StringVar(&f.call, "call", "", "the call to draw: Call-ID of any leg, number, or row of sipscope analyze (needed when the capture holds more than one call)")
	cmd.Flags().StringVarP(&f.format, "format", "f", "", "text, svg, html, mermaid or plantuml (default: from the -o extension, else text)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().BoolVar(&f.ascii, "ascii", false, "draw text with ASCII characters only")
	cmd.Flags().IntVar(&f.width, "width", 0, "width of the text in columns (default: the terminal's, else unlimited)")
	cmd.Flags().StringVar(&f.color, "color", "auto", "colour text: auto (on a terminal, unless NO_COLOR is set or TERM=dumb), always or never")
	f.common.register(cmd)
	return cmd
}

func runLadder(stdout, stderr io.Writer, args []string, f *ladderFlags) error {
	format, err := ladderFormat(f.format, f.output)
	if err != nil {
		return err
	}
	if f.width < 0 {
		return fmt.Errorf("--width %d: want a number of columns, or 0 for no limit", f.width)
	}
	color, err := colorMode(f.color)
	if err != nil {
		return err
	}
	rep, err := f.common.analyze(args, stderr, true, nil)
	if err != nil {
		return err
	}
	c, err := pickCall(rep, f.call)
	if err != nil {
		return err
	}
	d := ladder.FromCall(c)

	opt := ladder.Options{ASCII: f.ascii, Width: f.width}
	if format == ladder.Text && (f.output == "" || f.output == "-") {
		tty, cols := terminal(stdout)
		if opt.Width == 0 && tty {
			opt.Width = cols
		}
		opt.Color = color == colorAuto && tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	}
	opt.Color = opt.Color || (format == ladder.Text && color == colorAlways)
	err = writeOutput(f.output, stdout, func(w io.Writer) error { return ladder.Render(w, d, format, opt) })
	if err != nil {
		return err
	}
	if rep.Summary.Damaged {
		return errDamaged
	}
	return nil
}

// ladderFormat is the format --format names, else the one the output
// file's extension implies, else text.
func ladderFormat(name, output string) (ladder.Format, error) {
	if name != "" {
		return ladder.ParseFormat(name)
	}
	if output == "" {
		return ladder.Text, nil
	}
	f, ok := ladder.FormatFromFilename(output)
	if !ok {
		return 0, fmt.Errorf("-o %s: cannot tell the format from the extension; use .txt, .svg, .html, .mmd or .puml, or --format", output)
	}
	return f, nil
}

type colorChoice uint8

const (
	colorAuto colorChoice = iota
	colorAlways
	colorNever
)

func colorMode(s string) (colorChoice, error) {
	switch strings.ToLower(s) {
	case "auto", "":
		return colorAuto, nil
	case "always":
		return colorAlways, nil
	case "never":
		return colorNever, nil
	}
	return 0, fmt.Errorf("--color %q: want auto, always or never", s)
}

// terminal reports whether w is a terminal, and its width in columns.
func terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		return true, 0
	}
	return true, cols
}

// maxListed bounds the calls an error message lists.
const maxListed = 20

// pickCall finds the call that q names, or the only call when q is empty.
// When that is not one call, the error lists the candidates.
func pickCall(rep *analysis.Report, q string) (*analysis.Call, error) {
	if q == "" {
		switch len(rep.Calls) {
		case 0:
			return nil, errors.New("no calls in the capture (no INVITE dialogs were seen)")
		case 1:
			return rep.Calls[0], nil
		}
		return nil, fmt.Errorf("the capture holds %d calls; pick one with --call:\n%s", len(rep.Calls), listCalls(rep.Calls))
	}
	found := rep.Find(q)
	switch len(found) {
	case 0:
		if len(rep.Calls) == 0 {
			return nil, fmt.Errorf("no call matches %q: the capture holds no calls", q)
		}
		return nil, fmt.Errorf("no call matches %q; the calls are:\n%s", q, listCalls(rep.Calls))
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%q matches %d calls; pick one by row or Call-ID:\n%s", q, len(found), listCalls(found))
}

// listCalls writes one line per call: row, first frame, Call-ID, parties
// and status.
func listCalls(calls []*analysis.Call) string {
	var b strings.Builder
	for i, c := range calls {
		if i == maxListed {
			fmt.Fprintf(&b, "  ... and %d more (sipscope analyze lists them all)\n", len(calls)-maxListed)
			break
		}
		st := "-"
		if c.Status != 0 {
			st = strings.TrimSpace(strconv.Itoa(c.Status) + " " + c.Reason)
		}
		fmt.Fprintf(&b, "  %d  frame %d  %s  %s -> %s  %s\n", c.Row, c.FirstFrame,
			textsafe.Terminal(c.ID), textsafe.Terminal(c.From), textsafe.Terminal(c.To), textsafe.Terminal(st))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
