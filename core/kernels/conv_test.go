package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/brainvq/brainvq/core/parallel"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// filled returns n copies of v: output buffers start as garbage so that "overwrites" is tested.
func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// assertClose fails unless |got−ref| ≤ tol·(1 + max|ref|) everywhere.
func assertClose(t *testing.T, what string, got []float32, ref []float64, tol float64) {
	t.Helper()
	if len(got) != len(ref) {
		t.Fatalf("%s: %d values, reference has %d", what, len(got), len(ref))
	}
	scale := 1.0
	for _, r := range ref {
		scale = max(scale, math.Abs(r))
	}
	worst, at := 0.0, -1
	for i := range got {
		if e := math.Abs(float64(got[i]) - ref[i]); e > worst || math.IsNaN(e) {
			worst, at = e, i
		}
	}
	if !(worst <= tol*scale) {
		t.Fatalf("%s: |got−ref| = %g at %d (got %g, want %g), allowed %g", what, worst, at, got[at], ref[at],
			tol*scale)
	}
}

// convCases are the shapes every convolution test runs over: odd sizes, strides 1 and 2, pads 0 and 1,
// kernels 1, 3 and 4, the pointwise fast path, and more channels than one band holds.
func convCases(rng *rand.Rand) []ConvShape {
	cases := []ConvShape{
		{N: 1, C: 1, H: 1, W: 1, K: 1, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 2, C: 3, H: 7, W: 5, K: 4, KH: 1, KW: 1, Stride: 1, Pad: 0}, // pointwise
		{N: 1, C: 5, H: 9, W: 11, K: 3, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 3, C: 2, H: 9, W: 7, K: 5, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 3, H: 8, W: 8, K: 4, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 2, C: 1, H: 13, W: 9, K: 6, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 4, H: 6, W: 10, K: 2, KH: 3, KW: 3, Stride: 2, Pad: 0},
		{N: 2, C: 3, H: 5, W: 5, K: 3, KH: 1, KW: 1, Stride: 2, Pad: 1},
		{N: 1, C: 2, H: 4, W: 4, K: 2, KH: 3, KW: 3, Stride: 3, Pad: 1},
		{N: 1, C: 2, H: 3, W: 3, K: 2, KH: 3, KW: 3, Stride: 1, Pad: 2},
		{N: 2, C: 2, H: 5, W: 9, K: 3, KH: 3, KW: 4, Stride: 1, Pad: 1},
		// Several GEMM tiles in every direction.
		{N: 2, C: 16, H: 16, W: 13, K: 33, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 9, H: 16, W: 16, K: 20, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 40, H: 9, W: 9, K: 17, KH: 1, KW: 1, Stride: 1, Pad: 0},
		// Rows long enough for the vector loops' full iterations (stride-2 phases of 32+ columns).
		{N: 1, C: 3, H: 6, W: 75, K: 4, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 5, H: 4, W: 66, K: 9, KH: 3, KW: 3, Stride: 1, Pad: 1},
		// Output widths that are multiples of 32 (the implicit-GEMM paths), strides 1, 2 and 3.
		{N: 2, C: 5, H: 5, W: 64, K: 11, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, C: 6, H: 6, W: 64, K: 9, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 3, H: 5, W: 65, K: 4, KH: 3, KW: 3, Stride: 2, Pad: 0},
		{N: 1, C: 4, H: 3, W: 32, K: 3, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 1, C: 2, H: 4, W: 96, K: 5, KH: 3, KW: 3, Stride: 3, Pad: 0},
		// 3×3 stride-1 pad-1 with even output heights: the Winograd path where the setting allows it
		// (several bands, a partial last band, 16 and 48 tiles per tile row, more channels than one
		// weight panel).
		{N: 2, C: 5, H: 6, W: 64, K: 11, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, C: 17, H: 4, W: 32, K: 9, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 8, H: 10, W: 96, K: 36, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, C: 33, H: 2, W: 128, K: 16, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, C: 400, H: 2, W: 32, K: 9, KH: 3, KW: 3, Stride: 1, Pad: 1}, // two k blocks
		// 4×4 stride-2 pad-1 with even sizes and output widths of 32 and 64: F(2×2, 2×2) (backward
		// data too), one and several bands.
		{N: 2, C: 5, H: 8, W: 64, K: 11, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 9, H: 12, W: 128, K: 20, KH: 4, KW: 4, Stride: 2, Pad: 1},
	}
	ks := []int{1, 3, 4}
	for range 25 {
		k := ks[rng.IntN(len(ks))]
		s := ConvShape{N: 1 + rng.IntN(3), C: 1 + rng.IntN(6), H: k + rng.IntN(12), W: k + rng.IntN(12),
			K: 1 + rng.IntN(7), KH: k, KW: k, Stride: 1 + rng.IntN(2), Pad: rng.IntN(2)}
		cases = append(cases, s)
	}
	return cases
}

