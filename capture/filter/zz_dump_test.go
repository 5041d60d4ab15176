package filter

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"golang.org/x/net/bpf"
)

func TestZZDump(t *testing.T) {
	expr := os.Getenv("EXPR")
	if expr == "" {
		t.Skip()
	}
	lt, _ := strconv.Atoi(os.Getenv("LT"))
	var raw []bpf.RawInstruction
	var err error
	if lt < 0 {
		raw, err = CompileSocket(expr, Socket{Devices: []Device{{1, 1}, {772, 1}, {0xfffe, 101}}, SkipOutgoing: []int{1}})
	} else {
		raw, err = Compile(expr, uint16(lt), 0)
	}
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	ins, _ := bpf.Disassemble(raw)
	for i, in := range ins {
		fmt.Printf("%03d %v\n", i, in)
	}
}
