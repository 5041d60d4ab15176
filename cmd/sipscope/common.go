package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/explain"
)

// commonFlags are the flags every command that reads captures shares.
type commonFlags struct {
	correlate  []string
	configs    []string
	noProgress bool
}

func (c *commonFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&c.correlate, "correlate-header", nil, "header that ties a B2BUA's legs together (besides X-CID and X-Call-ID); repeatable")
	cmd.Flags().StringArrayVar(&c.configs, "config", nil, "Asterisk sip.conf or pjsip.conf to explain calls against; repeatable")
	cmd.Flags().BoolVar(&c.noProgress, "no-progress", false, "no progress bar on standard error")
}

// options builds the analysis options the flags describe.
func (c *commonFlags) options(keepRaw bool) (analysis.Options, error) {
	opt := analysis.Options{CorrelateHeaders: c.correlate, KeepRaw: keepRaw}
	for _, name := range c.configs {
		cfgs, dialplans, err := explain.LoadConfig(name)
		if err != nil {
			return opt, fmt.Errorf("--config %s: %w", name, err)
		}
		opt.Configs = append(opt.Configs, cfgs...)
		opt.Dialplans = append(opt.Dialplans, dialplans...)
	}
	return opt, nil
}

// analyze reads the named captures with a progress bar on a terminal.
// records keeps what ladders and reports draw: every message with its
// text, and the engine's and the streams' records behind each call;
// without it only the calls' summaries are kept. A non-nil onCall takes
// each call as it ends, instead of the report.
func (c *commonFlags) analyze(names []string, stderr io.Writer, records bool, onCall func(*analysis.Call)) (*analysis.Report, error) {
	opt, err := c.options(records)
	if err != nil {
		return nil, err
	}
	opt.SummaryOnly = !records
	opt.OnCall = onCall
	if !c.noProgress && stderrIsTerminal() {
		p := newProgress(stderr, names)
		opt.Progress = p.update
		defer p.done()
	}
	return analysis.Files(names, opt)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progress draws a bar on standard error once a capture has taken more
// than a second, sized by the input files' bytes when they are known.
type progress struct {
	w     io.Writer
	total int64
	start time.Time
	shown bool
}

func newProgress(w io.Writer, names []string) *progress {
	p := &progress{w: w, start: time.Now()}
	for _, n := range names {
		if n == "-" || strings.HasSuffix(n, ".gz") {
			p.total = 0
			break
		}
		if fi, err := os.Stat(n); err == nil && fi.Mode().IsRegular() {
			p.total += fi.Size()
		}
	}
	return p
}

func (p *progress) update(packets int, bytes int64) {
	elapsed := time.Since(p.start)
	if elapsed < time.Second {
		return
	}
	p.shown = true
	rate := float64(packets) / elapsed.Seconds()
	if p.total > 0 {
		// Record headers add about 16 bytes a packet to the file size.
		frac := min(1, float64(bytes+16*int64(packets))/float64(p.total))
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d packets (%.0f/s)", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, packets, rate)
		return
	}
	fmt.Fprintf(p.w, "\r%d packets (%.0f/s)", packets, rate)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
