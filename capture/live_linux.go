//go:build linux

package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"

	"github.com/sipscope/sipscope/capture/filter"
)

// Linux device types (ARPHRD_*, <linux/if_arp.h>) whose frames live
// capture understands. A packet socket shows Ethernet and loopback
// frames with their Ethernet header, and the frames of point-to-point
// and tunnel devices as bare IP packets.
var (
	ethernetHatypes = []uint16{
		1,   // ARPHRD_ETHER
		772, // ARPHRD_LOOPBACK
	}
	rawHatypes = []uint16{
		0xfffe, // ARPHRD_NONE: tun, WireGuard
		512,    // ARPHRD_PPP
		519,    // ARPHRD_RAWIP
		768,    // ARPHRD_TUNNEL: IPIP
		769,    // ARPHRD_TUNNEL6: IP6IP6
		776,    // ARPHRD_SIT
	}
)

const (
	arphrdLoopback = 772
	// pollInterval bounds how long Next waits in the kernel before it
	// looks whether Close was called.
	pollInterval   = 50 * time.Millisecond
	defaultTimeout = 20 * time.Millisecond
	defaultBuffer  = 32 // MiB
	ringBlockSize  = 1 << 20
	// deviceRefresh is how often, in packet time, an unknown interface
	// index makes "any" reread the device list.
	deviceRefresh = time.Second
)

func linkOfHatype(h uint16) (LinkType, bool) {
	for _, e := range ethernetHatypes {
		if h == e {
			return LinkEthernet, true
		}
	}
	for _, r := range rawHatypes {
		if h == r {
			return LinkRaw, true
		}
	}
	return 0, false
}

// Live is a capture from a network interface through a Linux packet
// socket (AF_PACKET, TPACKET_V3 ring, pure Go). The filter runs in the
// kernel.
//
// On "any" the socket is bound to no device and sees every device's
// frames. They are all delivered as Ethernet frames: those of Ethernet
// and loopback devices as they are, the bare IP packets of tunnel and
// point-to-point devices behind a made-up Ethernet header with zero MAC
// addresses. Loopback traffic is seen once, not leaving and arriving.
//
// A VLAN tag the kernel took out of a frame is put back, so frames look as
// they did on the wire (gopacket's afpacket allocates for that, so a
// tagged frame costs an allocation; others cost none). Packet.Iface is 0.
type Live struct {
	iface    string
	any      bool
	link     LinkType
	snaplen  int
	devices  map[int]LinkType // by interface index, for "any"
	lastScan time.Time        // packet time of the last device scan

	mu    sync.Mutex // held by Next while it reads, and by the teardown
	tp    *afpacket.TPacket
	buf   []byte
	frame int

	closing atomic.Bool

	statsMu   sync.Mutex // guards kernel and tp's socket, for Stats
	kernel    afpacket.SocketStatsV3
	delivered atomic.Uint64
	skipped   atomic.Uint64
}

