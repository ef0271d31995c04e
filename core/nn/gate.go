package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
)

// Gate is the gated activation unit of the PixelCNN prior (van den Oord et al. 2016, "Conditional Image
// Generation with PixelCNN Decoders", eq. 2): the first half of the channels passes through tanh and is
// scaled by the sigmoid of the second half,
//
//	a [N,2C,H,W] → y[n,c] = tanh(a[n,c]) · σ(a[n,C+c]),  y [N,C,H,W],
//
// with gradients ∂y/∂a₁ = (1 − tanh² a₁)·σ(a₂) and ∂y/∂a₂ = tanh(a₁)·σ(a₂)·(1 − σ(a₂)).
func Gate(a *G.Node) (*G.Node, error) {
	if err := checkF32(a, "gate input"); err != nil {
		return nil, err
	}
	s := a.Shape()
	if s.Dims() != 4 || s[1]%2 != 0 {
		return nil, fmt.Errorf("gate: input shape %v, want [N,2C,H,W]", s)
	}
	return G.ApplyOp(&gateOp{opBase: newBase(), in: s.Clone()}, a)
}

type gateOp struct {
	opBase
	in  tensor.Shape // [N,2C,H,W]
	out outSlot
}

func (op *gateOp) outShape() tensor.Shape {
	return tensor.Shape{op.in[0], op.in[1] / 2, op.in[2], op.in[3]}
}
func (op *gateOp) dims() (n, c, hw int) { return op.in[0], op.in[1] / 2, op.in[2] * op.in[3] }

func (op *gateOp) Arity() int                                     { return 1 }
func (op *gateOp) Type() hm.Type                                  { return hm.NewFnType(tensorT(4), tensorT(4)) }
func (op *gateOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.outShape(), nil }
func (op *gateOp) String() string                                 { return fmt.Sprintf("Gate%v#%d", op.in, op.id) }
func (op *gateOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *gateOp) Hashcode() uint32                               { return hashOf(op) }
func (op *gateOp) DiffWRT(int) []bool                             { return []bool{true} }
func (op *gateOp) slot() *outSlot                                 { return &op.out }
func (op *gateOp) inPlace() int                                   { return -1 }
func (op *gateOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.outShape())
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *gateOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	n, c, hw := op.dims()
	kernels.Gate(f32(pre), f32(in[0]), n, c, hw)
	return pre, nil
}
func (op *gateOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	da, err := G.ApplyOp(&gateGradOp{opBase: newBase(), g: op}, in[0], grad)
	return G.Nodes{da}, err
}

// gateGradOp: (a, dy) → da, the gradient of Gate.
type gateGradOp struct {
	opBase
	g   *gateOp
	out outSlot
}

func (op *gateGradOp) Arity() int { return 2 }
func (op *gateGradOp) Type() hm.Type {
	return hm.NewFnType(tensorT(4), tensorT(4), tensorT(4))
}
func (op *gateGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.g.in, nil }
func (op *gateGradOp) String() string                                 { return fmt.Sprintf("GateGrad%v#%d", op.g.in, op.id) }
func (op *gateGradOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *gateGradOp) Hashcode() uint32                               { return hashOf(op) }
func (op *gateGradOp) DiffWRT(int) []bool                             { return []bool{false, false} }
func (op *gateGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *gateGradOp) slot() *outSlot { return &op.out }
func (op *gateGradOp) inPlace() int   { return -1 }
func (op *gateGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.g.in)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *gateGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	n, c, hw := op.g.dims()
	kernels.GateGrad(f32(pre), f32(in[0]), f32(in[1]), n, c, hw)
	return pre, nil
}
