package kernels

import "unsafe"

// The AVX-512 micro-kernels (sgemm_amd64.s). For each of nq ≥ 1 tiles t (14×32, side by side from c
// on), they compute T = Σ_p A[i][p]·Bt[p][j] over kc ≥ 0 steps, with Bt the t-th packed kc×32 panel from
// b on, and write C[i][32t+j] = alpha·T + beta·C[i][32t+j] for i < mr and all j < 32 except in the
// last tile, where only the columns whose bit is set in mask are written. C is not read when beta is
// 0. ldc is in floats.
//
// kernel14x32K reads A packed k-major: A[i][p] = a[p*14+i].
// kernel14x32R reads A packed row by row: A[i][p] = a[i*sgemmARowStride+p].
//
// While it computes, a kernel prefetches nq·(2·⌊kc/4⌋+4) cache lines of a 2D region (see prefetchCursor):
// starting at address pf, pfleft lines in the current row, then pfskip bytes to the next row, which has
// pflines lines. Prefetching never faults, so the region may run past the end of the data.
//
//go:noescape
func kernel14x32K(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr, nq int, mask uint32,
	pf uintptr, pfskip, pflines, pfleft int)

//go:noescape
func kernel14x32R(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr, nq int, mask uint32,
	pf uintptr, pfskip, pflines, pfleft int)

// prefetchCursor walks the cache lines of up to two regions in memory order, handing each kernel call
// the next stretch to prefetch (one call's stretch stays within one region).
type prefetchCursor struct {
	regs      *[2]pfRegion
	reg       int     // current region
	row, line int     // next line to prefetch in it
	idle      uintptr // address handed out when all is done (already cached)
}

// take returns the kernel's prefetch arguments for a call that prefetches n lines, and advances.
func (pc *prefetchCursor) take(n int) (pf uintptr, skip, lines, left int) {
	for pc.reg < len(pc.regs) && pc.row >= pc.regs[pc.reg].rows {
		pc.reg++
		pc.row, pc.line = 0, 0
	}
	if pc.reg >= len(pc.regs) {
		return idlePrefetch(pc.idle)
	}
	r := &pc.regs[pc.reg]
	pf = r.base + uintptr(pc.row*r.ld+pc.line*64)
	skip, lines, left = r.ld-r.lines*64, r.lines, r.lines-pc.line
	pc.line += n
	pc.row += pc.line / r.lines
	pc.line %= r.lines
	return pf, skip, lines, left
}

// idlePrefetch returns kernel prefetch arguments that keep touching the one (cached) line at p: each
// row of the "region" is one line long and the skip steps back onto it.
func idlePrefetch(p uintptr) (pf uintptr, skip, lines, left int) { return p, -64, 1, 1 }

// The packing routines (sgemm_amd64.s); all need kc ≥ 1.

// packAR copies rows i < rows of A (row stride lda) into dst[i*sgemmARowStride+p], p < kc, and zeroes
// the rows after them up to a multiple of 14.
//
//go:noescape
func packAR(dst, src *float32, lda, kc, rows int)

// packAT packs A stored transposed (src[p*lda+i] = A[i][p], i < m) into ⌈m/14⌉ k-major panels:
// dst[(i/14)*kc*14 + p*14 + i%14] = A[i][p], zero-padding the last panel.
//
//go:noescape
func packAT(dst, src *float32, lda, kc, m int)

// packBN packs B (src[p*ldb+j], j < nc) into ⌈nc/32⌉ panels: dst[(j/32)*kc*32 + p*32 + j%32],
// zero-padding the last panel.
//
//go:noescape
func packBN(dst, src *float32, ldb, kc, nc int)

// packBT packs B stored transposed (src[j*ldb+p] = B[p][j]) for j < 32·panels into full panels:
// dst[(j/32)*kc*32 + p*32 + j%32].
//
//go:noescape
func packBT(dst, src *float32, ldb, kc, panels int)

