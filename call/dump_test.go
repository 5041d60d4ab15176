package call

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/goldentest"
)

// dumpCall writes what the engine concluded about a call, one fact a line,
// for golden files.
func dumpCall(b *strings.Builder, c *Call) {
	fmt.Fprintf(b, "call %s first=f%d legs=%d pairing=%.2f\n", c.ID, c.FirstFrame, len(c.Legs), c.Pairing.Confidence)
	fmt.Fprintf(b, "  basis: %s\n", c.Pairing.Basis)
	fmt.Fprintf(b, "  b2buas: %v\n", c.B2BUAs())
	for i, l := range c.Legs {
		fmt.Fprintf(b, "  leg %d %s %s -> %s uac=%v uas=%v first=f%d status=%d %q end=%v f%d partial=%v forks=%d msgs=%d\n",
			i+1, l.CallID, l.From.URI, l.RequestURI, l.UAC, l.UAS, l.FirstFrame, l.Status, l.Reason, l.EndReason, l.EndFrame,
			l.Partial, l.Forks(), len(l.Messages))
		fmt.Fprintf(b, "    agents uac=%q uas=%q hops=%d\n", l.UACAgent.Kind(), l.UASAgent.Kind(), len(l.Hops))
		for _, d := range l.Dialogs {
			fmt.Fprintf(b, "    dialog %s %v early=f%d confirm=f%d ack=f%d missing=%v bye=f%d by=%v status=%d\n",
				d.Tag, d.State, d.EarlyFrame, d.ConfirmFrame, d.ACKFrame, d.ACKMissing, d.ByeFrame, d.ByeSide, d.ByeStatus)
			for _, n := range d.Negotiations {
				fmt.Fprintf(b, "      %s %d by %v: offer %s", n.Method, n.CSeq, n.Offerer, refString(n.Offer))
				fmt.Fprintf(b, " answer %s", refString(n.Answer))
				if n.Preview != nil {
					fmt.Fprintf(b, " preview %s", refString(n.Preview))
				}
				if n.Rejected != 0 {
					fmt.Fprintf(b, " rejected %d", n.Rejected)
				}
				b.WriteString("\n")
			}
		}
		for _, r := range l.MidDialog {
			change := r.Change.String()
			if !r.Baseline {
				change = "?"
			}
			fmt.Fprintf(b, "    %s %d f%d by %v %s target=%v %v -> %s", r.Method, r.CSeq, r.Frame, r.Sender, change, r.Target,
				r.TargetAddr, r.Outcome())
			if r.RetryOf != 0 {
				fmt.Fprintf(b, " retry-of f%d after %v", r.RetryOf, r.RetryDelay)
			}
			b.WriteString("\n")
		}
	}
	for _, k := range c.Links {
		fmt.Fprintf(b, "  link %d->%d via %v %.2f\n", k.Upstream+1, k.Downstream+1, k.Server, k.Confidence)
	}
	for _, g := range c.Glare {
		fmt.Fprintf(b, "  glare leg %d frames %v release=%v between-servers=%v\n", g.Leg+1, g.Frames(), g.MediaRelease, g.BetweenServers)
		for _, r := range g.Retries {
			fmt.Fprintf(b, "    retry f%d by %v after %v owner=%v window-ok=%v status=%d\n", r.Frame, r.By, r.Delay, r.CallIDOwner, r.WindowOK, r.Status)
		}
	}
}

func refString(r *SDPRef) string {
	if r == nil {
		return "-"
	}
	m := r.Media
	return fmt.Sprintf("f%d[%s %v %v %v dtmf=%d]", r.Frame, r.Carrier, m.Addr, m.Codecs, m.Direction, m.DTMF)
}

// TestAsteriskCorpusGolden keeps the engine's full reading of each Asterisk
// capture stable.
func TestAsteriskCorpusGolden(t *testing.T) {
	dir, truths := loadTruths(t)
	for _, tr := range truths {
		t.Run(tr.Name, func(t *testing.T) {
			calls, _, _ := runCapture(t, filepath.Join(dir, tr.Name+".pcap"), Options{})
			var b strings.Builder
			for _, c := range calls {
				dumpCall(&b, c)
			}
			goldentest.Check(t, filepath.Join("golden", tr.Name+".txt"), []byte(b.String()))
		})
	}
}
