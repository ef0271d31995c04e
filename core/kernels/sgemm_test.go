package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/parallel"
)

// refSgemm is the reference: C = alpha·op(A)·op(B) + beta·C accumulated in float64, with beta 0 meaning
// "C is not read". It also returns, per element, the magnitude |alpha|·Σ|a||b| + |beta·c| that bounds the
// rounding error of a float32 evaluation.
func refSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, abs float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			s *= float64(alpha)
			abs *= math.Abs(float64(alpha))
			if beta != 0 {
				cv := float64(beta) * float64(c[i*ldc+j])
				s += cv
				abs += math.Abs(cv)
			}
			want[i*n+j], scale[i*n+j] = s, abs
		}
	}
	return want, scale
}

// sgRandSlice returns n uniform values in [-1, 1).
func sgRandSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*r.Float32() - 1
	}
	return x
}

// sgCase is one Sgemm call to check.
type sgCase struct {
	transA, transB bool
	m, n, k        int
	pad            int // extra elements per row of every stored matrix (ld = cols + pad)
	alpha, beta    float32
	nanC           bool // fill C with NaN first (only meaningful with beta 0)
}

func (tc sgCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,pad=%d,alpha=%g,beta=%g,nan=%v",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.pad, tc.alpha, tc.beta, tc.nanC)
}

// sgCheck runs one case through Sgemm and compares with refSgemm. Besides C's m×n part it checks that
// the padding of C (columns past n) is left untouched.
func sgCheck(t *testing.T, r *rand.Rand, tc sgCase) {
	t.Helper()
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := max(1, ac+tc.pad), max(1, bc+tc.pad), max(1, tc.n+tc.pad)
	a := sgRandSlice(r, ar*lda)
	b := sgRandSlice(r, br*ldb)
	c := sgRandSlice(r, tc.m*ldc)
	if tc.nanC {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	c0 := append([]float32(nil), c...)
	want, scale := refSgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	const u = 1.0 / (1 << 24) // float32 unit roundoff
	bad := 0
	for i := range tc.m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= tc.n {
				if math.Float32bits(got) != math.Float32bits(c0[i*ldc+j]) {
					t.Fatalf("%v: padding C[%d][%d] changed from %g to %g", tc, i, j, c0[i*ldc+j], got)
				}
				continue
			}
			w, s := want[i*tc.n+j], scale[i*tc.n+j]
			tol := float64(tc.k+4)*u*s + 1e-30
			if d := math.Abs(float64(got) - w); !(d <= tol) {
				bad++
				if bad <= 5 {
					t.Errorf("%v: C[%d][%d] = %g, want %g (|diff| %.3g > tol %.3g)", tc, i, j, got, w, d, tol)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%v: %d of %d elements wrong", tc, bad, tc.m*tc.n)
	}
}

// sgForEachPath runs f once for each instruction-set path this CPU runs: pure Go, and AVX2 and AVX-512
// where the CPU has them.
func sgForEachPath(t *testing.T, f func(t *testing.T)) {
	saved := currentISA()
	defer setISA(saved)
	paths := availableISAs()
	if !hasAVX512 {
		t.Log("no AVX-512 on this CPU/architecture: its path is not tested")
	}
	if !hasAVX2 {
		t.Log("no AVX2 on this CPU/architecture: its path is not tested")
	}
	for _, k := range paths {
		setISA(k)
		t.Run(k.String(), f)
	}
}

func TestSgemmSmallShapes(t *testing.T) {
	sizes := []int{1, 3, 17, 31, 33, 100}
	sgForEachPath(t, func(t *testing.T) {
		defer parallel.SetThreads(0)
		parallel.SetThreads(1)
		r := rand.New(rand.NewPCG(1, 2))
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, m := range sizes {
					for _, n := range sizes {
						for _, k := range sizes {
							sgCheck(t, r, sgCase{transA: tA, transB: tB, m: m, n: n, k: k,
								pad: (m + n + k) % 3 * 5, alpha: 1, beta: 0})
						}
					}
				}
			}
		}
	})
}

func TestSgemmLargeShapes(t *testing.T) {
	// Shapes that cross the block boundaries: several k blocks (k > 384), several n blocks (n·kc > the
	// B block), partial tiles on both edges, and k not a multiple of the 4-step unrolling.
	shapes := [][3]int{{257, 257, 257}, {20, 1000, 800}, {29, 70, 1153}, {100, 33, 385}, {15, 2100, 66}}
	sgForEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, threads := range []int{1, 2} {
			parallel.SetThreads(threads)
			for _, s := range shapes {
				for _, tA := range []bool{false, true} {
					for _, tB := range []bool{false, true} {
						sgCheck(t, r, sgCase{transA: tA, transB: tB, m: s[0], n: s[1], k: s[2],
							pad: 3, alpha: 0.75, beta: -0.5})
					}
				}
			}
		}
		parallel.SetThreads(0)
	})
}

