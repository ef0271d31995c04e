package kernels

import "sync/atomic"

// The convolutions are lowered to Sgemm one image and one band of output rows at a time: im2col copies the
// band's patches into a column buffer small enough to stay in the core's L2 cache, and the product with the
// weight matrix [K, C·KH·KW] writes the band of output straight into NCHW. The backward-data pass (and so
// the transposed convolution) depends on C, the channels of dx. With C > col2imMaxC (4) it is split by
// stride phase into stride-1 correlations of dy with flipped sub-kernels, each written straight into its
// own positions of dx, with no col2im scatter. With C ≤ col2imMaxC (the decoder's last transposed
// convolution, whose output has one channel) it multiplies by the whole transposed weight matrix and
// scatters with col2im (backwardDataCol2im), since per-phase sub-kernels of C rows would leave most of each
// GEMM tile empty. 1×1 stride-1 unpadded convolutions skip the copies. The (image, [phase,] band) tasks are
// handed out to one goroutine per worker (convTasks), each with its own buffers; Sgemm may split a large
// band further.

// colBudget is the target size, in float32 elements, of the patches of one band (forward and backward
// data): one k block of them, gathered into packed panels, or for col2im the whole im2col buffer.
var colBudget = 1 << 17

// filterColBudget is the same for the weight gradient, whose GEMM has the band as its inner dimension and
// rereads the K×C·KH·KW accumulator for each band, so it prefers longer bands.
var filterColBudget = 1 << 20

// outBudget is the target size, in float32 elements, of one forward output band [K, rows·OW]: small enough
// that the bias pass after the GEMM finds the band in cache. (It binds only when C·KH·KW is small: for
// 1→64 k4 at 256² the whole-image band made the bias pass cost more than the GEMM.)
var outBudget = 1 << 16

// bandRows is how many output rows one im2col band of at most budget elements holds (at least one).
func (g convGeom) bandRows(budget int) int {
	r := budget / (g.ckk() * g.OW)
	return max(1, min(r, g.OH))
}

// pointwiseSplit is how many column ranges a pointwise convolution over n images is cut into per image so
// that every worker has work.
func pointwiseSplit(n int) int {
	if w := convWorkers(); n < w {
		return (w + n - 1) / n
	}
	return 1
}

// forward computes y [n,K,OH,OW] = x ⋆ w (+ b) for n images, added to y when o.Accumulate, then max(·, 0)
// when o.ReLU. Each (image, band)
// task gathers its patches k block by k block into packed panels (see conv_packed.go) and multiplies them
// with the weights, packed once per call.
func (g convGeom) forward(n int, x, w, b, y []float32, o ConvOpts) {
	if g.winograd() {
		g.forwardWinograd(n, x, w, b, y, o)
		return
	}
	if g.winograd22() {
		g.forwardWinograd22(n, x, w, b, y, o)
		return
	}
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	ckk := g.ckk()
	k := ckk
	if b != nil {
		k++
	}
	kc := kBlock(k)
	pl := g.fwdPlan()
	// With few output channels, compute the band transposed (m = band columns, n = K): see fwdSwapMaxK.
	swap := g.K <= fwdSwapMaxK && ckk >= fwdSwapMinCKK
	gw, ww := sgemmNR, weightRows() // panel widths of the gathered patches and of the weights
	if swap {
		gw, ww = sgemmMR, sgemmNR
	}
	wbuf := getConvScratch(packedLen(ww, g.K, k))
	defer putConvScratch(wbuf)
	wp := packMat(*wbuf, ww, g.K, ckk, w, ckk, b)
	rows := max(1, min(g.OH, colBudget/(kc*g.OW), outBudget/(g.K*g.OW)))
	bands := (g.OH + rows - 1) / rows
	if implicitGEMM() && !swap && g.OW%sgemmNR == 0 {
		g.forwardImplicit(n, x, y, o, &pl, &wp, rows, bands)
		return
	}
	if o.ReLUInput {
		panic("kernels: forward: ReLUInput needs the implicit path (see reluInputInPlace)")
	}
	gSize := kc * roundUp(rows*g.OW, gw)
	phSize := g.phaseSize(&pl, rows)
	tmpSize := 0
	if swap {
		tmpSize = rows * g.OW * g.K
	}
	convTasks(n*bands, func(next func() (int, bool)) {
		buf := getConvScratch(gSize + phSize + tmpSize)
		defer putConvScratch(buf)
		gbuf, phase, tmp := (*buf)[:gSize], (*buf)[gSize:gSize+phSize], (*buf)[gSize+phSize:]
		for t, ok := next(); ok; t, ok = next() {
			img, band := t/bands, t%bands
			oy0 := band * rows
			oy1 := min(oy0+rows, g.OH)
			cols := (oy1 - oy0) * g.OW
			src := g.bandPlanes(&pl, x[img*in:], oy0, oy1, phase)
			yi := y[img*out+oy0*g.OW:]
			for p0 := 0; p0 < k; p0 += kc {
				kb := min(kc, k-p0)
				gatherPacked(gbuf, gw, src, pl.rows, p0, kb, oy0, oy1, g.OW, g.pointwise())
				beta := float32(1)
				if p0 == 0 && (swap || !o.Accumulate) {
					beta = 0
				}
				if swap {
					// yᵀ [cols, K] = colᵀ·wᵀ, transposed back below.
					mulPacked(kb, gbuf, sgemmMR, cols, wp.block(p0, kb), g.K, tmp, g.K, beta)
				} else {
					mulPacked(kb, wp.block(p0, kb), ww, g.K, gbuf, cols, yi, ohw, beta)
				}
			}
			if swap {
				transposeInto(tmp[:cols*g.K], cols, g.K, yi, ohw, o.Accumulate)
			}
			if o.ReLU {
				reluRows(yi, g.K, cols, ohw)
			}
		}
	})
}

