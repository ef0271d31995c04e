package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/kernels"
)

// ConvSpec describes a convolution layer: kernel size, stride and symmetric padding, whether it is a
// transposed convolution, and whether a ReLU follows it. NoInputGrad marks an input that needs no
// gradient (the image fed to the first layer): the layer's backward pass then skips ∂L/∂x, the most
// expensive part of its backward pass for a first layer, and G.Grad must not ask for it.
type ConvSpec struct {
	Kernel, Stride, Pad int
	Transpose           bool
	ReLU                bool
	NoInputGrad         bool
}

// convGeom is the complete static geometry of one conv op. For a convolution, x [N,C,H,W] and w [K,C,KH,KW]
// give y [N,K,OH,OW]. For a transposed convolution, x [N,C,H,W] and w [C,K,KH,KW] give y [N,K,OH,OW].
type convGeom struct {
	ConvSpec
	N, C, H, W, K int
}

func (g convGeom) conv() kernels.ConvShape {
	return kernels.ConvShape{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, KH: g.Kernel, KW: g.Kernel, Stride: g.Stride, Pad: g.Pad}
}

func (g convGeom) convT() kernels.ConvTShape {
	return kernels.ConvTShape{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, KH: g.Kernel, KW: g.Kernel, Stride: g.Stride, Pad: g.Pad}
}

func (g convGeom) outShape() tensor.Shape {
	if g.Transpose {
		s := g.convT()
		return tensor.Shape{g.N, g.K, s.OutH(), s.OutW()}
	}
	s := g.conv()
	return tensor.Shape{g.N, g.K, s.OutH(), s.OutW()}
}

func (g convGeom) inShape() tensor.Shape { return tensor.Shape{g.N, g.C, g.H, g.W} }

func (g convGeom) weightShape() tensor.Shape {
	if g.Transpose {
		return tensor.Shape{g.C, g.K, g.Kernel, g.Kernel}
	}
	return tensor.Shape{g.K, g.C, g.Kernel, g.Kernel}
}

func (g convGeom) String() string {
	kind := "Conv"
	if g.Transpose {
		kind = "ConvT"
	}
	relu := ""
	if g.ReLU {
		relu = "+ReLU"
	}
	if g.NoInputGrad {
		relu += "(no dx)"
	}
	return fmt.Sprintf("%s%s{N%d C%d %dx%d → K%d, k%d s%d p%d}", kind, relu, g.N, g.C, g.H, g.W, g.K, g.Kernel, g.Stride, g.Pad)
}

// Conv applies a convolution (or transposed convolution) with bias and optional ReLU:
// x [N,C,H,W], w [K,C,k,k] (transposed: [C,K,k,k]), b [K] → [N,K,OH,OW].
func Conv(x, w, b *G.Node, spec ConvSpec) (*G.Node, error) {
	for _, c := range []struct {
		n    *G.Node
		name string
	}{{x, "input"}, {w, "weight"}, {b, "bias"}} {
		if err := checkF32(c.n, c.name); err != nil {
			return nil, err
		}
	}
	xs, ws := shapeOf(x), shapeOf(w)
	if len(xs) != 4 || len(ws) != 4 {
		return nil, fmt.Errorf("conv: input %v and weight %v must be 4-D", xs, ws)
	}
	g := convGeom{ConvSpec: spec, N: xs[0], C: xs[1], H: xs[2], W: xs[3]}
	if spec.Transpose {
		g.K = ws[1]
	} else {
		g.K = ws[0]
	}
	if !g.weightShape().Eq(tensor.Shape(ws)) {
		return nil, fmt.Errorf("%v: weight shape %v, want %v", g, ws, g.weightShape())
	}
	if bs := shapeOf(b); len(bs) != 1 || bs[0] != g.K {
		return nil, fmt.Errorf("%v: bias shape %v, want [%d]", g, bs, g.K)
	}
	var err error
	if spec.Transpose {
		err = g.convT().Validate()
	} else {
		err = g.conv().Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %w", g, err)
	}
	return G.ApplyOp(&convOp{opBase: newBase(), g: g}, x, w, b)
}

// convOp: inputs x, w, b; output y = act(conv(x, w) + b).
type convOp struct {
	opBase
	g   convGeom
	out outSlot
}

