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

// floorDiv is ⌊a/b⌋ for b > 0; floorMod is a − b·⌊a/b⌋ ∈ [0, b).
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - b*floorDiv(a, b) }

// planes is a stack of 2D planes [·, h, w] (stride floats apart) whose row 0 stands for row index row0.
type planes struct {
	data       []float32
	stride     int
	h, w, row0 int
}

// colSrc says where one row of an im2col matrix comes from: entry (oy, ox) of the row is
// plane[oy+ay−row0][ox+ax] of the given plane, or 0 outside it.
type colSrc struct{ plane, ay, ax int }

// gatherCols fills col [len(rows), (oy1−oy0)·ow] row by row from p, for output rows [oy0, oy1) of width ow.
// Every read is a contiguous run, so the copy runs at memmove speed whatever the stride of the convolution.
func gatherCols(col []float32, p planes, rows []colSrc, oy0, oy1, ow int) {
	ld := (oy1 - oy0) * ow
	for r, src := range rows {
		dst := col[r*ld : (r+1)*ld]
		lo := min(max(0, -src.ax), ow)
		hi := max(min(ow, p.w-src.ax), lo)
		pl := p.data[src.plane*p.stride:]
		for oy := oy0; oy < oy1; oy++ {
			d := dst[(oy-oy0)*ow : (oy-oy0+1)*ow]
			q := oy + src.ay - p.row0
			if q < 0 || q >= p.h || lo == hi {
				clear(d)
				continue
			}
			clear(d[:lo])
			copy(d[lo:hi], pl[q*p.w+lo+src.ax:])
			clear(d[hi:])
		}
	}
}

// fwdPlan is how the forward im2col of a convolution reads its input. With stride 1 the planes are the
// input channels themselves. With stride S > 1 each band first splits the input rows it needs into S×S
// phase planes, plane (ry·S+rx)·C + c holding x[c, S·qy+ry, S·qx+rx]; a kernel tap (ky, kx) then reads
// phase ((ky−P) mod S, (kx−P) mod S) at offset (⌊(ky−P)/S⌋, ⌊(kx−P)/S⌋), a contiguous run.
type fwdPlan struct {
	rows       []colSrc // one per row of the im2col matrix, in weight order (c, ky, kx)
	aMin, aMax int      // range of the row offsets ay (stride > 1)
	wq         int      // phase-plane width ⌈W/S⌉ (stride > 1)
}

func (g convGeom) fwdPlan() fwdPlan {
	pl := fwdPlan{rows: make([]colSrc, 0, g.ckk())}
	s := g.S
	if s == 1 {
		for c := 0; c < g.C; c++ {
			for ky := 0; ky < g.KH; ky++ {
				for kx := 0; kx < g.KW; kx++ {
					pl.rows = append(pl.rows, colSrc{plane: c, ay: ky - g.P, ax: kx - g.P})
				}
			}
		}
		return pl
	}
	pl.aMin, pl.aMax = floorDiv(-g.P, s), floorDiv(g.KH-1-g.P, s)
	pl.wq = (g.W + s - 1) / s
	for c := 0; c < g.C; c++ {
		for ky := 0; ky < g.KH; ky++ {
			ry, ay := floorMod(ky-g.P, s), floorDiv(ky-g.P, s)
			for kx := 0; kx < g.KW; kx++ {
				rx, ax := floorMod(kx-g.P, s), floorDiv(kx-g.P, s)
				pl.rows = append(pl.rows, colSrc{plane: (ry*s+rx)*g.C + c, ay: ay, ax: ax})
			}
		}
	}
	return pl
}

// phaseSize is the size of the phase planes one band of at most rows output rows needs (0 for stride 1).
func (g convGeom) phaseSize(pl *fwdPlan, rows int) int {
	if g.S == 1 {
		return 0
	}
	return g.S * g.S * g.C * (rows + pl.aMax - pl.aMin) * pl.wq
}

// im2col fills col [C·KH·KW, (oy1−oy0)·OW] with the patches of one image x [C,H,W] for output rows
// [oy0, oy1): col[(c·KH+ky)·KW+kx, (oy−oy0)·OW+ox] = x[c, oy·S−P+ky, ox·S−P+kx], or 0 in the padding.
// With stride > 1, phase (at least phaseSize elements) is scratch for the phase planes.
func (g convGeom) im2col(pl *fwdPlan, x []float32, oy0, oy1 int, col, phase []float32) {
	gatherCols(col, g.bandPlanes(pl, x, oy0, oy1, phase), pl.rows, oy0, oy1, g.OW)
}