// packB packs the kc×nc block of op(B) at (p0, j0) into 32-column panels (layout of packBGo).
func (g *gemmArgs) packB(dst []float32, p0, kc, j0, nc int) {
	if !useAVX512 {
		g.packBGo(dst, p0, kc, j0, nc)
		return
	}
	_ = dst[ceilDiv(nc, sgemmNR)*kc*sgemmNR-1]
	if !g.transB {
		packBN(&dst[0], &g.b[p0*g.ldb+j0], g.ldb, kc, nc)
		return
	}
	full := nc / sgemmNR
	if full > 0 {
		packBT(&dst[0], &g.b[j0*g.ldb+p0], g.ldb, kc, full)
	}
	if nr := nc - full*sgemmNR; nr > 0 {
		g.packBPanelGo(dst[full*kc*sgemmNR:], p0, kc, j0+full*sgemmNR, nr)
	}
}

// blockA packs mb rows of op(A) (from row i0, columns p0 … p0+kc−1) and multiplies each 14-row panel
// with every 32-column panel of the packed B block bp (nc columns, from column j0 of C). The kernels
// prefetch the regions in next meanwhile.
func (g *gemmArgs) blockA(ap []float32, i0, mb, p0, kc, j0, nc int, bp []float32, beta float32,
	next *[2]pfRegion) {
	if useAVX2 {
		g.blockAVX2(ap, i0, mb, p0, kc, j0, nc, bp, beta)
		return
	}
	if !useAVX512 {
		g.blockGo(ap, i0, mb, p0, kc, j0, nc, bp, beta)
		return
	}
	panels := ceilDiv(mb, sgemmMR)
	kern := kernel14x32K
	panelStride := kc * sgemmMR
	if g.transA {
		_ = ap[panels*panelStride-1]
		packAT(&ap[0], &g.a[p0*g.lda+i0], g.lda, kc, mb)
	} else {
		kern = kernel14x32R
		panelStride = sgemmMR * sgemmARowStride
		_ = ap[panels*panelStride-1]
		packAR(&ap[0], &g.a[i0*g.lda+p0], g.lda, kc, mb)
	}
	pfc := prefetchCursor{regs: next, idle: uintptr(unsafe.Pointer(&ap[0]))}
	nq := ceilDiv(nc, sgemmNR)
	mask := colMask(nc - (nq-1)*sgemmNR)
	pfPerCall := nq * (2*(kc/4) + 4)
	_ = bp[nq*kc*sgemmNR-1]
	_ = g.c[(i0+mb-1)*g.ldc+j0+nc-1]
	for ir := 0; ir < panels; ir++ {
		mr := min(sgemmMR, mb-ir*sgemmMR)
		pf, skip, lines, left := pfc.take(pfPerCall)
		kern(kc, &ap[ir*panelStride], &bp[0], &g.c[(i0+ir*sgemmMR)*g.ldc+j0], g.ldc, g.alpha, beta, mr, nq, mask,
			pf, skip, lines, left)
	}
}

// tiles computes C[i][32t+j] = Σ_p ap[p·14+i]·bp[t·kc·32 + p·32 + j] + beta·C[i][32t+j] for i < mr, every
// tile t < nq and j < 32, except j < last in the last tile (C not read when beta is 0): one 14-row A panel
// against nq consecutive B panels, all kc ≥ 1 deep (the packed products of conv_packed.go).
func tiles(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	if useAVX2 {
		tilesAVX2(kc, sgemmMR, ap, bp, c, ldc, 1, beta, mr, (nq-1)*sgemmNR+last)
		return
	}
	if !useAVX512 {
		tilesGo(kc, sgemmMR, ap, bp, c, ldc, beta, mr, nq, last)
		return
	}
	_ = ap[kc*sgemmMR-1]
	_ = bp[nq*kc*sgemmNR-1]
	_ = c[(mr-1)*ldc+(nq-1)*sgemmNR+last-1]
	pf, skip, lines, left := idlePrefetch(uintptr(unsafe.Pointer(&ap[0])))
	kernel14x32K(kc, &ap[0], &bp[0], &c[0], ldc, 1, beta, mr, nq, colMask(last), pf, skip, lines, left)
}

