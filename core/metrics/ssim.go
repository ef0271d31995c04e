// Package metrics measures reconstructions and code usage: SSIM, MSE and PSNR between float32 images,
// and the perplexity and used fraction of a codebook histogram.
//
// Images are single-channel float32 [H, W], row-major, with values in [0, 1]; batches are [N, H, W]
// laid out image after image. Every sum is taken in float64.
//
// SSIM follows Wang et al. (2004) with the settings this project fixes in one place, here: an 11×11
// Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03, dynamic range L = 1 and population (not sample)
// covariances. The numbers equal scikit-image's
//
//	structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
//
// for float64 inputs (testdata/ssim holds fixtures made by scripts/make_ssim_fixtures.py).
package metrics

import (
	"fmt"
	"math"

	"github.com/brainvq/brainvq/core/parallel"
)

// The SSIM window and constants (Wang et al. 2004).
const (
	SSIMSigma  = 1.5  // standard deviation of the Gaussian window, pixels
	SSIMRadius = 5    // window half-width: int(3.5·σ + 0.5), scipy's truncation at 3.5 σ
	SSIMWindow = 11   // window side: 2·SSIMRadius + 1; also the smallest image side SSIM accepts
	SSIMK1     = 0.01 // C1 = (K1·L)²
	SSIMK2     = 0.03 // C2 = (K2·L)²
	SSIMRange  = 1.0  // dynamic range L of the pixel values
)

const (
	ssimC1 = (SSIMK1 * SSIMRange) * (SSIMK1 * SSIMRange)
	ssimC2 = (SSIMK2 * SSIMRange) * (SSIMK2 * SSIMRange)
)

// ssimKernel is the 1-D window g[k] ∝ exp(−(k−5)²/(2σ²)), k = 0..10, normalised to sum 1; the 2-D window
// is g[i]·g[j].
var ssimKernel = gaussianKernel(SSIMSigma, SSIMRadius)

func gaussianKernel(sigma float64, radius int) [SSIMWindow]float64 {
	var g [SSIMWindow]float64
	sum := 0.0
	for k := range g {
		d := float64(k - radius)
		g[k] = math.Exp(-0.5 * d * d / (sigma * sigma))
		sum += g[k]
	}
	for k := range g {
		g[k] /= sum
	}
	return g
}

// CheckSSIMSize reports whether an h×w image is large enough for SSIM: both sides must be at least
// SSIMWindow. Call it on sizes that come from users; the SSIM functions panic on a size it rejects.
func CheckSSIMSize(h, w int) error {
	if h < SSIMWindow || w < SSIMWindow {
		return fmt.Errorf("SSIM needs images of at least %d×%d pixels, got %d×%d", SSIMWindow, SSIMWindow, h, w)
	}
	return nil
}

func checkImages(a, b []float32, n, h, w int) {
	if err := CheckSSIMSize(h, w); err != nil {
		panic("metrics: " + err.Error())
	}
	checkLengths(a, b, n, h*w)
}

func checkLengths(a, b []float32, n, size int) {
	if n < 0 || len(a) != n*size || len(b) != n*size {
		panic(fmt.Sprintf("metrics: images of %d values each: want %d×%d = %d values in a and b, got %d and %d",
			size, n, size, n*size, len(a), len(b)))
	}
}

// SSIM returns the mean structural similarity of the h×w images a and b (each [h, w], row-major):
//
//	S(p) = (2 μa μb + C1)(2 σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2)),
//
// where μ, σ², σab are the Gaussian-weighted means, variances and covariance in the window around p,
// averaged over the positions p whose whole window lies inside the image (scikit-image filters with
// 'reflect' borders and then crops SSIMRadius pixels on every side before averaging; on that cropped
// region no reflected pixel is ever read, so none is computed here).
//
// It panics if len(a) or len(b) is not h·w or if CheckSSIMSize(h, w) fails.
func SSIM(a, b []float32, h, w int) float64 {
	checkImages(a, b, 1, h, w)
	var s ssimScratch
	return s.mean(a, b, h, w)
}

