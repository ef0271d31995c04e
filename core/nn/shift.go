package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
)

// ShiftRight moves every row of x [N,C,H,W] s columns to the right, filling with zeros:
//
//	y[n,c,i,j] = x[n,c,i,j−s] for s ≤ j < W (j−s < W for negative s), else 0.
//
// A negative s shifts left; the gradient of a shift by s is the shift by −s. The PixelCNN prior builds its
// horizontal stack from it: a 1×k causal convolution along a row is Σ_s W_s·x(i, j−s) over the shifts
// s = 0…k−1 (s ≥ 1 for the first, type-A, layer), a sum of 1×1 convolutions of shifted copies that costs
// no multiplications by masked-out zeros.
func ShiftRight(x *G.Node, s int) (*G.Node, error) {
	if err := checkF32(x, "shift input"); err != nil {
		return nil, err
	}
	if x.Shape().Dims() != 4 {
		return nil, fmt.Errorf("shift: input shape %v, want [N,C,H,W]", x.Shape())
	}
	return G.ApplyOp(&shiftOp{opBase: newBase(), shape: x.Shape().Clone(), s: s}, x)
}

type shiftOp struct {
	opBase
	shape tensor.Shape
	s     int
	out   outSlot
}

func (op *shiftOp) Arity() int { return 1 }
func (op *shiftOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *shiftOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *shiftOp) String() string {
	return fmt.Sprintf("ShiftRight%v%+d#%d", op.shape, op.s, op.id)
}
func (op *shiftOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *shiftOp) Hashcode() uint32      { return hashOf(op) }
func (op *shiftOp) DiffWRT(int) []bool    { return []bool{true} }
func (op *shiftOp) slot() *outSlot        { return &op.out }
func (op *shiftOp) inPlace() int          { return -1 }
func (op *shiftOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *shiftOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	kernels.ShiftRows(f32(pre), f32(in[0]), op.shape.TotalSize()/op.shape[3], op.shape[3], op.s)
	return pre, nil
}
func (op *shiftOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := ShiftRight(grad, -op.s)
	return G.Nodes{dx}, err
}