// convSetting is one choice of the tunables that select code paths.
type convSetting struct {
	threads, budget, swapMaxK, col2imMaxC int
	noAsm                                 bool // the pure-Go kernels even where assembly runs
	// avx2 takes the AVX2 path where the default is AVX-512 (skipped on CPUs without AVX2, and
	// the same as the default where AVX2 is the best path).
	avx2 bool
	// winoMinC is winogradMinC: 0 sends every eligible 3×3 convolution through Winograd, 1<<30 none.
	winoMinC int
}

// withSettings runs f under settings that together cover every code path: one worker or three (more than
// most batches), one band per image or one output row per band, the forward GEMM as K×cols or transposed,
// backward data by phases or by col2im.
func withSettings(t *testing.T, f func(t *testing.T)) {
	oldCol, oldFilter := colBudget, filterColBudget
	oldSwap, oldSwapCKK, oldCol2im := fwdSwapMaxK, fwdSwapMinCKK, col2imMaxC
	oldWino, oldWinoBudget := winogradMinC, winogradBudget
	oldISA := currentISA()
	defer func() {
		parallel.SetThreads(0)
		colBudget, filterColBudget = oldCol, oldFilter
		fwdSwapMaxK, fwdSwapMinCKK, col2imMaxC = oldSwap, oldSwapCKK, oldCol2im
		winogradMinC, winogradBudget = oldWino, oldWinoBudget
		setISA(oldISA)
	}()
	for _, st := range []convSetting{
		{1, 1 << 20, 0, 0, false, false, 0}, {3, 1, 1 << 30, 1 << 30, false, false, 0},
		{1, 1, 1 << 30, 0, false, false, 0}, {3, 1 << 20, 0, 1 << 30, false, false, 1 << 30},
		{3, 1, 0, 0, false, false, 1 << 30}, {1, 1 << 20, 1 << 30, 1 << 30, false, false, 0},
		{3, 1, 1 << 30, 0, true, false, 0}, {1, 1 << 20, 0, 1 << 30, true, false, 0},
		{3, 1, 1 << 30, 0, false, true, 0}, {1, 1 << 20, 0, 1 << 30, false, true, 0},
		{3, 1, 0, 0, false, true, 1 << 30},
	} {
		switch {
		case st.noAsm:
			setISA(isaGeneric)
		case st.avx2 && oldISA == isaAVX512 && hasAVX2:
			setISA(isaAVX2)
		case st.avx2:
			continue // the default path, already covered
		default:
			setISA(oldISA)
		}
		parallel.SetThreads(st.threads)
		colBudget, filterColBudget = st.budget, st.budget
		fwdSwapMaxK, fwdSwapMinCKK, col2imMaxC = st.swapMaxK, 0, st.col2imMaxC
		winogradMinC, winogradBudget = st.winoMinC, st.budget
		t.Run(fmt.Sprintf("%+v", st), f)
	}
}

