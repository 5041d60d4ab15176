package pcaptest

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TsharkFields runs tshark over the capture at path and returns, for every
// frame that passes the display filter, the values of fields keyed by the
// frame number. opts are tshark's -E options for fields that occur more
// than once ("occurrence=f", "aggregator=,"). The test is skipped where
// tshark is not installed.
func TsharkFields(t testing.TB, path, filter string, opts []string, fields ...string) map[int][]string {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	args := []string{"-r", path, "-Y", filter, "-T", "fields", "-E", "separator=|"}
	for _, o := range opts {
		args = append(args, "-E", o)
	}
	args = append(args, "-e", "frame.number")
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	rows := map[int][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if n, err := strconv.Atoi(f[0]); err == nil && len(f) == 1+len(fields) {
			rows[n] = f[1:]
		}
	}
	return rows
}
