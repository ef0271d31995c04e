package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
)

// ReLU applies max(x, 0) elementwise.
func ReLU(x *G.Node) (*G.Node, error) {
	if err := checkF32(x, "relu input"); err != nil {
		return nil, err
	}
	return G.ApplyOp(&reluOp{opBase: newBase(), shape: x.Shape().Clone()}, x)
}

type reluOp struct {
	opBase
	shape tensor.Shape
	out   outSlot
}

func (op *reluOp) Arity() int    { return 1 }
func (op *reluOp) Type() hm.Type { return hm.NewFnType(hm.TypeVariable('a'), hm.TypeVariable('a')) }
func (op *reluOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape, nil
}
func (op *reluOp) String() string        { return fmt.Sprintf("ReLU%v#%d", op.shape, op.id) }
func (op *reluOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *reluOp) Hashcode() uint32      { return hashOf(op) }
func (op *reluOp) DiffWRT(int) []bool    { return []bool{true} }
func (op *reluOp) slot() *outSlot        { return &op.out }
func (op *reluOp) inPlace() int          { return 0 }
func (op *reluOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *reluOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	kernels.ReLU(f32(pre), f32(in[0]))
	return pre, nil
}
func (op *reluOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&reluGradOp{opBase: newBase(), shape: op.shape}, out, grad)
	return G.Nodes{dx}, err
}

// reluGradOp: inputs (y = relu output, dy) → dx = dy where y > 0, else 0.
type reluGradOp struct {
	opBase
	shape tensor.Shape
	out   outSlot
}

func (op *reluGradOp) Arity() int { return 2 }
func (op *reluGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (op *reluGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *reluGradOp) String() string                                 { return fmt.Sprintf("ReLUGrad%v#%d", op.shape, op.id) }
func (op *reluGradOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *reluGradOp) Hashcode() uint32                               { return hashOf(op) }
func (op *reluGradOp) DiffWRT(int) []bool                             { return []bool{false, false} }
func (op *reluGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *reluGradOp) slot() *outSlot { return &op.out }
func (op *reluGradOp) inPlace() int   { return 1 } // dx over dy
func (op *reluGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *reluGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	kernels.ReLUBackward(f32(pre), f32(in[1]), f32(in[0]))
	return pre, nil
}

// StopGradient returns x unchanged in the forward pass and passes no gradient back: sg(x) in the VQ-VAE losses.
func StopGradient(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(&stopGradOp{opBase: newBase(), shape: x.Shape().Clone()}, x)
}

type stopGradOp struct {
	opBase
	shape tensor.Shape
	out   outSlot
}

func (op *stopGradOp) Arity() int    { return 1 }
func (op *stopGradOp) Type() hm.Type { return hm.NewFnType(hm.TypeVariable('a'), hm.TypeVariable('a')) }
func (op *stopGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape, nil
}
func (op *stopGradOp) String() string        { return fmt.Sprintf("StopGradient%v#%d", op.shape, op.id) }
func (op *stopGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *stopGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *stopGradOp) DiffWRT(int) []bool    { return []bool{false} }
func (op *stopGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return G.Nodes{nil}, nil
}
func (op *stopGradOp) slot() *outSlot { return &op.out }
func (op *stopGradOp) inPlace() int   { return 0 } // a copy onto itself costs nothing
func (op *stopGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *stopGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	copy(f32(pre), f32(in[0]))
	return pre, nil
}
