// Package astconf reads Asterisk configuration files (sip.conf, pjsip.conf
// and the generic format they share) so that an explanation can name the exact
// option, section and line behind a media decision.
//
// The generic reader follows Asterisk's main/config.c: sections "[name]",
// templates "[name](!)", inheritance "[name](tpl1,tpl2)", additions
// "[name](+)", "key = value", "key => value", "key += value", comments ";"
// and nested block comments ";-- ... --;", the "\;" escape, and the
// "#include", "#tryinclude" and "#exec" directives. Every value keeps the
// file, line and section it was written in.
package astconf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits that keep a hostile or broken configuration from exhausting memory.
const (
	// DefaultMaxDepth is Asterisk's own include limit (MAX_INCLUDE_LEVEL).
	DefaultMaxDepth = 10
	// DefaultMaxFileBytes bounds one file, DefaultMaxTotalBytes all files of one read.
	DefaultMaxFileBytes  = 16 << 20
	DefaultMaxTotalBytes = 64 << 20
	// DefaultMaxVars bounds the variables of one read, counting copies made by
	// template inheritance, which can otherwise grow quadratically.
	DefaultMaxVars = 1 << 20
	// maxNestedComments is Asterisk's MAX_NESTED_COMMENTS.
	maxNestedComments = 128
	// maxGlob bounds the files one wildcard #include may pull in.
	maxGlob = 256
)

// Source is where a configuration value was written.
type Source struct {
	File    string `json:"file,omitempty"`    // file name as given, or as reached through #include
	Line    int    `json:"line,omitempty"`    // 1-based; 0 for a built-in default
	Section string `json:"section,omitempty"` // section the line belongs to
}

// IsDefault reports whether the value is a built-in default rather than a line.
func (s Source) IsDefault() bool { return s.Line == 0 }

func (s Source) String() string {
	if s.Line == 0 {
		return "built-in default"
	}
	return fmt.Sprintf("%s:%d", s.File, s.Line)
}

// Var is one "key = value" (or "key => value") line of a section.
type Var struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Object bool   `json:"object,omitempty"` // written with "=>"
	// Source is the line that wrote the value. Source.Section is the section
	// the line sits in, which differs from the section holding the Var when
	// the value was inherited from a template.
	Source Source `json:"source"`
	// From names the template the value was inherited through; empty when
	// the section wrote it itself.
	From string `json:"from,omitempty"`
}

func (v Var) String() string { return v.Key + "=" + v.Value }

// Section is one "[name]" block, with inherited variables first, in the
// order Asterisk applies them.
type Section struct {
	Name      string   `json:"name"`
	Source    Source   `json:"source"` // the header line
	Template  bool     `json:"template,omitempty"`
	Templates []string `json:"templates,omitempty"` // inherited from, in order
	Vars      []Var    `json:"vars"`
}

// Get returns the effective value of key: the last one, as
// ast_variable_retrieve does, so a section overrides its templates.
// Keys compare case-insensitively.
func (s *Section) Get(key string) (Var, bool) {
	for i := len(s.Vars) - 1; i >= 0; i-- {
		if strings.EqualFold(s.Vars[i].Key, key) {
			return s.Vars[i], true
		}
	}
	return Var{}, false
}

// All returns every value of key in order, for options that accumulate
// (allow, disallow, match, contact).
func (s *Section) All(key string) []Var {
	var out []Var
	for _, v := range s.Vars {
		if strings.EqualFold(v.Key, key) {
			out = append(out, v)
		}
	}
	return out
}

// Warning is a problem Asterisk would log and then carry on from.
type Warning struct {
	Source Source `json:"source"`
	Text   string `json:"text"`
}

func (w Warning) String() string {
	if w.Source.File == "" {
		return w.Text
	}
	if w.Source.Line == 0 {
		return w.Source.File + ": " + w.Text
	}
	return w.Source.String() + ": " + w.Text
}

// Error is a problem that makes Asterisk refuse the whole file.
type Error struct {
	Source Source
	Text   string
}

func (e *Error) Error() string {
	if e.Source.Line == 0 {
		return e.Source.File + ": " + e.Text
	}
	return e.Source.String() + ": " + e.Text
}

// File is a parsed configuration: the named file with its includes resolved.
type File struct {
	Name string `json:"name"` // as given
	// Server and Base describe a part of a bundle (see Load): the banner's
	// server label and file name. For an ordinary file Server is empty and
	// Base is the file's base name.
	Server   string     `json:"server,omitempty"`
	Base     string     `json:"base"`
	Sections []*Section `json:"sections"`
	Files    []string   `json:"files"` // every file read, in order, the named one first
	Warnings []Warning  `json:"warnings,omitempty"`
}

