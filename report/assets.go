package report

// pageCSS styles the report around the ladders (ladder.StyleSheet).
const pageCSS = `:root{color-scheme:light}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2937;background:#fff}
header{padding:.6rem 1rem;border-bottom:1px solid #e5e7eb}
header h1{font-size:1.15rem;margin:0}
.sum,.hint,.fr{color:#6b7280}
.sum{margin:.2rem 0 0}
#warnings{margin:.5rem 1rem}
#warnings ul{max-height:16rem;overflow:auto;margin:.3rem 0;font-size:13px}
.controls{position:sticky;top:0;background:#fff;padding:.5rem 1rem;border-bottom:1px solid #e5e7eb;z-index:1}
#filter{width:28rem;max-width:60vw;padding:.3rem .5rem;font:inherit}
table{border-collapse:collapse;margin:0 1rem;font-size:13px}
th,td{padding:.2rem .5rem;border-bottom:1px solid #f1f5f9;text-align:left;white-space:nowrap;max-width:28rem;overflow:hidden;text-overflow:ellipsis}
th{position:sticky;top:2.6rem;background:#f9fafb;cursor:pointer;user-select:none;z-index:1}
th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.more{margin:0 1rem 2rem}
tbody tr{cursor:pointer}
tbody tr:hover,tbody tr:focus{background:#eff6ff;outline:none}
tbody tr.nodetail{cursor:default}
#detail{position:fixed;inset:0;background:#fff;overflow:auto;z-index:2;outline:none}
#detail .bar{position:sticky;top:0;background:#fff;padding:.4rem 1rem;border-bottom:1px solid #e5e7eb;z-index:1}
#detail .dh{padding:0 1rem}
#detail .dh h2{font-size:1.05rem;margin:.6rem 0 .2rem;word-break:break-all}
#detail .dh p{margin:0 0 .4rem}
body.open{overflow:hidden}
.view{display:grid;grid-template-columns:minmax(0,1fr) minmax(18rem,36rem);align-items:start}
.lad{overflow:auto;padding:.5rem}
aside.raw{position:sticky;top:2.5rem;max-height:calc(100vh - 3rem);overflow:auto;border-left:1px solid #e5e7eb;padding:.5rem 1rem;box-sizing:border-box}
aside.raw h2{font-size:.95rem;margin:.3rem 0}
aside.raw pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all;margin:0}
.reasons,.plots{padding:0 1rem 1rem}
.reasons h3,.plots h3{font-size:1rem;margin:.8rem 0 .3rem}
.plot{display:block;margin:.5rem 0;font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.plot .pt{font-weight:bold;font-size:12px}
.plot text{fill:#374151}
@media (max-width:900px){.view{display:block}aside.raw{position:static;border-left:0;max-height:none}}
`