func TestConvShapeValidate(t *testing.T) {
	good := ConvShape{N: 1, C: 1, H: 4, W: 4, K: 1, KH: 4, KW: 4, Stride: 2, Pad: 0}
	if err := good.Validate(); err != nil {
		t.Fatalf("%+v: %v", good, err)
	}
	if good.OutH() != 1 || good.OutW() != 1 {
		t.Fatalf("out %d×%d, want 1×1", good.OutH(), good.OutW())
	}
	bad := []ConvShape{
		{N: 0, C: 1, H: 4, W: 4, K: 1, KH: 1, KW: 1, Stride: 1},
		{N: 1, C: 1, H: 4, W: 4, K: 1, KH: 1, KW: 1, Stride: 0},
		{N: 1, C: 1, H: 4, W: 4, K: 1, KH: 1, KW: 1, Stride: 1, Pad: -1},
		{N: 1, C: 1, H: 2, W: 4, K: 1, KH: 3, KW: 1, Stride: 1},
		{N: 1, C: 1, H: 4, W: 4, K: 0, KH: 1, KW: 1, Stride: 1},
	}
	for _, s := range bad {
		if s.Validate() == nil {
			t.Errorf("%+v: Validate accepted it", s)
		}
	}
	tb := ConvTShape{N: 1, C: 1, H: 1, W: 1, K: 1, KH: 2, KW: 2, Stride: 2, Pad: 1}
	if tb.Validate() == nil {
		t.Errorf("%+v (output %d×%d): Validate accepted it", tb, tb.OutH(), tb.OutW())
	}
	tg := ConvTShape{N: 1, C: 1, H: 64, W: 64, K: 1, KH: 4, KW: 4, Stride: 2, Pad: 1}
	if err := tg.Validate(); err != nil || tg.OutH() != 128 || tg.OutW() != 128 {
		t.Errorf("%+v: err %v, out %d×%d, want 128×128", tg, err, tg.OutH(), tg.OutW())
	}
}

func TestConv2DMatchesNaive(t *testing.T) {
	withSettings(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, s := range convCases(rng) {
			if err := s.Validate(); err != nil {
				continue
			}
			oh, ow := s.OutH(), s.OutW()
			x := randSlice(rng, s.N*s.C*s.H*s.W)
			w := randSlice(rng, s.K*s.C*s.KH*s.KW)
			b := randSlice(rng, s.K)
			dy := randSlice(rng, s.N*s.K*oh*ow)

			y := filled(len(dy), 7)
			Conv2D(s, x, w, b, y)
			assertClose(t, fmt.Sprintf("Conv2D %+v", s), y, naiveConv2D(s, x, w, b), 1e-5)
			Conv2D(s, x, w, nil, y)
			assertClose(t, fmt.Sprintf("Conv2D no bias %+v", s), y, naiveConv2D(s, x, w, nil), 1e-5)
			checkOpts(t, fmt.Sprintf("Conv2DOpts %+v", s), rng, naiveConv2D(s, x, w, b), func(y []float32, o ConvOpts) {
				Conv2DOpts(s, x, w, b, y, o)
			})
			// ReLUInput: the convolution of max(x, 0), x left as it was.
			xr := make([]float32, len(x))
			for i, v := range x {
				xr[i] = max(v, 0)
			}
			x0 := append([]float32(nil), x...)
			checkOpts(t, fmt.Sprintf("Conv2DOpts ReLUInput %+v", s), rng, naiveConv2D(s, xr, w, b),
				func(y []float32, o ConvOpts) {
					o.ReLUInput = true
					Conv2DOpts(s, x, w, b, y, o)
				})
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(x0[i]) {
					t.Fatalf("Conv2DOpts ReLUInput %+v changed x[%d]", s, i)
				}
			}

			dx := filled(len(x), 7)
			Conv2DBackwardData(s, dy, w, dx)
			assertClose(t, fmt.Sprintf("Conv2DBackwardData %+v", s), dx, naiveConv2DBackwardData(s, dy, w), 1e-5)

			dw, db := filled(len(w), 7), filled(s.K, 7)
			Conv2DBackwardFilter(s, x, dy, dw, db)
			rdw, rdb := naiveConv2DBackwardFilter(s, x, dy)
			assertClose(t, fmt.Sprintf("Conv2DBackwardFilter dw %+v", s), dw, rdw, 1e-5)
			assertClose(t, fmt.Sprintf("Conv2DBackwardFilter db %+v", s), db, rdb, 1e-5)
			dw2 := filled(len(w), 7)
			Conv2DBackwardFilter(s, x, dy, dw2, nil)
			assertClose(t, fmt.Sprintf("Conv2DBackwardFilter nil db %+v", s), dw2, rdw, 1e-5)
		}
	})
}

