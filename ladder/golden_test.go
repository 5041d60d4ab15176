package ladder

import (
	"bytes"
	"testing"

	"github.com/sipscope/sipscope/internal/goldentest"
)

// variants are the renderings checked for every fixture.
var variants = []struct {
	suffix string
	format Format
	opt    Options
}{
	{".txt", Text, Options{}},
	{".ascii.txt", Text, Options{ASCII: true}},
	{".w80.txt", Text, Options{Width: 80}},
	{".w40.txt", Text, Options{Width: 40}},
	{".color.txt", Text, Options{Color: true}},
	{".svg", SVG, Options{}},
	{".html", HTML, Options{}},
	{".mmd", Mermaid, Options{}},
	{".puml", PlantUML, Options{}},
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	for _, fx := range fixtures() {
		for _, v := range variants {
			t.Run(fx.name+v.suffix, func(t *testing.T) {
				var b bytes.Buffer
				if err := Render(&b, fx.d, v.format, v.opt); err != nil {
					t.Fatal(err)
				}
				goldentest.Check(t, fx.name+v.suffix, b.Bytes())
			})
		}
	}
}
