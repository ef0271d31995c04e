package metrics

import "sync"

// SSIMGrad returns SSIM(x, y) of the h×w images x and y (as SSIM computes it) and writes its gradient with
// respect to y into dst ([h, w]): the derivative a structural loss 1 − SSIM needs.
//
// Per window p, with l = (2μxμy + C1)/(μx² + μy² + C1), c = (2σxy + C2)/(σx² + σy² + C2), S = l·c and
// B1, B2 the two denominators:
//
//	∂S/∂μy = 2c(μx − l·μy)/B1,   ∂S/∂σy² = −S/B2,   ∂S/∂σxy = 2l/B2,
//
// and since μy = Σ g·y, σy² = Σ g·y² − μy², σxy = Σ g·xy − μxμy over the window g,
//
//	∂S(p)/∂y_q = g(p−q)·(a_p + 2·y_q·b_p + x_q·c_p),
//	a = ∂S/∂μy − 2μy·∂S/∂σy² − μx·∂S/∂σxy,  b = ∂S/∂σy²,  c = ∂S/∂σxy.
//
// The mean over the P valid windows gives ∂SSIM/∂y_q = (Gᵀa + 2y_q·Gᵀb + x_q·Gᵀc)_q / P, where Gᵀ spreads
// each window's value back over its 11×11 pixels (the transpose of the valid Gaussian filter; separable
// like the filter). It panics on the sizes SSIM panics on, or if len(dst) ≠ h·w.
//
// How it runs: the moments are filtered one output row at a time, as SSIM does (the window is symmetric,
// so taps k and 10−k share one multiplication), and each row's a, b, c are spread along the row at once
// into three [h−10, w] maps; the vertical spread then gathers, for each image row, the (up to) 11 map rows
// that reach it and writes dst directly. Everything is float64; the
// scratch (three maps, 1.5 MiB for 256×256) is reused across calls.
func SSIMGrad(dst, x, y []float32, h, w int) float64 {
	checkImages(x, y, 1, h, w)
	if len(dst) != h*w {
		panic("metrics: SSIMGrad destination has the wrong length")
	}
	const r = SSIMRadius
	g := &ssimKernel
	gc := g[r]
	oh, ow := h-2*r, w-2*r
	s := gradScratchPool.Get().(*gradScratch)
	defer gradScratchPool.Put(s)
	s.fit(oh, w)
	ra, rb, rc := s.ra, s.rb, s.rc
	total := 0.0
	for i := range oh {
		// Vertical pass (rows i..i+10), then per window: SSIM and the coefficients a, b, c of output row
		// i, stored with r zero columns on each side (ra[r+j] for window column j) for the spread below.
		s.filterColumns(x, y, w, i)
		for j := range ow {
			c := j + r
			ux, uy, uxx, uyy, uxy := s.window(c)
			vx, vy, vxy := uxx-ux*ux, uyy-uy*uy, uxy-ux*uy
			b1, b2 := ux*ux+uy*uy+ssimC1, vx+vy+ssimC2
			l, cs := (2*ux*uy+ssimC1)/b1, (2*vxy+ssimC2)/b2
			sv := l * cs
			total += sv
			dmu, dvar, dcov := 2*cs*(ux-l*uy)/b1, -sv/b2, 2*l/b2
			ra[c+r] = dmu - 2*uy*dvar - ux*dcov
			rb[c+r] = dvar
			rc[c+r] = dcov
		}
		// Horizontal spread: pixel column q of the row receives Σ_j g[q−j]·m_j over the windows j that
		// cover it, a symmetric gather around window column q−r (stored at ra[q+r]).
		ha, hb, hc := s.ha[i*w:(i+1)*w], s.hb[i*w:(i+1)*w], s.hc[i*w:(i+1)*w]
		for q := range ha {
			t := q + r
			va, vb, vc := gc*ra[t], gc*rb[t], gc*rc[t]
			for k := 1; k <= r; k++ {
				gk := g[r+k]
				va += gk * (ra[t-k] + ra[t+k])
				vb += gk * (rb[t-k] + rb[t+k])
				vc += gk * (rc[t-k] + rc[t+k])
			}
			ha[q], hb[q], hc[q] = va, vb, vc
		}
	}
	// Vertical spread and the gradient: image row q receives Σ_i g[q−i]·H_i over the map rows i in
	// [q−10, q] ∩ [0, oh), one tap at a time (near the top and bottom rows only part of the window lands).
	n := float64(oh * ow)
	sa, sb, sc := s.sa, s.sb, s.sc
	for q := range h {
		t := q - r
		clear(sa)
		clear(sb)
		clear(sc)
		for k := -r; k <= r; k++ {
			i := t + k
			if i < 0 || i >= oh {
				continue
			}
			gk := g[r+k]
			ha, hb, hc := s.ha[i*w:(i+1)*w], s.hb[i*w:(i+1)*w], s.hc[i*w:(i+1)*w]
			ha, hb, hc = ha[:len(sa)], hb[:len(sa)], hc[:len(sa)]
			for j := range sa {
				sa[j] += gk * ha[j]
				sb[j] += gk * hb[j]
				sc[j] += gk * hc[j]
			}
		}
		xr, yr, dr := x[q*w:(q+1)*w], y[q*w:(q+1)*w], dst[q*w:(q+1)*w]
		xr, yr, dr = xr[:len(sa)], yr[:len(sa)], dr[:len(sa)]
		for j := range sa {
			dr[j] = float32((sa[j] + 2*float64(yr[j])*sb[j] + float64(xr[j])*sc[j]) / n)
		}
	}
	return total / n
}

// gradScratch is one SSIMGrad call's working memory: the five moment rows, one output row's a, b, c with
// r zero columns on each side, the three horizontally spread maps [oh, w], and one image row of the three
// vertically spread sums.
type gradScratch struct {
	moments
	ra, rb, rc []float64
	ha, hb, hc []float64
	sa, sb, sc []float64
}

var gradScratchPool = sync.Pool{New: func() any { return new(gradScratch) }}

// fit makes the buffers fit an image of oh+10 rows of w columns and zeroes the padding of ra, rb, rc.
func (s *gradScratch) fit(oh, w int) {
	fit := func(b []float64, n int) []float64 {
		if cap(b) < n {
			return make([]float64, n)
		}
		return b[:n]
	}
	for _, p := range []*[]float64{&s.sa, &s.sb, &s.sc} {
		*p = fit(*p, w)
	}
	for _, p := range []*[]float64{&s.ra, &s.rb, &s.rc} {
		*p = fit(*p, w+2*SSIMRadius)
		clear(*p) // the columns outside the windows stay zero
	}
	for _, p := range []*[]float64{&s.ha, &s.hb, &s.hc} {
		*p = fit(*p, oh*w)
	}
}