// reluInputInPlace reports whether forward applies ConvOpts.ReLUInput itself, in the band copies of the
// implicit path.
func (g convGeom) reluInputInPlace() bool {
	return implicitGEMM() && g.S == 1 && g.OW%sgemmNR == 0 && !(g.K <= fwdSwapMaxK && g.ckk() >= fwdSwapMinCKK)
}

// forwardImplicit is forward's implicit-GEMM path (see conv_implicit.go), for output widths that are a
// multiple of 32: each (image, band) task copies the band's input rows, zero-padded (for stride > 1 split
// into phase planes), and the micro-kernel reads the patches from there.
func (g convGeom) forwardImplicit(n int, x, y []float32, o ConvOpts, pl *fwdPlan, wp *packedMat, rows, bands int) {
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	nplanes := g.C
	if g.S > 1 {
		nplanes = g.S * g.S * g.C
	}
	convTasks(n*bands, func(next func() (int, bool)) {
		buf := getConvScratch(bandLayout(pl.rows, nplanes, 0, rows, g.OW).size())
		defer putConvScratch(buf)
		off := make([]int32, wp.k)
		tiles := make([]int32, rows*g.OW/sgemmNR)
		for t, ok := next(); ok; t, ok = next() {
			img, band := t/bands, t%bands
			oy0 := band * rows
			oy1 := min(oy0+rows, g.OH)
			cols := (oy1 - oy0) * g.OW
			lay := bandLayout(pl.rows, nplanes, oy0, oy1, g.OW)
			if g.S == 1 {
				lay.fillRows(*buf, planes{data: x[img*in:], stride: g.H * g.W, h: g.H, w: g.W}, o.ReLUInput)
			} else {
				lay.fillPhases(*buf, g, x[img*in:])
			}
			nt := (oy1 - oy0) * g.OW / sgemmNR
			lay.offsets(pl.rows, off, tiles[:nt], oy0, oy1-oy0, g.OW)
			checkReach((*buf)[:lay.size()], off, tiles[:nt])
			yi := y[img*out+oy0*g.OW:]
			for p0 := 0; p0 < wp.k; p0 += wp.kc {
				kb := min(wp.kc, wp.k-p0)
				beta := float32(1)
				if p0 == 0 && !o.Accumulate {
					beta = 0
				}
				mulImplicit(kb, wp.block(p0, kb), wp.width, g.K, *buf, off[p0:p0+kb], tiles[:nt], cols, yi, ohw, beta)
			}
			if o.ReLU {
				reluRows(yi, g.K, cols, ohw)
			}
		}
	})
}

