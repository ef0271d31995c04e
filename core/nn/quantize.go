package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
)

// Quantizer is the nearest-code lookup in a graph: z_e [N,D,h,w] and codebook E [K,D] → z_q [N,D,h,w] with
// z_q(n,:,i,j) = E[k*], k* = argmin_k ‖z − E_k‖². The gradient flows to E only (scatter-added per code); z_e
// gets its gradient through the straight-through estimator built around this op (see model's graph).
// After a run, Indices holds the chosen codes [N,h,w].
type Quantizer struct {
	Indices []int32
	op      *quantizeOp
}

// Quantize adds the lookup to the graph.
func Quantize(ze, codebook *G.Node) (*G.Node, *Quantizer, error) {
	zs, es := shapeOf(ze), shapeOf(codebook)
	if len(zs) != 4 || len(es) != 2 || zs[1] != es[1] {
		return nil, nil, fmt.Errorf("quantize: z_e %v and codebook %v: want [N,D,h,w] and [K,D]", zs, es)
	}
	q := &Quantizer{Indices: make([]int32, zs[0]*zs[2]*zs[3])}
	op := &quantizeOp{opBase: newBase(), n: zs[0], d: zs[1], h: zs[2], w: zs[3], k: es[0], q: q}
	q.op = op
	out, err := G.ApplyOp(op, ze, codebook)
	return out, q, err
}

type quantizeOp struct {
	opBase
	n, d, h, w, k int
	q             *Quantizer
	out           outSlot
}

func (op *quantizeOp) Arity() int { return 2 }
func (op *quantizeOp) Type() hm.Type {
	return hm.NewFnType(tensorT(4), tensorT(2), tensorT(4))
}
func (op *quantizeOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.d, op.h, op.w}, nil
}
func (op *quantizeOp) String() string {
	return fmt.Sprintf("Quantize{N%d D%d %dx%d K%d}#%d", op.n, op.d, op.h, op.w, op.k, op.id)
}
func (op *quantizeOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *quantizeOp) Hashcode() uint32      { return hashOf(op) }
func (op *quantizeOp) DiffWRT(int) []bool    { return []bool{false, true} }
func (op *quantizeOp) slot() *outSlot        { return &op.out }
func (op *quantizeOp) inPlace() int          { return -1 }
func (op *quantizeOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, tensor.Shape{op.n, op.d, op.h, op.w})
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *quantizeOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	ze, e, zq := f32(in[0]), f32(in[1]), f32(pre)
	kernels.NearestCodes(ze, op.n, op.d, op.h*op.w, e, op.k, op.q.Indices)
	kernels.GatherCodes(op.q.Indices, e, op.n, op.d, op.h*op.w, op.k, zq)
	return pre, nil
}
func (op *quantizeOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	de, err := G.ApplyOp(&codeGradOp{opBase: newBase(), q: op}, grad)
	return G.Nodes{nil, de}, err
}

// codeGradOp: dz_q [N,D,h,w] → dE [K,D], the per-code sum of the gradients at the positions that chose it.
type codeGradOp struct {
	opBase
	q   *quantizeOp
	out outSlot
}

func (op *codeGradOp) Arity() int    { return 1 }
func (op *codeGradOp) Type() hm.Type { return hm.NewFnType(tensorT(4), tensorT(2)) }
func (op *codeGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.q.k, op.q.d}, nil
}
func (op *codeGradOp) String() string        { return fmt.Sprintf("CodeGrad(%v)#%d", op.q, op.id) }
func (op *codeGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *codeGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *codeGradOp) DiffWRT(int) []bool    { return []bool{false} }
func (op *codeGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *codeGradOp) slot() *outSlot { return &op.out }
func (op *codeGradOp) inPlace() int   { return -1 }
func (op *codeGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, tensor.Shape{op.q.k, op.q.d})
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *codeGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	de := f32(pre)
	clear(de)
	q := op.q
	kernels.ScatterCodeGrad(q.q.Indices, f32(in[0]), q.n, q.d, q.h*q.w, q.k, de)
	return pre, nil
}
