package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestScatterRunAVX2MatchesGo runs scatterRun's AVX2 loop and its Go loop on the same random runs — panel
// widths 8…32, every start column, runs that cross panels, source windows cut on the left, the right,
// both or empty — and requires the same destination bit for bit, elements outside the run untouched.
func TestScatterRunAVX2MatchesGo(t *testing.T) {
	needAVX2(t)
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := range 3000 {
		width := []int{8, 12, 16, 24, 32}[rng.IntN(5)]
		stride := width * (1 + rng.IntN(3))
		j0 := rng.IntN(width)
		ow := 1 + rng.IntN(70)
		lw := 1 + rng.IntN(80)  // the source line
		ax := rng.IntN(40) - 20 // element ox reads line[ox+ax]
		lo := min(max(0, -ax), ow)
		hi := max(min(ow, lw-ax), lo)
		if trial%7 == 0 { // an arbitrary, possibly empty window
			lo = rng.IntN(ow + 1)
			hi = lo + rng.IntN(ow-lo+1)
			if hi > lo && (lo+ax < 0 || hi-1+ax >= lw) {
				lo, hi = 0, 0
			}
		}
		line := make([]float32, lw)
		for i := range line {
			line[i] = float32(i + 1)
		}
		panels := (j0+ow-1)/width + 1
		n := (panels-1)*stride + width + 8
		want, got := make([]float32, n), make([]float32, n)
		for i := range want {
			want[i] = float32(math.Inf(-1))
			got[i] = want[i]
		}
		setISA(isaGeneric)
		scatterRun(want, j0, width, stride, line, ax, ow, lo, hi, false)
		setISA(isaAVX2)
		scatterRun(got, j0, width, stride, line, ax, ow, lo, hi, true)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("width %d stride %d j0 %d ow %d ax %d [%d,%d): element %d = %g, Go %g",
					width, stride, j0, ow, ax, lo, hi, i, got[i], want[i])
			}
		}
	}
}

// needAVX2 skips t on a CPU without AVX2+FMA (the AVX2 loops cannot run there; the generic path is tested
// elsewhere) and puts the current ISA back when t ends, so that t may switch paths with setISA.
func needAVX2(t *testing.T) {
	t.Helper()
	if !hasAVX2 {
		t.Skip("this CPU has no AVX2+FMA")
	}
	saved := currentISA()
	t.Cleanup(func() { setISA(saved) })
}
