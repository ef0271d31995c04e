package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mask multiplies a tensor elementwise by a constant 0/1 (or any) mask of the same size:
//
//	y = w ⊙ m,  ∂L/∂w = ∂L/∂y ⊙ m.
//
// The PixelCNN prior's masked convolutions are ordinary convolutions whose weights pass through Mask first:
// the taps that would see the current or later positions contribute nothing and receive no gradient, so they
// stay whatever they were (zero, from initialisation) under any optimiser. The mask is held, not copied.
func Mask(w *G.Node, mask []float32) (*G.Node, error) {
	if err := checkF32(w, "mask input"); err != nil {
		return nil, err
	}
	if w.Shape().TotalSize() != len(mask) {
		return nil, fmt.Errorf("mask: %d mask values for a tensor of shape %v", len(mask), w.Shape())
	}
	return G.ApplyOp(&maskOp{opBase: newBase(), shape: w.Shape().Clone(), mask: mask}, w)
}

type maskOp struct {
	opBase
	shape tensor.Shape
	mask  []float32
	out   outSlot
}

func (op *maskOp) Arity() int { return 1 }
func (op *maskOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *maskOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *maskOp) String() string                                 { return fmt.Sprintf("Mask%v#%d", op.shape, op.id) }
func (op *maskOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *maskOp) Hashcode() uint32                               { return hashOf(op) }
func (op *maskOp) DiffWRT(int) []bool                             { return []bool{true} }
func (op *maskOp) slot() *outSlot                                 { return &op.out }
func (op *maskOp) inPlace() int                                   { return 0 }
func (op *maskOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *maskOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	y, w := f32(pre), f32(in[0])
	for i, m := range op.mask {
		y[i] = w[i] * m
	}
	return pre, nil
}

// The gradient of a mask is the same mask applied to the incoming gradient.
func (op *maskOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dw, err := Mask(grad, op.mask)
	return G.Nodes{dw}, err
}
