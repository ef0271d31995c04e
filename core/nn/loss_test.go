package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

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
