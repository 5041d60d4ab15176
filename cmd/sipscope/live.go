package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sipscope/sipscope/analysis"
	"github.com/sipscope/sipscope/call"
	"github.com/sipscope/sipscope/capture"
	"github.com/sipscope/sipscope/decode"
	"github.com/sipscope/sipscope/hep"
	"github.com/sipscope/sipscope/internal/textsafe"
	"github.com/sipscope/sipscope/sdp"
	"github.com/sipscope/sipscope/sip"
)

type liveFlags struct {
	iface     string
	count     int
	duration  time.Duration
	write     string
	fileSize  int
	fileCount int
	snaplen   int
	bufferKiB int
	queueMiB  int
	noPromisc bool
	quiet     bool
	every     time.Duration
	idle      time.Duration
	dialogs   int

	hepListen   string
	hepSend     string
	hepNetwork  string
	hepNode     uint32
	hepPassword string

	common commonFlags
}

func newLiveCmd() *cobra.Command {
	var f liveFlags
	cmd := &cobra.Command{
		Use:   "live (-i IFACE | --hep-listen ADDR) [FILTER EXPRESSION]",
		Short: "Watch SIP calls on an interface or from HEP agents as they happen",
		Long: `live captures from a network interface (Linux packet sockets, no libpcap
needed) or receives HEP from capture agents, and analyzes what it gets with
the same engine as analyze: one line per SIP message as it arrives, and a
call summary with the media verdict and its explanation as each call ends.

The filter expression is tcpdump's, compiled to BPF in pure Go and run in
the kernel, so that traffic it rejects costs nothing: host, net (CIDR or
mask), port (number or service name), portrange, src/dst, ip, ip6, arp,
udp, tcp, sctp, icmp, icmp6, proto, vlan [ID], less/greater, and/or/not
with parentheses. Host names, MAC addresses, byte-offset expressions
(udp[8] & 0x80 = 0x80) and the rarer protocol names are not supported and
are refused with the position of the word. See
"go doc github.com/sipscope/sipscope/capture/filter" for the full list.

-w saves every captured packet (pcap, as tcpdump -w does), rotating by size
with -C and -W. Capture stops after -c packets, after --duration, or on
Ctrl-C; then the calls still open are summarized, and the drop counters
printed on standard error: packets the kernel dropped because sipscope fell
behind, and packets sipscope dropped because its analysis fell behind.

--hep-listen receives HEPv1/v2/v3 over UDP and HEPv3 over TCP (Kamailio
siptrace, OpenSIPS, FreeSWITCH, Asterisk res_hep, heplify) and analyzes it
as if captured here; -w then saves it as HEP in UDP. --hep-send forwards
every SIP message seen to a HOMER collector as HEPv3 (with the Call-ID as
correlation ID); HEP found on a captured interface is not sent again, so
that capturing the collector's own traffic cannot loop.`,
		Example: `  sipscope live -i eth0 udp port 5060
  sipscope live -i any 'udp port 5060 or portrange 10000-20000' -w calls.pcap -C 100 -W 10
  sipscope live -i eth0 -c 10000 --duration 1h -q 'host 192.0.2.10'
  sipscope live --hep-listen :9060
  sipscope live -i eth0 'port 5060' --hep-send homer.example.net:9060 --hep-node 2001`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// A second Ctrl-C, while the open calls are summarized,
			// ends the process at once.
			context.AfterFunc(ctx, stop)
			return runLive(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.iface, "interface", "i", "", `interface to capture on, or "any" for all`)
	fl.IntVarP(&f.count, "count", "c", 0, "stop after this many packets (0: no limit)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (e.g. 30s, 1h; 0: no limit)")
	fl.StringVarP(&f.write, "write", "w", "", "also save the captured packets to this pcap file")
	fl.IntVarP(&f.fileSize, "file-size", "C", 0, "with -w, start a new file when the current one passes this many millions of bytes")
	fl.IntVarP(&f.fileCount, "file-count", "W", 0, "with -C, keep this many files, overwriting the oldest (names end in 0..N-1)")
	fl.IntVarP(&f.snaplen, "snaplen", "s", 0, "bytes kept of each packet (0: 262144)")
	fl.IntVarP(&f.bufferKiB, "buffer-size", "B", 0, "kernel capture buffer in KiB (0: 32768)")
	fl.IntVar(&f.queueMiB, "queue", defaultQueueMiB, "MiB of captured packets that may wait for the analysis")
	fl.BoolVarP(&f.noPromisc, "no-promiscuous-mode", "p", false, "do not put the interface into promiscuous mode")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no line per SIP message, only the call summaries")
	fl.DurationVar(&f.every, "stats", 0, "print the capture counters on standard error this often (e.g. 10s)")
	fl.DurationVar(&f.idle, "idle-timeout", call.DefaultIdleTimeout, "end a call whose dialogs were silent this long (packet time), reporting it as timed out")
	fl.IntVar(&f.dialogs, "max-dialogs", call.DefaultMaxDialogs, "most dialogs followed at once; beyond, the least recently active call is reported early as evicted")
	fl.StringVar(&f.hepListen, "hep-listen", "", "receive HEP on this UDP and TCP address (host:port) instead of capturing")
	fl.StringVar(&f.hepSend, "hep-send", "", "send every SIP message to the HEP collector at host:port")
	fl.StringVar(&f.hepNetwork, "hep-transport", "udp", "transport of --hep-send: udp or tcp")
	fl.Uint32Var(&f.hepNode, "hep-node", 0, "capture agent ID sent with --hep-send")
	fl.StringVar(&f.hepPassword, "hep-password", "", "authentication key sent with --hep-send")
	fl.StringSliceVar(&f.common.correlate, "correlate-header", nil, "header that ties a B2BUA's legs together (besides X-CID and X-Call-ID); repeatable")
	fl.StringArrayVar(&f.common.configs, "config", nil, "Asterisk sip.conf or pjsip.conf to explain calls against; repeatable")
	cmd.MarkFlagsMutuallyExclusive("interface", "hep-listen")
	return cmd
}

// defaultQueueMiB is the handoff ring between capture and analysis: four
// seconds of 15,000 packets/s of RTP, on top of the kernel's ring. The
// ring is part of the Go heap, and the collector lets garbage grow in
// proportion to the heap: a larger ring costs about twice its size.
const defaultQueueMiB = 16

// liveSource is what live reads from: an interface or a HEP listener.
type liveSource interface {
	capture.Source
	LinkType() capture.LinkType
}

func (f *liveFlags) check(filter string) error {
	switch {
	case f.iface == "" && f.hepListen == "":
		return errors.New("live needs an interface (-i IFACE, or -i any) or --hep-listen ADDR")
	case f.hepListen != "" && filter != "":
		return errors.New("a filter expression applies to -i captures, not to --hep-listen")
	case f.count < 0, f.duration < 0, f.fileSize < 0, f.fileCount < 0, f.snaplen < 0, f.bufferKiB < 0, f.every < 0, f.idle < 0, f.dialogs < 0:
		return errors.New("-c, --duration, -C, -W, -s, -B, --stats, --idle-timeout and --max-dialogs take values of zero or more")
	case f.queueMiB <= 0:
		return fmt.Errorf("--queue %d: needs at least 1 MiB", f.queueMiB)
	case f.fileSize > 0 && f.write == "":
		return errors.New("-C needs -w FILE")
	case f.fileCount > 0 && f.fileSize == 0:
		return errors.New("-W needs -C SIZE: files rotate by size")
	case f.write == "-":
		return errors.New("-w - is not supported: standard output carries the analysis; write to a file")
	case f.hepNetwork != "udp" && f.hepNetwork != "tcp":
		return fmt.Errorf("--hep-transport %q: want udp or tcp", f.hepNetwork)
	}
	return nil
}

func (f *liveFlags) open(filter string) (liveSource, error) {
	if f.hepListen != "" {
		return hep.Listen(f.hepListen, hep.ListenOptions{})
	}
	return capture.OpenLive(f.iface, capture.LiveOptions{
		Snaplen:    f.snaplen,
		BufferSize: (f.bufferKiB + 1023) / 1024,
		Filter:     filter,
		Promisc:    !f.noPromisc,
	})
}

// analysisOptions are the analysis options of live. Live prints calls as
// they end and keeps nothing for a report: only counters may grow with the
// hours it runs.
func (f *liveFlags) analysisOptions() (analysis.Options, error) {
	opt, err := f.common.options(f.hepSend != "")
	if err != nil {
		return opt, err
	}
	opt.NoCallIDCount, opt.MaxLooseStreams = true, 100
	opt.Call.IdleTimeout, opt.Call.MaxDialogs = f.idle, f.dialogs
	return opt, nil
}

// runLive captures until ctx is done, the source ends, or -c packets were
// read; then it prints the calls still open and the counters.
func runLive(ctx context.Context, stdout, stderr io.Writer, args []string, f *liveFlags) error {
	filter := strings.Join(args, " ")
	if err := f.check(filter); err != nil {
		return err
	}
	opt, err := f.analysisOptions()
	if err != nil {
		return err
	}
	src, err := f.open(filter)
	if err != nil {
		return err
	}
	defer src.Close()

	var pcap *lockedWriter
	if f.write != "" {
		rw, err := capture.NewRotatingWriter(f.write, int64(f.fileSize)*1_000_000, f.fileCount, src.LinkType())
		if err != nil {
			return fmt.Errorf("-w: %w", err)
		}
		pcap = &lockedWriter{w: rw}
		defer pcap.Close()
	}
	var sender *hep.Sender
	if f.hepSend != "" {
		sender, err = hep.Dial(f.hepNetwork, f.hepSend, hep.SenderOptions{NodeID: f.hepNode, Password: f.hepPassword})
		if err != nil {
			return err
		}
		defer sender.Close()
	}

	out := &livePrinter{w: bufio.NewWriter(stdout), quiet: f.quiet}
	fromHEP := f.hepListen != ""
	opt.OnMessage = func(m *sip.Message, meta *decode.Meta) {
		out.message(m, meta)
		// HEP captured on an interface may be our own, sent to a
		// collector we also capture: forwarding it would loop.
		if sender != nil && (fromHEP || meta.Carrier&decode.CarrierHEP == 0) {
			sender.SIP(meta, m.CallID, m.Raw)
		}
	}
	opt.OnCall = out.call
	a := analysis.New(opt)

	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSource := context.AfterFunc(ctx, func() { src.Close() })
	defer stopSource()

	q := newHandoff(f.queueMiB << 20)
	readErr := make(chan error, 1)
	go func() {
		readErr <- readLive(src, q, pcap, f.count)
		cancel()
	}()
	var helpers sync.WaitGroup
	if pcap != nil {
		helpers.Go(func() { pcap.flushEvery(ctx, time.Second) })
	}
	if f.every > 0 {
		helpers.Go(func() { progressEvery(ctx, stderr, f.every, src, q, out) })
	}
	// The packets' times are the wall clock, so while the link is quiet the
	// wall clock moves packet time on and calls still end on time.
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
loop:
	for {
		select {
		case s, ok := <-q.slots:
			if !ok {
				break loop
			}
			a.Packet(&s.p)
			q.release(s)
			if len(q.slots) == 0 {
				out.flush()
			}
		case now := <-idle.C:
			a.Advance(now)
			out.flush()
		}
	}
	cancel()
	helpers.Wait()
	fmt.Fprintln(out.w, "-- capture stopped")
	rep := a.Finish()
	out.flush()

	if sender != nil {
		sender.Close()
	}
	writeLiveCounters(stderr, src, q, sender, rep, out)
	if pcap != nil {
		if err := pcap.Close(); err != nil {
			return fmt.Errorf("-w %s: %w", f.write, err)
		}
	}
	return <-readErr
}

// readLive reads the source into the handoff, saving each packet first,
// until the source ends or count packets were read.
func readLive(src capture.Source, q *handoff, pcap *lockedWriter, count int) error {
	defer close(q.slots)
	var p capture.Packet
	for n := 0; count == 0 || n < count; n++ {
		err := src.Next(&p)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if pcap != nil {
			if err := pcap.WritePacket(p.Time, p.Data, p.OrigLen); err != nil {
				return fmt.Errorf("-w: %w", err)
			}
		}
		q.put(&p)
	}
	return nil
}

// lockedWriter is the -w file, written by the reading goroutine and
// flushed from another each second, so that the file can be read while the
// capture runs.
type lockedWriter struct {
	mu     sync.Mutex
	w      *capture.RotatingWriter
	closed bool
}

func (l *lockedWriter) WritePacket(t time.Time, data []byte, origLen int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.WritePacket(t, data, origLen)
}

func (l *lockedWriter) flushEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.mu.Lock()
			if !l.closed {
				_ = l.w.Flush()
			}
			l.mu.Unlock()
		}
	}
}

