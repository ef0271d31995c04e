// Package kernels holds the numerical kernels brainvq's model is made of, over plain float32 slices:
// single-precision matrix multiply (Sgemm), 2D convolution and its two backward passes (which also give the
// transposed convolution), the vector quantiser's nearest-code search, and elementwise ReLU, ReLU backward,
// addition and channel sums. Each fast kernel has a plain reference implementation beside it that the tests
// compare against.
//
// All arrays are row-major; images and activations are NCHW.
//
// How the convolutions run (conv_gemm.go, conv_packed.go, conv_implicit.go): a call packs its weights once
// into the micro-kernel's panel layout, then hands (image, band of output rows) tasks to parallel.Threads()
// goroutines as they come free. Where the output rows are a multiple of 32 wide, a task copies the rows
// its band reads, zero-padded, and an 8×32 AVX-512 micro-kernel reads the patches from that copy through
// offsets (implicit GEMM); otherwise the patches are gathered into packed panels first. The weight gradient
// gathers each band's patches into the row-layout panels of the 14×32 micro-kernel. Strided convolutions
// are split into stride phases. Bias, ReLU and residual accumulation are folded into the products.
//
// On CPUs without AVX-512, or with BRAINVQ_NOASM=1, every kernel takes a pure-Go path that computes the same
// values (up to float32 rounding).
package kernels