// OpenLive starts capturing on the named interface, or on all of them
// when iface is "any". It needs root or CAP_NET_RAW.
//
// The filter is compiled before anything is opened, so a bad expression
// is reported (with its column) even without privileges. Packets that
// arrived before the filter was in place are discarded.
func OpenLive(iface string, opt LiveOptions) (*Live, error) {
	if iface == "" {
		return nil, errors.New("capture: live capture needs an interface name (or \"any\")")
	}
	snaplen := opt.Snaplen
	if snaplen <= 0 || snaplen > filter.MaxSnaplen {
		snaplen = filter.MaxSnaplen
	}
	bufMiB := opt.BufferSize
	switch {
	case bufMiB < 0:
		return nil, fmt.Errorf("capture: buffer size %d MiB is negative", bufMiB)
	case bufMiB == 0:
		bufMiB = defaultBuffer
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	timeout = max(timeout.Truncate(time.Millisecond), time.Millisecond)

	devs, err := scanDevices()
	if err != nil {
		return nil, fmt.Errorf("capture: listing interfaces: %w", err)
	}
	l := &Live{iface: iface, snaplen: snaplen, link: LinkEthernet}
	sock := filter.Socket{Snaplen: snaplen}
	for _, d := range devs {
		if d.hatype == arphrdLoopback && (iface == "any" || d.name == iface) {
			sock.SkipOutgoing = append(sock.SkipOutgoing, d.index)
		}
	}
	var opts []any
	if iface == "any" {
		l.any = true
		l.devices = deviceLinks(devs)
		for _, h := range ethernetHatypes {
			sock.Devices = append(sock.Devices, filter.Device{Hatype: h, Link: uint16(LinkEthernet)})
		}
		for _, h := range rawHatypes {
			sock.Devices = append(sock.Devices, filter.Device{Hatype: h, Link: uint16(LinkRaw)})
		}
	} else {
		var dev *device
		for i := range devs {
			if devs[i].name == iface {
				dev = &devs[i]
			}
		}
		if dev == nil {
			return nil, fmt.Errorf("capture: no interface %q", iface)
		}
		link, ok := linkOfHatype(dev.hatype)
		if !ok {
			return nil, fmt.Errorf("capture: interface %q has device type %d (ARPHRD), whose frames live capture does not read", iface, dev.hatype)
		}
		l.link = link
		sock.Link = uint16(link)
		opts = append(opts, afpacket.OptInterface(iface))
	}
	prog, err := filter.CompileSocket(opt.Filter, sock)
	if err != nil {
		return nil, err
	}

	opts = append(opts,
		afpacket.TPacketVersion3,
		afpacket.OptBlockSize(ringBlockSize),
		afpacket.OptNumBlocks(max(bufMiB*(1<<20)/ringBlockSize, 2)),
		afpacket.OptBlockTimeout(timeout),
		afpacket.OptPollTimeout(pollInterval),
		afpacket.OptAddVLANHeader(true),
	)
	tp, err := afpacket.NewTPacket(opts...)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("capture: opening %q: %w (live capture needs root or CAP_NET_RAW)", iface, err)
		}
		return nil, fmt.Errorf("capture: opening %q: %w", iface, err)
	}
	l.tp = tp
	if err := l.attach(prog, timeout); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: filter on %q: %w", iface, err)
	}
	if opt.Promisc && !l.any {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("capture: promiscuous mode on %q: %w", iface, err)
		}
	}
	l.buf = make([]byte, snaplen+etherHeaderLen+vlanTagLen)
	return l, nil
}

const (
	etherHeaderLen = 14
	vlanTagLen     = 4
)

// attach installs the filter. The socket received every packet between
// its creation and now, so it first rejects everything, empties the ring
// (waiting out the block the kernel may still be filling), clears the
// counters, and only then installs the real program.
func (l *Live) attach(prog []bpf.RawInstruction, blockTimeout time.Duration) error {
	reject, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		return err
	}
	if err := l.tp.SetBPF(reject); err != nil {
		return err
	}
	start := time.Now()
	deadline := start.Add(blockTimeout + 2*time.Second)
	for time.Now().Before(deadline) {
		_, _, err := l.tp.ZeroCopyReadPacketData()
		if errors.Is(err, afpacket.ErrTimeout) {
			if time.Since(start) > blockTimeout+pollInterval {
				break
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	if err := l.tp.InitSocketStats(); err != nil {
		return err
	}
	return l.tp.SetBPF(prog)
}

// LinkType is the link type of every packet Next returns.
func (l *Live) LinkType() LinkType { return l.link }

// Next fills p with the next packet, waiting for one. p.Data is copied
// out of the kernel's ring into a buffer the Live reuses: no allocation,
// and Close may run at any moment from another goroutine without pulling
// memory from under a reader. It returns io.EOF once Close has been
// called; a blocked Next notices within 50ms. To stop on a context, call
// Close from context.AfterFunc.
func (l *Live) Next(p *Packet) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.closing.Load() || l.tp == nil {
			l.teardown()
			return io.EOF
		}
		data, ci, err := l.tp.ZeroCopyReadPacketData()
		if errors.Is(err, afpacket.ErrTimeout) {
			continue
		}
		if err != nil {
			return fmt.Errorf("capture: reading %q: %w", l.iface, err)
		}
		link := l.link
		if l.any {
			var ok bool
			if link, ok = l.deviceLink(ci.InterfaceIndex, ci.Timestamp); !ok {
				l.skipped.Add(1)
				continue
			}
		}
		n, grew, ok := l.frameInto(data, link)
		if !ok {
			l.skipped.Add(1)
			continue
		}
		l.frame++
		*p = Packet{
			Frame:    l.frame,
			Time:     ci.Timestamp,
			LinkType: l.link,
			OrigLen:  ci.Length + grew,
			Data:     l.buf[:n],
		}
		l.delivered.Add(1)
		return nil
	}
}