// bandPlanes returns the planes the im2col rows of output rows [oy0, oy1) of one image x [C,H,W] read
// (see fwdPlan): the input channels for stride 1, else the phase planes of the rows the band needs, built
// in phase (at least phaseSize elements).
func (g convGeom) bandPlanes(pl *fwdPlan, x []float32, oy0, oy1 int, phase []float32) planes {
	if g.S == 1 {
		return planes{data: x, stride: g.H * g.W, h: g.H, w: g.W}
	}
	s, wq := g.S, pl.wq
	q0, q1 := oy0+pl.aMin, oy1+pl.aMax
	h := q1 - q0
	stride := h * wq
	for c := 0; c < g.C; c++ {
		for q := q0; q < q1; q++ {
			for ry := 0; ry < s; ry++ {
				iy := s*q + ry
				if s == 2 && iy >= 0 && iy < g.H {
					// Both column phases of the row at once.
					even := phase[((ry*s)*g.C+c)*stride+(q-q0)*wq:][:wq]
					odd := phase[((ry*s+1)*g.C+c)*stride+(q-q0)*wq:][:wq]
					src := x[(c*g.H+iy)*g.W : (c*g.H+iy+1)*g.W]
					deinterleave2(even, odd, src)
					clear(even[(len(src)+1)/2:])
					clear(odd[len(src)/2:])
					continue
				}
				for rx := 0; rx < s; rx++ {
					dst := phase[((ry*s+rx)*g.C+c)*stride+(q-q0)*wq:][:wq]
					if iy < 0 || iy >= g.H {
						clear(dst)
						continue
					}
					src := x[(c*g.H+iy)*g.W+rx : (c*g.H+iy+1)*g.W]
					n := (len(src) + s - 1) / s // valid columns: S·qx + rx < W
					for qx := range dst[:n] {
						dst[qx] = src[s*qx]
					}
					clear(dst[n:])
				}
			}
		}
	}
	return planes{data: phase, stride: stride, h: h, w: wq, row0: q0}
}

// fwdSwapMaxK is the largest output channel count for which the forward GEMM computes the transposed
// band (m = band columns, n = K) rather than m = K, whose 14-row tiles run a third empty when K = 32. It is
// 0: the transposed GEMM is off. It measured about 15 % faster on res.conv1 (128→32 k3) when the forward
// pass still copied patches through im2col and Sgemm's own packing (commit 2b16482, where it was 48); once
// patches were gathered straight into packed panels (commit a17202e) it no longer paid and was switched
// off. The path stays, tested with the swap on (conv_test.go), so it can be re-enabled where it measures
// faster. (With tiny C·KH·KW, as in 1→64 k4, the transpose costs more than it saves, hence fwdSwapMinCKK.)
var fwdSwapMaxK = 0

// fwdSwapMinCKK is the smallest C·KH·KW for which the transposed forward GEMM is used.
var fwdSwapMinCKK = 64

// transposeInto writes y[c·ldy + j] = t[j·k + c] for t [cols, k], c < k, j < cols, or adds it to y when add.
func transposeInto(t []float32, cols, k int, y []float32, ldy int, add bool) {
	const blk = 32
	for j0 := 0; j0 < cols; j0 += blk {
		j1 := min(j0+blk, cols)
		for c := 0; c < k; c++ {
			row := y[c*ldy+j0 : c*ldy+j1]
			src := t[j0*k+c:]
			if add {
				for j := range row {
					row[j] += src[j*k]
				}
				continue
			}
			for j := range row {
				row[j] = src[j*k]
			}
		}
	}
}

// addBiasBand adds b[k] to y[k·ld : k·ld+cols] for every k < rows; b may be nil. It is the rank-1 update
// y += b·1ᵀ done by Sgemm (k = 1, beta = 1), whose vector loads and stores are several times faster than a
// Go loop: measured on 1→64 k4, the loop took longer than the convolution's own GEMM.
func addBiasBand(b, y []float32, rows, ld, cols int) {
	if b == nil || rows == 0 || cols == 0 {
		return
	}
	sgemmSerial(false, false, rows, cols, 1, 1, b, 1, onesOf(cols), cols, 1, y, ld)
}

// convOnes caches a read-only vector of ones for addBiasBand; it only ever grows.
var convOnes atomic.Pointer[[]float32]

