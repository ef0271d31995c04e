package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/brainvq/brainvq/core/kernels"
)

// costOf is 3·mean((y − target)²) for a random target of y's shape: a scalar whose gradient reaches every
// element of y with a different weight.
func costOf(t *testing.T, g *G.ExprGraph, rng *rand.Rand, y *G.Node) *G.Node {
	t.Helper()
	target, _ := randTensor(g, rng, "target", 1, []int(y.Shape())...)
	cost, err := MSE(y, target, 3, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return cost
}

func TestGateGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	g := G.NewGraph()
	a, ad := randTensor(g, rng, "a", 2, 2, 6, 3, 4)
	y, err := Gate(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := []int(y.Shape()); got[1] != 3 {
		t.Fatalf("gate output shape %v, want 3 channels", got)
	}
	cost := costOf(t, g, rng, y)
	vm, gr := gradsOf(t, g, cost, a)
	fdCheck(t, "da", vm, cost, gr[0], ad, rng)
	if _, err := Gate(G.NewTensor(g, G.Float32, 4, G.WithShape(1, 3, 2, 2))); err == nil {
		t.Fatal("Gate accepted an odd channel count")
	}
}

func TestMaskedConvGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2))
	g := G.NewGraph()
	x, _ := randTensor(g, rng, "x", 1, 2, 3, 5, 5)
	w, wd := randTensor(g, rng, "w", 0.5, 4, 3, 3, 3)
	b, _ := randTensor(g, rng, "b", 0.1, 4)
	mask := make([]float32, len(wd))
	for i := range mask {
		if (i/3)%3 < 2 { // rows 0 and 1 of each 3×3 kernel
			mask[i] = 1
		}
	}
	mw, err := Mask(w, mask)
	if err != nil {
		t.Fatal(err)
	}
	y, err := Conv(x, mw, b, ConvSpec{Kernel: 3, Stride: 1, Pad: 1})
	if err != nil {
		t.Fatal(err)
	}
	cost := costOf(t, g, rng, y)
	vm, gr := gradsOf(t, g, cost, w)
	for i, m := range mask {
		if m == 0 && gr[0][i] != 0 {
			t.Fatalf("masked-out weight %d has gradient %g, want exactly 0", i, gr[0][i])
		}
	}
	fdCheck(t, "dw", vm, cost, gr[0], wd, rng)
	if _, err := Mask(w, mask[:3]); err == nil {
		t.Fatal("Mask accepted a mask of the wrong size")
	}
}

