package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/parallel"
)

// MSE is the scalar scale·mean((a−b)²) over all elements of two same-shaped tensors. Gradients flow to a when
// diffA and to b when diffB; a side without gradient acts as sg(·), the stop-gradient of the VQ-VAE losses.
func MSE(a, b *G.Node, scale float32, diffA, diffB bool) (*G.Node, error) {
	if !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("mse: shapes %v and %v differ", a.Shape(), b.Shape())
	}
	if err := checkF32(a, "mse input"); err != nil {
		return nil, err
	}
	return G.ApplyOp(&mseOp{opBase: newBase(), shape: a.Shape().Clone(), scale: scale, diff: [2]bool{diffA, diffB}}, a, b)
}

// ClippedMSE is the reconstruction loss of an output v that is shown clipped to [lo, hi] against a target u
// that lies in [lo, hi]:
//
//	scale·mean(e²),  e = 0      where u ≤ lo and v < lo, or u ≥ hi and v > hi
//	                 e = v − u  elsewhere
//
// Where the target sits on a bound and v lies beyond it, e is the error of clip(v, lo, hi) — zero — which is
// what a user sees: overshooting past the bound is free. Elsewhere e is the plain error, so an output stuck
// beyond a bound still feels a gradient back towards an inside target (the MSE of clip(v) itself would have
// none there). Gradient:
// ∂/∂v = scale·2e/n; u gets none (it is data).
//
// Why: MRI slices are more than half background at exactly 0. Plain MSE makes the background a symmetric
// noise around 0, whose positive half survives the clip as a faint grey haze; SSIM, with its luminance
// constant C1 = (0.01)², scores a window of 0.01 haze over true 0 near 0.2. The clipped loss lets the decoder
// put the background anywhere below 0, so it is exactly 0 after the clip.
func ClippedMSE(v, u *G.Node, lo, hi, scale float32) (*G.Node, error) {
	if !v.Shape().Eq(u.Shape()) {
		return nil, fmt.Errorf("clipped mse: shapes %v and %v differ", v.Shape(), u.Shape())
	}
	if !(lo < hi) {
		return nil, fmt.Errorf("clipped mse: bounds [%g, %g] are empty", lo, hi)
	}
	if err := checkF32(v, "clipped mse input"); err != nil {
		return nil, err
	}
	return G.ApplyOp(&mseOp{opBase: newBase(), shape: v.Shape().Clone(), scale: scale, diff: [2]bool{true, false},
		clip: true, lo: lo, hi: hi}, v, u)
}

// mseOp is MSE, or ClippedMSE when clip is set.
type mseOp struct {
	opBase
	shape  tensor.Shape
	scale  float32
	diff   [2]bool
	clip   bool
	lo, hi float32
}

// err is the error term of element i: a−b, or ClippedMSE's e.
func (op *mseOp) err(a, b float32) float32 {
	if op.clip && ((b <= op.lo && a < op.lo) || (b >= op.hi && a > op.hi)) {
		return 0
	}
	return a - b
}

