// Package longtest gates the tests that take minutes (a million Call-IDs,
// a ten-thousand-call report) so that CI stays fast: they run at full size
// only when SIPSCOPE_LONG=1 is set.
package longtest

import (
	"os"
	"testing"
)

// Enabled reports whether long tests were asked for.
func Enabled() bool { return os.Getenv("SIPSCOPE_LONG") == "1" }

// Require skips the test unless long tests were asked for.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() || !Enabled() {
		t.Skip("long test: set SIPSCOPE_LONG=1 to run it")
	}
}
