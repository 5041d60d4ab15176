package ladder

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", name, got)
	}
}

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
				golden(t, fx.name+v.suffix, b.Bytes())
			})
		}
	}
}