// onesOf returns n ones (the slice must not be written).
func onesOf(n int) []float32 {
	if p := convOnes.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	convOnes.Store(&s)
	return s
}

// backwardData computes dx [n,C,H,W] = ∂L/∂x from dy [n,K,OH,OW] for n images, plus b [C] when b is not
// nil (the transposed convolution's forward pass): dx is overwritten, or added to when o.Accumulate; then
// max(·, 0) when o.ReLU.
func (g convGeom) backwardData(n int, dy, w, b, dx []float32, o ConvOpts) {
	if g.winograd22() {
		g.backwardDataWinograd22(n, dy, w, b, dx, o)
		return
	}
	if g.KH == 3 && g.KW == 3 && g.S == 1 && g.P == 1 {
		// dx is dy correlated with the transposed, flipped weights: a forward pass (winograd.go).
		if gt := g.winogradTransposed(); gt.winograd() {
			wt := getConvScratch(g.K * g.ckk())
			defer putConvScratch(wt)
			flipTranspose3(*wt, w, g.K, g.C)
			gt.forwardWinograd(n, dy, *wt, b, dx, ConvOpts{Accumulate: o.Accumulate, ReLU: o.ReLU})
			return
		}
	}
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	relu := o.ReLU
	if g.C <= col2imMaxC {
		g.backwardDataCol2im(n, dy, w, dx, o.Accumulate)
		if b != nil || relu {
			hw := g.H * g.W
			convFor(n, func(_, lo, hi int) {
				for img := lo; img < hi; img++ {
					dxi := dx[img*in : (img+1)*in]
					addBiasBand(b, dxi, g.C, hw, hw)
					if relu {
						reluRows(dxi, 1, in, in)
					}
				}
			})
		}
		return
	}
	wbuf := getConvScratch(g.K * g.ckk())
	defer putConvScratch(wbuf)
	phases := g.bwdPhases(w, *wbuf, colBudget)
	// Pack each phase's sub-kernel [C, K·T·U] (with the bias column) once, in panels of wr rows.
	wr := weightRows()
	packed := make([]packedMat, len(phases))
	pSize := 0
	for i := range phases {
		pSize += packedLen(wr, g.C, phases[i].kext(b))
	}
	pbuf := getConvScratch(pSize)
	defer putConvScratch(pbuf)
	used := 0
	perImage, gMax, tmpMax := 0, 0, 0
	// Phases whose grid rows are a multiple of 32 wide take the implicit-GEMM path (conv_implicit.go):
	// the band's rows of dy are copied once, zero-padded, instead of gathered once per kernel tap.
	implicit := make([]bool, len(phases))
	padMax, offMax, tileMax := 0, 0, 0
	for i := range phases {
		ph := &phases[i]
		k := ph.kext(b)
		if k > 0 {
			packed[i] = packMat((*pbuf)[used:], wr, g.C, ph.ktu, ph.w, ph.ktu, b)
			used += packedLen(wr, g.C, k)
			ph.band = max(1, min(ph.hp, colBudget/(kBlock(k)*ph.wp), outBudget/(g.C*ph.wp)))
			ph.bands = (ph.hp + ph.band - 1) / ph.band
			if implicit[i] = implicitGEMM() && ph.ktu > 0 && ph.wp%sgemmNR == 0; implicit[i] {
				padMax = max(padMax, bandLayout(ph.rows, g.K, 0, ph.band, ph.wp).size())
				offMax = max(offMax, k)
				tileMax = max(tileMax, ph.band*ph.wp/sgemmNR)
			} else {
				gMax = max(gMax, kBlock(k)*roundUp(ph.band*ph.wp, sgemmNR))
			}
		}
		perImage += ph.bands
		if g.S > 1 {
			tmpMax = max(tmpMax, g.C*ph.band*ph.wp)
		}
	}
	hw := g.H * g.W
	convTasks(n*perImage, func(next func() (int, bool)) {
		buf := getConvScratch(gMax + tmpMax + padMax)
		defer putConvScratch(buf)
		gbuf, tmp, pad := (*buf)[:gMax], (*buf)[gMax:gMax+tmpMax], (*buf)[gMax+tmpMax:]
		var off, tiles []int32
		if padMax > 0 {
			off, tiles = make([]int32, offMax), make([]int32, tileMax)
		}
		for t, ok := next(); ok; t, ok = next() {
			img, r := t/perImage, t%perImage
			pi := 0
			for r >= phases[pi].bands {
				r -= phases[pi].bands
				pi++
			}
			ph := &phases[pi]
			q0 := r * ph.band
			q1 := min(q0+ph.band, ph.hp)
			cols := (q1 - q0) * ph.wp
			dxi := dx[img*in : (img+1)*in]
			// The phase's grid rows [q0, q1) land in dst (row stride ld) directly for stride 1, else in tmp
			// and are then spread over dx.
			dst, ld := dxi[q0*g.W:], hw
			if g.S > 1 {
				dst, ld = tmp[:g.C*cols], cols
			}
			pm := &packed[pi]
			switch {
			case pm.k == 0 && g.S == 1 && o.Accumulate: // nothing to add
			case pm.k == 0: // no kernel tap lands here (kernel narrower than the stride), and no bias
				for c := 0; c < g.C; c++ {
					clear(dst[c*ld : c*ld+cols])
				}
			case implicit[pi]:
				src := planes{data: dy[img*out:], stride: ohw, h: g.OH, w: g.OW}
				lay := bandLayout(ph.rows, g.K, q0, q1, ph.wp)
				lay.fillRows(pad, src, false)
				nt := cols / sgemmNR
				lay.offsets(ph.rows, off[:pm.k], tiles[:nt], q0, q1-q0, ph.wp)
				checkReach(pad[:lay.size()], off[:pm.k], tiles[:nt])
				for p0 := 0; p0 < pm.k; p0 += pm.kc {
					kb := min(pm.kc, pm.k-p0)
					beta := float32(1)
					if p0 == 0 && (g.S > 1 || !o.Accumulate) {
						beta = 0
					}
					mulImplicit(kb, pm.block(p0, kb), pm.width, g.C, pad, off[p0:p0+kb], tiles[:nt], cols, dst, ld, beta)
				}
			default:
				src := planes{data: dy[img*out:], stride: ohw, h: g.OH, w: g.OW}
				for p0 := 0; p0 < pm.k; p0 += pm.kc {
					kb := min(pm.kc, pm.k-p0)
					gatherPacked(gbuf, sgemmNR, src, ph.rows, p0, kb, q0, q1, ph.wp, g.pointwise())
					beta := float32(1)
					if p0 == 0 && (g.S > 1 || !o.Accumulate) {
						beta = 0
					}
					mulPacked(kb, pm.block(p0, kb), pm.width, g.C, gbuf, cols, dst, ld, beta)
				}
			}
			if g.S > 1 {
				spreadPhase(g, ph, dxi, dst, q0, q1, cols, o)
			} else if relu {
				reluRows(dst, g.C, cols, ld)
			}
		}
	})
}

