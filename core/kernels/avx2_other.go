//go:build !amd64

package kernels

// The AVX2 paths do not exist off amd64 (useAVX2 is false there): these stubs only let the portable
// callers compile.

func rowGemmAVX2(y []float32, ldy int, w []float32, x []float32, ldx int, m, k, n int) {
	panic("kernels: no AVX2 path on this architecture")
}

func tilesAVX2(kc, aw int, ap, bp, c []float32, ldc int, alpha, beta float32, mr, n int) {
	panic("kernels: no AVX2 path on this architecture")
}

func reluAVX2(dst, src *float32, n int) { panic("kernels: no AVX2 path on this architecture") }

func reluBackwardAVX2(dx, dy, y *float32, n int) {
	panic("kernels: no AVX2 path on this architecture")
}

func addAVX2(dst, a, b *float32, n int) { panic("kernels: no AVX2 path on this architecture") }

func sumAVX2(x *float32, n int) float32 { panic("kernels: no AVX2 path on this architecture") }

func expAVX2(dst, src *float32, n int) { panic("kernels: no AVX2 path on this architecture") }

func gateAVX2(y, a1, a2 *float32, n int) { panic("kernels: no AVX2 path on this architecture") }

func gateGradAVX2(d1, d2, a1, a2, dy *float32, n int) {
	panic("kernels: no AVX2 path on this architecture")
}

func vecActivations() bool { return false }

func scatterRunAVX2(dst *float32, j0, width, stride int, src *float32, ax, ow, lo, hi int) {
	panic("kernels: no AVX2 path on this architecture")
}

func mulImplicitAVX2(kb int, a []float32, aw, m int, buf []float32, off, tiles []int32, cols int, c []float32, ldc int, beta float32) {
	panic("kernels: no AVX2 path on this architecture")
}

func tilesAVX2A(kc int, a []float32, rs, ks, room int, bp, c []float32, ldc int, alpha, beta float32, mr, n int) {
	panic("kernels: no AVX2 path on this architecture")
}
