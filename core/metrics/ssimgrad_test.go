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

// TestSSIMGradMatchesReference compares SSIMGrad with the direct form kept below (five full moment maps,
// three full spread maps, every tap multiplied separately) on image sizes from the smallest SSIM accepts
// to a full slice, non-square ones included, reusing the scratch between sizes.
func TestSSIMGradMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, sz := range [][2]int{{11, 11}, {11, 30}, {30, 11}, {12, 13}, {40, 33}, {256, 256}, {19, 23}} {
		h, w := sz[0], sz[1]
		x, y := make([]float32, h*w), make([]float32, h*w)
		for i := range x {
			x[i] = rng.Float32()
			y[i] = min(1, max(0, x[i]+0.4*(rng.Float32()-0.5)))
		}
		got, want := make([]float32, h*w), make([]float32, h*w)
		s := SSIMGrad(got, x, y, h, w)
		sr := ssimGradRef(want, x, y, h, w)
		if math.Abs(s-sr) > 1e-12 {
			t.Errorf("%d×%d: SSIM %v, reference %v", h, w, s, sr)
		}
		var maxG float64
		for _, v := range want {
			maxG = math.Max(maxG, math.Abs(float64(v)))
		}
		for q := range got {
			if d := math.Abs(float64(got[q] - want[q])); d > 1e-6*maxG {
				t.Fatalf("%d×%d: ∂SSIM/∂y[%d,%d] = %g, reference %g", h, w, q/w, q%w, got[q], want[q])
			}
		}
	}
}

// ssimGradRef is SSIMGrad written directly from its formula, the reference for the streamed version.
func ssimGradRef(dst, x, y []float32, h, w int) float64 {
	checkImages(x, y, 1, h, w)
	if len(dst) != h*w {
		panic("metrics: SSIMGrad destination has the wrong length")
	}
	const r = SSIMRadius
	g := &ssimKernel
	oh, ow := h-2*r, w-2*r
	// The five moments over the valid windows: vertical pass into [oh, w], then horizontal into [oh, ow].
	var vert [5][]float64
	for m := range vert {
		vert[m] = make([]float64, oh*w)
	}
	for i := range oh {
		for k := range SSIMWindow {
			gk := g[k]
			xr, yr := x[(i+k)*w:(i+k+1)*w], y[(i+k)*w:(i+k+1)*w]
			o := i * w
			for j := range w {
				a, b := float64(xr[j]), float64(yr[j])
				vert[0][o+j] += gk * a
				vert[1][o+j] += gk * b
				vert[2][o+j] += gk * a * a
				vert[3][o+j] += gk * b * b
				vert[4][o+j] += gk * a * b
			}
		}
	}
	pa, pb, pc := make([]float64, oh*ow), make([]float64, oh*ow), make([]float64, oh*ow)
	total := 0.0
	for i := range oh {
		for j := range ow {
			var mom [5]float64
			for m := range mom {
				row := vert[m][i*w+j : i*w+j+SSIMWindow]
				for k, gk := range g {
					mom[m] += gk * row[k]
				}
			}
			ux, uy := mom[0], mom[1]
			vx, vy, vxy := mom[2]-ux*ux, mom[3]-uy*uy, mom[4]-ux*uy
			b1, b2 := ux*ux+uy*uy+ssimC1, vx+vy+ssimC2
			l, c := (2*ux*uy+ssimC1)/b1, (2*vxy+ssimC2)/b2
			s := l * c
			total += s
			dmu, dvar, dcov := 2*c*(ux-l*uy)/b1, -s/b2, 2*l/b2
			p := i*ow + j
			pa[p] = dmu - 2*uy*dvar - ux*dcov
			pb[p] = dvar
			pc[p] = dcov
		}
	}
	ga, gb, gc := spreadWindowsRef(pa, oh, ow), spreadWindowsRef(pb, oh, ow), spreadWindowsRef(pc, oh, ow)
	n := float64(oh * ow)
	for q := range dst {
		dst[q] = float32((ga[q] + 2*float64(y[q])*gb[q] + float64(x[q])*gc[q]) / n)
	}
	return total / n
}

// spreadWindowsRef is the transpose of the valid Gaussian filter: it adds g(p−q)·m_p of every window p of the
// [oh, ow] map m to the pixels q of its window, giving an [oh+10, ow+10] image.
func spreadWindowsRef(m []float64, oh, ow int) []float64 {
	const r = SSIMRadius
	g := &ssimKernel
	h, w := oh+2*r, ow+2*r
	horiz := make([]float64, oh*w)
	for i := range oh {
		src, dst := m[i*ow:(i+1)*ow], horiz[i*w:(i+1)*w]
		for j, v := range src {
			for k, gk := range g {
				dst[j+k] += gk * v
			}
		}
	}
	out := make([]float64, h*w)
	for i := range oh {
		src := horiz[i*w : (i+1)*w]
		for k, gk := range g {
			dst := out[(i+k)*w : (i+k+1)*w]
			for j, v := range src {
				dst[j] += gk * v
			}
		}
	}
	return out
}

// BenchmarkSSIMGrad times one 256×256 gradient (the training loss computes one per image per step).
func BenchmarkSSIMGrad(b *testing.B) {
	const h, w = 256, 256
	rng := rand.New(rand.NewPCG(1, 2))
	x, y, dst := make([]float32, h*w), make([]float32, h*w), make([]float32, h*w)
	for i := range x {
		x[i], y[i] = rng.Float32(), rng.Float32()
	}
	b.Run("streamed", func(b *testing.B) {
		for b.Loop() {
			SSIMGrad(dst, x, y, h, w)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			ssimGradRef(dst, x, y, h, w)
		}
	})
}