// checkOpts runs conv (into y, with each combination of ConvOpts) against ref, the plain convolution:
// y = ref or y0 + ref, then max(·, 0) when ReLU is set, y0 being y's previous content.
func checkOpts(t *testing.T, what string, rng *rand.Rand, ref []float64, conv func(y []float32, o ConvOpts)) {
	t.Helper()
	for _, o := range []ConvOpts{{ReLU: true}, {Accumulate: true}, {Accumulate: true, ReLU: true}} {
		y0 := randSlice(rng, len(ref))
		want := make([]float64, len(ref))
		for i, r := range ref {
			if o.Accumulate {
				r += float64(y0[i])
			}
			if o.ReLU {
				r = math.Max(r, 0)
			}
			want[i] = r
		}
		y := append([]float32(nil), y0...)
		conv(y, o)
		assertClose(t, fmt.Sprintf("%s %+v", what, o), y, want, 1e-5)
	}
}

// convTCases are transposed-convolution shapes, including the decoder's k4 s2 p1.
func convTCases(rng *rand.Rand) []ConvTShape {
	cases := []ConvTShape{
		{N: 2, C: 3, H: 4, W: 5, K: 2, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 4, H: 7, W: 3, K: 1, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 2, C: 2, H: 5, W: 5, K: 3, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 3, C: 3, H: 3, W: 6, K: 4, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 1, C: 2, H: 3, W: 3, K: 2, KH: 3, KW: 3, Stride: 2, Pad: 0},
		{N: 1, C: 2, H: 4, W: 2, K: 3, KH: 1, KW: 1, Stride: 2, Pad: 0},
		{N: 1, C: 2, H: 3, W: 4, K: 2, KH: 3, KW: 3, Stride: 3, Pad: 1},
		{N: 2, C: 20, H: 8, W: 7, K: 9, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 6, H: 12, W: 12, K: 1, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 3, H: 3, W: 37, K: 6, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 4, H: 3, W: 32, K: 6, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 3, H: 3, W: 64, K: 7, KH: 3, KW: 3, Stride: 1, Pad: 1},
		// F(2×2, 2×2) per output phase (even heights, widths 32 and 64).
		{N: 2, C: 5, H: 4, W: 32, K: 7, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 20, H: 6, W: 64, K: 17, KH: 4, KW: 4, Stride: 2, Pad: 1},
	}
	ks := []int{1, 3, 4}
	for range 20 {
		k := ks[rng.IntN(len(ks))]
		s := ConvTShape{N: 1 + rng.IntN(3), C: 1 + rng.IntN(6), H: 1 + rng.IntN(9), W: 1 + rng.IntN(9),
			K: 1 + rng.IntN(6), KH: k, KW: k, Stride: 1 + rng.IntN(2), Pad: rng.IntN(2)}
		cases = append(cases, s)
	}
	return cases
}