// kext is the depth of the phase's product: its K·T·U taps, plus the bias row when b is not nil.
func (ph *bwdPhase) kext(b []float32) int {
	if b != nil {
		return ph.ktu + 1
	}
	return ph.ktu
}

// col2imMaxC is the largest input channel count for which the backward-data pass multiplies by the whole
// transposed weight matrix ([C·KH·KW, K], a GEMM with a usable m) and scatters with col2im, rather than
// by C-row sub-kernels per phase (a GEMM with m = C, which wastes most of each 14-row tile for tiny C).
var col2imMaxC = 4

// backwardDataCol2im is backwardData as dcol = Wᵀ·dy per band followed by col2im. Bands of one image
// overlap in dx when the kernel is taller than the stride, so an image is one task.
func (g convGeom) backwardDataCol2im(n int, dy, w, dx []float32, accumulate bool) {
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	rows := g.bandRows(colBudget)
	ckk := g.ckk()
	convTasks(n, func(next func() (int, bool)) {
		buf := getConvScratch(ckk * rows * g.OW)
		defer putConvScratch(buf)
		for img, ok := next(); ok; img, ok = next() {
			dxi := dx[img*in : (img+1)*in]
			if !accumulate {
				clear(dxi)
			}
			for oy0 := 0; oy0 < g.OH; oy0 += rows {
				oy1 := min(oy0+rows, g.OH)
				cols := (oy1 - oy0) * g.OW
				col := (*buf)[:ckk*cols]
				sgemmSerial(true, false, ckk, cols, g.K, 1, w, ckk, dy[img*out+oy0*g.OW:], ohw, 0, col, cols)
				col2im(g, col, oy0, oy1, dxi)
			}
		}
	})
}

