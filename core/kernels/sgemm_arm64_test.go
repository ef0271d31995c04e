package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/brainvq/brainvq/core/parallel"
)

// On arm64 the NEON path is always available and is the default unless the environment asks for the
// pure-Go one; asking for an amd64 path falls back to it with a warning.
func TestNEONIsDefaultOnArm64(t *testing.T) {
	avail := availableISAs()
	if avail[len(avail)-1] != isaNEON {
		t.Fatalf("availableISAs() = %v, want neon last", avail)
	}
	if os.Getenv(isaEnv) == "" && !asmDisabledByEnv() && activeISA != isaNEON {
		t.Errorf("default path = %v, want neon", activeISA)
	}
	if k, warn := chooseISA(false, "neon", avail); k != isaNEON || warn != "" {
		t.Errorf("chooseISA(neon) = %v, %q; want neon, no warning", k, warn)
	}
	if k, warn := chooseISA(false, "generic", avail); k != isaGeneric || warn != "" {
		t.Errorf("chooseISA(generic) = %v, %q; want generic, no warning", k, warn)
	}
	if k, warn := chooseISA(false, "avx2", avail); k != isaNEON || warn == "" {
		t.Errorf("chooseISA(avx2) on arm64 = %v, %q; want neon with a warning", k, warn)
	}
	saved := currentISA()
	defer setISA(saved)
	setISA(isaNEON)
	if ISA() != "neon" {
		t.Errorf("ISA() = %q after setISA(neon)", ISA())
	}
}

// tilesNEON against a float64 reference for every row count of the 6-, 8- and 14-row A panels (so every
// mix of 6-, 4- and 2-row blocks and every partial block), column counts around the 16-column halves and
// 32-column panels, k = 1 and others, and alpha/beta pairs including beta 0 over a NaN-filled C (which
// must not be read) and beta 1. Rows past mr and columns past n must be left untouched.
func TestTilesNEONAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 64))
	ab := [][2]float32{{1, 0}, {1, 1}, {0.5, 0}, {-2, 0.25}}
	for _, aw := range []int{6, 8, 14} {
		for _, kc := range []int{1, 2, 3, 7, 33} {
			for _, n := range []int{1, 5, 15, 16, 17, 31, 32, 33, 48, 70} {
				nq := ceilDiv(n, sgemmNR)
				a := sgRandSlice(r, kc*aw)
				b := sgRandSlice(r, nq*kc*sgemmNR)
				for mr := 1; mr <= aw; mr++ {
					x := ab[(mr+kc+n)%len(ab)]
					alpha, beta := x[0], x[1]
					ldc := n + 3
					c := sgRandSlice(r, (aw+1)*ldc)
					if beta == 0 {
						for i := range c {
							c[i] = float32(math.NaN())
						}
					}
					c0 := append([]float32(nil), c...)
					tilesNEON(kc, a, aw, aw, b, c, ldc, alpha, beta, mr, n)
					name := fmt.Sprintf("aw=%d kc=%d n=%d mr=%d alpha=%g beta=%g", aw, kc, n, mr, alpha, beta)
					for i := range aw + 1 {
						for j := range ldc {
							got := c[i*ldc+j]
							if i >= mr || j >= n {
								if math.Float32bits(got) != math.Float32bits(c0[i*ldc+j]) {
									t.Fatalf("%s: C[%d][%d] outside the block changed from %g to %g", name, i, j, c0[i*ldc+j], got)
								}
								continue
							}
							var s, abs float64
							for p := range kc {
								v := float64(a[p*aw+i]) * float64(b[(j/sgemmNR)*kc*sgemmNR+p*sgemmNR+j%sgemmNR])
								s += v
								abs += math.Abs(v)
							}
							want := float64(alpha) * s
							scale := math.Abs(float64(alpha)) * abs
							if beta != 0 {
								want += float64(beta) * float64(c0[i*ldc+j])
								scale += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
							}
							tol := float64(kc+4)*scale/(1<<24) + 1e-30
							if d := math.Abs(float64(got) - want); !(d <= tol) {
								t.Fatalf("%s: C[%d][%d] = %g, want %g (|diff| %.3g > %.3g)", name, i, j, got, want, d, tol)
							}
						}
					}
				}
			}
		}
	}
}

// Sgemm on the NEON path against the reference for shapes at the edges of its blocks: m around the 6-row
// panels, n around the 16-column halves, k = 1 and k past one k block, all four transposes, and alpha/beta
// pairs with beta 0 (NaN in C), beta 1 and general ones.
func TestSgemmNEONEdges(t *testing.T) {
	saved := currentISA()
	defer setISA(saved)
	defer parallel.SetThreads(0)
	setISA(isaNEON)
	r := rand.New(rand.NewPCG(64, 13))
	ab := []struct {
		alpha, beta float32
		nanC        bool
	}{{1, 0, true}, {1, 1, false}, {-0.5, 0, true}, {2, -0.75, false}}
	shapes := [][3]int{{1, 1, 1}, {5, 15, 1}, {6, 16, 2}, {7, 17, 3}, {12, 32, 1}, {13, 33, 9}, {19, 47, 385},
		{8, 64, 5}, {2, 1, 40}}
	for _, threads := range []int{1, 2} {
		parallel.SetThreads(threads)
		for _, s := range shapes {
			for _, x := range ab {
				for _, tA := range []bool{false, true} {
					for _, tB := range []bool{false, true} {
						sgCheck(t, r, sgCase{transA: tA, transB: tB, m: s[0], n: s[1], k: s[2], pad: 2,
							alpha: x.alpha, beta: x.beta, nanC: x.nanC})
					}
				}
			}
		}
	}
}
