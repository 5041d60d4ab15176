// Package corpustest finds the shared capture corpus for tests. The corpus
// lives beside the repository (shared/corpus next to the checkout), never
// inside it, so tests look for it by walking up from their directory and
// skip, saying so, where it is absent.
package corpustest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	once sync.Once
	root string
)

// find walks up from the working directory to the first parent that holds
// shared/corpus.
func find() string {
	once.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			c := filepath.Join(dir, "shared", "corpus")
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				root = c
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return root
}

// Root returns the corpus directory, or "" when there is none: for fuzz
// targets, which add the corpus to their seeds when it is there and run
// on their own seeds when it is not.
func Root() string { return find() }

// Dir returns the corpus directory, or skips the test when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	r := find()
	if r == "" {
		t.Skip("shared/corpus not found beside the repository")
	}
	return r
}

// Captures returns the capture files under the corpus subdirectory sub
// ("public", "asterisk", or "" for all of it), as paths relative to the
// corpus root, sorted.
func Captures(t testing.TB, sub string) []string {
	t.Helper()
	r := Dir(t)
	var out []string
	err := filepath.WalkDir(filepath.Join(r, sub), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || !(strings.Contains(name, ".pcap")) {
			return nil
		}
		rel, err := filepath.Rel(r, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("listing corpus %s: %v", sub, err)
	}
	slices.Sort(out)
	return out
}