func TestShiftRightValuesAndGradient(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	for _, tc := range []struct {
		s    int
		want []float32
	}{
		{0, []float32{1, 2, 3, 4, 5, 6, 7, 8}},
		{1, []float32{0, 1, 2, 3, 0, 5, 6, 7}},
		{-2, []float32{3, 4, 0, 0, 7, 8, 0, 0}},
		{5, []float32{0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		dst := make([]float32, 8)
		for i := range dst {
			dst[i] = 99
		}
		kernels.ShiftRows(dst, src, 2, 4, tc.s)
		for i := range dst {
			if dst[i] != tc.want[i] {
				t.Fatalf("shift %d: got %v, want %v", tc.s, dst, tc.want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(11, 3))
	g := G.NewGraph()
	x, xd := randTensor(g, rng, "x", 1, 2, 2, 3, 5)
	y1, err := ShiftRight(x, 1)
	if err != nil {
		t.Fatal(err)
	}
	y2, err := ShiftRight(x, -2)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Add(y1, y2)
	if err != nil {
		t.Fatal(err)
	}
	cost := costOf(t, g, rng, sum)
	vm, gr := gradsOf(t, g, cost, x)
	fdCheck(t, "dx", vm, cost, gr[0], xd, rng)
}

func TestClassBiasGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 4))
	g := G.NewGraph()
	x, xd := randTensor(g, rng, "x", 1, 3, 4, 2, 3)
	table, td := randTensor(g, rng, "table", 1, 5, 4)
	classes := []int32{4, 0, 4}
	y, err := ClassBias(x, table, classes)
	if err != nil {
		t.Fatal(err)
	}
	cost := costOf(t, g, rng, y)
	vm, gr := gradsOf(t, g, cost, x, table)
	got := y.Value().Data().([]float32)
	for i := range 3 {
		for c := range 4 {
			for p := range 6 {
				j := (i*4+c)*6 + p
				if want := xd[j] + td[int(classes[i])*4+c]; got[j] != want {
					t.Fatalf("y[%d,%d,%d] = %g, want %g", i, c, p, got[j], want)
				}
			}
		}
	}
	for c := range 4 { // classes 1..3 are unused: their rows get no gradient
		for l := 1; l < 4; l++ {
			if gr[1][l*4+c] != 0 {
				t.Fatalf("unused class %d has gradient %g", l, gr[1][l*4+c])
			}
		}
	}
	fdCheck(t, "dx", vm, cost, gr[0], xd, rng)
	fdCheck(t, "dtable", vm, cost, gr[1], td, rng)
	classes[1] = 5
	vm.Reset()
	if err := vm.RunAll(); err == nil {
		t.Fatal("a class outside the table ran without error")
	}
}

func TestCrossEntropyValueAndGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 5))
	g := G.NewGraph()
	n, k, h, w := 2, 7, 3, 2
	z, zd := randTensor(g, rng, "z", 3, n, k, h, w)
	targets := make([]int32, n*h*w)
	for i := range targets {
		targets[i] = int32(rng.IntN(k))
	}
	loss, stats, err := CrossEntropy(z, targets)
	if err != nil {
		t.Fatal(err)
	}
	vm, gr := gradsOf(t, g, loss, z)
	var want float64
	correct := 0
	for i := range n {
		for p := range h * w {
			var s float64
			arg := 0
			for c := range k {
				v := float64(zd[(i*k+c)*h*w+p])
				s += math.Exp(v)
				if v > float64(zd[(i*k+arg)*h*w+p]) {
					arg = c
				}
			}
			tg := int(targets[i*h*w+p])
			want += math.Log(s) - float64(zd[(i*k+tg)*h*w+p])
			if arg == tg {
				correct++
			}
		}
	}
	want /= float64(n * h * w)
	if got := float64(loss.Value().Data().(float32)); math.Abs(got-want) > 1e-5 {
		t.Fatalf("cross-entropy %g, want %g", got, want)
	}
	if stats.Correct != correct || stats.Positions != n*h*w {
		t.Fatalf("stats %+v, want %d correct of %d", *stats, correct, n*h*w)
	}
	fdCheck(t, "dz", vm, loss, gr[0], zd, rng)
	targets[0] = int32(k)
	vm.Reset()
	if err := vm.RunAll(); err == nil {
		t.Fatal("a target outside [0,K) ran without error")
	}
}

// TestDilatedConvGradient differentiates the dilated convolution the prior builds,
// BatchToSpace(Conv(SpaceToBatch(x, d)), d), against finite differences in x and w, and checks that the
// round trip without the convolution is the identity.
func TestDilatedConvGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 9))
	g := G.NewGraph()
	x, xd := randTensor(g, rng, "x", 1, 2, 3, 4, 8)
	w, wd := randTensor(g, rng, "w", 0.5, 3, 3, 3, 3)
	b, _ := randTensor(g, rng, "b", 0.1, 3)
	s, err := SpaceToBatch(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := []int(s.Shape()); got[0] != 8 || got[2] != 2 || got[3] != 4 {
		t.Fatalf("SpaceToBatch shape %v, want [8 3 2 4]", got)
	}
	y, err := Conv(s, w, b, ConvSpec{Kernel: 3, Stride: 1, Pad: 1})
	if err != nil {
		t.Fatal(err)
	}
	if y, err = BatchToSpace(y, 2); err != nil {
		t.Fatal(err)
	}
	round, err := BatchToSpace(s, 2)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Add(y, round)
	if err != nil {
		t.Fatal(err)
	}
	cost := costOf(t, g, rng, sum)
	vm, gr := gradsOf(t, g, cost, x, w)
	got := round.Value().Data().([]float32)
	for i := range xd {
		if got[i] != xd[i] {
			t.Fatalf("BatchToSpace(SpaceToBatch(x))[%d] = %g, want %g", i, got[i], xd[i])
		}
	}
	fdCheck(t, "dx", vm, cost, gr[0], xd, rng)
	fdCheck(t, "dw", vm, cost, gr[1], wd, rng)
	if _, err := SpaceToBatch(x, 3); err == nil {
		t.Fatal("SpaceToBatch accepted a factor that does not divide the grid")
	}
}