func (op *convOp) Arity() int                                     { return 3 }
func (op *convOp) Type() hm.Type                                  { return hm.NewFnType(tensorT(4), tensorT(4), tensorT(1), tensorT(4)) }
func (op *convOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.g.outShape(), nil }
func (op *convOp) String() string                                 { return fmt.Sprintf("%v#%d", op.g, op.id) }
func (op *convOp) WriteHash(h hash.Hash)                          { writeHash(h, op) }
func (op *convOp) Hashcode() uint32                               { return hashOf(op) }
func (op *convOp) DiffWRT(int) []bool                             { return []bool{!op.g.NoInputGrad, true, true} }
func (op *convOp) slot() *outSlot                                 { return &op.out }
func (op *convOp) inPlace() int                                   { return -1 }

func (op *convOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.g.outShape())
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}

func (op *convOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	x, w, b, y := f32(in[0]), f32(in[1]), f32(in[2]), f32(pre)
	o := kernels.ConvOpts{ReLU: op.g.ReLU}
	if op.g.Transpose {
		kernels.ConvTranspose2DOpts(op.g.convT(), x, w, b, y, o)
	} else {
		kernels.Conv2DOpts(op.g.conv(), x, w, b, y, o)
	}
	return pre, nil
}

func (op *convOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	g := grad
	var err error
	if op.g.ReLU {
		if g, err = G.ApplyOp(&reluGradOp{opBase: newBase(), shape: op.g.outShape()}, out, grad); err != nil {
			return nil, err
		}
	}
	var dx *G.Node
	if !op.g.NoInputGrad {
		if dx, err = G.ApplyOp(&convGradOp{opBase: newBase(), g: op.g, wrt: wrtInput}, g, in[1]); err != nil {
			return nil, err
		}
	}
	dw, err := G.ApplyOp(&convGradOp{opBase: newBase(), g: op.g, wrt: wrtWeight}, in[0], g)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(&biasGradOp{opBase: newBase(), shape: op.g.outShape()}, g)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

type wrt int

const (
	wrtInput  wrt = iota // inputs (dy, w) → dx
	wrtWeight            // inputs (x, dy) → dw
)

// convGradOp is one backward pass of a convOp (not itself differentiable).
type convGradOp struct {
	opBase
	g   convGeom
	wrt wrt
	out outSlot
}

func (op *convGradOp) Arity() int    { return 2 }
func (op *convGradOp) Type() hm.Type { return hm.NewFnType(tensorT(4), tensorT(4), tensorT(4)) }
func (op *convGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if op.wrt == wrtInput {
		return op.g.inShape(), nil
	}
	return op.g.weightShape(), nil
}
func (op *convGradOp) String() string {
	return fmt.Sprintf("d%v/d%s#%d", op.g, [...]string{"x", "w"}[op.wrt], op.id)
}
func (op *convGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *convGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradOp) DiffWRT(int) []bool    { return []bool{false, false} }
func (op *convGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}

func (op *convGradOp) slot() *outSlot { return &op.out }
func (op *convGradOp) inPlace() int   { return -1 }

func (op *convGradOp) Do(in ...G.Value) (G.Value, error) {
	s, _ := op.InferShape()
	pre, err := op.out.output(op, s)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}

func (op *convGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	a, b, out := f32(in[0]), f32(in[1]), f32(pre)
	switch {
	case op.wrt == wrtInput && op.g.Transpose:
		kernels.ConvTranspose2DBackwardData(op.g.convT(), a, b, out)
	case op.wrt == wrtInput:
		kernels.Conv2DBackwardData(op.g.conv(), a, b, out)
	case op.g.Transpose:
		kernels.ConvTranspose2DBackwardFilter(op.g.convT(), a, b, out, nil)
	default:
		kernels.Conv2DBackwardFilter(op.g.conv(), a, b, out, nil)
	}
	return pre, nil
}

// biasGradOp sums dy [N,K,H,W] over N, H, W → [K].
type biasGradOp struct {
	opBase
	shape tensor.Shape
	out   outSlot
}

func (op *biasGradOp) Arity() int    { return 1 }
func (op *biasGradOp) Type() hm.Type { return hm.NewFnType(tensorT(4), tensorT(1)) }
func (op *biasGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.shape[1]}, nil
}
func (op *biasGradOp) String() string        { return fmt.Sprintf("BiasGrad%v#%d", op.shape, op.id) }
func (op *biasGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *biasGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *biasGradOp) DiffWRT(int) []bool    { return []bool{false} }
func (op *biasGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *biasGradOp) slot() *outSlot { return &op.out }
func (op *biasGradOp) inPlace() int   { return -1 }
func (op *biasGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, tensor.Shape{op.shape[1]})
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *biasGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	n, k, hw := op.shape[0], op.shape[1], op.shape[2]*op.shape[3]
	kernels.ChannelSums(f32(in[0]), n, k, hw, f32(pre))
	return pre, nil
}
