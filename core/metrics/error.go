package metrics

import (
	"math"

	"github.com/brainvq/brainvq/core/parallel"
)

// MSE returns the mean squared error mean((a−b)²) of two images (or any two equally long vectors),
// summed in float64. It panics if the lengths differ; the MSE of two empty vectors is NaN.
func MSE(a, b []float32) float64 {
	checkLengths(a, b, 1, len(a))
	if len(a) == 0 {
		return math.NaN()
	}
	b = b[:len(a)]
	sum := 0.0
	for i, v := range a {
		d := float64(v) - float64(b[i])
		sum += d * d
	}
	return sum / float64(len(a))
}

// PSNR returns the peak signal-to-noise ratio 10·log10(dataRange² / MSE(a, b)) in decibels; use
// dataRange = 1 for images in [0, 1]. Identical images have MSE 0 and PSNR +Inf (as in scikit-image);
// average such values with MeanPSNR. It panics if the lengths differ.
func PSNR(a, b []float32, dataRange float64) float64 {
	return PSNRFromMSE(MSE(a, b), dataRange)
}

// PSNRFromMSE returns 10·log10(dataRange² / mse) in decibels, +Inf when mse is 0.
func PSNRFromMSE(mse, dataRange float64) float64 {
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(dataRange*dataRange/mse)
}

// MSEBatch returns MSE(a[i], b[i]) for the n images of the batches a and b (each [n, size] with
// size = len(a)/n), computed in parallel. It panics if len(a) or len(b) is not a multiple n·size.
func MSEBatch(a, b []float32, n int) []float64 {
	if n <= 0 {
		checkLengths(a, b, 0, 0)
		return []float64{}
	}
	size := len(a) / n
	checkLengths(a, b, n, size)
	out := make([]float64, n)
	parallel.Tasks(n, func(i, _ int) {
		out[i] = MSE(a[i*size:(i+1)*size], b[i*size:(i+1)*size])
	})
	return out
}

// PSNRBatch returns PSNR(a[i], b[i], dataRange) for the n images of the batches a and b (each
// [n, size]); identical pairs give +Inf. It panics as MSEBatch does.
func PSNRBatch(a, b []float32, n int, dataRange float64) []float64 {
	out := MSEBatch(a, b, n)
	for i, m := range out {
		out[i] = PSNRFromMSE(m, dataRange)
	}
	return out
}

// DefaultPSNRCap is a cap for MeanPSNR, in decibels. 100 dB is an MSE of 1e−10 on [0, 1] images, far
// below the error of one 8-bit grey level (1/255)² ≈ 1.5e−5 spread over a 256×256 image (≈ 96 dB).
const DefaultPSNRCap = 100.0

// MeanPSNR returns the mean of per-image PSNR values with each value above capDB (in particular +Inf,
// from an exact reconstruction) counted as capDB, so that one perfect image cannot turn the mean
// infinite. NaN values propagate; an empty slice gives NaN.
func MeanPSNR(psnr []float64, capDB float64) float64 {
	if len(psnr) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range psnr {
		sum += min(v, capDB)
	}
	return sum / float64(len(psnr))
}
