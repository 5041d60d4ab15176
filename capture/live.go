package capture

import "time"

// LiveOptions configure a live capture.
type LiveOptions struct {
	// Snaplen is how many bytes of each packet are kept; 0 or more than
	// 262144 means 262144.
	Snaplen int
	// BufferSize is the size of the kernel's packet ring in MiB; 0 means
	// 32. Packets that arrive while it is full are dropped and counted in
	// LiveStats.KernelDropped.
	BufferSize int
	// Filter is a tcpdump filter expression (see package
	// capture/filter), run in the kernel so that the packets it rejects
	// never reach the ring. Empty means every packet.
	Filter string
	// Promisc puts the interface into promiscuous mode for as long as the
	// capture is open. It has no effect on "any".
	Promisc bool
	// Timeout is the longest a captured packet waits in the kernel before
	// it is handed over (libpcap's read timeout); 0 means 20ms.
	Timeout time.Duration
}

// LiveStats counts what a live capture has seen so far.
type LiveStats struct {
	// Received is the packets the filter accepted, including those the
	// kernel then dropped (libpcap's ps_recv).
	Received uint64
	// KernelDropped is the packets the filter accepted but the kernel
	// dropped because the ring was full: the reader fell behind.
	KernelDropped uint64
	// Delivered is the packets Next returned.
	Delivered uint64
	// Skipped is the packets read from the ring but not delivered: on
	// "any", packets of a device that vanished before its type was
	// learned, and packets of a raw IP device that are not IP.
	Skipped uint64
}
