//go:build !amd64

package kernels

// The AVX2 elementwise loops do not exist off amd64 (useAVX2 is false there).
func reluAVX2(dst, src *float32, n int) { panic("kernels: no AVX2 path on this architecture") }
func reluBackwardAVX2(dx, dy, y *float32, n int) {
	panic("kernels: no AVX2 path on this architecture")
}
func addAVX2(dst, a, b *float32, n int) { panic("kernels: no AVX2 path on this architecture") }
func sumAVX2(x *float32, n int) float32 { panic("kernels: no AVX2 path on this architecture") }
