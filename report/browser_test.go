package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// These tests open pages in headless Chromium and drive it over the
// DevTools protocol: they need the chromium binary and skip without it.

func chromiumArgs(profile string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--mute-audio",
		"--user-data-dir=" + profile,
	}
}

// profileDir is a Chromium profile directory removed after the test. It is
// not t.TempDir: Chromium's helper processes may still be writing to it
// for a moment after the browser is killed, which fails TempDir's check.
func profileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sipscope-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove %s", dir)
	})
	return dir
}

// ownGroup runs cmd in a process group of its own, so that killGroup
// ends Chromium's helper processes with it.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func needChromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	return path
}

// screenshotFile renders a file with chromium's --screenshot and returns
// the PNG.
func screenshotFile(t *testing.T, file string, w, h int) []byte {
	t.Helper()
	bin := needChromium(t)
	dir := profileDir(t)
	out := filepath.Join(dir, "shot.png")
	args := append(chromiumArgs(filepath.Join(dir, "profile")),
		"--screenshot="+out, fmt.Sprintf("--window-size=%d,%d", w, h), "file://"+file)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	ownGroup(cmd)
	b, err := cmd.CombinedOutput()
	killGroup(cmd)
	if err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, b)
	}
	png, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// inked counts the pixels that are not (near) white and the distinct
// colours of a PNG: a blank or failed page has almost none of either.
func inked(t *testing.T, b []byte) (pixels, colours int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	seen := make(map[uint32]bool)
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			seen[(cr>>11)<<10|(cg>>11)<<5|cb>>11] = true
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				pixels++
			}
		}
	}
	return pixels, len(seen)
}

func assertNotBlank(t *testing.T, shot []byte, what string) {
	t.Helper()
	pixels, colours := inked(t, shot)
	t.Logf("%s: %d inked pixels, %d colours", what, pixels, colours)
	if pixels < 2000 || colours < 8 {
		t.Errorf("%s looks blank: %d inked pixels, %d colours", what, pixels, colours)
	}
}

// browser is one headless Chromium driven over the DevTools protocol.
type browser struct {
	t    *testing.T
	cmd  *exec.Cmd
	ws   *websocket.Conn
	mu   sync.Mutex
	next int
	wait map[int]chan cdpReply

	loaded   chan struct{}
	dialogs  []string
	requests []string
	errors   []string
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	cdpReply
}

// startBrowser launches Chromium on an empty page and attaches to it.
func startBrowser(t *testing.T, w, h int) *browser {
	t.Helper()
	bin := needChromium(t)
	dir := profileDir(t)
	args := append(chromiumArgs(filepath.Join(dir, "profile")),
		"--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "--remote-allow-origins=*",
		fmt.Sprintf("--window-size=%d,%d", w, h), "about:blank")
	cmd := exec.Command(bin, args...)
	ownGroup(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, cmd: cmd, wait: make(map[int]chan cdpReply), loaded: make(chan struct{}, 16)}
	t.Cleanup(b.close)

	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "DevTools listening on "); ok {
				found <- strings.TrimSpace(url)
			}
		}
	}()
	var browserURL string
	select {
	case browserURL = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not report its DevTools address")
	}
	host := strings.TrimPrefix(browserURL, "ws://")
	host = host[:strings.IndexByte(host, '/')]
	pageURL := ""
	for try := 0; try < 50 && pageURL == ""; try++ {
		pageURL = pageTarget(host)
		if pageURL == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if pageURL == "" {
		t.Fatal("no page target in /json/list")
	}
	cfg, err := websocket.NewConfig(pageURL, "http://127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	b.ws, err = websocket.DialConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.ws.MaxPayloadBytes = 512 << 20
	go b.read()
	b.call("Page.enable", nil)
	b.call("Runtime.enable", nil)
	b.call("Network.enable", nil)
	return b
}

// pageTarget returns the DevTools WebSocket URL of the first page.
func pageTarget(host string) string {
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var targets []struct {
		Type, WebSocketDebuggerURL string
	}
	if json.NewDecoder(resp.Body).Decode(&targets) != nil {
		return ""
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			return tg.WebSocketDebuggerURL
		}
	}
	return ""
}

func (b *browser) close() {
	if b.ws != nil {
		b.ws.Close()
	}
	if b.cmd.Process != nil {
		killGroup(b.cmd)
		b.cmd.Wait()
	}
}