// Section returns the first section with the given name (case-insensitive,
// as Asterisk's category lookup), or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// Reader reads configuration files. The zero value reads from the operating
// system's file system with Asterisk's limits.
type Reader struct {
	// FS, when set, is where files and includes are read from; names are then
	// slash-separated fs.FS paths. Nil means the operating system.
	FS            fs.FS
	MaxDepth      int
	MaxFileBytes  int64
	MaxTotalBytes int64
	MaxVars       int
}

// ReadFile reads and parses the named file and its includes.
func ReadFile(name string) (*File, error) { return (&Reader{}).ReadFile(name) }

// Parse parses data as the file name; includes are read relative to name
// from the operating system.
func Parse(name string, data []byte) (*File, error) { return (&Reader{}).Parse(name, data) }

// ReadFile reads and parses the named file and its includes. On error the
// returned File holds what was read before the error.
func (r *Reader) ReadFile(name string) (*File, error) {
	p := r.newParser(name)
	data, err := p.read(name)
	if err != nil {
		return p.f, err
	}
	return p.run(name, data, 1)
}

// Parse parses data as the file name. On error the returned File holds what
// was read before the error.
func (r *Reader) Parse(name string, data []byte) (*File, error) {
	p := r.newParser(name)
	if int64(len(data)) > p.maxFile {
		return p.f, &Error{Source{File: name}, fmt.Sprintf("file is larger than %d bytes", p.maxFile)}
	}
	p.total = int64(len(data))
	return p.run(name, data, 1)
}

func (r *Reader) newParser(name string) *parser {
	p := &parser{
		fsys:     r.FS,
		maxDepth: r.MaxDepth, maxFile: r.MaxFileBytes, maxTotal: r.MaxTotalBytes, maxVars: r.MaxVars,
		f: &File{Name: name, Base: baseName(name)},
	}
	if p.maxDepth <= 0 {
		p.maxDepth = DefaultMaxDepth
	}
	if p.maxFile <= 0 {
		p.maxFile = DefaultMaxFileBytes
	}
	if p.maxTotal <= 0 {
		p.maxTotal = DefaultMaxTotalBytes
	}
	if p.maxVars <= 0 {
		p.maxVars = DefaultMaxVars
	}
	return p
}

type parser struct {
	fsys     fs.FS
	maxDepth int
	maxFile  int64
	maxTotal int64
	maxVars  int

	f     *File
	stack []string // include chain, for cycle detection
	total int64
	vars  int
}

func (p *parser) run(name string, data []byte, firstLine int) (*File, error) {
	p.f.Files = append(p.f.Files, name)
	p.stack = append(p.stack[:0], p.clean(name))
	if err := p.text(name, data, firstLine, nil); err != nil {
		return p.f, err
	}
	return p.f, nil
}

func (p *parser) warn(src Source, format string, args ...any) {
	p.f.Warnings = append(p.f.Warnings, Warning{src, fmt.Sprintf(format, args...)})
}

// text parses one file's contents. cat is the section the including file was
// in: Asterisk lets an included file continue it. The includer keeps its own
// current section afterwards, so the result is not returned.
func (p *parser) text(name string, data []byte, firstLine int, cat *Section) error {
	depth := 0     // block comment nesting
	depthLine := 0 // line where the outermost open block comment began
	line := firstLine - 1
	for len(data) > 0 {
		var raw []byte
		if i := indexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		line++
		before := depth
		text := strings.TrimSpace(stripComments(string(raw), &depth))
		if before == 0 && depth > 0 {
			depthLine = line
		}
		if text == "" {
			continue
		}
		src := Source{File: name, Line: line}
		var err error
		switch text[0] {
		case '[':
			cat, err = p.header(text, src)
		case '#':
			err = p.directive(name, text, src, cat)
		default:
			err = p.variable(text, src, cat)
		}
		if err != nil {
			return err
		}
	}
	if depth > 0 {
		p.warn(Source{File: name, Line: depthLine}, "unterminated block comment: the rest of the file is ignored")
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// stripComments returns the text of line outside comments, as
// config_text_file_load computes it: ";" ends the line, ";--" opens a nested
// block comment (";---" does not, so separator lines stay plain comments),
// "--;" closes one, and "\;" is a literal semicolon. depth carries the block
// comment nesting across lines.
func stripComments(line string, depth *int) string {
	var out strings.Builder
	segStart := 0 // where the current scan segment began (Asterisk's new_buf)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != ';' {
			if *depth == 0 {
				out.WriteByte(c)
			}
			continue
		}
		switch {
		case i > segStart && line[i-1] == '\\':
			if b := out.String(); *depth == 0 && strings.HasSuffix(b, "\\") {
				out.Reset()
				out.WriteString(b[:len(b)-1])
				out.WriteByte(';')
			}
			segStart = i + 1
		case i+2 < len(line) && line[i+1] == '-' && line[i+2] == '-' && (i+3 >= len(line) || line[i+3] != '-'):
			if *depth < maxNestedComments {
				*depth++
			}
			i += 2
			segStart = i + 1
		case i >= segStart+2 && line[i-1] == '-' && line[i-2] == '-' && *depth > 0:
			*depth--
			segStart = i + 1
		default:
			if *depth == 0 {
				return out.String()
			}
			segStart = i + 1
		}
	}
	return out.String()
}

