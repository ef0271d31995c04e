package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// miniVQVAE builds a small graph with every op of this package in the arrangement the trainer uses: a first
// convolution without input gradient, ReLU, a residual block (nn.Add), quantiser, straight-through, a
// transposed convolution and the three losses, and asks for the gradients of all parameters.
type miniVQVAE struct {
	g          *G.ExprGraph
	u          *G.Node
	ze, v      *G.Node
	cost       *G.Node
	params     []*G.Node
	paramsData [][]float32
	grads      G.Nodes
}

func buildMini(t *testing.T, seed uint64) *miniVQVAE {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &miniVQVAE{g: G.NewGraph()}
	u, _ := randTensor(m.g, rng, "u", 1, 2, 1, 8, 8)
	m.u = u
	param := func(name string, scale float32, shape ...int) *G.Node {
		n, d := randTensor(m.g, rng, name, scale, shape...)
		m.params = append(m.params, n)
		m.paramsData = append(m.paramsData, d)
		return n
	}
	w1, b1 := param("w1", 0.5, 4, 1, 4, 4), param("b1", 0.1, 4)
	w2, b2 := param("w2", 0.3, 3, 4, 3, 3), param("b2", 0.1, 3)
	w3, b3 := param("w3", 0.3, 4, 3, 1, 1), param("b3", 0.1, 4)
	w4, b4 := param("w4", 0.3, 3, 4, 1, 1), param("b4", 0.1, 3)
	e := param("E", 1, 5, 3)
	w5, b5 := param("w5", 0.3, 3, 1, 4, 4), param("b5", 0.1, 1)
	must := func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	x := must(Conv(u, w1, b1, ConvSpec{Kernel: 4, Stride: 2, Pad: 1, ReLU: true, NoInputGrad: true}))
	h := must(ReLU(x))
	h = must(Conv(h, w2, b2, ConvSpec{Kernel: 3, Stride: 1, Pad: 1, ReLU: true}))
	h = must(Conv(h, w3, b3, ConvSpec{Kernel: 1, Stride: 1}))
	x = must(Add(x, h))
	x = must(ReLU(x))
	m.ze = must(Conv(x, w4, b4, ConvSpec{Kernel: 1, Stride: 1}))
	zq, _, err := Quantize(m.ze, e)
	if err != nil {
		t.Fatal(err)
	}
	st := must(StraightThrough(m.ze, zq))
	m.v = must(Conv(st, w5, b5, ConvSpec{Kernel: 4, Stride: 2, Pad: 1, Transpose: true}))
	recon := must(MSE(m.v, u, 2, true, false))
	commit := must(MSE(m.ze, zq, 0.25, true, false))
	cb := must(MSE(zq, m.ze, 1, true, false))
	m.cost = must(G.Add(must(G.Add(recon, commit)), cb))
	if m.grads, err = G.Grad(m.cost, m.params...); err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshot copies the cost, z_e, v and every gradient.
func (m *miniVQVAE) snapshot() [][]float32 {
	out := [][]float32{{m.cost.Value().Data().(float32)}, append([]float32(nil), f32(m.ze.Value())...),
		append([]float32(nil), f32(m.v.Value())...)}
	for _, g := range m.grads {
		out = append(out, append([]float32(nil), f32(g.Value())...))
	}
	return out
}

// TestPlanMemoryMatchesUnplanned runs the same graph with and without a memory plan, three times with
// changing inputs and weights, and wants bit-identical losses, z_e, v and gradients; the plan must share
// buffers (fewer buffers than placed ops) and write some ops in place.
func TestPlanMemoryMatchesUnplanned(t *testing.T) {
	ref, got := buildMini(t, 7), buildMini(t, 7)
	plan, err := PlanMemory(got.g, got.ze, got.v)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Buffers >= plan.Ops || plan.InPlace == 0 || plan.Bytes <= 0 {
		t.Fatalf("plan %+v: want fewer buffers than ops and some in-place ops", plan)
	}
	vmRef, vmGot := G.NewTapeMachine(ref.g), G.NewTapeMachine(got.g)
	rng := rand.New(rand.NewPCG(9, 9))
	for run := range 3 {
		if run > 0 { // new input and weights, the same in both graphs
			u := f32(ref.u.Value())
			for i := range u {
				u[i] = rng.Float32() - 0.5
			}
			copy(f32(got.u.Value()), u)
			for i, d := range ref.paramsData {
				for j := range d {
					d[j] += 0.05 * (rng.Float32() - 0.5)
				}
				copy(got.paramsData[i], d)
			}
		}
		for _, vm := range []G.VM{vmRef, vmGot} {
			vm.Reset()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
		}
		a, b := ref.snapshot(), got.snapshot()
		for i := range a {
			for j := range a[i] {
				if a[i][j] != b[i][j] {
					t.Fatalf("run %d, value %d [%d]: planned %g, unplanned %g", run, i, j, b[i][j], a[i][j])
				}
			}
		}
	}
	// The planned values live in the plan's buffers: running again reuses them.
	before := &f32(got.grads[0].Value())[0]
	vmGot.Reset()
	if err := vmGot.RunAll(); err != nil {
		t.Fatal(err)
	}
	if &f32(got.grads[0].Value())[0] != before {
		t.Error("a planned gradient moved to new memory on the next run")
	}
}

// TestPlanMemoryDetectsClobber overwrites a planned buffer's ownership behind the plan's back and wants
// the next op that reads it to fail instead of computing with the wrong values.
func TestPlanMemoryDetectsClobber(t *testing.T) {
	m := buildMini(t, 3)
	if _, err := PlanMemory(m.g, m.ze, m.v); err != nil {
		t.Fatal(err)
	}
	s := m.ze.Op().(plannable).slot()
	other := m.v.Op().(plannable).slot()
	vm := G.NewTapeMachine(m.g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	// Make z_e's buffer look as if v's op had written it after z_e's op ran: the quantiser reads z_e.
	m.ze.Op().(*convOp).out.val = nil // z_e's op allocates afresh and no longer claims the buffer...
	s.buf.owner = other
	vm.Reset()
	err := vm.RunAll()
	if err == nil || !strings.Contains(err.Error(), "memory plan violated") {
		t.Fatalf("run with a clobbered input: err = %v, want a memory plan violation", err)
	}
}

// TestNoInputGrad checks that a convolution marked NoInputGrad builds no input-gradient op and leaves the
// weight and bias gradients as they are without the mark.
func TestNoInputGrad(t *testing.T) {
	build := func(noDX bool) ([]float32, []float32, int) {
		rng := rand.New(rand.NewPCG(11, 12))
		g := G.NewGraph()
		x, _ := randTensor(g, rng, "x", 1, 2, 1, 8, 8)
		w, _ := randTensor(g, rng, "w", 0.5, 3, 1, 4, 4)
		b, _ := randTensor(g, rng, "b", 0.1, 3)
		y, err := Conv(x, w, b, ConvSpec{Kernel: 4, Stride: 2, Pad: 1, ReLU: true, NoInputGrad: noDX})
		if err != nil {
			t.Fatal(err)
		}
		target, _ := randTensor(g, rng, "t", 1, 2, 3, 4, 4)
		cost, _ := MSE(y, target, 1, true, false)
		grads, err := G.Grad(cost, w, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := G.NewTapeMachine(g).RunAll(); err != nil {
			t.Fatal(err)
		}
		dx := 0
		for _, n := range g.AllNodes() {
			if op, ok := n.Op().(*convGradOp); ok && op.wrt == wrtInput {
				dx++
			}
		}
		return f32(grads[0].Value()), f32(grads[1].Value()), dx
	}
	w0, b0, dx0 := build(false)
	w1, b1, dx1 := build(true)
	if dx0 != 1 || dx1 != 0 {
		t.Fatalf("input-gradient ops: %d without the mark, %d with it; want 1 and 0", dx0, dx1)
	}
	for i := range w0 {
		if w0[i] != w1[i] {
			t.Fatalf("dw[%d]: %g with NoInputGrad, %g without", i, w1[i], w0[i])
		}
	}
	for i := range b0 {
		if b0[i] != b1[i] {
			t.Fatalf("db[%d]: %g with NoInputGrad, %g without", i, b1[i], b0[i])
		}
	}
}

// TestAddGradient checks nn.Add's residual gradient against finite differences.
func TestAddGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	g := G.NewGraph()
	x, xd := randTensor(g, rng, "x", 1, 1, 2, 5, 5)
	w, wd := randTensor(g, rng, "w", 0.5, 2, 2, 3, 3)
	b, _ := randTensor(g, rng, "b", 0.1, 2)
	h, _ := ReLU(x)
	h, _ = Conv(h, w, b, ConvSpec{Kernel: 3, Stride: 1, Pad: 1})
	y, err := Add(x, h)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := randTensor(g, rng, "t", 1, 1, 2, 5, 5)
	cost, _ := MSE(y, target, 1, true, false)
	grads, err := G.Grad(cost, x, w)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gx := append([]float32(nil), f32(grads[0].Value())...)
	gw := append([]float32(nil), f32(grads[1].Value())...)
	fdCheck(t, "dx", vm, cost, gx, xd, rng)
	fdCheck(t, "dw", vm, cost, gw, wd, rng)
	if _, err := Add(x, target); err != nil {
		t.Fatalf("same shapes: %v", err)
	}
	wrong := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 2, 5, 4), G.WithName("wrong"))
	if _, err := Add(x, wrong); err == nil {
		t.Fatal("shapes differ: want an error")
	}
}
