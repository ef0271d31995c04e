package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
	"github.com/brainvq/brainvq/core/parallel"
)

// CrossEntropy is the training loss of the PixelCNN prior: the mean negative log-likelihood, in nats, of
// the target codes under the softmax of the logits at every position,
//
//	logits z [N,K,H,W], targets t [N,H,W]:  L = (1/NHW) Σ_{n,i,j} ( log Σ_k e^{z[n,k,i,j]} − z[n,t[n,i,j],i,j] ),
//	∂L/∂z[n,k,i,j] = (softmax(z)[n,k,i,j] − [k = t[n,i,j]]) / NHW.
//
// The forward pass keeps the softmax for the backward pass and counts the positions whose largest logit is
// the target (next-code accuracy), readable from the returned handle after a run. targets (length N·H·W) is
// read on every run: the caller writes the batch's codes into it before running the graph.
func CrossEntropy(logits *G.Node, targets []int32) (*G.Node, *XentStats, error) {
	if err := checkF32(logits, "cross-entropy logits"); err != nil {
		return nil, nil, err
	}
	s := logits.Shape()
	if s.Dims() != 4 || len(targets) != s[0]*s[2]*s[3] {
		return nil, nil, fmt.Errorf("cross-entropy: logits %v with %d targets: want [N,K,H,W] and N·H·W targets", s, len(targets))
	}
	op := &xentOp{opBase: newBase(), shape: s.Clone(), targets: targets,
		stats: &XentStats{}, probs: make([]float32, s.TotalSize())}
	out, err := G.ApplyOp(op, logits)
	return out, op.stats, err
}

// XentStats reports the last run of a CrossEntropy loss.
type XentStats struct {
	NLL       float64 // summed negative log-likelihood, nats
	Correct   int     // positions whose largest logit is the target
	Positions int     // N·H·W
}

type xentOp struct {
	opBase
	shape   tensor.Shape
	targets []int32
	probs   []float32 // softmax of the last forward pass, for the gradient
	stats   *XentStats
}

func (op *xentOp) dims() (n, k, hw int) { return op.shape[0], op.shape[1], op.shape[2] * op.shape[3] }

func (op *xentOp) Arity() int { return 1 }
func (op *xentOp) Type() hm.Type {
	return hm.NewFnType(tensorT(4), hm.TypeVariable('a'))
}
func (op *xentOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (op *xentOp) String() string                                 { return fmt.Sprintf("CrossEntropy%v#%d", op.shape, op.id) }
func (op *xentOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *xentOp) Hashcode() uint32                               { return hashOf(op) }
func (op *xentOp) DiffWRT(int) []bool                             { return []bool{true} }
func (op *xentOp) Do(in ...G.Value) (G.Value, error) {
	n, k, hw := op.dims()
	for i, t := range op.targets {
		if t < 0 || int(t) >= k {
			return nil, fmt.Errorf("%v: target %d at position %d outside [0,%d)", op, t, i, k)
		}
	}
	nll, correct := kernels.SoftmaxXent(op.probs, f32(in[0]), op.targets, n, k, hw)
	*op.stats = XentStats{NLL: nll, Correct: correct, Positions: n * hw}
	return G.NewF32(float32(nll / float64(n*hw))), nil
}
func (op *xentOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dz, err := G.ApplyOp(&xentGradOp{opBase: newBase(), x: op}, in[0], grad)
	return G.Nodes{dz}, err
}

// xentGradOp: (logits, dL) → dL·(softmax − onehot)/NHW, from the softmax its forward pass kept. The logits
// are an input only to order it after the forward pass.
type xentGradOp struct {
	opBase
	x   *xentOp
	out outSlot
}

func (op *xentGradOp) Arity() int { return 2 }
func (op *xentGradOp) Type() hm.Type {
	return hm.NewFnType(tensorT(4), hm.TypeVariable('a'), tensorT(4))
}
func (op *xentGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.x.shape, nil }
func (op *xentGradOp) String() string                                 { return fmt.Sprintf("CrossEntropyGrad(%v)#%d", op.x, op.id) }
func (op *xentGradOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *xentGradOp) Hashcode() uint32                               { return hashOf(op) }
func (op *xentGradOp) DiffWRT(int) []bool                             { return []bool{false, false} }
func (op *xentGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *xentGradOp) slot() *outSlot { return &op.out }
func (op *xentGradOp) inPlace() int   { return -1 }
func (op *xentGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.x.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *xentGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	g, ok := in[1].Data().(float32)
	if !ok {
		return nil, fmt.Errorf("%v: gradient is %T, want a float32 scalar", op, in[1].Data())
	}
	n, k, hw := op.x.dims()
	scale := g / float32(n*hw)
	dz, probs, targets := f32(pre), op.x.probs, op.x.targets
	parallel.For(n*k, func(_, lo, hi int) {
		for row := lo; row < hi; row++ { // row = (image, class)
			i, c := row/k, row%k
			d, p := dz[row*hw:(row+1)*hw], probs[row*hw:(row+1)*hw]
			t := targets[i*hw : (i+1)*hw]
			for q := range d {
				v := p[q]
				if int(t[q]) == c {
					v--
				}
				d[q] = scale * v
			}
		}
	})
	return pre, nil
}