// bwdPhase is one stride phase (ry, rx) of the backward-data pass: the input positions
// (S·qy+ry, S·qx+rx), qy < hp, qx < wp, all receive contributions from the same T×U kernel taps
// ky = k0y + S·t, kx = k0x + S·u, so over that grid the pass is a stride-1 correlation of dy with the
// flipped sub-kernel:
//
//	dx[c, S·qy+ry, S·qx+rx] = Σ_{k,t',u'} wsub[c, (k·T+t')·U+u'] · dy[k, qy+offY+t', qx+offX+u'],
//	wsub[c, (k·T+t')·U+u'] = w[k, c, k0y+S·(T−1−t'), k0x+S·(U−1−u')],
//
// with offY = (ry+P−k0y)/S − (T−1) (the same along x). Writing each phase's grid once, the pass needs
// neither a col2im scatter nor zeroing, and different phases and bands never write the same element.
type bwdPhase struct {
	ry, rx, hp, wp int
	ktu            int      // K·T·U, the im2col rows; 0 when no kernel tap lands on this phase
	rows           []colSrc // im2col rows over dy
	w              []float32
	band, bands    int // grid rows per band, bands
}

// bwdPhases plans the backward-data pass; wbuf receives the sub-kernels (C·K·KH·KW elements in all).
func (g convGeom) bwdPhases(w, wbuf []float32, budget int) []bwdPhase {
	s := g.S
	var out []bwdPhase
	used := 0
	for ry := 0; ry < s; ry++ {
		for rx := 0; rx < s; rx++ {
			ph := bwdPhase{ry: ry, rx: rx, hp: (g.H - ry + s - 1) / s, wp: (g.W - rx + s - 1) / s}
			if ph.hp <= 0 || ph.wp <= 0 {
				continue
			}
			k0y, k0x := (ry+g.P)%s, (rx+g.P)%s
			t, u := 0, 0
			if k0y < g.KH {
				t = (g.KH - k0y + s - 1) / s
			}
			if k0x < g.KW {
				u = (g.KW - k0x + s - 1) / s
			}
			ph.ktu = g.K * t * u
			offY, offX := (ry+g.P-k0y)/s-(t-1), (rx+g.P-k0x)/s-(u-1)
			ph.w = wbuf[used : used+g.C*ph.ktu]
			used += g.C * ph.ktu
			ph.rows = make([]colSrc, 0, ph.ktu)
			for k := 0; k < g.K; k++ {
				for tt := 0; tt < t; tt++ {
					ky := k0y + s*(t-1-tt)
					for uu := 0; uu < u; uu++ {
						kx := k0x + s*(u-1-uu)
						ph.rows = append(ph.rows, colSrc{plane: k, ay: offY + tt, ax: offX + uu})
						r := (k*t+tt)*u + uu
						for c := 0; c < g.C; c++ {
							ph.w[c*ph.ktu+r] = w[((k*g.C+c)*g.KH+ky)*g.KW+kx]
						}
					}
				}
			}
			ph.band = ph.hp
			if ph.ktu > 0 {
				ph.band = max(1, min(ph.hp, budget/(ph.ktu*ph.wp)))
			}
			ph.bands = (ph.hp + ph.band - 1) / ph.band
			out = append(out, ph)
		}
	}
	return out
}

// colRange is, for kernel column kx, the output columns [lo, hi) whose input column ox·S−P+kx lies inside
// [0, W); the others read padding.
func (g convGeom) colRange(kx int) (lo, hi int) {
	// ox·S − P + kx ≥ 0  ⇔  ox ≥ ⌈(P−kx)/S⌉
	if d := g.P - kx; d > 0 {
		lo = (d + g.S - 1) / g.S
	}
	// ox·S − P + kx ≤ W−1  ⇔  ox ≤ ⌊(W−1+P−kx)/S⌋
	if d := g.W - 1 + g.P - kx; d >= 0 {
		hi = d/g.S + 1
	}
	lo = min(lo, g.OW)
	hi = max(min(hi, g.OW), lo)
	return lo, hi
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