func (p *parser) findSection(name string) *Section {
	return p.f.Section(name)
}

// header handles "[name]" with its optional "(options)".
func (p *parser) header(text string, src Source) (*Section, error) {
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return nil, &Error{src, "parse error: no closing ']'"}
	}
	name := text[1:end]
	rest := text[end+1:]
	src.Section = name
	sec := &Section{Name: name, Source: src}
	if name == "" {
		p.warn(src, "section with an empty name")
	} else if strings.TrimSpace(name) != name {
		p.warn(src, "section name %q has surrounding spaces, which Asterisk keeps", name)
	}
	if rest != "" && rest[0] != '(' {
		p.warn(src, "text after ']' ignored: %q", rest)
		rest = ""
	}
	cur := sec
	added := false
	if rest != "" {
		close := strings.IndexByte(rest, ')')
		if close < 0 {
			return nil, &Error{src, "parse error: no closing ')'"}
		}
		if tail := strings.TrimSpace(rest[close+1:]); tail != "" {
			p.warn(src, "text after ')' ignored: %q", tail)
		}
		for _, opt := range strings.Split(rest[1:close], ",") {
			opt = strings.TrimSpace(opt)
			switch {
			case opt == "":
			case opt == "!":
				cur.Template = true
			case opt[0] == '+':
				base := p.findSection(name)
				if base == nil {
					return nil, &Error{src, fmt.Sprintf("section addition requested, but section '%s' does not exist", name)}
				}
				if len(opt) > 1 {
					p.warn(src, "section filter %q is not evaluated; adding to the first [%s]", opt[1:], name)
				}
				base.Template = base.Template || cur.Template
				base.Vars = append(base.Vars, cur.Vars...)
				cur = base
				added = true
			default:
				base := p.findSection(opt)
				if base == nil {
					return nil, &Error{src, fmt.Sprintf("inheritance requested, but section '%s' does not exist", opt)}
				}
				if err := p.count(len(base.Vars), src); err != nil {
					return nil, err
				}
				cur.Templates = append(cur.Templates, base.Name)
				for _, v := range base.Vars {
					v.From = base.Name
					cur.Vars = append(cur.Vars, v)
				}
			}
		}
	}
	if !added {
		p.f.Sections = append(p.f.Sections, cur)
	}
	return cur, nil
}

func (p *parser) count(n int, src Source) error {
	p.vars += n
	if p.vars > p.maxVars {
		return &Error{src, fmt.Sprintf("more than %d variables, counting template copies", p.maxVars)}
	}
	return nil
}

// variable handles "key = value", "key => value" and "key += value".
func (p *parser) variable(text string, src Source, cat *Section) error {
	if cat == nil {
		return &Error{src, "parse error: no section for this line"}
	}
	src.Section = cat.Name
	cur, esc := text, 0
	if cur[0] == '\\' {
		if len(cur) < 2 || cur[1] < 33 {
			return &Error{src, "parse error: invalid escape"}
		}
		cur, esc = cur[1:], 1
	}
	eq := strings.IndexByte(cur[esc:], '=')
	if eq < 0 {
		p.warn(src, "no '=' in line %q", text)
		return nil
	}
	eq += esc
	if eq > esc && cur[eq-1] == '+' {
		key := strings.TrimSpace(cur[:eq-1])
		add := cur[eq+1:]
		for i := len(cat.Vars) - 1; i >= 0; i-- {
			if cat.Vars[i].Key == key {
				v := &cat.Vars[i]
				v.Value = strings.TrimRight(v.Value+add, " \t")
				v.Source = src
				v.From = ""
				return nil
			}
		}
		return p.set(cat, key, add, false, src)
	}
	key := strings.TrimSpace(cur[:eq])
	val := cur[eq+1:]
	object := false
	if val != "" && val[0] == '>' {
		object = true
		val = val[1:]
	}
	return p.set(cat, key, val, object, src)
}

func (p *parser) set(cat *Section, key, val string, object bool, src Source) error {
	if key == "" {
		return &Error{src, "parse error: no variable name"}
	}
	if err := p.count(1, src); err != nil {
		return err
	}
	cat.Vars = append(cat.Vars, Var{Key: key, Value: strings.TrimSpace(val), Object: object, Source: src})
	return nil
}

