package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/parallel"
)

// SSIMLoss is the structural term of a reconstruction loss, for decoder outputs v and targets u in the
// shifted space (pixel = value + mean), both [B,1,S,S]:
//
//	weight · (1 − (1/B) Σ_b SSIM(u_b + mean, clip(v_b + mean, 0, 1)))
//
// with SSIM exactly as core/metrics measures it (11×11 Gaussian window, σ 1.5, mean over the valid windows),
// so the loss lowers the number reconstructions are judged by. Gradient to v only:
//
//	−(weight/B) · ∂SSIM/∂ŷ (metrics.SSIMGrad) where 0 < v + mean < 1, else 0 (the clip's own gradient).
//
// S must be at least metrics.SSIMWindow.
func SSIMLoss(v, u *G.Node, mean, weight float32) (*G.Node, error) {
	if !v.Shape().Eq(u.Shape()) {
		return nil, fmt.Errorf("ssim loss: shapes %v and %v differ", v.Shape(), u.Shape())
	}
	sh := v.Shape()
	if len(sh) != 4 || sh[1] != 1 {
		return nil, fmt.Errorf("ssim loss: want [B,1,S,S] images, got %v", sh)
	}
	if err := metrics.CheckSSIMSize(sh[2], sh[3]); err != nil {
		return nil, fmt.Errorf("ssim loss: %w", err)
	}
	if err := checkF32(v, "ssim loss input"); err != nil {
		return nil, err
	}
	return G.ApplyOp(&ssimLossOp{opBase: newBase(), shape: sh.Clone(), mean: mean, weight: weight}, v, u)
}

// ssimLossOp computes, in its forward pass, both the SSIM of every image and its gradient ∂SSIM/∂ŷ
// (metrics.SSIMGrad returns both for the price of one pass); the gradient op, which the tape runs after it
// in the same pass over the same inputs, only scales that cache. x, y and dssim are reused every step.
type ssimLossOp struct {
	opBase
	shape        tensor.Shape
	mean, weight float32
	x, y, dssim  []float32
}

func (op *ssimLossOp) Arity() int { return 2 }
func (op *ssimLossOp) Type() hm.Type {
	t := G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, hm.TypeVariable('a'))
}
func (op *ssimLossOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op *ssimLossOp) String() string {
	return fmt.Sprintf("SSIMLoss%v+%g×%g#%d", op.shape, op.mean, op.weight, op.id)
}
func (op *ssimLossOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *ssimLossOp) Hashcode() uint32      { return hashOf(op) }
func (op *ssimLossOp) DiffWRT(int) []bool    { return []bool{true, false} }

// images sets the batch's targets x = u + mean and reconstructions ŷ = clip(v + mean, 0, 1).
func (op *ssimLossOp) images(v, u []float32) {
	if len(op.x) != len(v) {
		op.x, op.y, op.dssim = make([]float32, len(v)), make([]float32, len(v)), make([]float32, len(v))
	}
	for i := range v {
		op.x[i] = u[i] + op.mean
		op.y[i] = min(1, max(0, v[i]+op.mean))
	}
}

func (op *ssimLossOp) Do(in ...G.Value) (G.Value, error) {
	b, h, w := op.shape[0], op.shape[2], op.shape[3]
	op.images(f32(in[0]), f32(in[1]))
	size := h * w
	ssim := make([]float64, b)
	parallel.Tasks(b, func(i, _ int) {
		lo, hi := i*size, (i+1)*size
		ssim[i] = metrics.SSIMGrad(op.dssim[lo:hi], op.x[lo:hi], op.y[lo:hi], h, w)
	})
	var sum float64
	for _, v := range ssim {
		sum += v
	}
	return G.NewF32(op.weight * float32(1-sum/float64(b))), nil
}

func (op *ssimLossOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(&ssimGradOp{opBase: newBase(), l: op}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d, nil}, nil
}

// ssimGradOp: (v, u, g) → −g·(weight/B)·∂SSIM/∂ŷ·[0 < v+mean < 1], with ∂SSIM/∂ŷ from the loss's forward pass.
type ssimGradOp struct {
	opBase
	l   *ssimLossOp
	out outSlot
}

func (op *ssimGradOp) Arity() int { return 3 }
func (op *ssimGradOp) Type() hm.Type {
	t := G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, hm.TypeVariable('a'), t)
}
func (op *ssimGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.l.shape, nil }
func (op *ssimGradOp) String() string                                 { return fmt.Sprintf("dSSIMLoss(%v)#%d", op.l, op.id) }
func (op *ssimGradOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *ssimGradOp) Hashcode() uint32                               { return hashOf(op) }
func (op *ssimGradOp) DiffWRT(int) []bool                             { return []bool{false, false, false} }
func (op *ssimGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *ssimGradOp) slot() *outSlot { return &op.out }
func (op *ssimGradOp) inPlace() int   { return -1 }
func (op *ssimGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.l.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *ssimGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	g, ok := in[2].Data().(float32)
	if !ok {
		return nil, fmt.Errorf("%v: gradient is %T, want a float32 scalar", op, in[2].Data())
	}
	v, out := f32(in[0]), f32(pre)
	if len(op.l.dssim) != len(v) {
		return nil, fmt.Errorf("%v: the loss's forward pass has not run", op)
	}
	c := -g * op.l.weight / float32(op.l.shape[0])
	elementwise(len(v), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			if p := v[j] + op.l.mean; p > 0 && p < 1 {
				out[j] = c * op.l.dssim[j]
			} else {
				out[j] = 0
			}
		}
	})
	return pre, nil
}
