package gencap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/capture"
)

func generate(t *testing.T, cfg Config) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

// frames reads a pcap back.
func frames(t *testing.T, b []byte) []capture.Packet {
	t.Helper()
	src, err := capture.NewReader(bytes.NewReader(b), "gen", func(w capture.Warning) { t.Errorf("frame %d: %s", w.Frame, w.Text) })
	if err != nil {
		t.Fatal(err)
	}
	var out []capture.Packet
	for {
		var p capture.Packet
		err := src.Next(&p)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	cfg := Config{Calls: 5, Duration: 6 * time.Second, Hold: 2 * time.Second, Loss: 3, B2BUA: true, Seed: 7}
	a, _ := generate(t, cfg)
	b, _ := generate(t, cfg)
	if !bytes.Equal(a, b) {
		t.Error("the same Config gave different captures")
	}
	cfg.Seed++
	if c, _ := generate(t, cfg); bytes.Equal(a, c) {
		t.Error("another seed gave the same capture")
	}
}

// TestCaptureMatchesStats reads the capture back and checks the frames
// against the counts, the time order and the protocol of each frame.
func TestCaptureMatchesStats(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		legs int // per call
	}{
		{"direct", Config{Calls: 8, Duration: 10 * time.Second}, 1},
		{"b2bua", Config{Calls: 4, Duration: 10 * time.Second, B2BUA: true}, 2},
		{"back to back with loss", Config{Calls: 3, Duration: 20 * time.Second, Hold: 3 * time.Second, Loss: 5}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, st := generate(t, tt.cfg)
			pkts := frames(t, b)
			if len(pkts) != st.Packets || st.Packets != st.SIP+st.RTP+st.RTCP {
				t.Fatalf("%d frames read; stats %+v", len(pkts), st)
			}
			var bytesRead int64
			var sip, rtp, rtcp, invites int
			for i, p := range pkts {
				bytesRead += int64(len(p.Data))
				if i > 0 && p.Time.Before(pkts[i-1].Time) {
					t.Fatalf("frame %d goes back in time", p.Frame)
				}
				if p.Time.Sub(pkts[0].Time) > tt.cfg.Duration {
					t.Fatalf("frame %d at %v, past the capture's length", p.Frame, p.Time.Sub(pkts[0].Time))
				}
				payload := p.Data[42:]
				switch {
				case bytes.HasPrefix(payload, []byte("INVITE ")):
					invites++
					sip++
				case payload[0] == 0x80:
					rtp++
					if len(payload) != 12+payloadLen {
						t.Fatalf("frame %d: RTP payload of %d bytes", p.Frame, len(payload)-12)
					}
				case payload[0] == 0x81 && payload[1] == 200:
					rtcp++
				default:
					sip++
				}
				if ipSum := fold(sum(p.Data[14:34], 0)); ipSum != 0xffff {
					t.Fatalf("frame %d: bad IPv4 checksum", p.Frame)
				}
			}
			if bytesRead != st.Bytes || sip != st.SIP || rtp != st.RTP || rtcp != st.RTCP {
				t.Errorf("read %d bytes, %d SIP, %d RTP, %d RTCP; stats %+v", bytesRead, sip, rtp, rtcp, st)
			}
			if invites != st.Calls*tt.legs || st.Legs != invites {
				t.Errorf("%d INVITEs for %d calls, %d legs", invites, st.Calls, st.Legs)
			}
			if tt.cfg.Hold > 0 && st.Calls <= tt.cfg.Calls {
				t.Errorf("%d calls in %d slots: lines did not place further calls", st.Calls, tt.cfg.Calls)
			}
			if tt.cfg.Loss > 0 {
				pct := float64(st.Lost) * 100 / float64(st.Lost+st.RTP)
				if pct < tt.cfg.Loss/2 || pct > tt.cfg.Loss*2 {
					t.Errorf("%.1f%% lost, asked for %.1f%%", pct, tt.cfg.Loss)
				}
			}
		})
	}
}

// TestRotatedFilesHoldTheSameFrames splits a capture as tcpdump -C does
// and finds the single file's frames, in order, across the parts.
func TestRotatedFilesHoldTheSameFrames(t *testing.T) {
	cfg := Config{Calls: 4, Duration: 8 * time.Second, Seed: 2}
	whole, st := generate(t, cfg)
	dir := t.TempDir()
	rst, err := WriteRotated(filepath.Join(dir, "cap"), 100<<10, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rst != st {
		t.Errorf("rotated stats %+v, single %+v", rst, st)
	}
	src, err := capture.OpenAll([]string{dir}, func(w capture.Warning) { t.Error(w.Text) })
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := frames(t, whole)
	var p capture.Packet
	n := 0
	for ; src.Next(&p) == nil; n++ {
		if n >= len(want) || !bytes.Equal(p.Data, want[n].Data) || !p.Time.Equal(want[n].Time) {
			t.Fatalf("frame %d differs from the single file's", n+1)
		}
	}
	entries, _ := os.ReadDir(dir)
	if n != len(want) || len(entries) < 3 {
		t.Errorf("%d frames in %d files, want %d in several", n, len(entries), len(want))
	}
}

func TestTooManyCalls(t *testing.T) {
	if _, err := Generate(Config{Calls: MaxCalls + 1}, func(time.Time, []byte) error { return nil }); err == nil {
		t.Error("no error for more calls than addresses")
	}
}

// TestUDPChecksums verifies the UDP checksum of an RTP and a SIP frame:
// summed with its pseudo-header, a correct datagram gives all ones.
func TestUDPChecksums(t *testing.T) {
	b, _ := generate(t, Config{Calls: 1, Duration: 5 * time.Second})
	for _, p := range frames(t, b)[:20] {
		ip := p.Data[14:34]
		udp := p.Data[34:]
		c := sum(ip[12:20], 0) + 17 + uint32(binary.BigEndian.Uint16(udp[4:6]))
		if fold(sum(udp, c)) != 0xffff {
			t.Fatalf("frame %d: bad UDP checksum", p.Frame)
		}
	}
}

// TestTsharkSeesTheStreams has tshark, when installed, find every RTP
// stream with the packets and losses generated.
func TestTsharkSeesTheStreams(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	cfg := Config{Calls: 3, Duration: 6 * time.Second, Loss: 4, Seed: 11}
	b, st := generate(t, cfg)
	path := filepath.Join(t.TempDir(), "gen.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-n", "-q", "-o", "rtp.heuristic_rtp:FALSE", "-z", "rtp,streams", "-r", path).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	streams, packets, lost := 0, 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || f[7] != "g711U" {
			continue
		}
		streams++
		n, _ := strconv.Atoi(f[8])
		l, _ := strconv.Atoi(f[9])
		packets += n
		lost += l
	}
	if streams != 2*st.Legs || packets != st.RTP {
		t.Errorf("tshark found %d streams with %d packets; generated %d streams, %d packets\n%s", streams, packets, 2*st.Legs, st.RTP, out)
	}
	// Loss at the very end of a stream is invisible to any receiver.
	if lost > st.Lost || lost < st.Lost-2*st.Legs {
		t.Errorf("tshark counts %d lost, generated %d", lost, st.Lost)
	}
}
