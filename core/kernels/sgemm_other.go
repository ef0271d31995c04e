//go:build !amd64 && !arm64

package kernels

// packB packs the kc×nc block of op(B) at (p0, j0) into 32-column panels (see packBGo).
func (g *gemmArgs) packB(dst []float32, p0, kc, j0, nc int) { g.packBGo(dst, p0, kc, j0, nc) }

// blockA multiplies a block of mb rows of op(A) with the packed B block (see blockGo).
func (g *gemmArgs) blockA(ap []float32, i0, mb, p0, kc, j0, nc int, bp []float32, beta float32,
	_ *[2]pfRegion) {
	g.blockGo(ap, i0, mb, p0, kc, j0, nc, bp, beta)
}

// tiles runs one 14-row A panel against nq packed B panels (see tilesGo).
func tiles(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	tilesGo(kc, sgemmMR, ap, bp, c, ldc, beta, mr, nq, last)
}

// tiles8 runs one 8-row A panel against nq packed B panels (see tilesGo).
func tiles8(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	tilesGo(kc, convMR, ap, bp, c, ldc, beta, mr, nq, last)
}

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
