package kernels

// The AVX2 loops of the prior's activations (activation_avx2_amd64.s). Each handles the first n − n mod 8
// elements, bit for bit as Expf, Sigmoid and Tanh would; the callers finish the rest in Go.

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func gateAVX2(y, a1, a2 *float32, n int)

//go:noescape
func gateGradAVX2(d1, d2, a1, a2, dy *float32, n int)

// vecActivations reports whether the AVX2 activation loops run: on the AVX2 path, and on the AVX-512 path
// too (every AVX-512 CPU has AVX2 and FMA; these loops are memory- and latency-bound, not width-bound).
func vecActivations() bool { return (useAVX2 || useAVX512) && hasAVX2 }
