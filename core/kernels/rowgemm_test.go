package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// RowGemm against a float64 naive product, on every path, for row counts around the 8-row blocks and
// column counts around the 16-column register (strided operands, accumulation into y).
func TestRowGemmAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	saved := currentISA()
	defer setISA(saved)
	for _, isa := range availableISAs() {
		setISA(isa)
		for _, m := range []int{1, 2, 3, 5, 7, 8, 9, 17, 128} {
			for _, n := range []int{1, 5, 16, 17, 32, 40} {
				k := 1 + rng.IntN(70)
				ldx, ldy := n+rng.IntN(5), n+rng.IntN(5)
				w := make([]float32, m*k)
				x := make([]float32, (k-1)*ldx+n)
				y := make([]float32, (m-1)*ldy+n)
				for _, v := range [][]float32{w, x, y} {
					for i := range v {
						v[i] = float32(rng.NormFloat64())
					}
				}
				want := make([]float64, len(y))
				for i := range y {
					want[i] = float64(y[i])
				}
				for o := range m {
					for s := range n {
						for c := range k {
							want[o*ldy+s] += float64(w[o*k+c]) * float64(x[c*ldx+s])
						}
					}
				}
				RowGemm(y, ldy, w, x, ldx, m, k, n)
				for o := range m {
					for s := range ldy {
						i := o*ldy + s
						if i >= len(y) {
							break
						}
						if math.Abs(float64(y[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
							t.Fatalf("%v: m=%d k=%d n=%d: y[%d,%d] = %g, want %g", isa, m, k, n, o, s, y[i], want[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkRowGemm times the sampler's per-position products (weights × 16 samples), in thread CPU time too.
func BenchmarkRowGemm(b *testing.B) {
	for _, sh := range [][3]int{{128, 64, 16}, {512, 128, 16}} {
		m, k, n := sh[0], sh[1], sh[2]
		w, x, y := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			benchGemmCPU(b, m, k, n, true, func() { RowGemm(y, n, w, x, n, m, k, n) })
		})
	}
}
