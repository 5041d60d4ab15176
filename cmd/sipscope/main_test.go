package main

import (
	"bytes"
	"testing"
)

// runCLI runs sipscope with args and returns its standard output, standard
// error and exit status.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(args, &out, &errb)
	return out.String(), errb.String(), code
}
