package main

import (
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it the module version recorded by the Go toolchain is used.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sipscope",
		Short: "What happened to every call in a VoIP capture, and where the audio went",
		Long: `sipscope reads a packet capture of VoIP traffic (pcap, pcapng, gzip, or a live
interface) and tells what happened to every call: the SIP ladder of each leg,
the RTP streams and their quality, and whether the audio went through the PBX
(anchored) or directly between the phones, and why.

Exit status:
  0  the capture was read cleanly
  1  usage error, or the input could not be read at all
  2  the capture was damaged (truncated file, packets cut by the snaplen,
     bad length fields) and was analyzed as far as possible`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAnalyzeCmd())
	root.AddCommand(newLadderCmd())
	root.AddCommand(newReportCmd())
	root.AddCommand(newExplainCmd())
	root.AddCommand(newReproduceCmd())
	root.AddCommand(newLiveCmd())
	return root
}
