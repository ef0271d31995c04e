package metrics

import (
	"fmt"
	"math"
)

// MS-SSIM, the multi-scale structural similarity of Wang, Simoncelli and Bovik (2003), "Multi-scale
// structural similarity for image quality assessment": SSIM's contrast-structure term at five scales, each
// a 2×2 average-pooled copy of the one before, and the full SSIM at the coarsest,
//
//	MS-SSIM(a, b) = Π_{j=1..4} cs_j^{w_j} · ssim_5^{w_5},  w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
//
// each term the mean over the valid windows (the SSIM settings of this package at every scale). A negative
// mean term is taken as 0 (so is tf.image.ssim_multiscale's). Used to measure how different generated
// slices are from one another.
var MSSSIMWeights = [...]float64{0.0448, 0.2856, 0.3001, 0.2363, 0.1333}

// MSSSIMMinSide is the smallest image side MS-SSIM accepts: the coarsest scale must still hold one
// SSIM window.
const MSSSIMMinSide = SSIMWindow << (len(MSSSIMWeights) - 1)

// CheckMSSSIMSize reports whether h×w images are large enough for MS-SSIM.
func CheckMSSSIMSize(h, w int) error {
	if h < MSSSIMMinSide || w < MSSSIMMinSide {
		return fmt.Errorf("MS-SSIM needs images of at least %d×%d pixels, got %d×%d", MSSSIMMinSide, MSSSIMMinSide, h, w)
	}
	return nil
}

// MSSSIM returns the MS-SSIM of the h×w images a and b. It panics on a size CheckMSSSIMSize rejects or
// slices that are not h·w long.
func MSSSIM(a, b []float32, h, w int) float64 {
	if err := CheckMSSSIMSize(h, w); err != nil {
		panic("metrics: " + err.Error())
	}
	checkLengths(a, b, 1, h*w)
	var s ssimScratch
	result := 1.0
	for j, wt := range MSSSIMWeights {
		sum, cs := s.valid(a, b, h, w, nil)
		n := float64((h - 2*SSIMRadius) * (w - 2*SSIMRadius))
		term := cs / n
		if j == len(MSSSIMWeights)-1 {
			term = sum / n
		}
		result *= math.Pow(max(term, 0), wt)
		if j < len(MSSSIMWeights)-1 {
			b, _, _ = pool2(b, h, w)
			a, h, w = pool2(a, h, w)
		}
	}
	return result
}

// pool2 averages the 2×2 blocks of an h×w image (an odd last row or column is dropped) and returns the
// pooled image with its size.
func pool2(x []float32, h, w int) ([]float32, int, int) {
	oh, ow := h/2, w/2
	out := make([]float32, oh*ow)
	for i := range oh {
		for j := range ow {
			p := 2*i*w + 2*j
			out[i*ow+j] = (x[p] + x[p+1] + x[p+w] + x[p+w+1]) / 4
		}
	}
	return out, oh, ow
}