// spreadPhase copies a phase's grid rows [q0, q1) from tmp [C, (q1−q0)·wp] to their places
// dx[c, S·q+ry, S·qx+rx] in one image, adding them to what is there when o.Accumulate, then applying
// max(·, 0) when o.ReLU.
func spreadPhase(g convGeom, ph *bwdPhase, dx, tmp []float32, q0, q1, cols int, o ConvOpts) {
	s := g.S
	for c := 0; c < g.C; c++ {
		for q := q0; q < q1; q++ {
			src := tmp[c*cols+(q-q0)*ph.wp:][:ph.wp]
			spreadRow(dx[(c*g.H+s*q+ph.ry)*g.W:], src, s, ph.rx, o)
		}
	}
}

// spreadRow writes dst[s·i+r] = src[i] for every i < len(src) (one grid row of a stride phase into its
// output row), added to what is there when o.Accumulate, then max(·, 0) when o.ReLU. Only those elements
// of dst are written (spread2AVX masks its stores), so the phases of a row may be spread concurrently.
func spreadRow(dst, src []float32, s, r int, o ConvOpts) {
	if len(src) == 0 {
		return
	}
	row := dst[r:]
	_ = row[s*(len(src)-1)]
	if s == 2 && useAVX512 {
		spread2AVX(&dst[0], &src[0], len(src), r == 1, o.Accumulate, o.ReLU)
		return
	}
	switch {
	case o.Accumulate && o.ReLU:
		for i, v := range src {
			row[s*i] = max(row[s*i]+v, 0)
		}
	case o.Accumulate:
		for i, v := range src {
			row[s*i] += v
		}
	case o.ReLU:
		for i, v := range src {
			row[s*i] = max(v, 0)
		}
	default:
		for i, v := range src {
			row[s*i] = v
		}
	}
}