func (l *lockedWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.w.Close()
}

// handoff carries packets from the goroutine that reads the capture to the
// one that analyzes them, as copies in one fixed ring of bytes. When the
// analysis falls behind, the ring fills and packets are dropped here, and
// counted, rather than in the kernel, and memory stays what the ring was
// given.
type handoff struct {
	data  []byte
	slots chan slot
	w     int64        // ring position after the last packet put; reader only
	floor int64        // position before which all is free; reader only
	r     atomic.Int64 // position after the last packet released; analysis only
	drops atomic.Uint64
}

// slot is one packet in the ring; end is the ring position after it.
type slot struct {
	p   capture.Packet
	end int64
}

// avgPacketBytes sizes the channel of slots: a ring of small packets
// holds many.
const avgPacketBytes = 256

func newHandoff(size int) *handoff {
	return &handoff{data: make([]byte, size), slots: make(chan slot, max(size/avgPacketBytes, 16))}
}

// put copies p into the ring, or counts it dropped when the ring is full.
func (h *handoff) put(p *capture.Packet) {
	size := int64(len(h.data))
	n := int64(len(p.Data))
	// Everything before r is free: what the analysis released, and what
	// lay before a restart at the beginning of the ring.
	start, r := h.w, max(h.r.Load(), h.floor)
	switch off := start % size; {
	case r == h.w:
		// All released: start again at the beginning, so that an
		// analysis that keeps up touches only the first pages of the
		// ring and the memory in use stays what the bursts need.
		start += (size - off) % size
		r = start
	case off+n > size:
		// A packet never wraps around the end of the ring: the bytes
		// left at the end are skipped.
		start += size - off
	}
	if n > size || start+n-r > size {
		h.drops.Add(1)
		return
	}
	off := start % size
	s := slot{p: *p, end: start + n}
	s.p.Data = h.data[off : off+n : off+n]
	copy(s.p.Data, p.Data)
	select {
	case h.slots <- s:
		h.w, h.floor = start+n, r
	default:
		h.drops.Add(1)
	}
}

