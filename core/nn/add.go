package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
)

// Add returns a + b elementwise for two tensors of the same shape (the residual connection x + h). The
// gradient reaches both operands unchanged. Unlike gorgonia's Add, its output can be placed by PlanMemory
// (over a when nothing reads a afterwards).
func Add(a, b *G.Node) (*G.Node, error) {
	if !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("add: shapes %v and %v differ", a.Shape(), b.Shape())
	}
	if err := checkF32(a, "add input"); err != nil {
		return nil, err
	}
	if err := checkF32(b, "add input"); err != nil {
		return nil, err
	}
	return G.ApplyOp(&addOp{opBase: newBase(), shape: a.Shape().Clone()}, a, b)
}

type addOp struct {
	opBase
	shape tensor.Shape
	out   outSlot
}

func (op *addOp) Arity() int { return 2 }
func (op *addOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (op *addOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *addOp) String() string                                 { return fmt.Sprintf("Add%v#%d", op.shape, op.id) }
func (op *addOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *addOp) Hashcode() uint32                               { return hashOf(op) }
func (op *addOp) DiffWRT(int) []bool                             { return []bool{true, true} }
func (op *addOp) slot() *outSlot                                 { return &op.out }
func (op *addOp) inPlace() int                                   { return 0 }
func (op *addOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *addOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	kernels.Add(f32(pre), f32(in[0]), f32(in[1]))
	return pre, nil
}
func (op *addOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}
