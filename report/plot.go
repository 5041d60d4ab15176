package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/internal/textsafe"
)

// Plot geometry, in pixels.
const (
	plotW, plotH             = 640.0, 190.0
	plotL, plotR             = 52.0, 58.0 // room for the two y axes
	plotT, plotB             = 40.0, 28.0
	maxPlotPoints            = 600 // a long stream is reduced to this many buckets
	jitterColour, lostColour = "#1d4ed8", "#b91c1c"
)

// writePlot draws one stream's jitter (left axis, line) and cumulative
// loss (right axis, steps) over time as an inline SVG.
func writePlot(b *strings.Builder, s *Stream) {
	pts := reduce(s.Points, maxPlotPoints)
	title := textsafe.Terminal(s.Label)
	if s.From != "" || s.To != "" {
		title += "  " + textsafe.Terminal(s.From) + " → " + textsafe.Terminal(s.To)
	}
	title += fmt.Sprintf("  SSRC 0x%08x", s.SSRC)

	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" font-family="monospace" font-size="11">`, plotW, plotH, plotW, plotH)
	fmt.Fprintf(b, `<title>%s</title><rect width="100%%" height="100%%" fill="#fff"/>`, esc(title))
	fmt.Fprintf(b, `<text class="pt" x="4" y="14">%s</text>`, esc(shorten(title, 88)))
	if len(pts) == 0 {
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f">no samples</text></svg>`, plotL, plotH/2)
		return
	}
	t0 := pts[0].Time
	span := pts[len(pts)-1].Time.Sub(t0).Seconds()
	maxJ, maxL := 0.0, 0
	for _, p := range pts {
		maxJ = math.Max(maxJ, finite(p.JitterMS))
		maxL = max(maxL, p.Lost)
	}
	jTop, jStep := niceScale(maxJ)
	lTop, lStep := niceScale(float64(maxL))
	if lStep < 1 { // packets come whole
		lTop, lStep = math.Max(1, math.Ceil(lTop)), 1
	}
	tTop, tStep := niceScale(span)
	iw, ih := plotW-plotL-plotR, plotH-plotT-plotB
	x := func(t time.Time) float64 { return plotL + t.Sub(t0).Seconds()/tTop*iw }
	yJ := func(v float64) float64 { return plotT + ih - finite(v)/jTop*ih }
	yL := func(v float64) float64 { return plotT + ih - v/lTop*ih }

	// Grid and axes.
	b.WriteString(`<g class="axis">`)
	for v := 0.0; v <= jTop+jStep/2; v += jStep {
		y := yJ(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, plotL, y, plotW-plotR, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">%s</text>`, plotL-4, y+4, jitterColour, num(v))
	}
	for v := 0.0; v <= lTop+lStep/2; v += lStep {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`, plotW-plotR+4, yL(v)+4, lostColour, num(v))
	}
	for v := 0.0; v <= tTop+tStep/2; v += tStep {
		xv := plotL + v/tTop*iw
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, xv, plotH-plotB+14, num(v))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">s</text>`, plotW-plotR, plotH-4)
	fmt.Fprintf(b, `<text x="4" y="%.1f" fill="%s">jitter ms</text>`, plotT-6, jitterColour)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">lost pkts</text>`, plotW-4, plotT-6, lostColour)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#9ca3af"/>`, plotL, plotT, iw, ih)
	b.WriteString(`</g>`)

	// Jitter as a line, loss as steps (it only ever changes at a sample).
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, jitterColour)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%.1f,%.1f", x(p.Time), yJ(p.JitterMS))
	}
	fmt.Fprintf(b, `"/><polyline fill="none" stroke="%s" stroke-width="1.5" points="`, lostColour)
	for i, p := range pts {
		if i > 0 {
			fmt.Fprintf(b, " %.1f,%.1f", x(p.Time), yL(float64(pts[i-1].Lost)))
		}
		fmt.Fprintf(b, " %.1f,%.1f", x(p.Time), yL(float64(p.Lost)))
	}
	b.WriteString(`"/></svg>`)
}

// reduce keeps at most n points: one per time bucket, with the bucket's
// highest jitter (peaks are what matter) and its last loss count.
func reduce(pts []Point, n int) []Point {
	if len(pts) <= n {
		return pts
	}
	out := make([]Point, 0, n)
	per := (len(pts) + n - 1) / n
	for i := 0; i < len(pts); i += per {
		end := min(i+per, len(pts))
		p := pts[end-1]
		for _, q := range pts[i:end] {
			p.JitterMS = math.Max(finite(p.JitterMS), finite(q.JitterMS))
		}
		out = append(out, p)
	}
	return out
}

// niceScale returns an axis top and tick step: 1, 2 or 5 times a power of
// ten, about five ticks, never zero.
func niceScale(v float64) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step) * step, step
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// finite makes a plotted value safe: NaN, infinities and negatives are 0.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// num formats an axis value without trailing zeros.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