// read dispatches replies to their callers and records the events the
// tests look at.
func (b *browser) read() {
	for {
		var raw []byte
		if err := websocket.Message.Receive(b.ws, &raw); err != nil {
			b.mu.Lock()
			for id, ch := range b.wait {
				close(ch)
				delete(b.wait, id)
			}
			b.mu.Unlock()
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.wait[m.ID]
			delete(b.wait, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m.cdpReply
			}
			continue
		}
		switch m.Method {
		case "Page.loadEventFired":
			select {
			case b.loaded <- struct{}{}:
			default:
			}
		case "Page.javascriptDialogOpening":
			var p struct{ Message string }
			json.Unmarshal(m.Params, &p)
			b.mu.Lock()
			b.dialogs = append(b.dialogs, p.Message)
			b.mu.Unlock()
			// Dismiss it, or the page would hang on it.
			go b.send("Page.handleJavaScriptDialog", map[string]any{"accept": false})
		case "Network.requestWillBeSent":
			var p struct{ Request struct{ URL string } }
			json.Unmarshal(m.Params, &p)
			b.mu.Lock()
			b.requests = append(b.requests, p.Request.URL)
			b.mu.Unlock()
		case "Runtime.exceptionThrown":
			b.mu.Lock()
			b.errors = append(b.errors, string(m.Params))
			b.mu.Unlock()
		}
	}
}

// send issues a command and returns its reply channel.
func (b *browser) send(method string, params any) chan cdpReply {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpReply, 1)
	b.wait[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := websocket.Message.Send(b.ws, string(msg)); err != nil {
		b.mu.Lock()
		delete(b.wait, id)
		b.mu.Unlock()
		close(ch)
	}
	return ch
}

// call issues a command and waits for its result.
func (b *browser) call(method string, params any) json.RawMessage {
	b.t.Helper()
	select {
	case r, ok := <-b.send(method, params):
		if !ok {
			b.t.Fatalf("%s: connection to chromium lost", method)
		}
		if r.Error != nil {
			b.t.Fatalf("%s: %s", method, r.Error.Message)
		}
		return r.Result
	case <-time.After(120 * time.Second):
		b.t.Fatalf("%s: no reply from chromium", method)
	}
	return nil
}

// open navigates to a file and waits for its load event; it returns how
// long that took.
func (b *browser) open(file string) time.Duration {
	b.t.Helper()
	for len(b.loaded) > 0 {
		<-b.loaded
	}
	start := time.Now()
	b.call("Page.navigate", map[string]any{"url": "file://" + file})
	select {
	case <-b.loaded:
	case <-time.After(120 * time.Second):
		b.t.Fatalf("%s did not finish loading", file)
	}
	return time.Since(start)
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	res := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		b.t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		b.t.Fatalf("evaluating %s: %s", expr, r.ExceptionDetails)
	}
	if out != nil && r.Result.Value != nil {
		if err := json.Unmarshal(r.Result.Value, out); err != nil {
			b.t.Fatalf("evaluating %s: %v (value %s)", expr, err, r.Result.Value)
		}
	}
}

// waitFor polls a boolean expression until it holds.
func (b *browser) waitFor(expr string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var ok bool
		b.eval("!!("+expr+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s", expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// click scrolls the element matched by a CSS selector into view and clicks
// its centre with real mouse events, so that hit areas are tested too.
func (b *browser) click(selector string) {
	b.t.Helper()
	var rect struct{ X, Y float64 }
	sel, _ := json.Marshal(selector)
	b.eval(`(function(){var e=document.querySelector(`+string(sel)+`);if(!e)return null;
e.scrollIntoView({block:"center",inline:"center"});var r=e.getBoundingClientRect();
return {x:r.left+r.width/2,y:r.top+r.height/2};})()`, &rect)
	if rect.X == 0 && rect.Y == 0 {
		b.t.Fatalf("nothing matches %s", selector)
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		b.call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": rect.X, "y": rect.Y, "button": "left", "clickCount": 1})
	}
}

func (b *browser) screenshot() []byte {
	b.t.Helper()
	var r struct{ Data string }
	if err := json.Unmarshal(b.call("Page.captureScreenshot", map[string]any{"format": "png"}), &r); err != nil {
		b.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	return png
}

// assertInert checks that nothing from packet data ran, no dialog opened,
// nothing but the page itself was requested, and our script threw nothing.
func (b *browser) assertInert(file string) {
	b.t.Helper()
	var pwned string
	b.eval(`typeof window.pwned`, &pwned)
	if pwned != "undefined" {
		b.t.Errorf("script from packet data ran: window.pwned is %s", pwned)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		b.t.Errorf("dialogs opened: %q", b.dialogs)
	}
	for _, u := range b.requests {
		if u != "file://"+file && u != "about:blank" {
			b.t.Errorf("page requested %s", u)
		}
	}
	if len(b.errors) > 0 {
		b.t.Errorf("uncaught exceptions: %s", b.errors)
	}
}