// backwardFilter computes dw [K,C,KH,KW] = Σ_n dy_n ⋆ x_n for n images, overwriting dw. The (image, band)
// tasks are cut into a fixed number of contiguous groups, each summed into its own accumulator by whichever
// worker takes it; the accumulators are then added in group order, so the result does not depend on
// timing (nor on the worker count, up to filterGroups/2 workers).
//
// The product per band is dy_band [K, cols] × col_bandᵀ [cols, C·KH·KW], whose two operands are both
// contiguous along cols, so Sgemm must pack one of them transposed. When K is the smaller side the groups
// accumulate the transpose dwᵀ = col_band × dy_bandᵀ instead, so that only the K-row dy band is packed
// transposed (and the GEMM gets m = C·KH·KW, n = K), and dw is transposed back once at the end.
func (g convGeom) backwardFilter(n int, x, dy, dw []float32) {
	if g.winogradFilter() {
		g.backwardFilterWinograd(n, x, dy, dw)
		return
	}
	if g.winograd22Filter() {
		g.backwardFilterWinograd22(n, x, dy, dw)
		return
	}
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	ckk := g.ckk()
	pw := g.pointwise()
	rows, bands := g.OH, 1
	var pl fwdPlan
	if !pw {
		pl = g.fwdPlan()
		rows = g.bandRows(filterColBudget)
		bands = (g.OH + rows - 1) / rows
	}
	trans := g.K <= ckk
	// The direct path gathers each band's patches straight into the micro-kernel's row-layout A panels
	// (one k block: the band is at most sgemmKC columns of whole output rows) instead of writing im2col
	// and packing it. The AVX2 register blocks read the same row layout (ks = 1).
	direct := (useAVX512 || useAVX2) && trans && !pw && g.OW <= sgemmKC
	aSize, bSize := 0, 0
	// The A panels are gathered and multiplied filterChunk panels at a time, so that they are still in
	// cache when the kernel reads them (a whole band of a 1152-row im2col is 1.8 MB).
	chunkRows := filterChunk * sgemmMR
	if direct {
		rows = max(1, min(g.OH, sgemmKC/g.OW))
		bands = (g.OH + rows - 1) / rows
		aSize = min(roundUp(ckk, sgemmMR), chunkRows) * sgemmARowStride
		bSize = roundUp(g.K, sgemmNR) * rows * g.OW
	}
	tasks := n * bands
	groups := min(tasks, max(filterGroups, 2*convWorkers()))
	accs := make([]*[]float32, groups)
	convTasks(groups, func(next func() (int, bool)) {
		var buf *[]float32
		if direct {
			buf = getConvScratch(aSize + bSize + g.phaseSize(&pl, rows))
			defer putConvScratch(buf)
		} else if !pw {
			buf = getConvScratch(ckk*rows*g.OW + g.phaseSize(&pl, rows))
			defer putConvScratch(buf)
		}
		for gr, ok := next(); ok; gr, ok = next() {
			accs[gr] = getConvScratch(g.K * ckk)
			acc := *accs[gr]
			clear(acc)
			for t := gr * tasks / groups; t < (gr+1)*tasks/groups; t++ {
				img, band := t/bands, t%bands
				oy0 := band * rows
				oy1 := min(oy0+rows, g.OH)
				cols := (oy1 - oy0) * g.OW
				if direct {
					abuf, bbuf := (*buf)[:aSize], (*buf)[aSize:aSize+bSize]
					src := g.bandPlanes(&pl, x[img*in:], oy0, oy1, (*buf)[aSize+bSize:])
					dyb := gemmArgs{transB: true, b: dy[img*out+oy0*g.OW:], ldb: ohw, n: g.K, k: cols}
					dyb.packB(bbuf, 0, cols, 0, g.K)
					for r0 := 0; r0 < ckk; r0 += chunkRows {
						r1 := min(r0+chunkRows, ckk)
						if useAVX2 {
							for r := r0; r < r1; r++ {
								row := abuf[(r-r0)*sgemmARowStride:][:cols]
								gatherCols(row, src, pl.rows[r:r+1], oy0, oy1, g.OW)
							}
							room := len(abuf) / sgemmARowStride
							tilesAVX2A(cols, abuf, sgemmARowStride, 1, room, bbuf, acc[r0*g.K:], g.K, 1, 1, r1-r0, g.K)
							continue
						}
						for r := r0; r < r1; r++ {
							im2colRowAVX(abuf[(r-r0)*sgemmARowStride:], sgemmNR, sgemmNR, src, pl.rows[r], oy0, oy1, g.OW)
						}
						tilesR(cols, abuf, r1-r0, bbuf, g.K, acc[r0*g.K:], g.K)
					}
					continue
				}
				col, ld := x[img*in:], ohw // pointwise: the image is its own im2col matrix
				if !pw {
					col, ld = (*buf)[:ckk*cols], cols
					g.im2col(&pl, x[img*in:], oy0, oy1, col, (*buf)[ckk*rows*g.OW:])
				}
				dyb := dy[img*out+oy0*g.OW:]
				if trans {
					sgemmSerial(false, true, ckk, g.K, cols, 1, col, ld, dyb, ohw, 1, acc, g.K)
				} else {
					sgemmSerial(false, true, g.K, ckk, cols, 1, dyb, ohw, col, ld, 1, acc, ckk)
				}
			}
		}
	})
	dw = dw[:g.K*ckk]
	if !trans {
		convFor(g.K, func(_, lo, hi int) {
			part := dw[lo*ckk : hi*ckk]
			copy(part, (*accs[0])[lo*ckk:hi*ckk])
			for _, p := range accs[1:] {
				convAccumulate(part, (*p)[lo*ckk:hi*ckk])
			}
		})
	} else {
		// dw[k, r] = Σ_groups acc[r, k], summed in group order.
		convFor(g.K, func(_, lo, hi int) {
			for k := lo; k < hi; k++ {
				row := dw[k*ckk : (k+1)*ckk]
				clear(row)
				for _, p := range accs {
					acc := *p
					for r := range row {
						row[r] += acc[r*g.K+k]
					}
				}
			}
		})
	}
	for _, p := range accs {
		putConvScratch(p)
	}
}

// filterChunk is how many 14-row A panels the direct weight-gradient path gathers before multiplying them.
var filterChunk = 12

// filterGroups is how many partial weight gradients backwardFilter sums (at least twice the worker count).
const filterGroups = 8

// convAccumulate adds src into dst element-wise.
func convAccumulate(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}