func TestConvTranspose2DMatchesNaive(t *testing.T) {
	withSettings(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, s := range convTCases(rng) {
			if err := s.Validate(); err != nil {
				continue
			}
			oh, ow := s.OutH(), s.OutW()
			x := randSlice(rng, s.N*s.C*s.H*s.W)
			w := randSlice(rng, s.C*s.K*s.KH*s.KW)
			b := randSlice(rng, s.K)
			dy := randSlice(rng, s.N*s.K*oh*ow)

			y := filled(len(dy), 7)
			ConvTranspose2D(s, x, w, b, y)
			assertClose(t, fmt.Sprintf("ConvTranspose2D %+v", s), y, naiveConvTranspose2D(s, x, w, b), 1e-5)
			ConvTranspose2D(s, x, w, nil, y)
			assertClose(t, fmt.Sprintf("ConvTranspose2D no bias %+v", s), y, naiveConvTranspose2D(s, x, w, nil), 1e-5)
			checkOpts(t, fmt.Sprintf("ConvTranspose2DOpts %+v", s), rng, naiveConvTranspose2D(s, x, w, b),
				func(y []float32, o ConvOpts) { ConvTranspose2DOpts(s, x, w, b, y, o) })

			dx := filled(len(x), 7)
			ConvTranspose2DBackwardData(s, dy, w, dx)
			assertClose(t, fmt.Sprintf("ConvTranspose2DBackwardData %+v", s), dx,
				naiveConvTranspose2DBackwardData(s, dy, w), 1e-5)

			dw, db := filled(len(w), 7), filled(s.K, 7)
			ConvTranspose2DBackwardFilter(s, x, dy, dw, db)
			rdw, rdb := naiveConvTranspose2DBackwardFilter(s, x, dy)
			assertClose(t, fmt.Sprintf("ConvTranspose2DBackwardFilter dw %+v", s), dw, rdw, 1e-5)
			assertClose(t, fmt.Sprintf("ConvTranspose2DBackwardFilter db %+v", s), db, rdb, 1e-5)
		}
	})
}

// TestConvTransposeIsAdjoint checks ⟨Conv2D(x; w), y⟩ = ⟨x, ConvTranspose2D(y; w)⟩ for the same weights.
func TestConvTransposeIsAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := []ConvShape{
		{N: 2, C: 3, H: 8, W: 6, K: 4, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 2, H: 7, W: 9, K: 3, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 5, H: 4, W: 4, K: 2, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 1, C: 2, H: 7, W: 7, K: 3, KH: 3, KW: 3, Stride: 2, Pad: 0},
	}
	for _, s := range shapes {
		ts := ConvTShape{N: s.N, C: s.K, H: s.OutH(), W: s.OutW(), K: s.C, KH: s.KH, KW: s.KW, Stride: s.Stride, Pad: s.Pad}
		if ts.OutH() != s.H || ts.OutW() != s.W {
			t.Fatalf("%+v: transposed output %d×%d, want %d×%d", s, ts.OutH(), ts.OutW(), s.H, s.W)
		}
		x := randSlice(rng, s.N*s.C*s.H*s.W)
		w := randSlice(rng, s.K*s.C*s.KH*s.KW)
		y := randSlice(rng, s.N*s.K*s.OutH()*s.OutW())
		cx := make([]float32, len(y))
		Conv2D(s, x, w, nil, cx)
		ty := make([]float32, len(x))
		ConvTranspose2D(ts, y, w, nil, ty)
		lhs, rhs, mag := 0.0, 0.0, 0.0
		for i := range y {
			lhs += float64(cx[i]) * float64(y[i])
			mag += math.Abs(float64(cx[i]) * float64(y[i]))
		}
		for i := range x {
			rhs += float64(x[i]) * float64(ty[i])
		}
		if math.Abs(lhs-rhs) > 1e-5*mag {
			t.Errorf("%+v: ⟨conv x, y⟩ = %g, ⟨x, convT y⟩ = %g", s, lhs, rhs)
		}
	}
}

// weighted is L = Σ r⊙v in float64.
func weighted(r, v []float32) float64 {
	var s float64
	for i := range v {
		s += float64(r[i]) * float64(v[i])
	}
	return s
}

