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
	pl, err := newPlanner(g)
	if err != nil {
		return nil, err
	}
	if err := pl.liveness(keep); err != nil {
		return nil, err
	}
	plan := pl.assignBuffers()
	pl.place(plan)
	return plan, nil
}

// planner holds what PlanMemory works out about one graph: the nodes in execution order and, per position,
// the inputs, the last position that reads the value, and the virtual buffer assigned to it.
type planner struct {
	order  []*G.Node       // nodes in the tape machine's execution order
	pos    map[*G.Node]int // position of each node in order
	kids   []G.Nodes       // inputs of order[p], in argument order
	last   []int           // last position at which order[p]'s value is read; len(order) when it must outlive the run
	assign []int           // virtual buffer of order[p]'s value; -1 for values this package does not place
	bufs   []*virtualBuf   // the virtual buffers assign indexes
}

// virtualBuf is a buffer of the plan before any memory exists: the largest value it must hold and the
// position of the node whose value it holds now (-1 when free).
type virtualBuf struct {
	size  int
	owner int
}

// newPlanner sorts g into the tape machine's execution order (the reverse of the topological sort: inputs
// first) and lists every node's inputs.
func newPlanner(g *G.ExprGraph) (*planner, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("plan memory: %w", err)
	}
	n := len(sorted)
	pl := &planner{order: make([]*G.Node, n), pos: make(map[*G.Node]int, n), kids: make([]G.Nodes, n)}
	for i := range sorted {
		pl.order[i] = sorted[n-1-i]
		pl.pos[pl.order[i]] = i
	}
	for i, node := range pl.order {
		pl.kids[i] = childrenOf(g, node)
	}
	return pl, nil
}

// liveness sets last: a value lives until its last reader has run, to the end of the run when nothing reads
// it or it is in keep, and, when a foreign op (not of this package) reads it, as long as that op's output.
func (pl *planner) liveness(keep []*G.Node) error {
	n := len(pl.order)
	kept := make(map[*G.Node]bool, len(keep))
	for _, k := range keep {
		kept[k] = true
	}
	pl.last = make([]int, n)
	for p := range pl.last {
		pl.last[p] = -1
	}
	for p := n - 1; p >= 0; p-- {
		node := pl.order[p]
		if pl.last[p] < 0 || kept[node] {
			pl.last[p] = n
		}
		_, ours := node.Op().(plannable)
		for _, c := range pl.kids[p] {
			cp, ok := pl.pos[c]
			if !ok {
				return fmt.Errorf("plan memory: %v reads %v, which is not in the graph", node, c)
			}
			pl.last[cp] = max(pl.last[cp], p)
			if !ours && node.Op() != nil {
				// A foreign op may return (or write into) its input's memory: keep it while the output lives.
				pl.last[cp] = max(pl.last[cp], pl.last[p])
			}
		}
	}
	return nil
}

// assignBuffers walks the execution order and gives every value of this package's ops a virtual buffer: its
// in-place input's when the op allows it and that input dies here, else a free one (pickBuf), else a new
// one. A buffer is freed after the last read of its value.
func (pl *planner) assignBuffers() *MemoryPlan {
	n := len(pl.order)
	pl.assign = make([]int, n)
	release := make([][]int, n)
	plan := &MemoryPlan{}
	for p, node := range pl.order {
		pl.assign[p] = -1
		if op, ok := node.Op().(plannable); ok {
			size := node.Shape().TotalSize()
			b := pl.inPlaceBuf(p, op, size)
			if b >= 0 {
				plan.InPlace++
			} else {
				b = pickBuf(len(pl.bufs), func(i int) (int, bool) { return pl.bufs[i].size, pl.bufs[i].owner < 0 }, size)
			}
			if b < 0 {
				pl.bufs = append(pl.bufs, &virtualBuf{})
				b = len(pl.bufs) - 1
			}
			pl.bufs[b].size = max(pl.bufs[b].size, size)
			pl.bufs[b].owner = p
			pl.assign[p] = b
			plan.Ops++
			if pl.last[p] < n {
				release[pl.last[p]] = append(release[pl.last[p]], p)
			}
		}
		for _, q := range release[p] {
			if b := pl.bufs[pl.assign[q]]; b.owner == q {
				b.owner = -1
			}
		}
	}
	return plan
}

// inPlaceBuf returns the buffer of the input that op at position p may overwrite (op.inPlace), when that
// input is read only once by it, dies there, still holds its buffer and has the output's size; else -1.
func (pl *planner) inPlaceBuf(p int, op plannable, size int) int {
	j := op.inPlace()
	if j < 0 || j >= len(pl.kids[p]) {
		return -1
	}
	c := pl.kids[p][j]
	cp := pl.pos[c]
	uses := 0
	for _, o := range pl.kids[p] {
		if o == c {
			uses++
		}
	}
	if a := pl.assign[cp]; a >= 0 && pl.bufs[a].owner == cp && pl.last[cp] == p && uses == 1 && c.Shape().TotalSize() == size {
		return a
	}
	return -1
}

// place allocates the real buffers and gives every placed op its output tensor over its buffer, with the
// buffers and owners of its planned inputs for outSlot.output's check.
func (pl *planner) place(plan *MemoryPlan) {
	real := make([]*planBuf, len(pl.bufs))
	for i, b := range pl.bufs {
		real[i] = &planBuf{data: make([]float32, b.size)}
		plan.Bytes += 4 * int64(b.size)
	}
	plan.Buffers = len(pl.bufs)
	for p, node := range pl.order {
		if pl.assign[p] < 0 {
			continue
		}
		s := node.Op().(plannable).slot()
		s.name = node.Op().String()
		s.buf = real[pl.assign[p]]
		s.val = tensor.New(tensor.WithShape(node.Shape().Clone()...), tensor.WithBacking(s.buf.data[:node.Shape().TotalSize()]))
		s.ins, s.owner = s.ins[:0], s.owner[:0]
		for _, c := range pl.kids[p] {
			if cp := pl.pos[c]; pl.assign[cp] >= 0 {
				s.ins = append(s.ins, real[pl.assign[cp]])
				s.owner = append(s.owner, c.Op().(plannable).slot())
			}
		}
	}
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
