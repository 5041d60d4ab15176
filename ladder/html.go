package ladder

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"strconv"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// The HTML page is self-contained: the ladder as inline SVG, the messages
// as JSON, and a small script of ours. A Content-Security-Policy allows
// exactly that script and stylesheet (by hash) and no loads at all, so
// even markup that escaped escaping could not run or fetch anything.

// pageCSS styles the page around the ladder.
const pageCSS = `:root{color-scheme:light}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2937;background:#fff}
header{padding:.6rem 1rem;border-bottom:1px solid #e5e7eb}
header h1{font-size:1.1rem;margin:0}
.view{display:grid;grid-template-columns:minmax(0,1fr) minmax(18rem,36rem);align-items:start}
.lad{overflow:auto;padding:.5rem}
aside.raw{position:sticky;top:0;max-height:100vh;overflow:auto;border-left:1px solid #e5e7eb;padding:.5rem 1rem;box-sizing:border-box}
aside.raw h2{font-size:.95rem;margin:.3rem 0}
aside.raw pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all;margin:0}
.hint{color:#6b7280}
@media (max-width:900px){.view{display:block}aside.raw{position:static;border-left:0;border-top:1px solid #e5e7eb;max-height:none}}
`

// ladderJS shows a message when its arrow is clicked or activated by key.
// It only ever sets textContent, never markup.
const ladderJS = `(function(){
var data=JSON.parse(document.getElementById("ladder-messages").textContent);
var head=document.getElementById("raw-head"),body=document.getElementById("raw-text"),sel=null;
function show(g){
var m=data[+g.getAttribute("data-i")];
if(!m)return;
if(sel)sel.classList.remove("sel");
sel=g;g.classList.add("sel");
head.classList.remove("hint");head.textContent=m.h;
body.textContent=m.t||"(the message text was not kept)";
}
function target(e){return e.target&&e.target.closest?e.target.closest("g.msg"):null;}
document.addEventListener("click",function(e){var g=target(e);if(g)show(g);});
document.addEventListener("keydown",function(e){var g=target(e);if(g&&(e.key==="Enter"||e.key===" ")){e.preventDefault();show(g);}});
})();`

// CSPHash returns the CSP source expression ('sha256-…') that allows an
// inline script or style with exactly this text.
func CSPHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// ContentSecurityPolicy is the policy of a self-contained page whose only
// script and stylesheet are the given inline texts: nothing may load from
// anywhere, not even the page's own origin.
func ContentSecurityPolicy(script, style string) string {
	return "default-src 'none'; script-src " + CSPHash(script) + "; style-src " + CSPHash(style) +
		"; base-uri 'none'; form-action 'none'"
}

// MessageText is what a page shows for one message when its arrow is
// clicked: a one-line heading and the whole message. Both are cleaned of
// control characters but not escaped: set them as text, never as markup.
type MessageText struct {
	Head string `json:"h"`
	Text string `json:"t"`
}

// MessageTexts returns the texts of d.Messages, in the same order, which
// is the order of the data-i attributes of the SVG arrows.
func MessageTexts(d *Diagram) []MessageText {
	start := d.Start()
	out := make([]MessageText, len(d.Messages))
	for i := range d.Messages {
		m := &d.Messages[i]
		h := "frame " + strconv.Itoa(m.Frame)
		if t := relTime(m.Time, start); t != "" {
			h += ", " + t + " s"
		}
		h += ": " + hostName(d, m.From) + " → " + hostName(d, m.To) + "  " + textsafe.Terminal(m.Label)
		out[i] = MessageText{Head: h, Text: cleanRaw(m.Raw)}
	}
	return out
}

// hostName names a host in running text: its address, else its ID.
func hostName(d *Diagram, id string) string {
	if c := d.column(id); c >= 0 && d.Hosts[c].Addr != "" {
		return textsafe.Terminal(d.Hosts[c].Addr)
	}
	return textsafe.Terminal(id)
}

// JSONForScript encodes v for a <script type="application/json"> element:
// '<', '>', '&', U+2028 and U+2029 are escaped, so that no value can close
// the element or open a comment in it.
func JSONForScript(v any) ([]byte, error) {
	return json.Marshal(v) // Marshal escapes exactly those
}

var htmlStyle = svgCSS + pageCSS

func renderHTML(w io.Writer, d *Diagram, opt Options) error {
	data, err := JSONForScript(MessageTexts(d))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	title := esc(d.Title)
	if title == "" {
		title = "Call ladder"
	}
	bw.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	bw.WriteString(`<meta http-equiv="Content-Security-Policy" content="` + ContentSecurityPolicy(ladderJS, htmlStyle) + "\">\n")
	bw.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	bw.WriteString("<title>" + title + "</title>\n<style>" + htmlStyle + "</style>\n</head>\n<body>\n")
	bw.WriteString("<header><h1>" + title + "</h1></header>\n<div class=\"view\">\n<div class=\"lad\">\n")
	writeSVG(bw, d, Options{Fragment: true, NoLegend: opt.NoLegend})
	bw.WriteString("</div>\n<aside class=\"raw\"><h2 id=\"raw-head\" class=\"hint\">Click an arrow to see its message.</h2><pre id=\"raw-text\"></pre></aside>\n</div>\n")
	bw.WriteString("<script type=\"application/json\" id=\"ladder-messages\">")
	bw.Write(data)
	bw.WriteString("</script>\n<script>" + ladderJS + "</script>\n</body>\n</html>\n")
	return bw.Flush()
}
