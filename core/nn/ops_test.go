package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func randTensor(g *G.ExprGraph, rng *rand.Rand, name string, scale float32, shape ...int) (*G.Node, []float32) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = (rng.Float32()*2 - 1) * scale
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t)), data
}

// fdCheck compares the graph's gradient of param (backing data) with central finite differences of the cost,
// evaluated by rerunning the machine, on a sample of coordinates.
func fdCheck(t *testing.T, name string, vm G.VM, cost *G.Node, grad []float32, data []float32, rng *rand.Rand) {
	t.Helper()
	eval := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(cost.Value().Data().(float32))
	}
	g := append([]float32(nil), grad...)
	var maxG float64
	for _, v := range g {
		maxG = math.Max(maxG, math.Abs(float64(v)))
	}
	if maxG == 0 {
		t.Fatalf("%s: gradient is all zero", name)
	}
	const eps = 1e-2
	for trial := 0; trial < 12; trial++ {
		i := rng.IntN(len(data))
		orig := data[i]
		data[i] = orig + eps
		up := eval()
		data[i] = orig - eps
		down := eval()
		data[i] = orig
		fd := (up - down) / (2 * eps)
		if diff := math.Abs(fd - float64(g[i])); diff > 2e-2*maxG+1e-5 {
			t.Errorf("%s[%d]: analytic %g, finite difference %g (max |grad| %g)", name, i, g[i], fd, maxG)
		}
	}
	eval()
}

// gradsOf adds the gradients of cost with respect to wrt, runs the graph once, and returns the machine (for
// finite-difference reruns) and copies of the gradients.
func gradsOf(t *testing.T, g *G.ExprGraph, cost *G.Node, wrt ...*G.Node) (G.VM, [][]float32) {
	t.Helper()
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(grads))
	for i, gr := range grads {
		out[i] = append([]float32(nil), f32(gr.Value())...)
	}
	return vm, out
}

func TestConvGradients(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec ConvSpec
		wsh  []int
		out  int
	}{
		{"conv k4 s2 p1 relu", ConvSpec{Kernel: 4, Stride: 2, Pad: 1, ReLU: true}, []int{5, 3, 4, 4}, 5},
		{"conv k3 s1 p1", ConvSpec{Kernel: 3, Stride: 1, Pad: 1}, []int{4, 3, 3, 3}, 4},
		{"convT k4 s2 p1", ConvSpec{Kernel: 4, Stride: 2, Pad: 1, Transpose: true}, []int{3, 2, 4, 4}, 2},
		{"convT k3 s1 p1 relu", ConvSpec{Kernel: 3, Stride: 1, Pad: 1, Transpose: true, ReLU: true}, []int{3, 2, 3, 3}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			g := G.NewGraph()
			x, xd := randTensor(g, rng, "x", 1, 2, 3, 6, 6)
			w, wd := randTensor(g, rng, "w", 0.5, tc.wsh...)
			b, bd := randTensor(g, rng, "b", 0.2, tc.out)
			y, err := Conv(x, w, b, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			target, _ := randTensor(g, rng, "target", 1, []int(y.Shape())...)
			cost, err := MSE(y, target, 3, true, false)
			if err != nil {
				t.Fatal(err)
			}
			vm, gr := gradsOf(t, g, cost, x, w, b)
			fdCheck(t, "dx", vm, cost, gr[0], xd, rng)
			fdCheck(t, "dw", vm, cost, gr[1], wd, rng)
			fdCheck(t, "db", vm, cost, gr[2], bd, rng)
		})
	}
}

func TestReLUAndResidualGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := G.NewGraph()
	x, xd := randTensor(g, rng, "x", 1, 1, 2, 5, 5)
	w, wd := randTensor(g, rng, "w", 0.5, 2, 2, 3, 3)
	b, _ := randTensor(g, rng, "b", 0.1, 2)
	h, _ := ReLU(x)
	h, _ = Conv(h, w, b, ConvSpec{Kernel: 3, Stride: 1, Pad: 1})
	y, err := G.Add(x, h)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := randTensor(g, rng, "t", 1, 1, 2, 5, 5)
	cost, _ := MSE(y, target, 1, true, false)
	vm, gr := gradsOf(t, g, cost, x, w)
	fdCheck(t, "dx", vm, cost, gr[0], xd, rng)
	fdCheck(t, "dw", vm, cost, gr[1], wd, rng)
}

// TestStraightThrough checks the VQ-VAE estimator: the gradient reaching z_e is the decoder's gradient at z_q
// (finite differences of the decoder loss in z_q) plus the commitment term 2β(z_e − z_q)/n, and the codebook's
// gradient is the finite-difference gradient of the codebook loss with the assignments held fixed.
func TestStraightThrough(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const beta = 0.25
	g := G.NewGraph()
	ze, zed := randTensor(g, rng, "ze", 1, 2, 3, 4, 4)
	e, ed := randTensor(g, rng, "E", 1, 7, 3)
	w, _ := randTensor(g, rng, "w", 0.5, 3, 2, 4, 4)
	b, _ := randTensor(g, rng, "b", 0.1, 2)
	zq, q, err := Quantize(ze, e)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := StraightThrough(ze, zq)
	y, _ := Conv(st, w, b, ConvSpec{Kernel: 4, Stride: 2, Pad: 1, Transpose: true})
	target, _ := randTensor(g, rng, "t", 1, []int(y.Shape())...)
	recon, _ := MSE(y, target, 1, true, false)
	commit, _ := MSE(ze, zq, beta, true, false)
	codebook, _ := MSE(zq, ze, 1, true, false)
	s1, _ := G.Add(recon, commit)
	cost, _ := G.Add(s1, codebook)
	_, gr := gradsOf(t, g, cost, ze, e)
	gze, ge := gr[0], gr[1]
	idx := append([]int32(nil), q.Indices...)
	zqv := append([]float32(nil), f32(zq.Value())...)
	// Reference: a separate graph of the decoder loss as a function of z_q.
	g2 := G.NewGraph()
	zq2 := G.NewTensor(g2, tensor.Float32, 4, G.WithShape(2, 3, 4, 4), G.WithName("zq"),
		G.WithValue(tensor.New(tensor.WithShape(2, 3, 4, 4), tensor.WithBacking(zqv))))
	w2 := G.NewTensor(g2, tensor.Float32, 4, G.WithShape(3, 2, 4, 4), G.WithName("w"), G.WithValue(w.Value()))
	b2 := G.NewTensor(g2, tensor.Float32, 1, G.WithShape(2), G.WithName("b"), G.WithValue(b.Value()))
	t2 := G.NewTensor(g2, tensor.Float32, 4, G.WithShape(y.Shape()...), G.WithName("t"), G.WithValue(target.Value()))
	y2, _ := Conv(zq2, w2, b2, ConvSpec{Kernel: 4, Stride: 2, Pad: 1, Transpose: true})
	dec, _ := MSE(y2, t2, 1, true, false)
	vm2 := G.NewTapeMachine(g2)
	evalDec := func() float64 {
		vm2.Reset()
		if err := vm2.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(dec.Value().Data().(float32))
	}
	n := float64(len(zed))
	const eps = 1e-2
	var maxG float64
	for _, v := range gze {
		maxG = math.Max(maxG, math.Abs(float64(v)))
	}
	for i := range zqv {
		orig := zqv[i]
		zqv[i] = orig + eps
		up := evalDec()
		zqv[i] = orig - eps
		down := evalDec()
		zqv[i] = orig
		want := (up-down)/(2*eps) + 2*beta*float64(zed[i]-orig)/n
		if math.Abs(want-float64(gze[i])) > 2e-2*maxG {
			t.Errorf("dz_e[%d] = %g, want %g", i, gze[i], want)
		}
	}
	// Codebook: L_cb(E) = mean((E[idx] − z_e)²) with idx fixed.
	hw, d := 16, 3
	lcb := func() float64 {
		var s float64
		for nn := 0; nn < 2; nn++ {
			for p := 0; p < hw; p++ {
				k := int(idx[nn*hw+p])
				for j := 0; j < d; j++ {
					diff := float64(ed[k*d+j] - zed[(nn*d+j)*hw+p])
					s += diff * diff
				}
			}
		}
		return s / n
	}
	for i := range ed {
		orig := ed[i]
		ed[i] = orig + eps
		up := lcb()
		ed[i] = orig - eps
		down := lcb()
		ed[i] = orig
		want := (up - down) / (2 * eps)
		if math.Abs(want-float64(ge[i])) > 1e-3 {
			t.Errorf("dE[%d] = %g, want %g", i, ge[i], want)
		}
	}
}

func TestStopGradientBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := G.NewGraph()
	x, _ := randTensor(g, rng, "x", 1, 1, 1, 3, 3)
	w, _ := randTensor(g, rng, "w", 1, 1, 1, 3, 3)
	b, _ := randTensor(g, rng, "b", 1, 1)
	sx, _ := StopGradient(x)
	y, _ := Conv(sx, w, b, ConvSpec{Kernel: 3, Stride: 1, Pad: 1})
	z, _ := Conv(x, w, b, ConvSpec{Kernel: 3, Stride: 1, Pad: 1})
	target, _ := randTensor(g, rng, "t", 1, 1, 1, 3, 3)
	c1, _ := MSE(y, target, 1, true, false)
	c2, _ := MSE(z, target, 1, true, false)
	cost, _ := G.Add(c1, c2)
	_, gr := gradsOf(t, g, cost, x)
	// Only the unstopped path contributes: compare with a graph holding just that path.
	got := gr[0]
	g2 := G.NewGraph()
	x2 := G.NewTensor(g2, tensor.Float32, 4, G.WithShape(1, 1, 3, 3), G.WithName("x"), G.WithValue(x.Value()))
	w2 := G.NewTensor(g2, tensor.Float32, 4, G.WithShape(1, 1, 3, 3), G.WithName("w"), G.WithValue(w.Value()))
	b2 := G.NewTensor(g2, tensor.Float32, 1, G.WithShape(1), G.WithName("b"), G.WithValue(b.Value()))
	t2 := G.NewTensor(g2, tensor.Float32, 4, G.WithShape(1, 1, 3, 3), G.WithName("t"), G.WithValue(target.Value()))
	z2, _ := Conv(x2, w2, b2, ConvSpec{Kernel: 3, Stride: 1, Pad: 1})
	c, _ := MSE(z2, t2, 1, true, false)
	_, gr2 := gradsOf(t, g2, c, x2)
	want := gr2[0]
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("grad[%d] = %g, want %g (stop-gradient leaked)", i, got[i], want[i])
		}
	}
}

func TestConvShapeErrors(t *testing.T) {
	g := G.NewGraph()
	rng := rand.New(rand.NewPCG(9, 9))
	x, _ := randTensor(g, rng, "x", 1, 1, 3, 8, 8)
	w, _ := randTensor(g, rng, "w", 1, 4, 2, 3, 3) // wrong Cin
	b, _ := randTensor(g, rng, "b", 1, 4)
	if _, err := Conv(x, w, b, ConvSpec{Kernel: 3, Stride: 1, Pad: 1}); err == nil {
		t.Fatal("mismatched input channels: want an error")
	}
	w2, _ := randTensor(g, rng, "w2", 1, 4, 3, 3, 3)
	b2, _ := randTensor(g, rng, "b2", 1, 5)
	if _, err := Conv(x, w2, b2, ConvSpec{Kernel: 3, Stride: 1, Pad: 1}); err == nil {
		t.Fatal("bias of the wrong length: want an error")
	}
}
