package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// maxInstructions is the kernel's limit on classic BPF programs
// (BPF_MAXINSNS), which libpcap's own interpreter shares.
const maxInstructions = 4096

type label int

type itemKind uint8

const (
	itemTest itemKind = iota
	itemJump
	itemRet
)

// item is one step of the program before layout: a test (its loads and a
// conditional jump to two labels), an unconditional jump, or a return.
type item struct {
	kind itemKind
	test test
	key  string // identity of test.load, to skip reloading what A already holds
	t, f label
	ret  uint32
	long bool // a target is too far for an 8-bit offset: jump through ja
	dead bool // no path leads here
}

type asm struct {
	items  []item
	labels []int // label -> index of the item it stands before
}

func (a *asm) newLabel() label {
	a.labels = append(a.labels, -1)
	return label(len(a.labels) - 1)
}

func (a *asm) place(l label) { a.labels[l] = len(a.items) }

// gen emits n as short-circuit code that continues at t when n holds and
// at f when it does not. All jumps go forward.
func (a *asm) gen(n *node, t, f label) {
	switch n.op {
	case opTrue:
		a.items = append(a.items, item{kind: itemJump, t: t})
	case opFalse:
		a.items = append(a.items, item{kind: itemJump, t: f})
	case opTest:
		a.items = append(a.items, item{kind: itemTest, test: n.t, key: fmt.Sprintf("%#v", n.t.load), t: t, f: f})
	case opAnd:
		l := a.newLabel()
		a.gen(n.a, l, f)
		a.place(l)
		a.gen(n.b, t, f)
	case opOr:
		l := a.newLabel()
		a.gen(n.a, t, l)
		a.place(l)
		a.gen(n.b, t, f)
	case opNot:
		a.gen(n.a, f, t)
	}
}

// assemble turns the condition into a program that returns snaplen for
// the packets it accepts and 0 for the others.
func assemble(n *node, snaplen uint32) ([]bpf.RawInstruction, error) {
	a := &asm{}
	accept, reject := a.newLabel(), a.newLabel()
	a.gen(n, accept, reject)
	a.place(accept)
	a.items = append(a.items, item{kind: itemRet, ret: snaplen})
	a.place(reject)
	a.items = append(a.items, item{kind: itemRet, ret: 0})
	steps := 0
	for _, it := range a.items {
		if it.kind != itemJump {
			steps++
		}
	}
	if steps > maxInstructions {
		return nil, fmt.Errorf("compiled program is longer than the kernel's limit of %d instructions", maxInstructions)
	}
	a.dropReloads()
	prog, err := a.layout()
	if err != nil {
		return nil, err
	}
	if len(prog) > maxInstructions {
		return nil, fmt.Errorf("compiled program has %d instructions, more than the kernel's limit of %d", len(prog), maxInstructions)
	}
	return bpf.Assemble(prog)
}

// dropReloads removes unreachable steps, and loads when every path into a
// test leaves A (or X)
// holding what they would put there: "ldh [12]; jeq 0x800; jeq 0x86dd"
// rather than loading the EtherType twice. A's content is named by the
// whole load sequence that produced it, which includes the X it used.
func (a *asm) dropReloads() {
	const unknown = "\x00"
	type regs struct{ a, x string } // "" means no path seen yet
	entry := make([]regs, len(a.items))
	if len(entry) > 0 {
		entry[0] = regs{unknown, unknown}
	}
	merge := func(have *string, in string) {
		switch *have {
		case "":
			*have = in
		case in:
		default:
			*have = unknown
		}
	}
	for i := range a.items {
		it := &a.items[i]
		if entry[i].a == "" {
			it.dead = true
			continue
		}
		out := entry[i]
		var targets []label
		switch it.kind {
		case itemTest:
			targets = []label{it.t, it.f}
			load := it.test.load
			xKey := ""
			if len(load) > 0 {
				if _, ok := load[0].(bpf.LoadMemShift); ok {
					xKey = fmt.Sprintf("%#v", load[0])
				}
			}
			if entry[i].a == it.key {
				load = nil
			} else if xKey != "" && entry[i].x == xKey {
				load = load[1:]
			}
			it.test.load = load
			out.a = it.key
			if xKey != "" {
				out.x = xKey
			}
		case itemJump:
			targets = []label{it.t}
		}
		for _, l := range targets {
			j := a.labels[l]
			if j <= i {
				continue
			}
			merge(&entry[j].a, out.a)
			merge(&entry[j].x, out.x)
		}
	}
}

// layout resolves labels to offsets. A conditional jump whose target is
// more than 255 instructions ahead becomes "jcond 0,1; ja T; ja F".
func (a *asm) layout() ([]bpf.Instruction, error) {
	size := func(i int) int {
		it := a.items[i]
		if it.dead {
			return 0
		}
		switch it.kind {
		case itemTest:
			if it.long {
				return len(it.test.load) + 3
			}
			return len(it.test.load) + 1
		case itemJump:
			if a.labels[it.t] == i+1 {
				return 0
			}
		}
		return 1
	}
	pos := make([]int, len(a.items)+1)
	for {
		for i := range a.items {
			pos[i+1] = pos[i] + size(i)
		}
		changed := false
		for i, it := range a.items {
			if it.kind != itemTest || it.long {
				continue
			}
			c := pos[i] + len(it.test.load)
			if pos[a.labels[it.t]]-c-1 > 255 || pos[a.labels[it.f]]-c-1 > 255 {
				a.items[i].long = true
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	prog := make([]bpf.Instruction, 0, pos[len(a.items)])
	offset := func(from int, l label) (uint32, error) {
		if a.labels[l] < 0 || pos[a.labels[l]]-from-1 < 0 {
			return 0, fmt.Errorf("internal error: jump backwards at %d", from)
		}
		return uint32(pos[a.labels[l]] - from - 1), nil
	}
	for i, it := range a.items {
		if it.dead {
			continue
		}
		switch it.kind {
		case itemRet:
			prog = append(prog, bpf.RetConstant{Val: it.ret})
		case itemJump:
			if size(i) == 0 {
				continue
			}
			d, err := offset(len(prog), it.t)
			if err != nil {
				return nil, err
			}
			prog = append(prog, bpf.Jump{Skip: d})
		case itemTest:
			prog = append(prog, it.test.load...)
			c := len(prog)
			if !it.long {
				dt, err := offset(c, it.t)
				if err != nil {
					return nil, err
				}
				df, err := offset(c, it.f)
				if err != nil {
					return nil, err
				}
				prog = append(prog, bpf.JumpIf{Cond: it.test.cond, Val: it.test.val, SkipTrue: uint8(dt), SkipFalse: uint8(df)})
				continue
			}
			prog = append(prog, bpf.JumpIf{Cond: it.test.cond, Val: it.test.val, SkipTrue: 0, SkipFalse: 1})
			for _, l := range []label{it.t, it.f} {
				d, err := offset(len(prog), l)
				if err != nil {
					return nil, err
				}
				prog = append(prog, bpf.Jump{Skip: d})
			}
		}
	}
	return prog, nil
}
