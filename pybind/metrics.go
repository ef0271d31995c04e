package pybind

import (
	"fmt"

	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/parallel"
)

// pairs decodes two batches a and b of n images of h×w little-endian float32 values each.
func pairs(a, b []byte, n, h, w int) ([]float32, []float32, error) {
	if n < 1 || h < 1 || w < 1 {
		return nil, nil, badArgf("a", "image batch shape (%d, %d, %d) must be positive", n, h, w)
	}
	x, err := float32s(a, n*h*w, fmt.Sprintf("first images ([%d,%d,%d])", n, h, w))
	if err != nil {
		return nil, nil, badArg("a", err)
	}
	y, err := float32s(b, n*h*w, fmt.Sprintf("second images ([%d,%d,%d])", n, h, w))
	if err != nil {
		return nil, nil, badArg("b", err)
	}
	return x, y, nil
}

// SSIMBatch returns the SSIM (Wang et al. 2004: 11×11 Gaussian window σ 1.5, K1 0.01, K2 0.03, data range
// 1; see core/metrics) of each of the n image pairs of a and b, each [N,H,W] little-endian float32, as n
// little-endian float64 values. Both sides must be at least 11 pixels.
func SSIMBatch(a, b []byte, n, h, w int) (out []byte, err error) {
	defer guard("SSIMBatch", &err)
	if err := metrics.CheckSSIMSize(h, w); err != nil {
		return nil, badArg("a", err)
	}
	x, y, err := pairs(a, b, n, h, w)
	if err != nil {
		return nil, err
	}
	return float64Bytes(metrics.SSIMBatch(x, y, n, h, w)), nil
}

// PSNRBatch returns 10·log10(dataRange² / MSE) in dB of each of the n image pairs of a and b ([N,H,W]
// float32), +Inf for identical images, as n little-endian float64 values.
func PSNRBatch(a, b []byte, n, h, w int, dataRange float64) (out []byte, err error) {
	defer guard("PSNRBatch", &err)
	if !(dataRange > 0) {
		return nil, badArgf("data_range", "PSNR data range %g must be positive", dataRange)
	}
	x, y, err := pairs(a, b, n, h, w)
	if err != nil {
		return nil, err
	}
	return float64Bytes(metrics.PSNRBatch(x, y, n, dataRange)), nil
}

// MSEBatch returns the mean squared error of each of the n image pairs of a and b ([N,H,W] float32) as n
// little-endian float64 values.
func MSEBatch(a, b []byte, n, h, w int) (out []byte, err error) {
	defer guard("MSEBatch", &err)
	x, y, err := pairs(a, b, n, h, w)
	if err != nil {
		return nil, err
	}
	return float64Bytes(metrics.MSEBatch(x, y, n)), nil
}

// Perplexity returns exp(−Σ p_k log p_k) of a code histogram, given as little-endian int64 counts
// (p_k = counts[k]/Σ counts); 0 for an empty or all-zero histogram.
func Perplexity(counts []byte) (p float64, err error) {
	defer guard("Perplexity", &err)
	c, err := int64Counts(counts, "counts")
	if err != nil {
		return 0, badArg("counts", err)
	}
	return metrics.Perplexity(c), nil
}

// UsedFraction returns the fraction of codes with a non-zero count in a histogram of little-endian int64
// counts; 0 for an empty histogram.
func UsedFraction(counts []byte) (f float64, err error) {
	defer guard("UsedFraction", &err)
	c, err := int64Counts(counts, "counts")
	if err != nil {
		return 0, badArg("counts", err)
	}
	return metrics.UsedFraction(c), nil
}

// SetThreads sets how many threads brainvq keeps busy (0: all cores; see core/parallel) and returns the number now in
// effect.
func SetThreads(n int) (effective int, err error) {
	defer guard("SetThreads", &err)
	if n < 0 {
		return 0, badArgf("n", "thread count %d must not be negative", n)
	}
	parallel.SetThreads(n)
	return parallel.Threads(), nil
}

// Threads returns how many threads brainvq keeps busy.
func Threads() (n int, err error) {
	defer guard("Threads", &err)
	return parallel.Threads(), nil
}
