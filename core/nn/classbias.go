package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ClassBias adds to every image a learned bias per channel chosen by the image's class, the conditioning of
// the PixelCNN prior (van den Oord et al. 2016, eq. 4, with a one-hot class h: V·h is a row of a table):
//
//	y[n,c,i,j] = x[n,c,i,j] + T[class[n], c],  x [N,C,H,W], T [L,C],
//	∂L/∂x = ∂L/∂y,  ∂L/∂T[l,c] = Σ_{n: class[n]=l} Σ_{i,j} ∂L/∂y[n,c,i,j].
//
// classes (length N, each in [0,L)) is read on every run, so the caller sets the batch's classes in it
// before running the graph.
func ClassBias(x, table *G.Node, classes []int32) (*G.Node, error) {
	if err := checkF32(x, "class bias input"); err != nil {
		return nil, err
	}
	xs, ts := x.Shape(), table.Shape()
	if xs.Dims() != 4 || ts.Dims() != 2 || ts[1] != xs[1] || len(classes) != xs[0] {
		return nil, fmt.Errorf("class bias: input %v, table %v, %d classes: want [N,C,H,W], [L,C] and N classes", xs, ts, len(classes))
	}
	return G.ApplyOp(&classBiasOp{opBase: newBase(), shape: xs.Clone(), levels: ts[0], classes: classes}, x, table)
}

type classBiasOp struct {
	opBase
	shape   tensor.Shape
	levels  int
	classes []int32
	out     outSlot
}

func (op *classBiasOp) class(n int) (int, error) {
	c := int(op.classes[n])
	if c < 0 || c >= op.levels {
		return 0, fmt.Errorf("%v: class %d of image %d outside [0,%d)", op, c, n, op.levels)
	}
	return c, nil
}

func (op *classBiasOp) Arity() int { return 2 }
func (op *classBiasOp) Type() hm.Type {
	return hm.NewFnType(tensorT(4), tensorT(2), tensorT(4))
}
func (op *classBiasOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *classBiasOp) String() string {
	return fmt.Sprintf("ClassBias%v×%d#%d", op.shape, op.levels, op.id)
}
func (op *classBiasOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *classBiasOp) Hashcode() uint32      { return hashOf(op) }
func (op *classBiasOp) DiffWRT(int) []bool    { return []bool{true, true} }
func (op *classBiasOp) slot() *outSlot        { return &op.out }
func (op *classBiasOp) inPlace() int          { return 0 }
func (op *classBiasOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.shape)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *classBiasOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	y, x, t := f32(pre), f32(in[0]), f32(in[1])
	n, c, hw := op.shape[0], op.shape[1], op.shape[2]*op.shape[3]
	for i := range n {
		cl, err := op.class(i)
		if err != nil {
			return nil, err
		}
		for ch := range c {
			b := t[cl*c+ch]
			o := (i*c + ch) * hw
			for p := o; p < o+hw; p++ {
				y[p] = x[p] + b
			}
		}
	}
	return pre, nil
}
func (op *classBiasOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dt, err := G.ApplyOp(&classBiasGradOp{opBase: newBase(), b: op}, grad)
	return G.Nodes{grad, dt}, err
}

// classBiasGradOp: dy [N,C,H,W] → dT [L,C], the per-class sums of the gradient.
type classBiasGradOp struct {
	opBase
	b   *classBiasOp
	out outSlot
}

func (op *classBiasGradOp) tableShape() tensor.Shape { return tensor.Shape{op.b.levels, op.b.shape[1]} }

func (op *classBiasGradOp) Arity() int    { return 1 }
func (op *classBiasGradOp) Type() hm.Type { return hm.NewFnType(tensorT(4), tensorT(2)) }
func (op *classBiasGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.tableShape(), nil
}
func (op *classBiasGradOp) String() string        { return fmt.Sprintf("ClassBiasGrad(%v)#%d", op.b, op.id) }
func (op *classBiasGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *classBiasGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *classBiasGradOp) DiffWRT(int) []bool    { return []bool{false} }
func (op *classBiasGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
func (op *classBiasGradOp) slot() *outSlot { return &op.out }
func (op *classBiasGradOp) inPlace() int   { return -1 }
func (op *classBiasGradOp) Do(in ...G.Value) (G.Value, error) {
	pre, err := op.out.output(op, op.tableShape())
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(pre, in...)
}
func (op *classBiasGradOp) UsePreallocDo(pre G.Value, in ...G.Value) (G.Value, error) {
	dt, dy := f32(pre), f32(in[0])
	clear(dt)
	n, c, hw := op.b.shape[0], op.b.shape[1], op.b.shape[2]*op.b.shape[3]
	for i := range n {
		cl, err := op.b.class(i)
		if err != nil {
			return nil, err
		}
		for ch := range c {
			var s float64
			for _, v := range dy[(i*c+ch)*hw : (i*c+ch+1)*hw] {
				s += float64(v)
			}
			dt[cl*c+ch] += float32(s)
		}
	}
	return pre, nil
}