// release gives the bytes of a packet back once the analysis is done with
// it; packets are released in the order they were put.
func (h *handoff) release(s slot) { h.r.Store(s.end) }

// livePrinter writes the lines of live: one per SIP message, and a
// summary per call. It runs on the analysis goroutine.
type livePrinter struct {
	w     *bufio.Writer
	quiet bool
	calls int
	open  int // calls that ended because the capture did
	line  []byte
	// ended is calls, for the progress lines of another goroutine.
	ended atomic.Int64
}

func (o *livePrinter) flush() { _ = o.w.Flush() }

// message prints one SIP message: time, source → destination, transport,
// what it is, its Call-ID and a summary of its SDP.
func (o *livePrinter) message(m *sip.Message, meta *decode.Meta) {
	if o.quiet {
		return
	}
	b := o.line[:0]
	b = meta.Time.UTC().AppendFormat(b, "15:04:05.000000")
	b = append(b, ' ')
	b = append(b, meta.Src.String()...)
	b = append(b, " → "...)
	b = append(b, meta.Dst.String()...)
	b = append(b, ' ')
	b = append(b, meta.Transport.String()...)
	if meta.Carrier&decode.CarrierHEP != 0 {
		b = append(b, "/HEP"...)
	}
	b = append(b, ' ')
	if m.IsRequest() {
		b = append(b, textsafe.Terminal(m.Method)...)
		b = append(b, ' ')
		b = append(b, textsafe.Terminal(m.RequestURI)...)
	} else {
		b = append(b, textsafe.Terminal(m.Summary())...)
		b = append(b, " ("...)
		b = append(b, textsafe.Terminal(m.CSeqMethod)...)
		b = append(b, ')')
	}
	b = append(b, " Call-ID "...)
	b = append(b, textsafe.Terminal(m.CallID)...)
	if body := m.SDP(); len(body) > 0 {
		b = append(b, ' ')
		b = append(b, textsafe.Terminal(sdpSummary(body))...)
	}
	if m.Malformed() {
		b = append(b, " [malformed]"...)
	}
	b = append(b, '\n')
	o.line = b
	_, _ = o.w.Write(b)
}