// SSIMMap returns scikit-image's full SSIM map ("full=True") of the h×w images a and b: an [h, w]
// row-major map whose value at p is S(p) as in SSIM, with the windows near the edges reading the images
// mirrored about their borders (scipy's 'reflect' mode: … c b a | a b c …). SSIM equals the mean of this
// map over rows and columns SSIMRadius..side−SSIMRadius−1.
//
// It panics if len(a) or len(b) is not h·w or if CheckSSIMSize(h, w) fails.
func SSIMMap(a, b []float32, h, w int) []float64 {
	checkImages(a, b, 1, h, w)
	pa, ph, pw := reflectPad(a, h, w, SSIMRadius)
	pb, _, _ := reflectPad(b, h, w, SSIMRadius)
	out := make([]float64, h*w)
	var s ssimScratch
	s.valid(pa, pb, ph, pw, out)
	return out
}

// SSIMBatch returns SSIM(a[i], b[i]) for the n image pairs of the batches a and b (each [n, h, w]),
// computed in parallel (core/parallel: one image per task, parallel.Threads() workers).
//
// It panics if len(a) or len(b) is not n·h·w or if CheckSSIMSize(h, w) fails.
func SSIMBatch(a, b []float32, n, h, w int) []float64 {
	checkImages(a, b, n, h, w)
	out := make([]float64, n)
	size := h * w
	workers := min(n, parallel.Threads()) // read once: scratch is indexed by worker
	scratch := make([]ssimScratch, workers)
	parallel.TasksWorkers(n, workers, func(i, worker int) {
		out[i] = scratch[worker].mean(a[i*size:(i+1)*size], b[i*size:(i+1)*size], h, w)
	})
	return out
}

// reflectPad returns the h×w image x extended by r pixels on every side in scipy's 'reflect' mode
// (the edge pixel is repeated: x[−1] = x[0], x[−2] = x[1], …), with its new height and width.
// It needs r ≤ min(h, w).
func reflectPad(x []float32, h, w, r int) ([]float32, int, int) {
	ph, pw := h+2*r, w+2*r
	out := make([]float32, ph*pw)
	for i := range ph {
		si := reflectIndex(i-r, h)
		src := x[si*w : si*w+w]
		dst := out[i*pw : i*pw+pw]
		for j := range pw {
			dst[j] = src[reflectIndex(j-r, w)]
		}
	}
	return out, ph, pw
}

// reflectIndex maps an index in [−n, 2n) onto [0, n) by mirroring about the borders.
func reflectIndex(i, n int) int {
	switch {
	case i < 0:
		return -i - 1
	case i >= n:
		return 2*n - i - 1
	}
	return i
}

// moments holds the five vertically filtered rows of one output row: x, y, x², y² and xy filtered down
// the columns by the window, w values each.
type moments struct {
	x, y, xx, yy, xy []float64
}

func (m *moments) resize(w int) {
	if cap(m.x) < w {
		m.x, m.y, m.xx, m.yy, m.xy = make([]float64, w), make([]float64, w), make([]float64, w), make([]float64, w), make([]float64, w)
	}
	m.x, m.y, m.xx, m.yy, m.xy = m.x[:w], m.y[:w], m.xx[:w], m.yy[:w], m.xy[:w]
}

