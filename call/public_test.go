package call

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sipscope/sipscope/sip"
)

// tsharkSIP is what tshark says about the SIP message in one frame.
type tsharkSIP struct {
	callID, fromTag, toTag string
	resend                 bool // Wireshark's sip.resend
}

func tsharkDialogs(t *testing.T, path string, extra ...string) map[int]tsharkSIP {
	args := append([]string{"-r", path}, extra...)
	args = append(args, "-Y", "sip", "-T", "fields", "-E", "separator=\t", "-E", "aggregator=|",
		"-e", "frame.number", "-e", "sip.Call-ID", "-e", "sip.from.tag", "-e", "sip.to.tag", "-e", "sip.resend")
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	res := map[int]tsharkSIP{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 5 || strings.Contains(f[1], "|") {
			continue // no SIP, or several messages in one frame
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		res[n] = tsharkSIP{callID: f[1], fromTag: f[2], toTag: f[3], resend: f[4] == "1"}
	}
	return res
}

// On every public capture, the engine groups messages into dialogs exactly
// as tshark does by sip.Call-ID and the two tags, for every frame both
// read; every INVITE-dialog message the test reader decodes lands in a
// leg; and every message Wireshark calls resent is a repeat to the engine
// too (the engine finds more than Wireshark does).
func TestPublicCorpusDialogsAgreeWithTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	dir := corpusDir(t, "public")
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no public captures")
	}
	var (
		mu      sync.Mutex
		summary = map[string]string{}
	)
	t.Cleanup(func() {
		for _, path := range files {
			rel, _ := filepath.Rel(dir, path)
			t.Log(summary[rel])
		}
	})
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			var extra []string
			if strings.Contains(rel, "tcp_fragmented") {
				extra = []string{"-d", "tcp.port==6060,sip"} // as MANIFEST.md says
			}
			calls, e, msgs := runCapture(t, path, Options{})
			ts := tsharkDialogs(t, path, extra...)
			perFrame := map[int]int{}
			for _, m := range msgs {
				perFrame[m.Frame]++
			}
			mineToTs := map[string]string{}
			tsToMine := map[string]string{}
			compared, withDialog := 0, 0
			for _, m := range msgs {
				w, ok := ts[m.Frame]
				if !ok || perFrame[m.Frame] > 1 {
					continue
				}
				compared++
				if w.resend && !m.Retransmission {
					t.Errorf("f%d: Wireshark says resent, the engine does not", m.Frame)
				}
				if m.CallID != w.callID {
					t.Errorf("f%d: Call-ID %q, tshark %q", m.Frame, m.CallID, w.callID)
				}
				if w.toTag == "" || m.Dialog == "" {
					continue
				}
				withDialog++
				tags := []string{w.fromTag, w.toTag}
				if tags[0] > tags[1] {
					tags[0], tags[1] = tags[1], tags[0]
				}
				tk := w.callID + "|" + tags[0] + "|" + tags[1]
				mk := fmt.Sprintf("%s|%s|%s", m.CallID, legOf(calls, m), m.Dialog)
				if prev, ok := mineToTs[mk]; ok && prev != tk {
					t.Errorf("f%d: one engine dialog holds tshark dialogs %s and %s", m.Frame, prev, tk)
				}
				if prev, ok := tsToMine[tk]; ok && prev != mk {
					t.Errorf("f%d: tshark dialog %s split into %s and %s", m.Frame, tk, prev, mk)
				}
				mineToTs[mk], tsToMine[tk] = tk, mk
			}
			decoded := 0
			for _, c := range readCapture(t, path) {
				if c.data == nil {
					continue
				}
				m, err := sip.Parse(c.data, sip.Options{})
				if err == nil && m.CallID != "" && dialogMethod(cseqOrMethod(m)) {
					decoded++
				}
			}
			if inLegs := len(msgs); inLegs < decoded {
				t.Errorf("%d INVITE-dialog messages decoded, only %d in legs (late %d)", decoded, inLegs, e.Stats().Late)
			}
			mu.Lock()
			summary[rel] = fmt.Sprintf("%-55s tshark=%4d compared=%4d in-dialog=%4d dialogs=%3d calls=%3d",
				rel, len(ts), compared, withDialog, len(tsToMine), len(calls))
			mu.Unlock()
		})
	}
}

func cseqOrMethod(m *sip.Message) string {
	if m.IsRequest() && m.Method != "" {
		return m.Method
	}
	return m.CSeqMethod
}

// legOf names the leg a message belongs to by its call and position.
func legOf(calls []*Call, m *Msg) string {
	for ci, c := range calls {
		for li, l := range c.Legs {
			for _, x := range l.Messages {
				if x == m {
					return strconv.Itoa(ci) + "." + strconv.Itoa(li)
				}
			}
		}
	}
	return "?"
}