// frameInto copies a frame of the given link type into l.buf as a frame
// of l.link, returning its length and how many header bytes were made
// up. On "any" a bare IP packet gets an Ethernet header whose type says
// its IP version.
func (l *Live) frameInto(data []byte, link LinkType) (n, grew int, ok bool) {
	if link == l.link {
		return copy(l.buf, data), 0, true
	}
	if len(data) == 0 {
		return 0, 0, false
	}
	var etherType uint16
	switch data[0] >> 4 {
	case 4:
		etherType = 0x0800
	case 6:
		etherType = 0x86dd
	default:
		return 0, 0, false
	}
	clear(l.buf[:12])
	binary.BigEndian.PutUint16(l.buf[12:], etherType)
	return etherHeaderLen + copy(l.buf[etherHeaderLen:], data), etherHeaderLen, true
}

// deviceLink is the link type of the frames of interface index. An index
// first seen makes it reread the device list, at most once per
// deviceRefresh of packet time.
func (l *Live) deviceLink(index int, now time.Time) (LinkType, bool) {
	if link, ok := l.devices[index]; ok {
		return link, true
	}
	if since := now.Sub(l.lastScan); !l.lastScan.IsZero() && since >= 0 && since < deviceRefresh {
		return 0, false
	}
	l.lastScan = now
	devs, err := scanDevices()
	if err != nil {
		return 0, false
	}
	l.devices = deviceLinks(devs)
	link, ok := l.devices[index]
	return link, ok
}

// Stats reports the counters so far. It may be called from any
// goroutine, also after Close.
func (l *Live) Stats() (LiveStats, error) {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	var err error
	if l.tp != nil {
		err = l.readKernelStats()
	}
	return LiveStats{
		Received:      uint64(l.kernel.Packets()),
		KernelDropped: uint64(l.kernel.Drops()),
		Delivered:     l.delivered.Load(),
		Skipped:       l.skipped.Load(),
	}, err
}

// readKernelStats adds the kernel's counters since the last read (the
// kernel clears them when read). statsMu must be held.
func (l *Live) readKernelStats() error {
	_, v3, err := l.tp.SocketStats()
	if err != nil {
		return fmt.Errorf("capture: statistics of %q: %w", l.iface, err)
	}
	l.kernel = v3
	return nil
}

// Close stops the capture and releases the socket and its ring. It may be
// called from another goroutine while Next waits, and more than once.
func (l *Live) Close() error {
	l.closing.Store(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.teardown()
	return nil
}

// teardown keeps the final counters and closes the socket. l.mu must be
// held.
func (l *Live) teardown() {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	if l.tp == nil {
		return
	}
	_ = l.readKernelStats()
	l.tp.Close()
	l.tp = nil
}

// device is a network interface as the kernel lists it.
type device struct {
	index  int
	name   string
	hatype uint16
}

func deviceLinks(devs []device) map[int]LinkType {
	m := make(map[int]LinkType, len(devs))
	for _, d := range devs {
		if link, ok := linkOfHatype(d.hatype); ok {
			m[d.index] = link
		}
	}
	return m
}

// scanDevices lists the interfaces with their device types, which
// package net does not report, from a netlink RTM_GETLINK dump.
func scanDevices() ([]device, error) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, os.NewSyscallError("netlinkrib", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, os.NewSyscallError("parsenetlinkmessage", err)
	}
	var devs []device
	for _, m := range msgs {
		if m.Header.Type == syscall.NLMSG_DONE {
			break
		}
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		// struct ifinfomsg: family, pad, type (u16), index (s32), flags,
		// change; in host byte order.
		d := device{
			hatype: binary.NativeEndian.Uint16(m.Data[2:4]),
			index:  int(int32(binary.NativeEndian.Uint32(m.Data[4:8]))),
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == syscall.IFLA_IFNAME {
				d.name = cString(a.Value)
			}
		}
		devs = append(devs, d)
	}
	return devs, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
