package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMulImplicitAVX2MatchesNaive runs the AVX2 implicit product on random panels, offsets and tiles —
// panel widths 12 and 14, every row count from 1 to 30 (so 6-, 4- and 2-row blocks and their partial
// rows), k from 1 to 40 (the four-step loop and its tail), beta 0 and 0.5 — against a float64 triple loop,
// and requires C rows past m and columns past cols untouched.
func TestMulImplicitAVX2MatchesNaive(t *testing.T) {
	needAVX2(t)
	setISA(isaAVX2)
	rng := rand.New(rand.NewPCG(7, 13))
	for trial := range 400 {
		aw := []int{12, 14}[trial%2]
		m := 1 + rng.IntN(30)
		kb := 1 + rng.IntN(40)
		nq := 1 + rng.IntN(3)
		cols := nq * sgemmNR
		buf := make([]float32, 64*kb+200)
		for i := range buf {
			buf[i] = rng.Float32()*2 - 1
		}
		off := make([]int32, kb)
		for p := range off {
			off[p] = int32(rng.IntN(len(buf) - 32*nq - 60))
		}
		tiles := make([]int32, nq)
		for q := range tiles {
			tiles[q] = int32(q*sgemmNR + rng.IntN(20))
		}
		panels := ceilDiv(m, aw)
		a := make([]float32, panels*aw*kb)
		for i := range a {
			a[i] = rng.Float32()*2 - 1
		}
		ldc := cols + 5
		rowsC := panels*aw + 1
		c := make([]float32, rowsC*ldc)
		for i := range c {
			c[i] = rng.Float32()
		}
		c0 := append([]float32(nil), c...)
		beta := []float32{0, 0.5}[rng.IntN(2)]
		mulImplicit(kb, a, aw, m, buf, off, tiles, cols, c, ldc, beta)
		for i := range rowsC {
			for j := range ldc {
				got := c[i*ldc+j]
				if i >= m || j >= cols {
					if got != c0[i*ldc+j] {
						t.Fatalf("trial %d (aw %d m %d kb %d): C[%d][%d] outside the product changed", trial, aw, m, kb, i, j)
					}
					continue
				}
				panel, r := i/aw, i%aw
				var want float64
				for p := range kb {
					av := a[panel*kb*aw+p*aw+r]
					bv := buf[int(off[p])+int(tiles[j/sgemmNR])+j%sgemmNR]
					want += float64(av) * float64(bv)
				}
				want += float64(beta) * float64(c0[i*ldc+j])
				if math.Abs(float64(got)-want) > 1e-5*float64(kb+1) {
					t.Fatalf("trial %d (aw %d m %d kb %d beta %g): C[%d][%d] = %g, want %g", trial, aw, m, kb, beta, i, j, got, want)
				}
			}
		}
	}
}
