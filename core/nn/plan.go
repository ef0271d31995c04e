package nn

import (
	"cmp"
	"fmt"
	"slices"

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
	Peak    int64 // the most bytes of placed values alive at one time (a value written in place counted once): Bytes's lower bound
}

// peak is MemoryPlan.Peak: at each position, the bytes of every buffer that holds a live value (the
// largest such value of the buffer), maximised over positions.
func (pl *planner) peak() int64 {
	var best int64
	live := make([]int, len(pl.bufs))
	for p := range pl.order {
		clear(live)
		for q := 0; q <= p; q++ {
			if b := pl.assign[q]; b >= 0 && pl.last[q] >= p {
				live[b] = max(live[b], pl.order[q].Shape().TotalSize())
			}
		}
		var sum int64
		for _, v := range live {
			sum += 4 * int64(v)
		}
		best = max(best, sum)
	}
	return best
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
	plan.Peak = pl.peak()
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
// lifetimes (closed position intervals) of the groups placed in it, which never overlap.
type virtualBuf struct {
	size  int
	spans [][2]int
}

// free reports whether the buffer holds nothing during positions [from, to].
func (b *virtualBuf) free(from, to int) bool {
	for _, sp := range b.spans {
		if sp[0] <= to && from <= sp[1] {
			return false
		}
	}
	return true
}

// lifetime is a chain of values that share one buffer because each op of the chain writes over its
// input (op.inPlace): it lives from the first value's op to the last reader of its last value.
type lifetime struct {
	from, to int   // positions, inclusive
	size     int   // elements: the largest value of the chain
	members  []int // positions of the chain's values
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

// assignBuffers gives every value of this package's ops a virtual buffer. First it chains each value to
// the input its op may overwrite (inPlaceInput), and then it places the chains largest first, each in the
// best-fitting buffer that holds nothing during its lifetime, or in a new buffer. Placing by size instead
// of in execution order keeps small values from claiming a large buffer that a large value needs later
// and forcing another large buffer into existence: on the residual preset's training graph (batch 16,
// 256×256) the buffers add up to 536 MiB, the most that is ever alive at once, where a first-free
// assignment in execution order needed 681.
func (pl *planner) assignBuffers() *MemoryPlan {
	n := len(pl.order)
	pl.assign = make([]int, n)
	chain := make([]int, n) // lifetime index of order[p]'s value, -1 if not placed
	var lives []lifetime
	plan := &MemoryPlan{}
	for p, node := range pl.order {
		pl.assign[p], chain[p] = -1, -1
		op, ok := node.Op().(plannable)
		if !ok {
			continue
		}
		plan.Ops++
		size := node.Shape().TotalSize()
		if c := pl.inPlaceInput(p, op, size); c >= 0 && chain[c] >= 0 && lives[chain[c]].to == p {
			l := &lives[chain[c]]
			l.to = pl.last[p]
			l.members = append(l.members, p)
			chain[p] = chain[c]
			plan.InPlace++
			continue
		}
		lives = append(lives, lifetime{from: p, to: pl.last[p], size: size, members: []int{p}})
		chain[p] = len(lives) - 1
	}
	byBytes := make([]int, len(lives))
	for i := range byBytes {
		byBytes[i] = i
	}
	slices.SortStableFunc(byBytes, func(a, b int) int { return cmp.Compare(lives[b].size, lives[a].size) })
	for _, li := range byBytes {
		l := &lives[li]
		b := -1
		for i, vb := range pl.bufs {
			if vb.size >= l.size && vb.free(l.from, l.to) && (b < 0 || vb.size < pl.bufs[b].size) {
				b = i
			}
		}
		if b < 0 {
			pl.bufs = append(pl.bufs, &virtualBuf{size: l.size})
			b = len(pl.bufs) - 1
		}
		pl.bufs[b].spans = append(pl.bufs[b].spans, [2]int{l.from, l.to})
		for _, p := range l.members {
			pl.assign[p] = b
		}
	}
	return plan
}

// inPlaceInput returns the position of the input that op at position p may overwrite (op.inPlace), when
// that input is one of this package's values, read only once by the op, dies there and has the output's
// size; else -1.
func (pl *planner) inPlaceInput(p int, op plannable, size int) int {
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
	if _, ours := c.Op().(plannable); ours && pl.last[cp] == p && uses == 1 && c.Shape().TotalSize() == size {
		return cp
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
