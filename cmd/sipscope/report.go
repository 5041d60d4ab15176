package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/report"
)

type reportFlags struct {
	output string
	common commonFlags
}

func newReportCmd() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report FILE... -o report.html",
		Short: "Write one self-contained HTML page of a capture: calls, ladders, RTP plots",
		Long: `report writes one HTML file that opens offline in any browser: the table of
calls (click a column to sort, type to filter), and for each call its ladder
(click an arrow to read the message), the reasons its media went where it
did, and a plot of each RTP stream's jitter and loss over time. The capture's
warnings are listed at the top. The page loads nothing from the network and
stays quick with tens of thousands of calls: a call's detail is unpacked only
when it is opened.`,
		Example: `  sipscope report capture.pcap -o report.html
  sipscope report rotated/ --config sip.conf -o report.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, &f)
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "the HTML file to write (\"-\" for standard output)")
	cmd.MarkFlagRequired("output")
	f.common.register(cmd)
	return cmd
}

func runReport(stdout, stderr io.Writer, args []string, f *reportFlags) error {
	// Each call is drawn and packed as it ends, so that its records need
	// not wait for the end of the capture.
	var b report.Builder
	var addErr error
	rep, err := f.common.analyze(args, stderr, true, func(c *analysis.Call) {
		if err := b.Add(c); err != nil && addErr == nil {
			addErr = err
		}
	})
	if err != nil {
		return err
	}
	if addErr != nil {
		return addErr
	}
	m := b.Model(rep)
	if err := writeOutput(f.output, stdout, func(w io.Writer) error { return report.Write(w, m) }); err != nil {
		return err
	}
	if rep.Summary.Damaged {
		return errDamaged
	}
	return nil
}

// writeOutput writes to the named file, or to stdout for "" and "-". A
// file left incomplete by an error is removed.
func writeOutput(name string, stdout io.Writer, write func(io.Writer) error) error {
	if name == "" || name == "-" {
		return write(stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}
