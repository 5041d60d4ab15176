package astconf

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sipscope/sipscope/internal/corpustest"
)

// corpusBundles returns the corpus's Asterisk configuration bundles,
// skipping the test when the corpus is absent.
func corpusBundles(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(corpustest.Dir(t), "asterisk", "*.conf.txt"))
	if err != nil || len(names) == 0 {
		t.Skip("no Asterisk configuration bundles in the corpus")
	}
	return names
}

func parseMap(t *testing.T, files map[string]string, name string) (*File, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for n, s := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(s)}
	}
	return (&Reader{FS: fsys}).ReadFile(name)
}

// dump renders sections and values compactly for comparisons.
func dump(f *File) string {
	var b strings.Builder
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "[%s]", s.Name)
		if s.Template {
			b.WriteString("(!)")
		}
		fmt.Fprintf(&b, "@%d", s.Source.Line)
		for _, v := range s.Vars {
			op := "="
			if v.Object {
				op = "=>"
			}
			fmt.Fprintf(&b, " %s%s%s@%s:%d", v.Key, op, v.Value, v.Source.File, v.Source.Line)
			if v.From != "" {
				fmt.Fprintf(&b, "<%s", v.From)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestParseValuesAndComments(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"key value and object",
			"[a]\nk = v\nexten => 1,1,Dial(SIP/bob)\n",
			"[a]@1 k=v@c.conf:2 exten=>1,1,Dial(SIP/bob)@c.conf:3\n"},
		{"semicolon comment and trailing blanks",
			"[a] \n k = v ; note\n; whole line\n",
			"[a]@1 k=v@c.conf:2\n"},
		{"escaped semicolon stays in the value",
			"[a]\nsecret = a\\;b ; real comment\n",
			"[a]@1 secret=a;b@c.conf:2\n"},
		{"block comment across lines",
			"[a]\nx = 1 ;-- start\ny = 2\nend --; z = 3\nw = 4\n",
			"[a]@1 x=1@c.conf:2 z=3@c.conf:4 w=4@c.conf:5\n"},
		{"separator of dashes is a plain comment",
			";-------------\n[a]\n;---- x = 1\nk = v\n",
			"[a]@2 k=v@c.conf:4\n"},
		{"nested block comments",
			"[a]\n;-- outer ;-- inner --; still comment --;\nk = v\n",
			"[a]@1 k=v@c.conf:3\n"},
		{"append with +=",
			"[a]\nallow = ulaw\nallow +=,alaw\n",
			"[a]@1 allow=ulaw,alaw@c.conf:3\n"},
		{"+= keeps the blanks after the operator, as Asterisk does",
			"[a]\nallow = ulaw\nallow += ,alaw\n",
			"[a]@1 allow=ulaw ,alaw@c.conf:3\n"},
		{"+= without earlier value sets it",
			"[a]\nallow += gsm\n",
			"[a]@1 allow=gsm@c.conf:2\n"},
		{"leading backslash escapes the key",
			"[a]\n\\[odd] = 1\n",
			"[a]@1 [odd]=1@c.conf:2\n"},
		{"CRLF line endings",
			"[a]\r\nk = v\r\n",
			"[a]@1 k=v@c.conf:2\n"},
		{"empty value",
			"[a]\nsecret =\n",
			"[a]@1 secret=@c.conf:2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("c.conf", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(f); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseTemplatesInheritInOrder(t *testing.T) {
	in := `[base](!)
nat = no
allow = ulaw
[phones](!,base)
nat = yes
[alice](phones)
allow = alaw
[bob](base , phones)
`
	f, err := Parse("sip.conf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `[base](!)@1 nat=no@sip.conf:2 allow=ulaw@sip.conf:3
[phones](!)@4 nat=no@sip.conf:2<base allow=ulaw@sip.conf:3<base nat=yes@sip.conf:5
[alice]@6 nat=no@sip.conf:2<phones allow=ulaw@sip.conf:3<phones nat=yes@sip.conf:5<phones allow=alaw@sip.conf:7
[bob]@8 nat=no@sip.conf:2<base allow=ulaw@sip.conf:3<base nat=no@sip.conf:2<phones allow=ulaw@sip.conf:3<phones nat=yes@sip.conf:5<phones
`
	if got := dump(f); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	alice := f.Section("ALICE")
	if v, _ := alice.Get("nat"); v.Value != "yes" || v.Source.Section != "phones" || v.From != "phones" {
		t.Errorf("alice nat = %+v, want yes written in [phones]", v)
	}
	if got := alice.Templates; len(got) != 1 || got[0] != "phones" {
		t.Errorf("templates %v", got)
	}
	if n := len(alice.All("allow")); n != 2 {
		t.Errorf("allow lines %d, want 2", n)
	}
}

func TestParseAdditionExtendsFirstSection(t *testing.T) {
	f, err := Parse("x.conf", []byte("[a]\nk = 1\n[b]\n[a](+)\nj = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "[a]@1 k=1@x.conf:2 j=2@x.conf:5\n[b]@3\n"; dump(f) != want {
		t.Errorf("got\n%s", dump(f))
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unclosed section", "[a\nk=v\n", "e.conf:1: parse error: no closing ']'"},
		{"unclosed options", "[a](!\n", "e.conf:1: parse error: no closing ')'"},
		{"value before any section", "; hi\nk = v\n", "e.conf:2: parse error: no section for this line"},
		{"missing template", "[a](nosuch)\n", "e.conf:1: inheritance requested, but section 'nosuch' does not exist"},
		{"addition to missing section", "[a](+)\n", "e.conf:1: section addition requested, but section 'a' does not exist"},
		{"empty key", "[a]\n = v\n", "e.conf:2: parse error: no variable name"},
		{"bad escape", "[a]\n\\ x = 1\n", "e.conf:2: parse error: invalid escape"},
		{"missing include", "[a]\n#include nothere.conf\n", "e.conf:2: the file 'nothere.conf' was listed as a #include but it does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMap(t, map[string]string{"e.conf": tt.in}, "e.conf")
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q\nwant  %q", err, tt.want)
			}
		})
	}
}

func TestParseWarningsKeepGoing(t *testing.T) {
	in := "[a]\njunk line\n#exec /usr/bin/gen\n#frobnicate x\n#include\nk = v\n;-- never closed\nz = 1\n"
	f, err := Parse("w.conf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range f.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		`w.conf:2: no '=' in line "junk line"`,
		"w.conf:3: #exec ignored: the output of a program cannot be reproduced here",
		"w.conf:4: unknown directive '#frobnicate'",
		"w.conf:5: directive '#include' needs an argument",
		"w.conf:7: unterminated block comment: the rest of the file is ignored",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v, ok := f.Section("a").Get("k"); !ok || v.Value != "v" {
		t.Error("value after warnings lost")
	}
	if _, ok := f.Section("a").Get("z"); ok {
		t.Error("value inside an unterminated comment was read")
	}
}

func TestIncludes(t *testing.T) {
	files := map[string]string{
		"etc/sip.conf":          "[general]\nnat = no\n#include \"peers/alice.conf\"\nafter = 1\n#tryinclude missing.conf\n#include <peers/*.inc>\n",
		"etc/peers/alice.conf":  "k = from-include\n[alice]\ntype = friend\n",
		"etc/peers/a.inc":       "[carol]\ntype = peer\n",
		"etc/peers/b.inc":       "[dave]\ntype = peer\n",
		"etc/loop1.conf":        "[x]\n#include loop2.conf\n",
		"etc/loop2.conf":        "#include loop1.conf\n",
		"etc/abs.conf":          "[x]\n#include /etc/asterisk/extra.conf\n",
		"etc/extra.conf":        "y = 1\n",
		"etc/deep.conf":         "[x]\n#include deep.conf\n",
		"etc/selfdir/self.conf": "[x]\n#include self.conf\n",
	}
	f, err := parseMap(t, files, "etc/sip.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := `[general]@1 nat=no@etc/sip.conf:2 k=from-include@etc/peers/alice.conf:1 after=1@etc/sip.conf:4
[alice]@2 type=friend@etc/peers/alice.conf:3
[carol]@1 type=peer@etc/peers/a.inc:2
[dave]@1 type=peer@etc/peers/b.inc:2
`
	if got := dump(f); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := strings.Join(f.Files, " "); got != "etc/sip.conf etc/peers/alice.conf etc/peers/a.inc etc/peers/b.inc" {
		t.Errorf("files %s", got)
	}

	_, err = parseMap(t, files, "etc/loop1.conf")
	if err == nil || !strings.Contains(err.Error(), "etc/loop2.conf:1: include cycle: etc/loop1.conf -> etc/loop2.conf -> etc/loop1.conf") {
		t.Errorf("cycle: %v", err)
	}
	_, err = parseMap(t, files, "etc/selfdir/self.conf")
	if err == nil || !strings.Contains(err.Error(), "include cycle") {
		t.Errorf("self include: %v", err)
	}

	f, err = parseMap(t, files, "etc/abs.conf")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Section("x").Get("y"); v.Source.File != "etc/extra.conf" {
		t.Errorf("absolute include fallback read %+v", v)
	}
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0].Text, "not found; read 'etc/extra.conf' instead") {
		t.Errorf("warnings %v", f.Warnings)
	}
}

func TestIncludeDepthIsBounded(t *testing.T) {
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("d%d.conf", i)] = fmt.Sprintf("[s%d]\n#include d%d.conf\n", i, i+1)
	}
	files["d20.conf"] = "[end]\n"
	_, err := parseMap(t, files, "d0.conf")
	if err == nil || !strings.Contains(err.Error(), "include depth exceeds 10") {
		t.Errorf("err = %v", err)
	}
}

func TestInheritanceCopiesAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("[t0]\n")
	for i := range 50 {
		fmt.Fprintf(&b, "k%d = v\n", i)
	}
	for i := 1; i < 200; i++ {
		fmt.Fprintf(&b, "[t%d](t%d)\nx = 1\n", i, i-1)
	}
	_, err := (&Reader{MaxVars: 5000}).Parse("big.conf", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 5000 variables") {
		t.Errorf("err = %v", err)
	}
}

func TestReadFileFromDisk(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "sip", "sip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Files) != 2 || f.Base != "sip.conf" {
		t.Errorf("files %v base %s", f.Files, f.Base)
	}
	p := f.Section("202")
	if p == nil {
		t.Fatal("no [202]")
	}
	v, _ := p.Get("directmedia")
	if v.Value != "no" || v.Source.File != filepath.Join("testdata", "sip", "sip.conf") || v.Source.Line != 35 || v.From != "softphone" {
		t.Errorf("202 directmedia %+v", v.Source)
	}
}
