//go:build !amd64

package kernels

// rowGemmAVX2 does not exist off amd64 (useAVX2 is false there).
func rowGemmAVX2(y []float32, ldy int, w []float32, x []float32, ldx int, m, k, n int) {
	panic("kernels: no AVX2 path on this architecture")
}
