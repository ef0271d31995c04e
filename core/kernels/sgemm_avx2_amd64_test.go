package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkSgemmKernelAVX2 measures the bare AVX2 micro-kernels on L1/L2-resident panels: one call
// computes R×256 of C (16 halves) over kc steps, A k-major (K) or in rows (R). It shows the ceiling the
// blocking around them can reach. (The "m×k×n" of the metric is R×kc×256.)
func BenchmarkSgemmKernelAVX2(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2 on this CPU")
	}
	const nh = 16
	for _, r := range []int{6, 4, 2} {
		for _, kc := range []int{16, 64, 384} {
			for _, layout := range []string{"K", "R"} {
				b.Run(fmt.Sprintf("%dx16/%s/kc=%d", r, layout, kc), func(b *testing.B) {
					ap := alignedFloats(avx2MR * sgemmARowStride)
					bp := alignedFloats(kc * sgemmNR * nh / 2)
					c := alignedFloats(avx2MR * 16 * nh)
					rs, ks := 1, avx2MR
					if layout == "R" {
						rs, ks = sgemmARowStride, 1
					}
					benchGemmCPU(b, r, kc, 16*nh, true, func() {
						kernelAVX2(r, kc, &ap[0], rs, ks, &bp[0], &c[0], 16*nh, 1, 0, r, nh)
					})
				})
			}
		}
	}
}
