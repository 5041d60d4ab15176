// Command gencap writes a synthetic VoIP capture: concurrent SIP calls
// with G.711 RTP both ways, for benchmarks and for trying sipscope on
// traffic of any size. See internal/gencap for what the calls look like.
//
//	gencap -calls 200 -seconds 60 -o calls.pcap
//	gencap -calls 50 -seconds 600 -hold 90 -b2bua -rotate-mb 100 -o rotated/cap
//
// It prints what it wrote as key=value pairs on standard output.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sipscope/sipscope/internal/gencap"
)

func main() {
	var (
		cfg      gencap.Config
		seconds  = flag.Float64("seconds", 60, "length of the capture in seconds")
		hold     = flag.Float64("hold", 0, "seconds each call talks (±50%), then its line places the next call; 0: calls last the whole capture")
		jitter   = flag.Float64("jitter-ms", 1, "largest delay added to an RTP packet's arrival, in ms (0: none)")
		out      = flag.String("o", "", "output pcap file, or the base name of rotated files (required)")
		rotateMB = flag.Float64("rotate-mb", 0, "split the output into files of this many MB, named as tcpdump -C names them")
	)
	flag.IntVar(&cfg.Calls, "calls", 200, "concurrent calls")
	flag.Float64Var(&cfg.Loss, "loss", 0, "percentage of RTP packets lost")
	flag.BoolVar(&cfg.B2BUA, "b2bua", false, "each call as two legs through an anchoring PBX")
	flag.BoolVar(&cfg.PBXOutside, "pbx-outside", false, "with -b2bua, the PBX places its outgoing legs from a second address (a LAN and a WAN side)")
	flag.BoolVar(&cfg.OneCallee, "one-callee", false, "every call to one callee answering from one SIP and RTP address (a media server, SIPp uas)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed; the same flags and seed give the same file")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	cfg.Duration = time.Duration(*seconds * float64(time.Second))
	cfg.Hold = time.Duration(*hold * float64(time.Second))
	cfg.Jitter = time.Duration(*jitter * float64(time.Millisecond))
	if *jitter == 0 {
		cfg.Jitter = -1
	}
	st, err := write(*out, int64(*rotateMB*1e6), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
	fmt.Printf("packets=%d bytes=%d sip=%d rtp=%d lost=%d rtcp=%d calls=%d legs=%d\n",
		st.Packets, st.Bytes, st.SIP, st.RTP, st.Lost, st.RTCP, st.Calls, st.Legs)
}

func write(name string, rotate int64, cfg gencap.Config) (gencap.Stats, error) {
	if rotate > 0 {
		return gencap.WriteRotated(name, rotate, cfg)
	}
	return gencap.WriteFile(name, cfg)
}