// filterColumns fills m (resized to w) with the vertical pass for output row i of the w-wide images x and
// y: rows i … i+10 weighted by the window, which is symmetric, so taps k and 10−k share one multiplication.
func (m *moments) filterColumns(x, y []float32, w, i int) {
	const r = SSIMRadius
	g := &ssimKernel
	m.resize(w)
	mx, my, mxx, myy, mxy := m.x, m.y, m.xx, m.yy, m.xy
	base := i * w
	xc := x[base+r*w : base+r*w+w]
	yc := y[base+r*w : base+r*w+w]
	xc, yc = xc[:len(mx)], yc[:len(mx)]
	gc := g[r]
	for j := range mx {
		a, b := float64(xc[j]), float64(yc[j])
		mx[j] = gc * a
		my[j] = gc * b
		mxx[j] = gc * a * a
		myy[j] = gc * b * b
		mxy[j] = gc * a * b
	}
	for k := 1; k <= r; k++ {
		gk := g[r+k]
		xu := x[base+(r-k)*w : base+(r-k)*w+w]
		xd := x[base+(r+k)*w : base+(r+k)*w+w]
		yu := y[base+(r-k)*w : base+(r-k)*w+w]
		yd := y[base+(r+k)*w : base+(r+k)*w+w]
		xu, xd, yu, yd = xu[:len(mx)], xd[:len(mx)], yu[:len(mx)], yd[:len(mx)]
		for j := range mx {
			a0, a1 := float64(xu[j]), float64(xd[j])
			b0, b1 := float64(yu[j]), float64(yd[j])
			mx[j] += gk * (a0 + a1)
			my[j] += gk * (b0 + b1)
			mxx[j] += gk * (a0*a0 + a1*a1)
			myy[j] += gk * (b0*b0 + b1*b1)
			mxy[j] += gk * (a0*b0 + a1*b1)
		}
	}
}

// window returns the window's means of x, y, x², y² and xy at column c of the filtered rows (the
// horizontal pass, c ∈ [r, w−r)).
func (m *moments) window(c int) (ux, uy, uxx, uyy, uxy float64) {
	const r = SSIMRadius
	g := &ssimKernel
	gc := g[r]
	ux, uy, uxx, uyy, uxy = gc*m.x[c], gc*m.y[c], gc*m.xx[c], gc*m.yy[c], gc*m.xy[c]
	for k := 1; k <= r; k++ {
		gk := g[r+k]
		ux += gk * (m.x[c-k] + m.x[c+k])
		uy += gk * (m.y[c-k] + m.y[c+k])
		uxx += gk * (m.xx[c-k] + m.xx[c+k])
		uyy += gk * (m.yy[c-k] + m.yy[c+k])
		uxy += gk * (m.xy[c-k] + m.xy[c+k])
	}
	return
}

// ssimScratch holds one worker's row buffers: the five vertically filtered rows of the current output row.
type ssimScratch struct {
	moments
}

// mean returns the mean of the valid SSIM map of x and y (see SSIM).
func (s *ssimScratch) mean(x, y []float32, h, w int) float64 {
	oh, ow := h-2*SSIMRadius, w-2*SSIMRadius
	sum, _ := s.valid(x, y, h, w, nil)
	return sum / float64(oh*ow)
}

// valid computes S(p) at every p whose 11×11 window lies inside the h×w images x and y: an
// (h−10)×(w−10) map, written row-major to out unless out is nil. It returns the sum of the map and the sum
// of its contrast-structure factor (2σxy + C2)/(σx² + σy² + C2), which MS-SSIM uses at the finer scales.
//
// The Gaussian window is separable: for each output row the five moments x, y, x², y², xy are first
// filtered down the columns (vertical pass, w values each), then along the row (horizontal pass).
func (s *ssimScratch) valid(x, y []float32, h, w int, out []float64) (total, csTotal float64) {
	const r = SSIMRadius
	oh, ow := h-2*r, w-2*r
	for i := range oh {
		s.filterColumns(x, y, w, i)
		// Horizontal pass and the SSIM formula for output row i.
		var row []float64
		if out != nil {
			row = out[i*ow : i*ow+ow]
		}
		rowSum, csSum := 0.0, 0.0
		for j := range ow {
			ux, uy, uxx, uyy, uxy := s.window(j + r)
			vx := uxx - ux*ux
			vy := uyy - uy*uy
			vxy := uxy - ux*uy
			cs := (2*vxy + ssimC2) / (vx + vy + ssimC2)
			v := (2*ux*uy + ssimC1) / (ux*ux + uy*uy + ssimC1) * cs
			if row != nil {
				row[j] = v
			}
			rowSum += v
			csSum += cs
		}
		total += rowSum
		csTotal += csSum
	}
	return total, csTotal
}
