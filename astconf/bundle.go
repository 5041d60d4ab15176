package astconf

import (
	"bytes"
	"strings"
)

// bannerPrefix starts a bundle banner line. A bundle is a convenience for
// configurations shipped as one text file (the corpus's *.conf.txt): several
// files concatenated, each introduced by a line
//
//	########## NAME : FILE
//
// such as "########## ast1 (127.0.0.12) : sip.conf". A banner without
// " : FILE" starts a part that is not a configuration file (notes, phone
// settings) and is skipped, as is text before the first banner. Asterisk
// itself would reject such a line ("unknown directive"), so a real
// configuration file never looks like a bundle.
const bannerPrefix = "##########"

// Part is one file of a bundle.
type Part struct {
	Server string // banner text before " : ", e.g. "ast1 (127.0.0.12)"
	Base   string // banner text after " : ", e.g. "sip.conf"
	Line   int    // line of the bundle where the part's text begins (after the banner)
	Data   []byte
}

// SplitBundle splits a bundle into its configuration parts. It returns nil
// when data holds no "NAME : FILE" banner, i.e. when it is an ordinary file.
func SplitBundle(data []byte) []Part {
	var (
		parts []Part
		cur   *Part
		line  int
	)
	for len(data) > 0 {
		start := data
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		line++
		server, base, isBanner, isConfig := banner(string(bytes.TrimRight(raw, "\r")))
		if !isBanner {
			continue
		}
		if cur != nil {
			cur.Data = cur.Data[:len(cur.Data)-len(start)]
			cur = nil
		}
		if isConfig {
			parts = append(parts, Part{Server: server, Base: base, Line: line + 1, Data: data})
			cur = &parts[len(parts)-1]
		}
	}
	return parts
}

func banner(line string) (server, base string, isBanner, isConfig bool) {
	if !strings.HasPrefix(line, bannerPrefix) {
		return "", "", false, false
	}
	rest := strings.TrimSpace(strings.TrimLeft(line, "#"))
	i := strings.LastIndex(rest, " : ")
	if i < 0 {
		return "", "", true, false
	}
	server, base = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+3:])
	if base == "" || strings.ContainsAny(base, " \t") {
		return "", "", true, false
	}
	return server, base, true, true
}

// Load reads one configuration path: an ordinary file with its includes
// (one File), or a bundle (one File per configuration part, named by its
// banner). Sources in a bundle's parts name the bundle and its own line
// numbers, so a user can open the file they were given at the line cited.
func Load(name string) ([]*File, error) { return (&Reader{}).Load(name) }

// Load is the Reader's form of the package-level Load.
func (r *Reader) Load(name string) ([]*File, error) {
	data, err := r.newParser(name).read(name)
	if err != nil {
		return nil, err
	}
	return r.ParseAll(name, data)
}

// ParseAll is Load for data already in memory: it parses data as the file
// name, splitting it first if it is a bundle.
func (r *Reader) ParseAll(name string, data []byte) ([]*File, error) {
	parts := SplitBundle(data)
	if parts == nil {
		f, err := r.Parse(name, data)
		if err != nil {
			return nil, err
		}
		return []*File{f}, nil
	}
	files := make([]*File, 0, len(parts))
	for _, part := range parts {
		q := r.newParser(name)
		q.total = int64(len(part.Data))
		q.f.Server, q.f.Base = part.Server, part.Base
		f, err := q.run(name, part.Data, part.Line)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}