// sdpSummary says in a few words what a session description offers: the
// audio address, codecs and direction, and the other media.
func sdpSummary(body []byte) string {
	s, err := sdp.Parse(body)
	if err != nil || s == nil {
		return "SDP unreadable"
	}
	var parts []string
	for i := range s.Media {
		m := &s.Media[i]
		if m.Type != "audio" {
			parts = append(parts, "+"+m.Type)
			continue
		}
		if m.Rejected() {
			parts = append(parts, "audio rejected")
			continue
		}
		p := "audio " + m.Endpoint().String()
		if codecs := m.AudioCodecs(); len(codecs) > 0 {
			p += " " + strings.Join(codecs, ",")
		}
		if _, ok := m.TelephoneEvent(); ok {
			p += "+DTMF"
		}
		if m.Direction != sdp.SendRecv {
			p += " " + m.Direction.String()
		}
		if m.Secure() {
			p += " SRTP"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "SDP without media"
	}
	return "SDP " + strings.Join(parts, " ")
}

// call prints the summary of a finished call: the analyze row, how it
// ended, and the headline of the explanation of its media.
func (o *livePrinter) call(c *analysis.Call) {
	o.calls++
	o.ended.Store(int64(o.calls))
	c.Row = o.calls
	r := safeRow(callRow(c))
	// The columns of callRow: #, frame, start, call-id, from, to, status,
	// setup, duration, msgs, legs, streams, worst loss, worst jitter, media.
	fmt.Fprintf(o.w, "CALL #%s %s %s %s → %s | %s | setup %s | duration %s | %s msgs, %s, %s | loss %s, jitter %s | media %s",
		r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], plural(len(c.Legs), "leg"), plural(len(c.Media.Streams), "stream"), r[12], r[13], r[14])
	if len(c.Legs) > 0 {
		end := c.Legs[0].EndReason
		if end == "capture-ended" {
			o.open++
		}
		fmt.Fprintf(o.w, " | %s", textsafe.Terminal(end))
	}
	fmt.Fprintln(o.w)
	if h := c.Media.Headline; h != "" {
		fmt.Fprintf(o.w, "    %s\n", textsafe.Terminal(h))
	}
	o.flush()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// progressEvery prints a line of counters every interval until ctx is
// done: packets and their rate, drops, and calls summarized so far.
func progressEvery(ctx context.Context, w io.Writer, every time.Duration, src liveSource, q *handoff, out *livePrinter) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last uint64
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var line string
			var n uint64
			switch s := src.(type) {
			case *capture.Live:
				st, _ := s.Stats()
				n = st.Delivered
				line = fmt.Sprintf("%d packets (%.0f/s), %d dropped by kernel", n, rate(n-last, now.Sub(lastAt)), st.KernelDropped)
			case *hep.Listener:
				st := s.Stats()
				n = st.Packets
				line = fmt.Sprintf("%d HEP packets (%.0f/s), %d dropped (receive queue full)", n, rate(n-last, now.Sub(lastAt)), st.Dropped)
			}
			fmt.Fprintf(w, "%s stats: %s, %d dropped by sipscope, %d calls, %.1f MiB heap\n",
				now.UTC().Format("15:04:05"), line, q.drops.Load(), out.ended.Load(), heapMiB())
			last, lastAt = n, now
		}
	}
}

