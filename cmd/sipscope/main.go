// Command sipscope tells a telephony engineer what happened to every call in
// a VoIP packet capture: the SIP ladder of each leg, the RTP streams and
// their quality, and whether the audio went through the PBX or directly
// between the phones, and why.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses, documented in the root command's help.
const (
	exitOK      = 0
	exitUsage   = 1
	exitDamaged = 2
)

// errDamaged is returned by commands that analyzed damaged input as far as
// possible; main turns it into exit status 2.
var errDamaged = errors.New("input was damaged")

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the command line and returns the exit status.
func execute(args []string, stdout, stderr io.Writer) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errDamaged):
		return exitDamaged
	default:
		fmt.Fprintln(stderr, "sipscope:", err)
		return exitUsage
	}
}