// directive handles "#include", "#tryinclude" and "#exec".
func (p *parser) directive(name, text string, src Source, cat *Section) error {
	if cat != nil {
		src.Section = cat.Name
	}
	word, arg := text[1:], ""
	if i := strings.IndexAny(word, " \t"); i >= 0 {
		word, arg = word[:i], strings.TrimSpace(word[i+1:])
	}
	switch strings.ToLower(word) {
	case "include", "tryinclude":
	case "exec":
		p.warn(src, "#exec ignored: the output of a program cannot be reproduced here")
		return nil
	default:
		p.warn(src, "unknown directive '#%s'", word)
		return nil
	}
	try := strings.EqualFold(word, "tryinclude")
	if arg == "" {
		p.warn(src, "directive '#%s' needs an argument", word)
		return nil
	}
	if n := len(arg); n >= 2 && (arg[0] == '"' && arg[n-1] == '"' || arg[0] == '<' && arg[n-1] == '>') {
		arg = arg[1 : n-1]
	}
	if len(p.stack) > p.maxDepth {
		return &Error{src, fmt.Sprintf("include depth exceeds %d", p.maxDepth)}
	}
	names, err := p.resolve(name, arg, src)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		if try {
			return nil
		}
		return &Error{src, fmt.Sprintf("the file '%s' was listed as a #include but it does not exist", arg)}
	}
	for _, inc := range names {
		key := p.clean(inc)
		for _, s := range p.stack {
			if s == key {
				return &Error{src, fmt.Sprintf("include cycle: %s -> %s", strings.Join(p.stack, " -> "), key)}
			}
		}
		data, err := p.read(inc)
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				pe.Source = src
				return pe
			}
			if try {
				continue
			}
			return &Error{src, fmt.Sprintf("cannot read '%s': %v", inc, err)}
		}
		p.f.Files = append(p.f.Files, inc)
		p.stack = append(p.stack, key)
		err = p.text(inc, data, 1, cat)
		p.stack = p.stack[:len(p.stack)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// resolve turns an #include argument into file names. Asterisk reads
// relative names from its configuration directory; here they are read next
// to the including file, which is the same directory for an unpacked
// /etc/asterisk. An absolute name that does not exist here (a configuration
// copied from the server) falls back to its base name next to the includer.
func (p *parser) resolve(includer, arg string, src Source) ([]string, error) {
	join, isAbs := filepath.Join, filepath.IsAbs
	if p.fsys != nil {
		join, isAbs = path.Join, path.IsAbs
	}
	dir := filepath.Dir(includer)
	if p.fsys != nil {
		dir = path.Dir(includer)
	}
	target := arg
	if !isAbs(arg) {
		target = join(dir, arg)
	} else if p.fsys != nil {
		target = strings.TrimPrefix(path.Clean(arg), "/")
	}
	names, err := p.glob(target)
	if err != nil {
		return nil, &Error{src, fmt.Sprintf("bad include pattern '%s': %v", arg, err)}
	}
	if len(names) == 0 && isAbs(arg) {
		alt := join(dir, path.Base(filepath.ToSlash(arg)))
		if names, _ = p.glob(alt); len(names) > 0 {
			p.warn(src, "'%s' not found; read '%s' instead", arg, alt)
		}
	}
	if len(names) > maxGlob {
		p.warn(src, "'%s' matches %d files; only the first %d are read", arg, len(names), maxGlob)
		names = names[:maxGlob]
	}
	return names, nil
}

func (p *parser) glob(pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?[") {
		if p.exists(pattern) {
			return []string{pattern}, nil
		}
		return nil, nil
	}
	if p.fsys != nil {
		return fs.Glob(p.fsys, pattern)
	}
	return filepath.Glob(pattern)
}

func (p *parser) exists(name string) bool {
	var err error
	if p.fsys != nil {
		var fi fs.FileInfo
		if fi, err = fs.Stat(p.fsys, name); err == nil {
			return !fi.IsDir()
		}
		return false
	}
	fi, err := os.Stat(name)
	return err == nil && !fi.IsDir()
}

func (p *parser) clean(name string) string {
	if p.fsys != nil {
		return path.Clean(name)
	}
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}

// read reads one file within the size limits.
func (p *parser) read(name string) ([]byte, error) {
	var (
		rc  io.ReadCloser
		err error
	)
	if p.fsys != nil {
		rc, err = p.fsys.Open(name)
	} else {
		rc, err = os.Open(name)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, p.maxFile+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > p.maxFile {
		return nil, &Error{Source{File: name}, fmt.Sprintf("file is larger than %d bytes", p.maxFile)}
	}
	p.total += int64(len(data))
	if p.total > p.maxTotal {
		return nil, &Error{Source{File: name}, fmt.Sprintf("files read exceed %d bytes in total", p.maxTotal)}
	}
	return data, nil
}

func baseName(name string) string {
	return path.Base(filepath.ToSlash(name))
}
