package filter

import "golang.org/x/net/bpf"

type nodeOp uint8

const (
	opFalse nodeOp = iota
	opTrue
	opTest
	opAnd
	opOr
	opNot
)

// node is a boolean condition over a packet: a tree of and/or/not over
// tests. The code generator turns it into short-circuit jumps.
type node struct {
	op   nodeOp
	a, b *node
	t    test
}

// test loads a value into the A register and compares it with a
// constant. cond is one of the four comparisons classic BPF has
// (jeq, jgt, jge, jset); the others are built with not.
type test struct {
	load []bpf.Instruction
	cond bpf.JumpTest
	val  uint32
}

var (
	nodeFalse = &node{op: opFalse}
	nodeTrue  = &node{op: opTrue}
)

func boolNode(v bool) *node {
	if v {
		return nodeTrue
	}
	return nodeFalse
}

func cmp(cond bpf.JumpTest, val uint32, load ...bpf.Instruction) *node {
	return &node{op: opTest, t: test{load: load, cond: cond, val: val}}
}

// and, or and not fold constants, so that a condition which cannot hold
// for a link type (ARP on raw IP) costs no instructions.
func and(a, b *node) *node {
	switch {
	case a.op == opFalse || b.op == opFalse:
		return nodeFalse
	case a.op == opTrue:
		return b
	case b.op == opTrue:
		return a
	}
	return &node{op: opAnd, a: a, b: b}
}

func or(a, b *node) *node {
	switch {
	case a.op == opTrue || b.op == opTrue:
		return nodeTrue
	case a.op == opFalse:
		return b
	case b.op == opFalse:
		return a
	}
	return &node{op: opOr, a: a, b: b}
}

func not(a *node) *node {
	switch a.op {
	case opTrue:
		return nodeFalse
	case opFalse:
		return nodeTrue
	case opNot:
		return a.a
	}
	return &node{op: opNot, a: a}
}

func andAll(ns ...*node) *node {
	n := nodeTrue
	for _, x := range ns {
		n = and(n, x)
	}
	return n
}

func orAll(ns ...*node) *node {
	n := nodeFalse
	for _, x := range ns {
		n = or(n, x)
	}
	return n
}

// Loads of packet bytes. Offsets are absolute from the start of the frame.
func ldb(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 1} }
func ldh(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 2} }
func ldw(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 4} }
func andK(mask uint32) bpf.Instruction {
	return bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask}
}

// ldxIHL sets X to the IPv4 header length, read from the IHL nibble of
// the header at off (BPF_MSH, libpcap's "ldxb 4*([off]&0xf)").
func ldxIHL(off uint32) bpf.Instruction { return bpf.LoadMemShift{Off: off} }

// ldhx loads the half-word at X+off.
func ldhx(off uint32) bpf.Instruction { return bpf.LoadIndirect{Off: off, Size: 2} }

func ldExt(e bpf.Extension) bpf.Instruction { return bpf.LoadExtension{Num: e} }
