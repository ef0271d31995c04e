package metrics

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
func SSIMGrad(dst, x, y []float32, h, w int) float64 {
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
	ga, gb, gc := spreadWindows(pa, oh, ow), spreadWindows(pb, oh, ow), spreadWindows(pc, oh, ow)
	n := float64(oh * ow)
	for q := range dst {
		dst[q] = float32((ga[q] + 2*float64(y[q])*gb[q] + float64(x[q])*gc[q]) / n)
	}
	return total / n
}

// spreadWindows is the transpose of the valid Gaussian filter: it adds g(p−q)·m_p of every window p of the
// [oh, ow] map m to the pixels q of its window, giving an [oh+10, ow+10] image.
func spreadWindows(m []float64, oh, ow int) []float64 {
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