// heapMiB is the Go heap in use (live objects and garbage not yet
// collected, the capture queue included), without stopping the world as
// runtime.ReadMemStats does: what a long capture should show flat.
func heapMiB() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return float64(s[0].Value.Uint64()) / (1 << 20)
}

func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// writeLiveCounters prints what was captured and what was lost where.
func writeLiveCounters(w io.Writer, src liveSource, q *handoff, sender *hep.Sender, rep *analysis.Report, out *livePrinter) {
	ours := q.drops.Load()
	switch s := src.(type) {
	case *capture.Live:
		st, err := s.Stats()
		fmt.Fprintf(w, "%d packets captured, %d received by filter, %d dropped by kernel, %d dropped by sipscope (analysis behind)\n",
			st.Delivered, st.Received, st.KernelDropped, ours)
		if st.Skipped > 0 {
			fmt.Fprintf(w, "%d packets skipped (not IP, or of an interface that went away)\n", st.Skipped)
		}
		if err != nil {
			fmt.Fprintf(w, "kernel counters: %v\n", err)
		}
	case *hep.Listener:
		st := s.Stats()
		fmt.Fprintf(w, "%d HEP packets received (%d TCP connections), %d dropped by sipscope (receive queue full), %d by sipscope (analysis behind), %d not HEP, %d too long\n",
			st.Packets, st.Connections, st.Dropped, ours, st.NotHEP, st.TooLong)
	}
	sum := rep.Summary
	fmt.Fprintf(w, "%d SIP messages, %d calls (%d still open at the end), %d RTP packets; %d dialogs expired idle, %d calls or streams evicted to bound memory\n",
		sum.SIPMessages, out.calls, out.open, sum.RTPPackets, sum.Expired, sum.Evicted)
	if n := len(sum.Warnings) + sum.WarningsOmitted; n > 0 {
		fmt.Fprintf(w, "%d warnings about the input (first: frame %d: %s)\n", n, sum.Warnings[0].Frame, textsafe.Terminal(sum.Warnings[0].Text))
	}
	if sender != nil {
		st := sender.Stats()
		fmt.Fprintf(w, "HEP: %d sent, %d dropped, %d send errors\n", st.Sent, st.Dropped, st.Errors)
	}
}
