package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveTerms computes the mean SSIM and mean contrast-structure term of two images by direct 11×11
// Gaussian windows in float64 (no separable filtering): the reference for MS-SSIM's scales.
func naiveTerms(a, b []float32, h, w int) (ssim, cs float64) {
	g := gaussianKernel(SSIMSigma, SSIMRadius)
	n := 0
	for i := SSIMRadius; i < h-SSIMRadius; i++ {
		for j := SSIMRadius; j < w-SSIMRadius; j++ {
			var ux, uy, uxx, uyy, uxy float64
			for di := -SSIMRadius; di <= SSIMRadius; di++ {
				for dj := -SSIMRadius; dj <= SSIMRadius; dj++ {
					wt := g[di+SSIMRadius] * g[dj+SSIMRadius]
					x, y := float64(a[(i+di)*w+j+dj]), float64(b[(i+di)*w+j+dj])
					ux, uy, uxx, uyy, uxy = ux+wt*x, uy+wt*y, uxx+wt*x*x, uyy+wt*y*y, uxy+wt*x*y
				}
			}
			vx, vy, vxy := uxx-ux*ux, uyy-uy*uy, uxy-ux*uy
			c := (2*vxy + ssimC2) / (vx + vy + ssimC2)
			cs += c
			ssim += (2*ux*uy + ssimC1) / (ux*ux + uy*uy + ssimC1) * c
			n++
		}
	}
	return ssim / float64(n), cs / float64(n)
}

func naiveMSSSIM(a, b []float32, h, w int) float64 {
	r := 1.0
	for j, wt := range MSSSIMWeights {
		s, cs := naiveTerms(a, b, h, w)
		if j == len(MSSSIMWeights)-1 {
			cs = s
		}
		r *= math.Pow(max(cs, 0), wt)
		// pool by hand, independently of pool2
		oh, ow := h/2, w/2
		pa, pb := make([]float32, oh*ow), make([]float32, oh*ow)
		for i := range oh {
			for k := range ow {
				for _, d := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
					pa[i*ow+k] += a[(2*i+d[0])*w+2*k+d[1]] / 4
					pb[i*ow+k] += b[(2*i+d[0])*w+2*k+d[1]] / 4
				}
			}
		}
		a, b, h, w = pa, pb, oh, ow
	}
	return r
}

func TestMSSSIMAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	h, w := 180, 190
	a := make([]float32, h*w)
	for i := range a {
		a[i] = float32(0.5 + 0.3*math.Sin(float64(i%w)/9)*math.Cos(float64(i/w)/13) + 0.05*rng.NormFloat64())
	}
	for _, noise := range []float64{0, 0.05, 0.2} {
		b := make([]float32, len(a))
		for i := range b {
			b[i] = a[i] + float32(noise*rng.NormFloat64())
		}
		got, want := MSSSIM(a, b, h, w), naiveMSSSIM(a, b, h, w)
		if math.Abs(got-want) > 1e-10 {
			t.Fatalf("noise %g: MS-SSIM %v, naive %v", noise, got, want)
		}
		if noise == 0 && math.Abs(got-1) > 1e-12 {
			t.Fatalf("MS-SSIM of an image with itself = %v", got)
		}
		if noise > 0 && !(got < 1) {
			t.Fatalf("noise %g: MS-SSIM %v, want < 1", noise, got)
		}
	}
	if CheckMSSSIMSize(175, 300) == nil {
		t.Fatal("175 rows accepted; the coarsest scale would be smaller than the window")
	}
}