func (op *mseOp) Arity() int { return 2 }
func (op *mseOp) Type() hm.Type {
	t := G.TensorType{Dims: op.shape.Dims(), Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, hm.TypeVariable('a'))
}
func (op *mseOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (op *mseOp) String() string {
	if op.clip {
		return fmt.Sprintf("ClippedMSE%v[%g,%g]×%g#%d", op.shape, op.lo, op.hi, op.scale, op.id)
	}
	return fmt.Sprintf("MSE%v×%g%v#%d", op.shape, op.scale, op.diff, op.id)
}
func (op *mseOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *mseOp) Hashcode() uint32      { return hashOf(op) }
func (op *mseOp) DiffWRT(int) []bool    { return op.diff[:] }
func (op *mseOp) Do(in ...G.Value) (G.Value, error) {
	a, b := f32(in[0]), f32(in[1])
	var s float64
	for _, p := range parallel.Sums(len(a), sumParts(len(a)), func(lo, hi int) float64 {
		var t float64
		for i := lo; i < hi; i++ {
			d := float64(op.err(a[i], b[i]))
			t += d * d
		}
		return t
	}) {
		s += p
	}
	return G.NewF32(op.scale * float32(s/float64(len(a)))), nil
}
func (op *mseOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, 2)
	for i, sign := range []float32{1, -1} {
		if !op.diff[i] {
			continue
		}
		d, err := G.ApplyOp(&mseGradOp{opBase: newBase(), m: op, sign: sign}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		res[i] = d
	}
	return res, nil
}

// mseGradOp: (a, b, g) → sign·g·scale·2e/n, with e = a−b (or ClippedMSE's e).
type mseGradOp struct {
	opBase
	m    *mseOp
	sign float32
	out  outSlot
}

func (op *mseGradOp) Arity() int { return 3 }
func (op *mseGradOp) Type() hm.Type {
	t := G.TensorType{Dims: op.m.shape.Dims(), Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, hm.TypeVariable('a'), t)
}
func (op *mseGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.m.shape, nil }
func (op *mseGradOp) String() string                                 { return fmt.Sprintf("dMSE(%v)%+g#%d", op.m, op.sign, op.id) }
func (op *mseGradOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *mseGradOp) Hashcode() uint32                               { return hashOf(op) }
func (op *mseGradOp) DiffWRT(int) []bool                             { return []bool{false, false, false} }
func (op *mseGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *mseGradOp) slot() *outSlot { return &op.out }
func (op *mseGradOp) inPlace() int   { return -1 }
func (op *mseGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.m.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *mseGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	a, b, out := f32(in[0]), f32(in[1]), f32(pre)
	g, ok := in[2].Data().(float32)
	if !ok {
		return nil, fmt.Errorf("%v: gradient is %T, want a float32 scalar", op, in[2].Data())
	}
	c := op.sign * g * op.m.scale * 2 / float32(len(a))
	elementwise(len(a), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = c * op.m.err(a[i], b[i])
		}
	})
	return pre, nil
}

// StraightThrough returns z_q in the forward pass and hands the incoming gradient to z_e unchanged:
// the value of z_e + sg(z_q − z_e) and its gradient, in one op.
func StraightThrough(ze, zq *G.Node) (*G.Node, error) {
	if !ze.Shape().Eq(zq.Shape()) {
		return nil, fmt.Errorf("straight-through: shapes %v and %v differ", ze.Shape(), zq.Shape())
	}
	return G.ApplyOp(&straightOp{opBase: newBase(), shape: ze.Shape().Clone()}, ze, zq)
}

type straightOp struct {
	opBase
	shape tensor.Shape
	out   outSlot
}

func (op *straightOp) Arity() int { return 2 }
func (op *straightOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (op *straightOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *straightOp) String() string                                 { return fmt.Sprintf("StraightThrough%v#%d", op.shape, op.id) }
func (op *straightOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *straightOp) Hashcode() uint32                               { return hashOf(op) }
func (op *straightOp) DiffWRT(int) []bool                             { return []bool{true, false} }
func (op *straightOp) slot() *outSlot                                 { return &op.out }
func (op *straightOp) inPlace() int                                   { return -1 }
func (op *straightOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *straightOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	copy(f32(pre), f32(in[1]))
	return pre, nil
}
func (op *straightOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	// The identity on the gradient: z_e's gradient is grad itself, as gorgonia's own Add hands its
	// gradient to both operands (the tape machine writes in place only over values nothing reads later).
	return G.Nodes{grad, nil}, nil
}

// parallelMin is the smallest tensor whose loss work is spread over the worker pool; below it one goroutine
// is faster than handing out the work.
const parallelMin = 1 << 16

// sumParts is how many partial sums the MSE of n elements adds, in order: one below parallelMin, else a fixed
// 8, never the thread count, so the loss is the same number whatever the thread setting (parallel.Sums).
func sumParts(n int) int {
	if n < parallelMin {
		return 1
	}
	return 8
}

// elementwise runs fn over [0,n) split across the worker pool (parallel.For), or in one call when n is small.
func elementwise(n int, fn func(lo, hi int)) {
	if n < parallelMin {
		fn(0, n)
		return
	}
	parallel.For(n, func(_, lo, hi int) { fn(lo, hi) })
}
