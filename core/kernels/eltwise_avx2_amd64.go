package kernels

// The AVX2 elementwise loops (eltwise_avx2_amd64.s). Each handles the first n − n mod 8 elements; the
// callers finish the rest in Go.

//go:noescape
func reluAVX2(dst, src *float32, n int)

//go:noescape
func reluBackwardAVX2(dx, dy, y *float32, n int)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func sumAVX2(x *float32, n int) float32
