package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Memory planning.
//
// gorgonia's tape machine gives every node its own register and clears the registers on every Reset, so
// without help each op of this package would allocate its output afresh on every run: for the residual
// preset at batch 16 that is well over 1 GiB of new memory per training step, all of it live at once, plus
// as much again of garbage for the collector. PlanMemory instead lays the outputs of this package's ops
// out once, over a few buffers that ops whose values are never alive at the same time share (the static
// liveness of the graph in the tape machine's execution order), and the ops then write into their planned
// buffers on every run: nothing is allocated per step, and the peak is the largest set of values alive at
// one time rather than the sum of all of them.

// planBuf is one buffer of a memory plan, shared by ops whose outputs are never alive at the same time.
type planBuf struct {
	data  []float32
	owner *outSlot // whose output the buffer holds now (the last op that wrote it)
}

// outSlot is the output of one op of this package: unplanned (a fresh tensor per run) until PlanMemory
// gives it a tensor over a planned buffer.
type outSlot struct {
	val   *tensor.Dense
	buf   *planBuf
	ins   []*planBuf // buffers holding this op's inputs (those that are planned outputs)...
	owner []*outSlot // ...and whose output each must still hold when the op runs
	name  string
}

// output returns the tensor the op writes its output into. For a planned op it first checks that every
// planned input still holds the value the op reads, which fails only when the graph ran in another order
// than the plan assumed (say, nodes were added after PlanMemory).
func (s *outSlot) output(op fmt.Stringer, shape tensor.Shape) (*tensor.Dense, error) {
	if s.val == nil {
		return newDense(shape), nil
	}
	for i, b := range s.ins {
		if b.owner != s.owner[i] {
			return nil, fmt.Errorf("%v: memory plan violated: input %d was overwritten by %s (was the graph changed after PlanMemory?)",
				op, i, b.owner.name)
		}
	}
	s.buf.owner = s
	return s.val, nil
}

// plannable is an op whose output PlanMemory can place.
type plannable interface {
	G.Op
	slot() *outSlot
	// inPlace returns the index of an input whose buffer the op may write its output into when that input
	// is read by nothing later (elementwise ops), or -1.
	inPlace() int
}

// MemoryPlan is the result of PlanMemory.
type MemoryPlan struct {
	Buffers int   // number of shared buffers
	Bytes   int64 // their total size
	Ops     int   // ops whose outputs were placed
	InPlace int   // of those, how many write over one of their inputs
}

// PlanMemory places the outputs of every op of this package in g over shared, reusable buffers (see the
// comment at the top of this file) and returns the plan's size. Call it once the graph is complete
// (after G.Grad), before running it in a tape machine; values of ops added later are not planned.
//
// After a run, a node's value stays valid only if the node is read by no other node (the gradients, the
// losses), or it is listed in keep; any other value may have been overwritten by a later op. Ops that are
// not of this package (gorgonia's own, such as the Add that sums two gradients, which may overwrite its
// first input) keep their inputs alive for as long as their own output lives.
func PlanMemory(g *G.ExprGraph, keep ...*G.Node) (*MemoryPlan, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("plan memory: %w", err)
	}
	// The tape machine executes the reverse of the topological sort (inputs first).
	n := len(sorted)
	order := make([]*G.Node, n)
	pos := make(map[*G.Node]int, n)
	for i := range sorted {
		order[i] = sorted[n-1-i]
		pos[order[i]] = i
	}
	kids := make([]G.Nodes, n)
	for i, node := range order {
		kids[i] = childrenOf(g, node)
	}
	kept := make(map[*G.Node]bool, len(keep))
	for _, k := range keep {
		kept[k] = true
	}
	// last[p]: the last position at which node p's value is read; n when it must outlive the run.
	last := make([]int, n)
	for p := range last {
		last[p] = -1
	}
	for p := n - 1; p >= 0; p-- {
		node := order[p]
		if last[p] < 0 || kept[node] {
			last[p] = n
		}
		_, ours := node.Op().(plannable)
		for _, c := range kids[p] {
			cp, ok := pos[c]
			if !ok {
				return nil, fmt.Errorf("plan memory: %v reads %v, which is not in the graph", node, c)
			}
			last[cp] = max(last[cp], p)
			if !ours && node.Op() != nil {
				// A foreign op may return (or write into) its input's memory: keep it while the output lives.
				last[cp] = max(last[cp], last[p])
			}
		}
	}

	type vbuf struct {
		size  int
		owner int // position of the node whose value it holds; -1 when free
	}
	var bufs []*vbuf
	assign := make([]int, n)
	release := make([][]int, n)
	plan := &MemoryPlan{}
	for p, node := range order {
		assign[p] = -1
		op, ok := node.Op().(plannable)
		if ok {
			size := node.Shape().TotalSize()
			b := -1
			if j := op.inPlace(); j >= 0 && j < len(kids[p]) {
				c := kids[p][j]
				cp := pos[c]
				uses := 0
				for _, o := range kids[p] {
					if o == c {
						uses++
					}
				}
				if a := assign[cp]; a >= 0 && bufs[a].owner == cp && last[cp] == p && uses == 1 && c.Shape().TotalSize() == size {
					b = a
					plan.InPlace++
				}
			}
			if b < 0 {
				b = pickBuf(len(bufs), func(i int) (int, bool) { return bufs[i].size, bufs[i].owner < 0 }, size)
			}
			if b < 0 {
				bufs = append(bufs, &vbuf{})
				b = len(bufs) - 1
			}
			bufs[b].size = max(bufs[b].size, size)
			bufs[b].owner = p
			assign[p] = b
			plan.Ops++
			if last[p] < n {
				release[last[p]] = append(release[last[p]], p)
			}
		}
		for _, q := range release[p] {
			if b := bufs[assign[q]]; b.owner == q {
				b.owner = -1
			}
		}
	}

	real := make([]*planBuf, len(bufs))
	for i, b := range bufs {
		real[i] = &planBuf{data: make([]float32, b.size)}
		plan.Bytes += 4 * int64(b.size)
	}
	plan.Buffers = len(bufs)
	for p, node := range order {
		if assign[p] < 0 {
			continue
		}
		s := node.Op().(plannable).slot()
		s.name = node.Op().String()
		s.buf = real[assign[p]]
		s.val = tensor.New(tensor.WithShape(node.Shape().Clone()...), tensor.WithBacking(s.buf.data[:node.Shape().TotalSize()]))
		s.ins, s.owner = s.ins[:0], s.owner[:0]
		for _, c := range kids[p] {
			if cp := pos[c]; assign[cp] >= 0 {
				s.ins = append(s.ins, real[assign[cp]])
				s.owner = append(s.owner, c.Op().(plannable).slot())
			}
		}
	}
	return plan, nil
}

// childrenOf lists the inputs of node in g, in argument order.
func childrenOf(g *G.ExprGraph, node *G.Node) G.Nodes {
	var out G.Nodes
	for it := g.From(node.ID()); it.Next(); {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// pickBuf chooses a free buffer for a value of size elements among n candidates (info gives a buffer's
// size and whether it is free): the smallest free one that is large enough, else the largest free one
// (which will grow), else -1.
func pickBuf(n int, info func(i int) (size int, free bool), size int) int {
	fit, fitSize, big, bigSize := -1, 0, -1, -1
	for i := range n {
		s, free := info(i)
		if !free {
			continue
		}
		if s >= size && (fit < 0 || s < fitSize) {
			fit, fitSize = i, s
		}
		if s > bigSize {
			big, bigSize = i, s
		}
	}
	if fit >= 0 {
		return fit
	}
	return big
}