// checkFiniteDiff compares grad[i] with the central difference (L(p+h·e_i) − L(p−h·e_i))/2h at a few random
// coordinates. The losses are linear in each argument, so a large h loses nothing to truncation and keeps
// float32 rounding small relative to the difference.
func checkFiniteDiff(t *testing.T, what string, rng *rand.Rand, p, grad []float32, loss func() float64) {
	t.Helper()
	const h = 0.5
	for range 12 {
		i := rng.IntN(len(p))
		old := p[i]
		p[i] = old + h
		lp := loss()
		p[i] = old - h
		lm := loss()
		p[i] = old
		fd := (lp - lm) / (2 * h)
		if math.Abs(fd-float64(grad[i])) > 1e-4*(1+math.Abs(fd)) {
			t.Errorf("%s: ∂L/∂p[%d] = %g, finite difference %g", what, i, grad[i], fd)
		}
	}
}

func TestConvGradientsFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := []ConvShape{
		{N: 2, C: 3, H: 9, W: 7, K: 4, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 2, H: 8, W: 10, K: 3, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 3, C: 4, H: 5, W: 6, K: 2, KH: 1, KW: 1, Stride: 1, Pad: 0},
	}
	for _, s := range shapes {
		x := randSlice(rng, s.N*s.C*s.H*s.W)
		w := randSlice(rng, s.K*s.C*s.KH*s.KW)
		b := randSlice(rng, s.K)
		r := randSlice(rng, s.N*s.K*s.OutH()*s.OutW())
		y := make([]float32, len(r))
		loss := func() float64 { Conv2D(s, x, w, b, y); return weighted(r, y) }
		dx := make([]float32, len(x))
		dw := make([]float32, len(w))
		db := make([]float32, len(b))
		Conv2DBackwardData(s, r, w, dx)
		Conv2DBackwardFilter(s, x, r, dw, db)
		name := fmt.Sprintf("Conv2D %+v", s)
		checkFiniteDiff(t, name+" x", rng, x, dx, loss)
		checkFiniteDiff(t, name+" w", rng, w, dw, loss)
		checkFiniteDiff(t, name+" b", rng, b, db, loss)
	}
	tshapes := []ConvTShape{
		{N: 2, C: 3, H: 4, W: 5, K: 2, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 1, C: 2, H: 6, W: 4, K: 3, KH: 3, KW: 3, Stride: 1, Pad: 1},
	}
	for _, s := range tshapes {
		x := randSlice(rng, s.N*s.C*s.H*s.W)
		w := randSlice(rng, s.C*s.K*s.KH*s.KW)
		b := randSlice(rng, s.K)
		r := randSlice(rng, s.N*s.K*s.OutH()*s.OutW())
		y := make([]float32, len(r))
		loss := func() float64 { ConvTranspose2D(s, x, w, b, y); return weighted(r, y) }
		dx := make([]float32, len(x))
		dw := make([]float32, len(w))
		db := make([]float32, len(b))
		ConvTranspose2DBackwardData(s, r, w, dx)
		ConvTranspose2DBackwardFilter(s, x, r, dw, db)
		name := fmt.Sprintf("ConvTranspose2D %+v", s)
		checkFiniteDiff(t, name+" x", rng, x, dx, loss)
		checkFiniteDiff(t, name+" w", rng, w, dw, loss)
		checkFiniteDiff(t, name+" b", rng, b, db, loss)
	}
}

