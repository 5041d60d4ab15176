package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/internal/textsafe"
)

type analyzeFlags struct {
	json, csv bool
	call      string
	common    commonFlags
}

func newAnalyzeCmd() *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze FILE...",
		Short: "List the calls in a capture, with their legs, media path and quality",
		Long: `analyze reads one or more captures (pcap, pcapng, gzip-compressed, "-" for
standard input, or a directory of rotated files, merged in time order) and
prints one row per call: its legs (B2BUA legs paired into one call), final
status, setup time, duration, RTP streams with their worst loss and jitter,
and where the media went (direct, anchored, relayed, one-way, none-captured).
Below the table it counts the SIP traffic outside calls (REGISTER, OPTIONS,
SUBSCRIBE/NOTIFY, MESSAGE) and the capture's warnings.`,
		Example: `  sipscope analyze capture.pcap
  sipscope analyze --json capture.pcapng.gz | jq '.calls[].media.verdict'
  sipscope analyze --call 2001 rotated/
  tcpdump -i eth0 -w - udp | sipscope analyze -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, &f)
		},
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	cmd.Flags().BoolVar(&f.csv, "csv", false, "print CSV, one row per call")
	cmd.Flags().StringVar(&f.call, "call", "", "only the call with this Call-ID, number or row")
	f.common.register(cmd)
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	return cmd
}

func runAnalyze(stdout, stderr io.Writer, args []string, f *analyzeFlags) error {
	rep, err := f.common.analyze(args, stderr, false, nil)
	if err != nil {
		return err
	}
	if f.call != "" {
		rep.Calls = rep.Find(f.call)
		if len(rep.Calls) == 0 {
			return fmt.Errorf("no call matches %q", f.call)
		}
	}
	switch {
	case f.json:
		if err := rep.WriteJSON(stdout); err != nil {
			return err
		}
	case f.csv:
		if err := writeCSV(stdout, rep); err != nil {
			return err
		}
	default:
		if err := writeTable(stdout, rep); err != nil {
			return err
		}
	}
	if rep.Summary.Damaged {
		return errDamaged
	}
	return nil
}

var callColumns = []string{"#", "frame", "start", "call-id", "from", "to", "status", "setup", "duration", "msgs", "legs", "streams", "worst loss", "worst jitter", "media"}

func callRow(c *analysis.Call) []string {
	loss, jitter := worst(c)
	return []string{
		strconv.Itoa(c.Row),
		strconv.Itoa(c.FirstFrame),
		c.Start.UTC().Format("15:04:05.000"),
		c.ID,
		c.From,
		c.To,
		status(c.Status, c.Reason),
		msDuration(c.SetupMs),
		secDuration(c.DurationS),
		strconv.Itoa(c.Messages),
		strconv.Itoa(len(c.Legs)),
		strconv.Itoa(len(c.Media.Streams)),
		loss,
		jitter,
		string(c.Media.Verdict),
	}
}

func worst(c *analysis.Call) (loss, jitter string) {
	if len(c.Media.Streams) == 0 {
		return "-", "-"
	}
	var l, j float64
	for _, s := range c.Media.Streams {
		l = max(l, s.LostPct)
		j = max(j, s.MaxJitterMs)
	}
	return strconv.FormatFloat(l, 'f', 1, 64) + "%", strconv.FormatFloat(j, 'f', 1, 64) + " ms"
}

func status(code int, reason string) string {
	if code == 0 {
		return "-"
	}
	if reason == "" {
		return strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + reason
}

func msDuration(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
}

func secDuration(s float64) string {
	if s == 0 {
		return "-"
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

func writeTable(w io.Writer, rep *analysis.Report) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(callColumns)
	for _, c := range rep.Calls {
		if err := t.Append(safeRow(callRow(c))); err != nil {
			return err
		}
		if len(c.Legs) < 2 {
			continue
		}
		for i, l := range c.Legs {
			leg := []string{"", strconv.Itoa(l.FirstFrame), "", "  leg " + strconv.Itoa(i+1) + " " + l.CallID,
				l.Src, l.Dst, status(l.Status, l.Reason), "", "", strconv.Itoa(l.Messages), "", "", "", "", l.Server}
			if err := t.Append(safeRow(leg)); err != nil {
				return err
			}
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	writeTrafficSummary(w, rep)
	return nil
}

func safeRow(row []string) []string {
	for i, s := range row {
		row[i] = textsafe.Terminal(s)
	}
	return row
}

func writeTrafficSummary(w io.Writer, rep *analysis.Report) {
	s, t := rep.Summary, rep.Traffic
	fmt.Fprintf(w, "\n%d packets, %d SIP messages (%d malformed, %d retransmissions), %d Call-IDs, %d calls, %d RTP packets, %d RTCP packets\n",
		s.Packets, s.SIPMessages, s.MalformedSIP, s.Retransmission, s.CallIDs, len(rep.Calls), s.RTPPackets, s.RTCPPackets)
	var other []string
	if t.Register.Total > 0 {
		other = append(other, fmt.Sprintf("REGISTER %d (%d ok, %d challenged, %d failed, %d unanswered)",
			t.Register.Total, t.Register.OK, t.Register.Challenged, t.Register.Failed, t.Register.NoAnswer))
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"OPTIONS", t.Options}, {"SUBSCRIBE", t.Subscribe}, {"NOTIFY", t.Notify}, {"MESSAGE", t.Message}, {"PUBLISH", t.Publish}, {"other", t.Other}} {
		if c.n > 0 {
			other = append(other, fmt.Sprintf("%s %d", c.name, c.n))
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(w, "Outside calls: %s\n", strings.Join(other, ", "))
	}
	if len(rep.Streams) > 0 {
		fmt.Fprintf(w, "%d RTP streams belong to no call in the capture (signalling not captured, or encrypted)\n", len(rep.Streams))
	}
	if s.TLSPackets > 0 {
		fmt.Fprintf(w, "%d packets of SIP over TLS could not be decoded (no keys)\n", s.TLSPackets)
	}
	if n := len(s.Warnings) + s.WarningsOmitted; n > 0 {
		fmt.Fprintf(w, "%d warnings", n)
		if s.Damaged {
			fmt.Fprint(w, " (the capture is damaged)")
		}
		fmt.Fprintln(w, ":")
		for i, wr := range s.Warnings {
			if i == 10 {
				fmt.Fprintf(w, "  ... %d more (see --json)\n", n-10)
				break
			}
			fmt.Fprintf(w, "  frame %d: %s\n", wr.Frame, textsafe.Terminal(wr.Text))
		}
	}
}

func writeCSV(w io.Writer, rep *analysis.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(callColumns); err != nil {
		return err
	}
	for _, c := range rep.Calls {
		row := callRow(c)
		for i, s := range row {
			// A leading =, +, - or @ makes spreadsheets evaluate the cell.
			if s != "" && strings.ContainsRune("=+-@", rune(s[0])) && s != "-" {
				row[i] = "'" + s
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// stderrIsTerminal is replaced in tests.
var stderrIsTerminal = func() bool { return isTerminal(os.Stderr) }
