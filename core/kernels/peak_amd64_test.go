package kernels

import (
	"runtime"
	"sync"
	"testing"
)

// BenchmarkFMAPeak measures the float32 FMA peak of this machine with every thread of GOMAXPROCS busy:
// AVX-512 (when the CPU has it), AVX2+FMA and scalar FMA. It is the denominator of "% of peak": run it
// beside the kernel and training benchmarks, on the same machine, with the same -cpu.
//
//	go test -run '^$' -bench FMAPeak ./core/kernels
func BenchmarkFMAPeak(b *testing.B) {
	for _, c := range []struct {
		name  string
		ok    bool
		flops float64
		loop  func(int)
	}{
		{"avx512", hasAVX512, 384, fmaLoop512},
		{"avx2", hasAVX2, 192, fmaLoop256},
		{"scalar", hasAVX2, 24, fmaLoopScalar},
	} {
		b.Run(c.name, func(b *testing.B) {
			if !c.ok {
				b.Skipf("this CPU has no %s", c.name)
			}
			const iters = 1 << 22
			threads := runtime.GOMAXPROCS(0)
			for b.Loop() {
				var wg sync.WaitGroup
				for range threads {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c.loop(iters)
					}()
				}
				wg.Wait()
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(c.flops*iters*float64(threads)/per/1e9, "GFLOP/s")
			b.ReportMetric(c.flops*iters/per/1e9, "GFLOP/s/thread")
		})
	}
}
