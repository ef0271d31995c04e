package kernels

// convGeom is one image's convolution geometry: input [C,H,W], weight [K,C,KH,KW], output [K,OH,OW], stride S,
// symmetric zero padding P. The transposed convolution uses the same description for the convolution it is
// the adjoint of.
type convGeom struct {
	C, H, W, K, KH, KW, S, P, OH, OW int
}

func (g convGeom) ckk() int     { return g.C * g.KH * g.KW }
func (g convGeom) inSize() int  { return g.C * g.H * g.W }
func (g convGeom) outSize() int { return g.K * g.OH * g.OW }

// pointwise reports a 1×1, stride-1, unpadded convolution: a plain [K,C]×[C,HW] product per image.
func (g convGeom) pointwise() bool { return g.KH == 1 && g.KW == 1 && g.S == 1 && g.P == 0 }

// flops is the multiply-add count of one image's convolution, times two.
func (g convGeom) flops() float64 { return 2 * float64(g.K) * float64(g.ckk()) * float64(g.OH*g.OW) }

// colRange is, for kernel column kx, the output columns [lo, hi) whose input column ox·S−P+kx lies inside
// [0, W); the others read padding.
func (g convGeom) colRange(kx int) (lo, hi int) {
	// ox·S − P + kx ≥ 0  ⇔  ox ≥ ceil((P−kx)/S)
	if d := g.P - kx; d > 0 {
		lo = (d + g.S - 1) / g.S
	}
	// ox·S − P + kx ≤ W−1  ⇔  ox ≤ floor((W−1+P−kx)/S)
	if d := g.W - 1 + g.P - kx; d >= 0 {
		hi = d/g.S + 1
	}
	lo = min(lo, g.OW)
	hi = max(min(hi, g.OW), lo)
	return lo, hi
}

// im2col fills col [C·KH·KW, (oy1−oy0)·OW] with the patches of one image x [C,H,W] for output rows [oy0, oy1):
// col[(c·KH+ky)·KW+kx, (oy−oy0)·OW+ox] = x[c, oy·S−P+ky, ox·S−P+kx], or 0 in the padding.
func im2col(g convGeom, x []float32, oy0, oy1 int, col []float32) {
	ld := (oy1 - oy0) * g.OW
	hw := g.H * g.W
	row := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				lo, hi := g.colRange(kx)
				dst := col[row*ld : (row+1)*ld]
				row++
				for oy := oy0; oy < oy1; oy++ {
					d := dst[(oy-oy0)*g.OW : (oy-oy0+1)*g.OW]
					iy := oy*g.S - g.P + ky
					if iy < 0 || iy >= g.H {
						clear(d)
						continue
					}
					src := xc[iy*g.W : (iy+1)*g.W]
					clear(d[:lo])
					clear(d[hi:])
					ix := lo*g.S - g.P + kx
					switch g.S {
					case 1:
						copy(d[lo:hi], src[ix:])
					case 2:
						s := src[ix:]
						dd := d[lo:hi]
						for i := range dd {
							dd[i] = s[2*i]
						}
					default:
						for ox := lo; ox < hi; ox++ {
							d[ox] = src[ix]
							ix += g.S
						}
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it adds every entry of col [C·KH·KW, (oy1−oy0)·OW] into the image
// dx [C,H,W] at the input position it was read from, dropping those that fall into the padding.
func col2im(g convGeom, col []float32, oy0, oy1 int, dx []float32) {
	ld := (oy1 - oy0) * g.OW
	hw := g.H * g.W
	row := 0
	for c := 0; c < g.C; c++ {
		xc := dx[c*hw : (c+1)*hw]
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				lo, hi := g.colRange(kx)
				src := col[row*ld : (row+1)*ld]
				row++
				if lo >= hi {
					continue
				}
				for oy := oy0; oy < oy1; oy++ {
					iy := oy*g.S - g.P + ky
					if iy < 0 || iy >= g.H {
						continue
					}
					s := src[(oy-oy0)*g.OW+lo : (oy-oy0)*g.OW+hi]
					d := xc[iy*g.W : (iy+1)*g.W]
					ix := lo*g.S - g.P + kx
					switch g.S {
					case 1:
						d = d[ix : ix+len(s)]
						for i, v := range s {
							d[i] += v
						}
					case 2:
						d = d[ix:]
						for i, v := range s {
							d[2*i] += v
						}
					default:
						for _, v := range s {
							d[ix] += v
							ix += g.S
						}
					}
				}
			}
		}
	}
}