func TestConvPanicsOnShortSlices(t *testing.T) {
	s := ConvShape{N: 1, C: 2, H: 4, W: 4, K: 3, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x, w, y := make([]float32, 32), make([]float32, 54), make([]float32, 48)
	mustPanic(t, "short y", func() { Conv2D(s, x, w, nil, y[:47]) })
	mustPanic(t, "short w", func() { Conv2D(s, x, w[:53], nil, y) })
	mustPanic(t, "short b", func() { Conv2D(s, x, w, make([]float32, 2), y) })
	mustPanic(t, "bad shape", func() { Conv2D(ConvShape{}, x, w, nil, y) })
	mustPanic(t, "short dx", func() { Conv2DBackwardData(s, y, w, x[:31]) })
	mustPanic(t, "short dw", func() { Conv2DBackwardFilter(s, x, y, w[:50], nil) })
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

// bytesPerCall is the heap allocated per call of f after a warm-up call: the least over three rounds of a
// few calls, since a garbage collection empties the buffer pools now and then.
func bytesPerCall(f func()) uint64 {
	runtime.GC()
	f()
	best := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const calls = 4
		for range calls {
			f()
		}
		runtime.ReadMemStats(&after)
		best = min(best, (after.TotalAlloc-before.TotalAlloc)/calls)
	}
	return best
}

// TestSteadyStateAllocations checks that warm calls reuse their scratch buffers: what they allocate
// (plans, closures) is small next to the im2col buffers.
func TestSteadyStateAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const limit = 32 << 10
	for _, s := range []ConvShape{
		{N: 4, C: 16, H: 32, W: 32, K: 32, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 4, C: 16, H: 32, W: 32, K: 64, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 4, C: 2, H: 32, W: 32, K: 64, KH: 4, KW: 4, Stride: 2, Pad: 1},
		{N: 4, C: 16, H: 32, W: 32, K: 32, KH: 1, KW: 1, Stride: 1, Pad: 0},
	} {
		x := randSlice(rng, s.N*s.C*s.H*s.W)
		w := randSlice(rng, s.K*s.C*s.KH*s.KW)
		b := randSlice(rng, s.K)
		y := randSlice(rng, s.N*s.K*s.OutH()*s.OutW())
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		for name, f := range map[string]func(){
			"Conv2D":               func() { Conv2D(s, x, w, b, y) },
			"Conv2DBackwardData":   func() { Conv2DBackwardData(s, y, w, dx) },
			"Conv2DBackwardFilter": func() { Conv2DBackwardFilter(s, x, y, dw, b) },
		} {
			if got := bytesPerCall(f); got > limit {
				t.Errorf("%s %+v: %d bytes allocated per warm call, want ≤ %d", name, s, got, limit)
			}
		}
	}
	z := randSlice(rng, 4*16*256)
	e := randSlice(rng, 64*16)
	idx := make([]int32, 4*256)
	if got := bytesPerCall(func() { NearestCodes(z, 4, 16, 256, e, 64, idx) }); got > limit {
		t.Errorf("NearestCodes: %d bytes allocated per warm call, want ≤ %d", got, limit)
	}
}

// TestBackwardFilterDeterministic checks that the weight gradient is bitwise the same whatever the worker
// count and however the tasks happen to be scheduled.
func TestBackwardFilterDeterministic(t *testing.T) {
	oldCol := filterColBudget
	defer func() { parallel.SetThreads(0); filterColBudget = oldCol }()
	filterColBudget = 1 // one output row per band: many tasks
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range []ConvShape{
		{N: 5, C: 6, H: 11, W: 9, K: 4, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 3, C: 3, H: 10, W: 10, K: 7, KH: 1, KW: 1, Stride: 1, Pad: 0},
	} {
		x := randSlice(rng, s.N*s.C*s.H*s.W)
		dy := randSlice(rng, s.N*s.K*s.OutH()*s.OutW())
		parallel.SetThreads(1)
		want := make([]float32, s.K*s.C*s.KH*s.KW)
		Conv2DBackwardFilter(s, x, dy, want, nil)
		for _, threads := range []int{2, 3, 4, 3} {
			parallel.SetThreads(threads)
			got := make([]float32, len(want))
			Conv2DBackwardFilter(s, x, dy, got, nil)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%+v, %d threads: dw[%d] = %g, with one thread %g", s, threads, i, got[i], want[i])
				}
			}
		}
	}
}
