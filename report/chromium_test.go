package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipscope/sipscope/internal/longtest"
	"github.com/sipscope/sipscope/internal/textsafe"
	"github.com/sipscope/sipscope/ladder"
)

// keepShot saves a screenshot under $SIPSCOPE_SCREENSHOTS, for a person to
// look at, when that variable is set.
func keepShot(t *testing.T, name string, png []byte) {
	if dir := os.Getenv("SIPSCOPE_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Error(err)
		}
	}
}

func writeTemp(t *testing.T, name string, render func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := render(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLadderSVGRendersInChromium(t *testing.T) {
	needChromium(t)
	d := syntheticCall(0, "").Ladder
	path := writeTemp(t, "ladder.svg", func(b *bytes.Buffer) error { return ladder.Render(b, d, ladder.SVG, ladder.Options{}) })
	shot := screenshotFile(t, path, 1300, 900)
	keepShot(t, "ladder-svg.png", shot)
	assertNotBlank(t, shot, "SVG ladder")
}

func TestLadderHTMLShowsMessageOnClick(t *testing.T) {
	needChromium(t)
	for _, tc := range []struct{ name, payload string }{{"plain", ""}, {"hostile", hostilePayload}} {
		t.Run(tc.name, func(t *testing.T) {
			d := syntheticCall(1, tc.payload).Ladder
			path := writeTemp(t, "ladder.html", func(b *bytes.Buffer) error { return ladder.Render(b, d, ladder.HTML, ladder.Options{}) })
			b := startBrowser(t, 1400, 1000)
			b.open(path)
			b.click(`g.msg[data-i="0"] line.hit`)
			var text string
			b.eval(`document.getElementById("raw-text").textContent`, &text)
			if !strings.Contains(text, "INVITE sip:1002@example.com SIP/2.0\nVia:") || !strings.Contains(text, "Call-ID: "+textsafe.Terminal(d.Messages[0].Leg)) {
				t.Errorf("clicking the first arrow shows %q, want the INVITE", text)
			}
			if tc.payload != "" && !strings.Contains(text, "<script>window.pwned=1</script>") {
				t.Errorf("the markup in the message is not shown as text: %q", text)
			}
			b.click(`g.msg[data-i="7"] line.hit`)
			b.eval(`document.getElementById("raw-text").textContent`, &text)
			if !strings.HasPrefix(text, "SIP/2.0 200 OK\n") {
				t.Errorf("clicking the eighth arrow shows %q, want the 200 OK", text)
			}
			shot := b.screenshot()
			keepShot(t, "ladder-html-"+tc.name+".png", shot)
			assertNotBlank(t, shot, "HTML ladder")
			b.assertInert(path)
		})
	}
}

func TestReportOpensCallsOnDemand(t *testing.T) {
	needChromium(t)
	for _, tc := range []struct{ name, payload string }{{"plain", ""}, {"hostile", hostilePayload}} {
		t.Run(tc.name, func(t *testing.T) {
			m := model(40, tc.payload)
			path := writeTemp(t, "report.html", func(b *bytes.Buffer) error { return Write(b, m) })
			b := startBrowser(t, 1400, 1000)
			b.open(path)
			var n struct{ Rows, Ladders int }
			b.eval(`({rows:document.querySelectorAll("#calls tbody tr").length,ladders:document.querySelectorAll("svg.ladder").length})`, &n)
			if n.Rows != len(m.Calls) || n.Ladders != 0 {
				t.Errorf("page has %d rows and %d ladders, want %d and 0", n.Rows, n.Ladders, len(m.Calls))
			}
			shot := b.screenshot()
			keepShot(t, "report-table-"+tc.name+".png", shot)
			assertNotBlank(t, shot, "report table")

			// Filtering: every third call is busy.
			b.eval(`(function(){var f=document.getElementById("filter");f.value="486 busy";f.dispatchEvent(new Event("input"));})()`, nil)
			b.waitFor(`document.getElementById("count").textContent.indexOf(" of ")>0`, 5*time.Second)
			var shown int
			b.eval(`document.querySelectorAll("#calls tbody tr").length`, &shown)
			if shown != 13 {
				t.Errorf("filter \"486 busy\" shows %d rows, want 13", shown)
			}
			b.eval(`(function(){var f=document.getElementById("filter");f.value="";f.dispatchEvent(new Event("input"));})()`, nil)
			b.waitFor(`document.getElementById("count").textContent.indexOf(" of ")<0`, 5*time.Second)

			// Sorting by jitter, twice: descending puts the worst first.
			b.click(`#calls th:nth-child(12)`)
			b.click(`#calls th:nth-child(12)`)
			var top []float64
			b.eval(`Array.prototype.slice.call(document.querySelectorAll("#calls tbody tr"),0,3).map(function(r){return parseFloat(r.cells[11].textContent);})`, &top)
			if len(top) != 3 || top[0] < top[1] || top[1] < top[2] || top[0] != 3.9 {
				t.Errorf("after sorting by jitter descending the top rows are %v", top)
			}

			// Opening a call in the second block, then one of its messages.
			b.click(`#calls tbody tr[data-i="17"]`)
			b.waitFor(`document.body.getAttribute("data-open")==="17"&&document.querySelector("#detail svg.ladder")`, 10*time.Second)
			b.eval(`document.querySelectorAll("svg.ladder").length`, &n.Ladders)
			if n.Ladders != 1 {
				t.Errorf("%d ladders in the page after opening one call", n.Ladders)
			}
			var plots int
			b.eval(`document.querySelectorAll("#detail svg.plot").length`, &plots)
			if plots != 2 {
				t.Errorf("call shows %d plots, want 2", plots)
			}
			b.click(`#detail g.msg[data-i="2"] line.hit`)
			var text string
			b.eval(`document.querySelector("#detail pre.rt").textContent`, &text)
			if !strings.HasPrefix(text, "INVITE sip:1018@example.com SIP/2.0\n") || !strings.Contains(text, "Call-ID: b000017@192.0.2.1") {
				t.Errorf("clicking the B-leg INVITE shows %q", text)
			}
			shot = b.screenshot()
			keepShot(t, "report-call-"+tc.name+".png", shot)
			assertNotBlank(t, shot, "report call detail")

			b.call("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27})
			b.waitFor(`document.getElementById("detail").hidden`, 5*time.Second)
			b.assertInert(path)
		})
	}
}

// TestReportTenThousandCalls measures a capture-sized page: its size, how
// long Chromium takes to load it, to open a call, to filter and to sort.
func TestReportTenThousandCalls(t *testing.T) {
	longtest.Require(t)
	needChromium(t)
	const calls = 10000
	start := time.Now()
	m := model(calls, "")
	path := writeTemp(t, "report.html", func(b *bytes.Buffer) error { return Write(b, m) })
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d calls: page %.1f MB, built and written in %v", calls, float64(info.Size())/1e6, time.Since(start).Round(time.Millisecond))

	b := startBrowser(t, 1400, 1000)
	load := b.open(path)
	var timing struct{ DCL, Load float64 }
	b.eval(`(function(){var n=performance.getEntriesByType("navigation")[0];return {dcl:n.domContentLoadedEventEnd,load:n.loadEventEnd};})()`, &timing)
	t.Logf("load event after %v (navigation timing: DOMContentLoaded %.0f ms, load %.0f ms)", load.Round(time.Millisecond), timing.DCL, timing.Load)

	measure := func(what, action, done string) time.Duration {
		t0 := time.Now()
		b.eval(action, nil)
		b.waitFor(done, 60*time.Second)
		d := time.Since(t0)
		t.Logf("%s: %v", what, d.Round(time.Millisecond))
		return d
	}
	open := measure("open call 9876", `location.hash="call=9876"`, `document.body.getAttribute("data-open")==="9876"`)
	measure("filter to one call", `(function(){var f=document.getElementById("filter");f.value="a009999@";f.dispatchEvent(new Event("input"));})()`,
		`document.getElementById("count").textContent==="1 of `+itoa(len(m.Calls))+` calls"`)
	measure("clear the filter", `(function(){var f=document.getElementById("filter");f.value="";f.dispatchEvent(new Event("input"));})()`,
		`document.getElementById("count").textContent==="`+itoa(len(m.Calls))+` calls"`)
	measure("sort by jitter", `location.hash="";document.querySelector("#calls th:nth-child(12)").click()`,
		`document.querySelector("#calls th:nth-child(12)").getAttribute("aria-sort")==="ascending"`)
	var rows int
	b.eval(`document.querySelectorAll("#calls tbody tr").length`, &rows)
	if rows != 500 {
		t.Errorf("%d rows in the document, want a page of 500", rows)
	}
	var heap float64
	b.eval(`performance.memory?performance.memory.usedJSHeapSize/1e6:0`, &heap)
	t.Logf("JS heap %.0f MB", heap)
	if load > 60*time.Second || open > 10*time.Second {
		t.Errorf("a %d-call page is not usable: load %v, open %v", calls, load, open)
	}
	b.assertInert(path)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
