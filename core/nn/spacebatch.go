package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
)

// SpaceToBatch regroups x [N,C,H,W] into its d² interleaved sub-grids, [N·d²,C,H/d,W/d]
// (kernels.SpaceToBatch; d divides H and W):
//
//	y[(n·d + a)·d + b, c, i, j] = x[n, c, i·d + a, j·d + b].
//
// With BatchToSpace around an ordinary convolution it makes a convolution dilated by d. Both are
// permutations, so the gradient of each is the other applied to the incoming gradient.
func SpaceToBatch(x *G.Node, d int) (*G.Node, error) { return spaceBatch(x, d, true) }

// BatchToSpace is the inverse of SpaceToBatch: x [N·d²,C,H/d,W/d] → [N,C,H,W].
func BatchToSpace(x *G.Node, d int) (*G.Node, error) { return spaceBatch(x, d, false) }

func spaceBatch(x *G.Node, d int, toBatch bool) (*G.Node, error) {
	if err := checkF32(x, "space/batch input"); err != nil {
		return nil, err
	}
	s := x.Shape()
	if s.Dims() != 4 || d < 1 {
		return nil, fmt.Errorf("space/batch: input shape %v, factor %d: want [N,C,H,W] and d ≥ 1", s, d)
	}
	n, c, h, w := s[0], s[1], s[2], s[3]
	var out tensor.Shape
	if toBatch {
		if h%d != 0 || w%d != 0 {
			return nil, fmt.Errorf("space to batch: %d does not divide the %d×%d grid", d, h, w)
		}
		out = tensor.Shape{n * d * d, c, h / d, w / d}
	} else {
		if n%(d*d) != 0 {
			return nil, fmt.Errorf("batch to space: batch %d is not a multiple of %d²", n, d)
		}
		out = tensor.Shape{n / (d * d), c, h * d, w * d}
	}
	return G.ApplyOp(&spaceBatchOp{opBase: newBase(), in: s.Clone(), shape: out, d: d, toBatch: toBatch}, x)
}

type spaceBatchOp struct {
	opBase
	in, shape tensor.Shape
	d         int
	toBatch   bool
	out       outSlot
}

var _ G.Op = (*spaceBatchOp)(nil)

func (op *spaceBatchOp) Arity() int { return 1 }
func (op *spaceBatchOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *spaceBatchOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *spaceBatchOp) String() string {
	name := "BatchToSpace"
	if op.toBatch {
		name = "SpaceToBatch"
	}
	return fmt.Sprintf("%s%v/%d#%d", name, op.in, op.d, op.id)
}
func (op *spaceBatchOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *spaceBatchOp) Hashcode() uint32      { return hashOf(op) }
func (op *spaceBatchOp) DiffWRT(int) []bool    { return []bool{true} }
func (op *spaceBatchOp) slot() *outSlot        { return &op.out }
func (op *spaceBatchOp) inPlace() int          { return -1 }
func (op *spaceBatchOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *spaceBatchOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	if op.toBatch {
		s := op.in
		kernels.SpaceToBatch(f32(pre), f32(in[0]), s[0], s[1], s[2], s[3], op.d)
	} else {
		s := op.shape
		kernels.BatchToSpace(f32(pre), f32(in[0]), s[0], s[1], s[2], s[3], op.d)
	}
	return pre, nil
}
func (op *spaceBatchOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := spaceBatch(grad, op.d, !op.toBatch)
	return G.Nodes{dx}, err
}
