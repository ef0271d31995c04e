package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelGoWEdges checks the pure-Go micro-kernel on its own against a float64 reference, on the edges
// of its blocking: A panels of every even width the callers use (and 2), row counts that end inside a 2-row
// block or exactly on it, column counts that end inside, on and past a 4-column block, k = 1, k across
// the goKC chunk boundary, and beta 0 (C filled with NaN, which must not leak), 1 and −0.5. Elements of C
// outside the mr×nr corner must keep their values.
func TestKernelGoWEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const ldc = sgemmNR + 3
	for _, aw := range []int{2, 8, 12, sgemmMR} {
		for _, kc := range []int{1, 2, goKC - 1, goKC, goKC + 1, 2*goKC + 3} {
			// Panels with random values in the rows and columns the tile uses and zeros in the padding,
			// as the packing leaves them.
			for _, mr := range []int{1, aw - 1, aw} {
				if mr < 1 {
					continue
				}
				for _, nr := range []int{1, 3, 4, 5, 31, sgemmNR} {
					ap := make([]float32, kc*aw)
					bp := make([]float32, kc*sgemmNR)
					for p := range kc {
						for i := range mr {
							ap[p*aw+i] = 2*r.Float32() - 1
						}
						for j := range nr {
							bp[p*sgemmNR+j] = 2*r.Float32() - 1
						}
					}
					for _, beta := range []float32{0, 1, -0.5} {
						alpha := float32(0.75)
						c := make([]float32, aw*ldc)
						for i := range c {
							c[i] = 2*r.Float32() - 1
							if beta == 0 && i%ldc < nr && i/ldc < mr {
								c[i] = float32(math.NaN())
							}
						}
						c0 := append([]float32(nil), c...)
						kernelGoW(kc, aw, ap, bp, c, ldc, alpha, beta, mr, nr)
						for i := range aw {
							for j := range ldc {
								got := c[i*ldc+j]
								if i >= mr || j >= nr {
									if got != c0[i*ldc+j] && !(math.IsNaN(float64(got)) && math.IsNaN(float64(c0[i*ldc+j]))) {
										t.Fatalf("aw=%d kc=%d mr=%d nr=%d beta=%g: C[%d][%d] outside the tile changed",
											aw, kc, mr, nr, beta, i, j)
									}
									continue
								}
								var s, abs float64
								for p := range kc {
									v := float64(ap[p*aw+i]) * float64(bp[p*sgemmNR+j])
									s += v
									abs += math.Abs(v)
								}
								want := float64(alpha) * s
								bound := float64(alpha) * abs
								if beta != 0 {
									want += float64(beta) * float64(c0[i*ldc+j])
									bound += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
								}
								tol := 4*float64(kc+2)*0x1p-24*bound + 1e-30
								if d := math.Abs(float64(got) - want); !(d <= tol) {
									t.Fatalf("aw=%d kc=%d mr=%d nr=%d beta=%g: C[%d][%d] = %g, want %g (tolerance %g)",
										aw, kc, mr, nr, beta, i, j, got, want, tol)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestKernelGoWPanicsOnBadShape checks that a tile the 2×4 blocks cannot cover in bounds is refused.
func TestKernelGoWPanicsOnBadShape(t *testing.T) {
	ap, bp, c := make([]float32, 16*4), make([]float32, 32*4), make([]float32, 16*32)
	for _, s := range []struct{ aw, mr, nr int }{{7, 7, 4}, {16, 14, 4}, {8, 9, 4}, {8, 8, 33}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("aw=%d mr=%d nr=%d: no panic", s.aw, s.mr, s.nr)
				}
			}()
			kernelGoW(4, s.aw, ap, bp, c, 32, 1, 0, s.mr, s.nr)
		}()
	}
}
