package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/parallel"
)

// TestMSESameOnAnyThreadCount checks the MSE op against a plain float64 sum and checks that the value does
// not depend on the thread setting: it adds a fixed number of partial sums, never one per thread.
func TestMSESameOnAnyThreadCount(t *testing.T) {
	const n = 3 << 16 // above parallelMin: the sum is split
	r := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float32, n), make([]float32, n)
	var want float64
	for i := range a {
		a[i], b[i] = r.Float32(), r.Float32()*1e3
		d := float64(a[i] - b[i])
		want += d * d
	}
	want /= n
	op := &mseOp{scale: 1}
	va := tensor.New(tensor.WithShape(n), tensor.WithBacking(a))
	vb := tensor.New(tensor.WithShape(n), tensor.WithBacking(b))
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	var got []float32
	for _, threads := range []int{1, 2, 3, 8} {
		parallel.SetThreads(threads)
		v, err := op.Do(va, vb)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v.Data().(float32))
	}
	for i, g := range got {
		if g != got[0] {
			t.Errorf("MSE on thread setting %d: %v, on one thread %v", i, g, got[0])
		}
	}
	if math.Abs(float64(got[0])-want) > 1e-6*want {
		t.Errorf("MSE %v, want %v", got[0], want)
	}
}

// TestClippedMSE checks ClippedMSE's value against a naive reference (the error of clip(v) where v lies beyond
// the bound its target sits on, the plain error elsewhere), and its gradient against finite differences, on outputs on both
// sides of both bounds.
func TestClippedMSE(t *testing.T) {
	const lo, hi, scale = -0.25, 0.75, 3
	rng := rand.New(rand.NewPCG(5, 6))
	g := G.NewGraph()
	shape := []int{2, 1, 6, 6}
	v, vd := randTensor(g, rng, "v", 1.5, shape...)
	u, ud := randTensor(g, rng, "u", 1, shape...)
	for i := range ud {
		switch i % 3 { // a third of the targets on each bound, the rest inside
		case 0:
			ud[i] = lo
		case 1:
			ud[i] = hi
		default:
			ud[i] = lo + (hi-lo)*rng.Float32()
		}
		// keep outputs away from the kinks, where finite differences straddle them
		for math.Abs(float64(vd[i]-lo)) < 0.05 || math.Abs(float64(vd[i]-hi)) < 0.05 {
			vd[i] += 0.1
		}
	}
	cost, err := ClippedMSE(v, u, lo, hi, scale)
	if err != nil {
		t.Fatal(err)
	}
	vm, gr := gradsOf(t, g, cost, v)
	var want float64
	free := 0
	for i := range vd {
		e := float64(vd[i] - ud[i])
		if (ud[i] == lo && vd[i] < lo) || (ud[i] == hi && vd[i] > hi) {
			e = math.Min(math.Max(float64(vd[i]), lo), hi) - float64(ud[i]) // 0
			free++
		}
		want += e * e
	}
	want = scale * want / float64(len(vd))
	if free == 0 {
		t.Fatal("test data has no output past a bound: nothing is checked")
	}
	if got := float64(cost.Value().Data().(float32)); math.Abs(got-want) > 1e-5*want {
		t.Errorf("ClippedMSE %v, want %v", got, want)
	}
	fdCheck(t, "dv", vm, cost, gr[0], vd, rng)
	if _, err := ClippedMSE(v, u, 1, 1, 1); err == nil {
		t.Error("empty bounds accepted")
	}
}
