package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSSIMGrad checks SSIMGrad's value against SSIM and its gradient against central finite differences of
// SSIM (float64 inside), at pixels in the interior, at the borders and in the corners.
func TestSSIMGrad(t *testing.T) {
	const h, w = 19, 23
	rng := rand.New(rand.NewPCG(11, 12))
	x, y := make([]float32, h*w), make([]float32, h*w)
	for i := range x {
		x[i] = rng.Float32()
		y[i] = min(1, max(0, x[i]+0.3*(rng.Float32()-0.5)))
	}
	dst := make([]float32, h*w)
	s := SSIMGrad(dst, x, y, h, w)
	if want := SSIM(x, y, h, w); math.Abs(s-want) > 1e-12 {
		t.Errorf("SSIMGrad's SSIM %v, SSIM %v", s, want)
	}
	var maxG float64
	for _, v := range dst {
		maxG = math.Max(maxG, math.Abs(float64(v)))
	}
	pixels := []int{0, w - 1, (h - 1) * w, h*w - 1, 5*w + 5, 9*w + 11, 3*w + 17, 17*w + 2}
	for range 12 {
		pixels = append(pixels, rng.IntN(h*w))
	}
	const eps = 1e-3
	for _, q := range pixels {
		orig := y[q]
		y[q] = orig + eps
		up := SSIM(x, y, h, w)
		y[q] = orig - eps
		down := SSIM(x, y, h, w)
		y[q] = orig
		fd := (up - down) / (float64(orig+eps) - float64(orig-eps)) // the step float32 actually took
		if diff := math.Abs(fd - float64(dst[q])); diff > 1e-3*maxG {
			t.Errorf("∂SSIM/∂y[%d,%d]: analytic %g, finite difference %g (max |grad| %g)", q/w, q%w, dst[q], fd, maxG)
		}
	}
}