func TestSgemmAlphaBeta(t *testing.T) {
	ab := []struct {
		alpha, beta float32
		nanC        bool
	}{
		{1, 0, true}, {0.5, 0, true}, {1, 1, false}, {-2, 0.25, false}, {0, 2, false}, {0, 0, true},
		{3, -1, false},
	}
	sgForEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, threads := range []int{1, 2} {
			parallel.SetThreads(threads)
			for _, x := range ab {
				for _, s := range [][3]int{{31, 33, 17}, {100, 3, 257}, {3, 100, 1}, {150, 140, 130}, {7, 9, 0}} {
					for _, tA := range []bool{false, true} {
						for _, tB := range []bool{false, true} {
							sgCheck(t, r, sgCase{transA: tA, transB: tB, m: s[0], n: s[1], k: s[2],
								pad: 2, alpha: x.alpha, beta: x.beta, nanC: x.nanC})
						}
					}
				}
			}
		}
		parallel.SetThreads(0)
	})
}

func TestSgemmParallelSplits(t *testing.T) {
	// Tall (split along m), wide (split along n) and thread counts that do not divide the tiles.
	shapes := [][3]int{{1000, 40, 64}, {30, 2000, 64}, {64, 16, 3000}, {300, 300, 30}}
	sgForEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, threads := range []int{2, 3, 5} {
			parallel.SetThreads(threads)
			for _, s := range shapes {
				sgCheck(t, r, sgCase{transA: s[0]%2 == 1, transB: s[1]%3 == 0, m: s[0], n: s[1], k: s[2],
					pad: 1, alpha: 1, beta: 0.5})
			}
		}
		parallel.SetThreads(0)
	})
}

func TestSgemmEmpty(t *testing.T) {
	// m or n zero: nothing happens, even with nil slices.
	Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
	Sgemm(true, true, 4, 0, 3, 1, make([]float32, 12), 4, nil, 3, 0, make([]float32, 4), 1)
}

func TestSgemmPanics(t *testing.T) {
	cases := []struct {
		name string
		call func()
		msg  string
	}{
		{"negative m", func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, "negative"},
		{"small lda", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "ldA"},
		{"small ldb transposed", func() {
			Sgemm(false, true, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "ldB"},
		{"short C", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 6), 2, 0, make([]float32, 3), 2)
		}, "len(C)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.msg) {
					t.Fatalf("panic = %v, want one mentioning %q", r, tc.msg)
				}
			}()
			tc.call()
		})
	}
}

func TestSgemmNoAllocs(t *testing.T) {
	defer parallel.SetThreads(0)
	parallel.SetThreads(1)
	m, n, k := 100, 70, 50
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) // fill the buffer pools
	allocs := testing.AllocsPerRun(20, func() { Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) })
	if allocs > 0 {
		t.Fatalf("single-threaded Sgemm allocates %.1f times per call in steady state, want 0", allocs)
	}
}

func TestNoAsmEnv(t *testing.T) {
	t.Setenv(noAsmEnv, "1")
	if !asmDisabledByEnv() {
		t.Fatalf("%s=1 does not disable the assembly paths", noAsmEnv)
	}
	t.Setenv(noAsmEnv, "")
	if asmDisabledByEnv() {
		t.Fatalf("empty %s disables the assembly paths", noAsmEnv)
	}
}

// chooseISA honours BRAINVQ_NOASM and BRAINVQ_ISA, and falls back with a warning to the best path when
// asked for one the CPU does not run or for an unknown name.
func TestChooseISA(t *testing.T) {
	all := []isaKind{isaGeneric, isaAVX2, isaAVX512}
	noAVX512 := []isaKind{isaGeneric, isaAVX2}
	for _, tc := range []struct {
		noAsm bool
		want  string
		avail []isaKind
		got   isaKind
		warn  bool
	}{
		{false, "", all, isaAVX512, false},
		{false, "avx2", all, isaAVX2, false},
		{false, " AVX512 ", all, isaAVX512, false},
		{false, "generic", all, isaGeneric, false},
		{true, "avx512", all, isaGeneric, false},
		{true, "", noAVX512, isaGeneric, false},
		{false, "avx512", noAVX512, isaAVX2, true},
		{false, "avx2", []isaKind{isaGeneric}, isaGeneric, true},
		{false, "sse4", noAVX512, isaAVX2, true},
	} {
		got, warn := chooseISA(tc.noAsm, tc.want, tc.avail)
		if got != tc.got || (warn != "") != tc.warn {
			t.Errorf("chooseISA(%v, %q, %v) = %v, %q; want %v, warning %v", tc.noAsm, tc.want, tc.avail, got, warn, tc.got, tc.warn)
		}
		if tc.warn && !strings.Contains(warn, isaEnv) {
			t.Errorf("warning %q does not name %s", warn, isaEnv)
		}
	}
	if ISA() != currentISA().String() {
		t.Errorf("ISA() = %q, want %q", ISA(), currentISA())
	}
}
