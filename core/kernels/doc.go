// Package kernels holds the numerical kernels brainvq's model is made of, over plain float32 slices:
// single-precision matrix multiply (Sgemm), 2D convolution and its two backward passes (which also give the
// transposed convolution), and the vector quantiser's nearest-code search. Each fast kernel has a plain
// reference implementation beside it that the tests compare against.
//
// All arrays are row-major; images and activations are NCHW.
package kernels
