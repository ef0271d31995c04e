package kernels

// Winograd F(2×2, 2×2) for the 4×4 stride-2 pad-1 convolutions and their transposes. A 4×4 stride-2
// convolution is a 2×2 stride-1 correlation over the four stride phases of its padded input (plane
// (by·2+bx)·C + c holds x_pad[c, 2q+by, 2p+bx], with taps w[k, c, 2a+by, 2b+bx]); its backward-data pass
// (the transposed convolution) is, for each of the four phases (ry, rx) of its output, a 2×2 correlation of
// the padded output gradient with the taps w[k, c, 3−ry−2a, 3−rx−2b]. F(2×2, 2×2) computes a 2×2 block of
// such a correlation from a 3×3 input tile with 9 products per channel pair instead of 16:
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
//
//	     ⎡1 −1 0⎤       ⎡1 0⎤
//	Bᵀ = ⎢0  1 0⎥   G = ⎢1 1⎥   Aᵀ = ⎡1 1 0⎤
//	     ⎣0 −1 1⎦       ⎣0 1⎦        ⎣0 1 1⎦
//
// (1.78× fewer multiplications; all coefficients 0 and ±1). The structure follows winograd.go: per task a
// zero-padded band of planes, the input transform into V (9 planes), nine products through the implicit
// micro-kernels into M, the output transform. The forward pass writes its output directly; the backward
// data pass writes each phase's rows to a scratch band and spreads them over every other column.

// winograd22 reports whether forward (and, with the channels swapped, backwardData) takes this path: the
// implicit-GEMM paths, 4×4 kernels, stride 2, pad 1, even input sizes (so the output is exactly half),
// an even output height, an output width that is a multiple of 32, and enough channels.
func (g convGeom) winograd22() bool {
	return implicitGEMM() && g.KH == 4 && g.KW == 4 && g.S == 2 && g.P == 1 && g.H%2 == 0 && g.W%2 == 0 &&
		g.OH == g.H/2 && g.OW == g.W/2 && g.OH%2 == 0 && g.OW%sgemmNR == 0 &&
		g.C >= winogradMinC && g.K >= winogradMinC
}

// winograd22Weights writes u [9, rows, cols] with u[ξ, i, j] = (G s Gᵀ)[ξ/3, ξ%3] for the 2×2 kernel
// s[a][b] = tap(i, j, a, b), for rows i0 ≤ i < i1.
func winograd22Weights(u []float32, rows, cols, i0, i1 int, tap func(i, j, a, b int) float32) {
	plane := rows * cols
	for i := i0; i < i1; i++ {
		for j := range cols {
			s00, s01, s10, s11 := tap(i, j, 0, 0), tap(i, j, 0, 1), tap(i, j, 1, 0), tap(i, j, 1, 1)
			t := [3][2]float32{{s00, s01}, {s00 + s10, s01 + s11}, {s10, s11}} // G s
			for r := range 3 {
				base := r*3*plane + i*cols + j
				u[base] = t[r][0]
				u[base+plane] = t[r][0] + t[r][1]
				u[base+2*plane] = t[r][1]
			}
		}
	}
}

// forwardWinograd22 is forward's F(2×2, 2×2) path for 4×4 stride-2 pad-1 convolutions: y [n,K,OH,OW] =
// x ⋆ w (+ b), added to y when o.Accumulate, then max(·, 0) when o.ReLU.
func (g convGeom) forwardWinograd22(n int, x, w, b, y []float32, o ConvOpts) {
	in := g.inSize()
	cp := 4 * g.C // phase planes
	ubuf := getConvScratch(9 * g.K * cp)
	defer putConvScratch(ubuf)
	convFor(g.K, func(_, lo, hi int) {
		winograd22Weights(*ubuf, g.K, cp, lo, hi, func(k, j, a, bb int) float32 {
			ph, c := j/g.C, j%g.C
			by, bx := ph/2, ph%2
			return w[((k*g.C+c)*4+2*a+by)*4+2*bb+bx]
		})
	})
	g.forwardWino(f22, n, *ubuf, cp, func(pad []float32, padH, img, cy0 int) {
		g.fillPhasePlanes(pad, padH, g.OW+2, x[img*in:], 2*cy0)
	}, b, y, o)
}

