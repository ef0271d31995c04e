package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/brainvq/brainvq/core/parallel"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemmBenchShapes are the m,k,n products of brainvq's convolutions (im2col, batch 16, 256×256 images),
// plus a square reference.
var sgemmBenchShapes = [][3]int{
	{4096, 1152, 128}, {4096, 128, 1152}, {1152, 4096, 128}, {16384, 1024, 64}, {4096, 64, 512},
	{65536, 16, 64}, {128, 1152, 4096}, {64, 16, 65536}, {2048, 2048, 2048},
}

// sgemmBenchData returns random operands for C (m×n) = op(A)·op(B) with tight strides.
func sgemmBenchData(m, k, n int) (a, b, c []float32) {
	r := rand.New(rand.NewPCG(11, 12))
	return sgRandSlice(r, m*k), sgRandSlice(r, k*n), sgRandSlice(r, m*n)
}

// benchGemm runs f b.N times and reports GFLOP/s for an m×k×n product (wall clock). With one thread it
// also reports cpu-GFLOP/s, measured on the thread's own CPU time where the OS provides it: on a shared
// machine that figure is not lowered by other processes taking the core away.
func benchGemm(b *testing.B, m, k, n int, f func()) {
	benchGemmCPU(b, m, k, n, parallel.Threads() == 1, f)
}

// benchGemmWall is benchGemm without the CPU-time metric (for code that may run on other threads).
func benchGemmWall(b *testing.B, m, k, n int, f func()) { benchGemmCPU(b, m, k, n, false, f) }

// benchGemmCPU runs f b.N times and reports GFLOP/s, and cpu-GFLOP/s when single is set.
func benchGemmCPU(b *testing.B, m, k, n int, single bool, f func()) {
	b.ReportAllocs()
	f() // warm the buffer pools and caches
	if single {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	cpu0 := threadCPUSeconds()
	b.ResetTimer()
	for range b.N {
		f()
	}
	b.StopTimer()
	flop := 2 * float64(m) * float64(k) * float64(n) * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := threadCPUSeconds() - cpu0; single && cpu > 0 {
		b.ReportMetric(flop/cpu/1e9, "cpu-GFLOP/s")
	}
}

// BenchmarkSgemm measures Sgemm (no transposes) on the shapes that matter, on 1 and 2 threads.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range sgemmBenchShapes {
		m, k, n := s[0], s[1], s[2]
		a, bb, c := sgemmBenchData(m, k, n)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/threads=%d", m, k, n, th), func(b *testing.B) {
				parallel.SetThreads(th)
				defer parallel.SetThreads(0)
				benchGemm(b, m, k, n, func() { Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n) })
			})
		}
	}
}

// BenchmarkSgemmTrans measures the transposed variants (backward passes) on 1 thread.
func BenchmarkSgemmTrans(b *testing.B) {
	for _, s := range sgemmBenchShapes {
		m, k, n := s[0], s[1], s[2]
		a, bb, c := sgemmBenchData(m, k, n)
		for _, tr := range [][2]bool{{true, false}, {false, true}, {true, true}} {
			lda, ldb := k, n
			if tr[0] {
				lda = m
			}
			if tr[1] {
				ldb = k
			}
			name := fmt.Sprintf("%dx%dx%d/%s/threads=1", m, k, n, transName(tr[0], tr[1]))
			b.Run(name, func(b *testing.B) {
				parallel.SetThreads(1)
				defer parallel.SetThreads(0)
				benchGemm(b, m, k, n, func() { Sgemm(tr[0], tr[1], m, n, k, 1, a, lda, bb, ldb, 0, c, n) })
			})
		}
	}
}

// transName spells a transpose combination as BLAS does: N or T for A, then for B.
func transName(ta, tb bool) string {
	s := []byte("NN")
	if ta {
		s[0] = 'T'
	}
	if tb {
		s[1] = 'T'
	}
	return string(s)
}

// BenchmarkSgemmGonum measures gonum's pure-Go Sgemm (the placeholder this package replaced) on the same
// shapes, for comparison. GOMAXPROCS bounds its internal parallelism.
func BenchmarkSgemmGonum(b *testing.B) {
	for _, s := range sgemmBenchShapes {
		m, k, n := s[0], s[1], s[2]
		a, bb, c := sgemmBenchData(m, k, n)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/threads=%d", m, k, n, th), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(th))
				benchGemmWall(b, m, k, n, func() {
					gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bb, n, 0, c, n)
				})
			})
		}
	}
}
