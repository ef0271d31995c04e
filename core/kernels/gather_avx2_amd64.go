package kernels

// scatterRunAVX2 is scatterRun's AVX2 loop (gather_avx2_amd64.s); src must be readable at every element the
// run takes from it.
//
//go:noescape
func scatterRunAVX2(dst *float32, j0, width, stride int, src *float32, ax, ow, lo, hi int)