// scatterRunAVX is scatterRun's AVX-512 loop (gather_amd64.s); line must be readable at every element the
// run takes from it.
//
//go:noescape
func scatterRunAVX(dst *float32, j0, width, stride int, src *float32, ax, ow, lo, hi int)

// scatterRowsAVX is gatherPacked's loop over the output rows of one im2col row (gather_amd64.s).
//
//go:noescape
func scatterRowsAVX(dst *float32, j0, width, stride int, base *float32, pw, q0, qlo, qhi, nrows, ax, ow, lo, hi int)

// tilesR computes C [m × n] += A·B for A in row-layout panels (sgemmMR rows each, row stride
// sgemmARowStride, kc ≤ sgemmARowStride columns) and B as packed kc×32 panels, n columns in all.
func tilesR(kc int, a []float32, m int, b []float32, n int, c []float32, ldc int) {
	nq := ceilDiv(n, sgemmNR)
	last := n - (nq-1)*sgemmNR
	_ = b[nq*kc*sgemmNR-1]
	_ = a[ceilDiv(m, sgemmMR)*sgemmMR*sgemmARowStride-1]
	_ = c[(m-1)*ldc+n-1]
	for ir := 0; ir*sgemmMR < m; ir++ {
		mr := min(sgemmMR, m-ir*sgemmMR)
		ap := &a[ir*sgemmMR*sgemmARowStride]
		pf, skip, lines, left := idlePrefetch(uintptr(unsafe.Pointer(ap)))
		kernel14x32R(kc, ap, &b[0], &c[ir*sgemmMR*ldc], ldc, 1, 1, mr, nq, colMask(last), pf, skip, lines, left)
	}
}

// tiles8 is tiles for an 8-row A panel (ap[p·8+i]) and the 8×32 micro-kernel (kernel8_amd64.s).
func tiles8(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	if useAVX2 {
		tilesAVX2(kc, convMR, ap, bp, c, ldc, 1, beta, mr, (nq-1)*sgemmNR+last)
		return
	}
	if !useAVX512 {
		tilesGo(kc, convMR, ap, bp, c, ldc, beta, mr, nq, last)
		return
	}
	_ = ap[kc*convMR-1]
	_ = bp[nq*kc*sgemmNR-1]
	_ = c[(mr-1)*ldc+(nq-1)*sgemmNR+last-1]
	kernel8x32K(kc, &ap[0], &bp[0], &c[0], ldc, beta, mr, nq, colMask(last))
}

// kernel8x32K is the 8×32 micro-kernel (kernel8_amd64.s): C = A·B + beta·C over nq tiles.
//
//go:noescape
func kernel8x32K(kc int, a, b, c *float32, ldc int, beta float32, mr, nq int, mask uint32)

// The elementwise loops (eltwise_amd64.s).

//go:noescape
func reluAVX(dst, src *float32, n int)

//go:noescape
func reluBackwardAVX(dx, dy, y *float32, n int)

//go:noescape
func addAVX(dst, a, b *float32, n int)

//go:noescape
func sumAVX(x *float32, n int) float32

// The stride-2 loops (stride2_amd64.s).

//go:noescape
func deinterleave2AVX(even, odd, src *float32, n int)

//go:noescape
func spread2AVX(dst, src *float32, n int, odd, acc, relu bool)

// kernel8x32I is the implicit-GEMM 8×32 micro-kernel (kernel8_amd64.s): B row p of tile t is the 32 floats
// at base + tiles[t] + off[p].
//
//go:noescape
func kernel8x32I(kc int, a, base *float32, off, tiles *int32, c *float32, ldc int, beta float32, mr, nq int, mask uint32)

// scanBestTwoAVX is scanBestTwo's loop for a multiple of 16 columns (quant_amd64.s).
//
//go:noescape
func scanBestTwoAVX(s *float32, cols, kc int, ee *float32, best, second *float32, arg *int32)