// fillPhasePlanes writes the four stride-2 phase planes of one padded image x [C,H,W] (pad 1) into pad:
// plane (by·2+bx)·C + c, row i, column j holds x[c, 2(q0+i)+by−1, 2j+bx−1] (zero outside the image) for
// i < rows and j < width (width ≥ W/2+2; columns past W/2 are zero).
func (g convGeom) fillPhasePlanes(pad []float32, rows, width int, x []float32, q0 int) {
	half := g.W / 2
	row := func(pl, i int) []float32 { return pad[(pl*rows+i)*width : (pl*rows+i+1)*width] }
	for c := range g.C {
		for by := range 2 {
			for i := range rows {
				even, odd := row((2*by+1)*g.C+c, i), row(2*by*g.C+c, i) // bx = 1: x columns 2j; bx = 0: 2j−1
				r := 2*(q0+i) + by - 1
				if r < 0 || r >= g.H {
					clear(even)
					clear(odd)
					continue
				}
				deinterleave2(even, odd[1:], x[(c*g.H+r)*g.W:(c*g.H+r+1)*g.W])
				odd[0] = 0
				clear(even[half:])
				clear(odd[half+1:])
			}
		}
	}
}

// backwardDataWinograd22 is backwardData's F(2×2, 2×2) path for 4×4 stride-2 pad-1 convolutions (and so
// the transposed convolution's forward pass): dx [n,C,H,W] from dy [n,K,OH,OW], plus b [C] when not nil,
// overwriting dx or adding to it when o.Accumulate, then max(·, 0) when o.ReLU. Output phase (ry, rx)
// holds dx[c, 2Y+ry, 2X+rx] = Σ_{k,a,b} w[k, c, 3−ry−2a, 3−rx−2b] · dy_pad[k, Y+ry+a, X+rx+b].
func (g convGeom) backwardDataWinograd22(n int, dy, w, b, dx []float32, o ConvOpts) {
	in, out := g.inSize(), g.outSize()
	per := 9*g.C*g.K + 9*packedLen(weightRows(), g.C, g.K)
	ubuf := getConvScratch(4 * per)
	defer putConvScratch(ubuf)
	tpr, th := g.OW/2, g.OH/2 // the phases' grids are OH × OW
	tr := max(1, min(th, winogradBudget/(9*(g.C+g.K)*tpr)))
	cr := max(tr, min(th, winogradCopyTileRows))
	bands := ceilDiv(th, cr)
	var plans [4]*winoPlan
	for ph := range plans {
		ry, rx := ph/2, ph%2
		u := (*ubuf)[ph*per : ph*per+9*g.C*g.K]
		convFor(g.C, func(_, lo, hi int) {
			winograd22Weights(u, g.C, g.K, lo, hi, func(c, k, a, bb int) float32 {
				return w[((k*g.C+c)*4+3-ry-2*a)*4+3-rx-2*bb]
			})
		})
		plans[ph] = newWinoPlan(f22, (*ubuf)[ph*per+9*g.C*g.K:], u, g.C, g.K, tpr, tr)
	}
	bias := b
	if bias == nil {
		bias = make([]float32, g.C)
	}
	// dy_pad rows 2·ty0 … 2·(ty0+cr)+1 (phase ry reads from row ry, one more than padRows); columns
	// 0 … OW+1 and two spare (phase rx reads from column rx, and the transform one column past its tiles).
	padH, padW := f22.padRows(cr)+1, g.OW+4
	lay := padBand{planes: g.K, h: padH, w: padW}
	padSize := lay.size()
	tmpSize := g.C * 2 * tr * g.OW // one phase's rows of a band
	convTasks(n*bands, func(next func() (int, bool)) {
		pl := plans[0]
		buf := getConvScratch(padSize + pl.vSize + pl.mSize + tmpSize)
		defer putConvScratch(buf)
		pad := (*buf)[:padSize]
		v := (*buf)[padSize : padSize+pl.vSize]
		m := (*buf)[padSize+pl.vSize : padSize+pl.vSize+pl.mSize]
		tmp := (*buf)[padSize+pl.vSize+pl.mSize:]
		checkReach(v, pl.off, pl.tiles)
		for t, ok := next(); ok; t, ok = next() {
			img, band := t/bands, t%bands
			cy0 := band * cr
			bl := lay
			bl.row0, bl.col0 = 2*cy0-1, -1
			bl.fillRows(pad, planes{data: dy[img*out:], stride: g.OH * g.OW, h: g.OH, w: g.OW}, false)
			for ty0 := cy0; ty0 < min(cy0+cr, th); ty0 += tr {
				rows := min(tr, th-ty0)
				for ph, plan := range plans {
					ry, rx := ph/2, ph%2
					plan.rows(rows, pad[(2*(ty0-cy0)+ry)*padW+rx:], padW, padH*padW, v, m,
						tmp, g.OW, 2*rows*g.OW, bias, 0)
					// tmp [C, 2·rows, OW] holds grid rows 2·ty0 … of this phase.
					for c := range g.C {
						for q := range 2 * rows {
							src := tmp[(c*2*rows+q)*g.OW:][:g.OW]
							dst := dx[img*in+(c*g.H+2*(2*ty0+q)+ry)*g.W:][:g.W]
							spreadRow(dst, src, 2, rx, o)
						}
					}
				}
			}
		}
	})
}