// pageJS drives the report: rendering, filtering and sorting the calls
// table from its JSON, and opening a call, whose block of details is
// inflated and parsed only then.
// Packet-derived text reaches the document only as text (textContent) or
// as the Go-escaped detail markup, parsed inert in a <template>.
const pageJS = `(function(){
"use strict";
var CHUNK=+document.getElementById("calls").getAttribute("data-chunk");
var table=document.getElementById("calls"),tbody=table.tBodies[0],more=document.getElementById("more");
var PAGE=500,CHUNK=+table.getAttribute("data-chunk");
var all=JSON.parse(document.getElementById("rows").textContent).map(function(r,i){return {i:i,c:r.c,k:r.k,d:r.d,t:null};});
var sorted=all.slice(),view=all,shown=0,terms=[];
var filter=document.getElementById("filter"),count=document.getElementById("count");
var detail=document.getElementById("detail"),body=document.getElementById("detail-body");
var msgs=[],sel=null,lastRow=null,timer=0,sortCol=-1,sortDir=1;
// Only a page of rows is in the document at a time; "more" adds a page.
function addRows(){
var frag=document.createDocumentFragment(),end=Math.min(shown+PAGE,view.length);
for(var j=shown;j<end;j++){
var r=view[j],tr=document.createElement("tr");
tr.setAttribute("data-i",r.i);tr.tabIndex=0;
if(!r.d)tr.className="nodetail";
for(var c=0;c<r.c.length;c++){
var td=document.createElement("td");
td.textContent=r.c[c];
if(r.k[c]!==null)td.className="n";
tr.appendChild(td);
}
frag.appendChild(tr);
}
tbody.appendChild(frag);
shown=end;
var left=view.length-shown;
more.hidden=left===0;
more.textContent="Show "+Math.min(PAGE,left)+" more ("+left+" not shown)";
}
function render(){
view=terms.length?sorted.filter(matches):sorted;
tbody.replaceChildren();shown=0;addRows();
count.textContent=terms.length?view.length+" of "+all.length+" calls":all.length+" calls";
}
function matches(r){
if(r.t===null)r.t=r.c.join(" ").toLowerCase();
for(var j=0;j<terms.length;j++)if(r.t.indexOf(terms[j])<0)return false;
return true;
}
more.addEventListener("click",addRows);
filter.addEventListener("input",function(){
clearTimeout(timer);
timer=setTimeout(function(){terms=filter.value.toLowerCase().split(/\s+/).filter(Boolean);render();},120);
});
function sortBy(th){
var c=th.cellIndex,num=th.getAttribute("data-type")==="num";
sortDir=c===sortCol?-sortDir:1;sortCol=c;
sorted.sort(function(a,b){
var x=num?a.k[c]:a.c[c].toLowerCase(),y=num?b.k[c]:b.c[c].toLowerCase();
if(x===null||y===null)return x===y?a.i-b.i:(x===null?1:-1);
if(x<y)return -sortDir;
if(x>y)return sortDir;
return a.i-b.i;
});
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",sortDir>0?"ascending":"descending");
render();
}
table.tHead.addEventListener("click",function(e){var th=e.target.closest("th");if(th)sortBy(th);});
table.tHead.addEventListener("keydown",function(e){var th=e.target.closest("th");if(th&&e.key==="Enter")sortBy(th);});
// Blocks of calls are inflated on demand; only the last one is kept.
var block={n:-1,p:null},opening=0;
function loadBlock(n){
if(block.n===n)return block.p;
var el=document.getElementById("d-"+n),p;
if(!el){p=Promise.resolve(null);}else{
var bin=atob(el.textContent.trim()),u8=new Uint8Array(bin.length);
for(var k=0;k<bin.length;k++)u8[k]=bin.charCodeAt(k);
p=new Response(new Blob([u8]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then(JSON.parse);
}
block={n:n,p:p};
return p;
}
function openCall(i){
var token=++opening;
loadBlock(Math.floor(i/CHUNK)).then(function(b){
if(token!==opening)return;
var d=b&&b[i%CHUNK];
if(!d){location.hash="";return;}
var tpl=document.createElement("template");
tpl.innerHTML=d.h;
body.replaceChildren(document.importNode(tpl.content,true));
msgs=d.m||[];sel=null;
detail.hidden=false;document.body.classList.add("open");
detail.scrollTop=0;detail.focus();
document.body.setAttribute("data-open",String(i));
});
}
function closeCall(){
opening++;
if(detail.hidden)return;
document.body.removeAttribute("data-open");
detail.hidden=true;document.body.classList.remove("open");
body.replaceChildren();msgs=[];
if(lastRow)lastRow.focus();
}
function route(){
var m=/^#call=(\d+)$/.exec(location.hash);
if(m)openCall(+m[1]);else closeCall();
}
function rowOf(e){return e.target.closest?e.target.closest("tbody tr"):null;}
tbody.addEventListener("click",function(e){var r=rowOf(e);if(r){lastRow=r;location.hash="call="+r.getAttribute("data-i");}});
tbody.addEventListener("keydown",function(e){var r=rowOf(e);if(r&&e.key==="Enter"){lastRow=r;location.hash="call="+r.getAttribute("data-i");}});
document.getElementById("close").addEventListener("click",function(){location.hash="";});
document.addEventListener("keydown",function(e){if(e.key==="Escape"&&!detail.hidden)location.hash="";});
function showMessage(g){
var m=msgs[+g.getAttribute("data-i")];
if(!m)return;
if(sel)sel.classList.remove("sel");
sel=g;g.classList.add("sel");
var h=body.querySelector(".rh"),p=body.querySelector(".rt");
h.classList.remove("hint");h.textContent=m.h;
p.textContent=m.t||"(the message text was not kept)";
}
body.addEventListener("click",function(e){var g=e.target.closest?e.target.closest("g.msg"):null;if(g)showMessage(g);});
body.addEventListener("keydown",function(e){var g=e.target.closest?e.target.closest("g.msg"):null;if(g&&(e.key==="Enter"||e.key===" ")){e.preventDefault();showMessage(g);}});
window.addEventListener("hashchange",route);
render();
route();
})();`
