package kernels

import (
	"fmt"
	"testing"
	"unsafe"
)

// BenchmarkSgemmKernel measures the bare AVX-512 micro-kernels on L1/L2-resident panels: one call computes
// 8 tiles (14×256 of C) over kc steps. It shows the ceiling that the blocking around them can reach.
// (The "m×k×n" of the metric is 14×kc×256.)
func BenchmarkSgemmKernel(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	const nq = 8
	for _, kc := range []int{16, 64, 384} {
		for _, layout := range []string{"K", "R"} {
			b.Run(fmt.Sprintf("%s/kc=%d", layout, kc), func(b *testing.B) {
				ap := alignedFloats(sgemmMR * sgemmARowStride)
				bp := alignedFloats(kc * sgemmNR * nq)
				c := alignedFloats(sgemmMR * sgemmNR * nq)
				kern := kernel14x32K
				if layout == "R" {
					kern = kernel14x32R
				}
				idle := uintptr(unsafe.Pointer(&ap[0]))
				benchGemmCPU(b, sgemmMR, kc, sgemmNR*nq, true, func() {
					kern(kc, &ap[0], &bp[0], &c[0], sgemmNR*nq, 1, 0, sgemmMR, nq, 0xffffffff, idle, 0, 1<<30, 1<<30)
				})
			})
		}
	}
}