// wino22InputRef is the reference form of the F(2×2, 2×2) input transform: for each of nc channels and
// tiles tiles of one tile row, the 3×3 tile d[r][s] = p[c·cstepP + r·pstep + 2·t + s] becomes
// V[ξ] = (Bᵀ d B)[ξ/3][ξ%3] at v[ξ·vstep + c·cstepV + t], d B first (the assembly's order).
func wino22InputRef(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) {
	for c := range nc {
		for t := range tiles {
			var u [3][3]float32
			for r := range 3 {
				q := p[c*cstepP+r*pstep+2*t:]
				u[r] = [3]float32{q[0] - q[1], q[1], q[2] - q[1]}
			}
			for j := range 3 {
				vals := [3]float32{u[0][j] - u[1][j], u[1][j], u[2][j] - u[1][j]}
				for i, val := range vals {
					v[(i*3+j)*vstep+c*cstepV+t] = val
				}
			}
		}
	}
}

// wino22OutputRef is the reference form of the F(2×2, 2×2) output transform: the 2×2 block Aᵀ m A of
// m[ξ] = mt[ξ·mstep + c·cstepM + t] (rows first), plus bias[c], goes to y[c·cstepY + i·ystep + 2·t + j],
// added to y when flags has winoAccumulate, then max(·, 0) when it has winoReLU.
func wino22OutputRef(y []float32, ystep, cstepY int, mt []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) {
	for c := range nc {
		for t := range tiles {
			var m [3][3]float32
			for xi := range 9 {
				m[xi/3][xi%3] = mt[xi*mstep+c*cstepM+t]
			}
			for i := range 2 {
				var s [3]float32
				for j := range 3 {
					s[j] = m[i][j] + m[i+1][j]
				}
				pair := [2]float32{s[0] + s[1], s[1] + s[2]}
				for j, val := range pair {
					at := c*cstepY + i*ystep + 2*t + j
					y[at] = winoFinish(val, bias[c], y[at], flags)
				}
			}
		}
	}
}

// winograd22Filter reports whether backwardFilter takes the F(2×2, 2×2) path.
func (g convGeom) winograd22Filter() bool {
	return g.winograd22() && g.OW/2 <= min(winogradFilterTiles, sgemmARowStride)
}

// backwardFilterWinograd22 is backwardFilter's F(2×2, 2×2) path for 4×4 stride-2 pad-1 convolutions
// (weightGradWino over the phase planes, 4C rows), then dw[k, c, 2a+by, 2b+bx] = (Gᵀ X G)[a][b] for X the
// 3×3 gradient of phase plane (by·2+bx)·C + c.
func (g convGeom) backwardFilterWinograd22(n int, x, dy, dw []float32) {
	in := g.inSize()
	cp := 4 * g.C
	sum := g.weightGradWino(f22, n, dy, cp, func(pad []float32, padH, img, ty0 int) {
		g.fillPhasePlanes(pad, padH, g.OW+2, x[img*in:], 2*ty0)
	})
	defer putConvScratch(sum)
	plane := cp * g.K
	convFor(g.K, func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			for j := range cp {
				ph, c := j/g.C, j%g.C
				by, bx := ph/2, ph%2
				var x [3][3]float32
				for xi := range 9 {
					x[xi/3][xi%3] = (*sum)[xi*plane+j*g.K+k]
				}
				for a := range 2 {
					var t [3]float32 // (Gᵀ X) row a
					for q := range 3 {
						t[q] = x[a][q] + x[a+1][q]
					}
					for b := range 2 {
						dw[((k*g.C+c)*4+2*a+by)*4+2*b+bx] = t[b] + t[b+1]
					}
				}
			}
		}
	})
}

// wino22GradRef is the reference form of the F(2×2, 2×2) output-gradient transform: each tile's 2×2
// block e of dy becomes A e Aᵀ (3×3, A = (Aᵀ)ᵀ), rows first: a = (e0, e0+e1, e1) along each row, then
// a0, a0+a1, a1 across; written to m[ξ·mstep + c·cstepM + t].
func wino22GradRef(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) {
	for c := range nc {
		for t := range tiles {
			var a [2][3]float32
			for i := range 2 {
				e0, e1 := dy[c*cstepD+i*dstep+2*t], dy[c*cstepD+i*dstep+2*t+1]
				a[i] = [3]float32{e0, e0 + e1, e1}
			}
			for j := range 3 {
				vals := [3]float32{a[0][j], a[0][j] + a[1][j], a[1][j]}
				for i, val := range vals {
					m[(i*3+j)*mstep+c*cstepM+t] = val
				}
			}
		}
	}
}
