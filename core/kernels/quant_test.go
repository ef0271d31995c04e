package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/brainvq/brainvq/core/parallel"
)

// checkNearest runs NearestCodes and requires exactly the naive float64 answer, ties included.
func checkNearest(t *testing.T, what string, z []float32, n, d, hw int, codebook []float32, kc int) {
	t.Helper()
	got := make([]int32, n*hw)
	for i := range got {
		got[i] = -7
	}
	NearestCodes(z, n, d, hw, codebook, kc, got)
	want := naiveNearestCodes(z, n, d, hw, codebook, kc)
	bad := 0
	for i := range want {
		if got[i] != want[i] {
			if bad < 5 {
				t.Errorf("%s: idx[%d] = %d, naive %d", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d positions differ", what, bad, len(want))
	}
}

// withQuantSettings runs f with one and three workers and with a score tile of one 16-column band or a
// large one.
func withQuantSettings(t *testing.T, f func(t *testing.T)) {
	oldBudget := quantBudget
	defer func() { parallel.SetThreads(0); quantBudget = oldBudget }()
	for _, procs := range []int{1, 3} {
		for _, budget := range []int{1, 1 << 17} {
			parallel.SetThreads(procs)
			quantBudget = budget
			t.Run(fmt.Sprintf("procs%d_budget%d", procs, budget), f)
		}
	}
}

func TestNearestCodesRandom(t *testing.T) {
	withQuantSettings(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, c := range []struct{ n, d, hw, kc int }{
			{1, 1, 1, 1}, {2, 3, 37, 5}, {3, 7, 50, 23}, {1, 64, 70, 512}, {2, 16, 33, 128},
			// Bands of whole 16-column groups (the vector scan): 64 + 16 columns, and 128.
			{1, 8, 80, 40}, {2, 64, 128, 512},
		} {
			z := randSlice(rng, c.n*c.d*c.hw)
			e := randSlice(rng, c.kc*c.d)
			checkNearest(t, fmt.Sprintf("random %+v", c), z, c.n, c.d, c.hw, e, c.kc)
		}
	})
}

func TestNearestCodesTies(t *testing.T) {
	withQuantSettings(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		// Small integers: every product and sum is exact, so equal distances are common and the lowest index
		// must win.
		n, d, hw, kc := 2, 4, 64, 40 // 64 columns: the vector scan, when bands are whole 16-column groups
		z := make([]float32, n*d*hw)
		e := make([]float32, kc*d)
		for i := range z {
			z[i] = float32(rng.IntN(5) - 2)
		}
		for i := range e {
			e[i] = float32(rng.IntN(3) - 1)
		}
		checkNearest(t, "small integers", z, n, d, hw, e, kc)

		// Duplicated codes: the positions sitting exactly on a duplicated code must pick its first copy.
		d, kc = 8, 30
		e = randSlice(rng, kc*d)
		copy(e[17*d:18*d], e[4*d:5*d])
		copy(e[25*d:26*d], e[4*d:5*d])
		copy(e[9*d:10*d], e[20*d:21*d])
		z = randSlice(rng, n*d*hw)
		for p := 0; p < hw; p += 3 {
			for i := 0; i < d; i++ {
				z[i*hw+p] = e[4*d+i]
				z[(d+i)*hw+p] = e[20*d+i]
			}
		}
		got := make([]int32, n*hw)
		NearestCodes(z, n, d, hw, e, kc, got)
		for p := 0; p < hw; p += 3 {
			if got[p] != 4 || got[hw+p] != 9 {
				t.Fatalf("position %d: codes %d and %d, want the first copies 4 and 9", p, got[p], got[hw+p])
			}
		}
		checkNearest(t, "duplicated codes", z, n, d, hw, e, kc)

		// Every code the same.
		same := make([]float32, 12*d)
		for k := 0; k < 12; k++ {
			copy(same[k*d:], e[:d])
		}
		checkNearest(t, "identical codes", z, n, d, hw, same, 12)
	})
}

func TestNearestCodesNearTies(t *testing.T) {
	withQuantSettings(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		n, d, hw, kc := 2, 64, 40, 64
		// Pairs of codes one ulp apart, and positions close to them: float32 scores cannot rank these, the
		// exact re-ranking must.
		e := randSlice(rng, kc*d)
		for k := 1; k < kc; k += 2 {
			copy(e[k*d:(k+1)*d], e[(k-1)*d:k*d])
			i := rng.IntN(d)
			e[k*d+i] = math.Nextafter32(e[k*d+i], float32(math.Inf(1)))
		}
		z := make([]float32, n*d*hw)
		for img := 0; img < n; img++ {
			for p := 0; p < hw; p++ {
				k := rng.IntN(kc)
				for i := 0; i < d; i++ {
					z[(img*d+i)*hw+p] = e[k*d+i] + float32(rng.NormFloat64()*1e-6)
				}
			}
		}
		checkNearest(t, "one-ulp pairs", z, n, d, hw, e, kc)

		// A large common offset: distances are small differences of large norms (heavy cancellation).
		off := randSlice(rng, kc*d)
		for i := range off {
			off[i] = 300 + 0.01*off[i]
		}
		zo := make([]float32, n*d*hw)
		for i := range zo {
			zo[i] = 300 + 0.01*float32(rng.NormFloat64())
		}
		checkNearest(t, "large offset", zo, n, d, hw, off, kc)
	})
}

func TestNearestCodesNonFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	n, d, hw, kc := 1, 5, 9, 7
	z := randSlice(rng, n*d*hw)
	z[2*hw+3] = float32(math.NaN())
	z[1*hw+5] = float32(math.Inf(-1))
	e := randSlice(rng, kc*d)
	checkNearest(t, "NaN/Inf in z", z, n, d, hw, e, kc)
	e[3*d+1] = float32(math.NaN())
	checkNearest(t, "NaN code", z, n, d, hw, e, kc)
	big := randSlice(rng, n*d*hw)
	for i := range big {
		big[i] *= 1e19
	}
	checkNearest(t, "values near float32 overflow", big, n, d, hw, randSlice(rng, kc*d), kc)
}

func TestNearestCodesPanics(t *testing.T) {
	mustPanic(t, "short idx", func() { NearestCodes(make([]float32, 8), 1, 2, 4, make([]float32, 6), 3, make([]int32, 3)) })
	mustPanic(t, "short codebook", func() { NearestCodes(make([]float32, 8), 1, 2, 4, make([]float32, 5), 3, make([]int32, 4)) })
	mustPanic(t, "zero codes", func() { NearestCodes(make([]float32, 8), 1, 2, 4, nil, 0, make([]int32, 4)) })
}

func TestGatherScatterCodes(t *testing.T) {
	withQuantSettings(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, c := range []struct{ n, d, hw, kc int }{{1, 1, 1, 1}, {2, 5, 17, 9}, {3, 16, 64, 40}} {
			idx := make([]int32, c.n*c.hw)
			for i := range idx {
				idx[i] = int32(rng.IntN(c.kc))
			}
			e := randSlice(rng, c.kc*c.d)
			zq := filled(c.n*c.d*c.hw, 7)
			GatherCodes(idx, e, c.n, c.d, c.hw, c.kc, zq)
			want := naiveGatherCodes(idx, e, c.n, c.d, c.hw)
			for i := range want {
				if zq[i] != want[i] {
					t.Fatalf("%+v: zq[%d] = %g, want %g", c, i, zq[i], want[i])
				}
			}

			g := randSlice(rng, len(zq))
			start := randSlice(rng, len(e))
			de := append([]float32(nil), start...)
			ScatterCodeGrad(idx, g, c.n, c.d, c.hw, c.kc, de)
			ref := naiveScatterCodeGrad(idx, g, c.n, c.d, c.hw, c.kc)
			for i := range ref {
				ref[i] += float64(start[i])
			}
			assertClose(t, fmt.Sprintf("ScatterCodeGrad %+v", c), de, ref, 1e-5)

			// Adjointness: ⟨gather(E), g⟩ = ⟨E, scatter(g)⟩.
			de0 := make([]float32, len(e))
			ScatterCodeGrad(idx, g, c.n, c.d, c.hw, c.kc, de0)
			lhs, rhs, mag := 0.0, 0.0, 0.0
			for i := range zq {
				lhs += float64(zq[i]) * float64(g[i])
				mag += math.Abs(float64(zq[i]) * float64(g[i]))
			}
			for i := range e {
				rhs += float64(e[i]) * float64(de0[i])
			}
			if math.Abs(lhs-rhs) > 1e-5*(1+mag) {
				t.Errorf("%+v: ⟨gather E, g⟩ = %g, ⟨E, scatter g⟩ = %g", c, lhs, rhs)
			}
		}
	})
}

func TestGatherScatterPanicOnBadIndex(t *testing.T) {
	idx := []int32{0, 3, 1}
	mustPanic(t, "gather", func() { GatherCodes(idx, make([]float32, 6), 1, 2, 3, 3, make([]float32, 6)) })
	mustPanic(t, "scatter", func() { ScatterCodeGrad(idx, make([]float32, 6), 1, 2, 3, 3, make([]float32, 6)) })
	idx[1] = -1
	mustPanic(t, "negative", func() { GatherCodes(idx, make([]float32, 6), 1, 2, 3, 3, make([]float32, 6)) })
}
