//go:build !amd64

package kernels

// The AVX-512 entry points exist only on amd64 (useAVX512 is false elsewhere): these stubs let the portable
// callers compile on every other architecture.

// scatterRunAVX does not exist off amd64 (useAVX512 is false there).
func scatterRunAVX(dst *float32, j0, width, stride int, src *float32, ax, ow, lo, hi int) {
	panic("kernels: no AVX-512 path on this architecture")
}

// scatterRowsAVX does not exist off amd64 (useAVX512 is false there).
func scatterRowsAVX(dst *float32, j0, width, stride int, base *float32, pw, q0, qlo, qhi, nrows, ax, ow, lo, hi int) {
	panic("kernels: no AVX-512 path on this architecture")
}

// tilesR does not exist off amd64 (useAVX512 is false there, and the callers take another path).
func tilesR(kc int, a []float32, m int, b []float32, n int, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}

// The elementwise loops have no assembly off amd64 (useAVX512 is false there).
func reluAVX(dst, src *float32, n int) { panic("kernels: no AVX-512 path on this architecture") }
func reluBackwardAVX(dx, dy, y *float32, n int) {
	panic("kernels: no AVX-512 path on this architecture")
}
func addAVX(dst, a, b *float32, n int) { panic("kernels: no AVX-512 path on this architecture") }
func sumAVX(x *float32, n int) float32 { panic("kernels: no AVX-512 path on this architecture") }

// The stride-2 loops have no assembly off amd64 (useAVX512 is false there).
func deinterleave2AVX(even, odd, src *float32, n int) {
	panic("kernels: no AVX-512 path on this architecture")
}
func spread2AVX(dst, src *float32, n int, odd, acc, relu bool) {
	panic("kernels: no AVX-512 path on this architecture")
}

// kernel8x32I does not exist off amd64 (useAVX512 is false there, and the implicit path is not taken).
func kernel8x32I(kc int, a, base *float32, off, tiles *int32, c *float32, ldc int, beta float32, mr, nq int, mask uint32) {
	panic("kernels: no AVX-512 path on this architecture")
}

// scanBestTwoAVX does not exist off amd64 (useAVX512 is false there).
func scanBestTwoAVX(s *float32, cols, kc int, ee *float32, best, second *float32, arg *int32) {
	panic("kernels: no AVX-512 path on this architecture")
}
