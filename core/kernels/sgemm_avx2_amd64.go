package kernels

// The AVX2 + FMA path (sgemm_avx2_amd64.s), for amd64 CPUs without AVX-512: the same packed B panels as
// the other paths (kc×32, row-major), and R×16 register blocks of C (R = 6, 4 or 2) that read R rows of a
// k-major A panel. Sgemm packs A in 6-row panels for it; the convolutions' products hand it their 8- and
// 14-row panels, which it covers with 6-, 4- and 2-row blocks.

// kernelAVX2x6, kernelAVX2x4 and kernelAVX2x2 compute, for nh ≥ 1 consecutive 16-column halves h of the
// packed B panels at b (half h: panel h/2, columns 16·(h mod 2) …), the R×16 block
// T[i][j] = Σ_{p<kc} A[i][p]·B_h[p][j], with A[i][p] = a[i·rs + p·ks] for i < R, and write
// C[i][16h+j] = alpha·T + beta·C for i < mr ≤ R (C not read when beta is 0). rs, ks and ldc are in floats.
//
//go:noescape
func kernelAVX2x6(kc int, a *float32, rs, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)

//go:noescape
func kernelAVX2x4(kc int, a *float32, rs, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)

//go:noescape
func kernelAVX2x2(kc int, a *float32, rs, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)

// kernelAVX2 calls the r-row kernel (r = 6, 4 or 2; a direct call, so that the scratch block passed as
// c stays on the caller's stack).
func kernelAVX2(r, kc int, a *float32, rs, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int) {
	switch r {
	case 6:
		kernelAVX2x6(kc, a, rs, ks, b, c, ldc, alpha, beta, mr, nh)
	case 4:
		kernelAVX2x4(kc, a, rs, ks, b, c, ldc, alpha, beta, mr, nh)
	default:
		kernelAVX2x2(kc, a, rs, ks, b, c, ldc, alpha, beta, mr, nh)
	}
}

// avx2Block is the row count (6, 4 or 2) of the next register block of a panel with left rows still to
// compute and space rows that may be read. 6-row blocks where they fill up, but 8 (or 7) rows as two
// 4-row blocks: the 2-row block has only 4 accumulators, too few to hide the FMA latency (~40 GFLOP/s
// against ~62 for 4 rows and ~72 for 6 on Zen 3), so 8-row panels run faster as 4+4 than as 6+2, 14-row
// ones as 6+4+4.
func avx2Block(left, space int) int {
	switch {
	case (left == 8 || left == 7) && space >= 8:
		return 4
	case space >= 6 && left >= 5:
		return 6
	case space >= 4 && left >= 3:
		return 4
	}
	return 2
}

// avx2MR is the row count of the A panels Sgemm packs for the AVX2 path (one 6×16 block per half panel).
const avx2MR = 6

// tilesAVX2 computes C[i][j] = alpha·Σ_p ap[p·aw+i]·B[p][j] + beta·C[i][j] for i < mr ≤ aw and j < n,
// where B is the nq = ⌈n/32⌉ packed kc×32 panels bp (C not read when beta is 0). aw is even.
func tilesAVX2(kc, aw int, ap, bp, c []float32, ldc int, alpha, beta float32, mr, n int) {
	tilesAVX2A(kc, ap, 1, aw, aw, bp, c, ldc, alpha, beta, mr, n)
}

// tilesAVX2A is tilesAVX2 for A[i][p] = a[i·rs + p·ks], where the first room ≥ mr rows (an even count)
// may be read.
func tilesAVX2A(kc int, a []float32, rs, ks, room int, bp, c []float32, ldc int, alpha, beta float32, mr, n int) {
	if kc <= 0 || mr <= 0 || n <= 0 {
		if mr > 0 && n > 0 {
			scaleC(mr, n, beta, c, ldc)
		}
		return
	}
	nq := ceilDiv(n, sgemmNR)
	_ = a[(room-1)*rs+(kc-1)*ks]
	_ = bp[nq*kc*sgemmNR-1]
	_ = c[(mr-1)*ldc+n-1]
	full, rem := n/16, n%16
	for r0 := 0; r0 < mr; {
		r := avx2Block(mr-r0, room-r0)
		rows := min(r, mr-r0)
		ar := &a[r0*rs]
		if full > 0 {
			kernelAVX2(r, kc, ar, rs, ks, &bp[0], &c[r0*ldc], ldc, alpha, beta, rows, full)
		}
		if rem > 0 {
			// The last columns through a 6×16 scratch block.
			var s [6 * 16]float32
			h := full
			kernelAVX2(r, kc, ar, rs, ks, &bp[(h/2)*kc*sgemmNR+(h%2)*16], &s[0], 16, 1, 0, rows, 1)
			for i := range rows {
				row := c[(r0+i)*ldc+16*full : (r0+i)*ldc+n]
				t := s[i*16 : i*16+rem]
				if beta == 0 {
					for j, v := range t {
						row[j] = alpha * v
					}
					continue
				}
				for j, v := range t {
					row[j] = alpha*v + beta*row[j]
				}
			}
		}
		r0 += rows
	}
}

// packAW packs rows i0 … i0+mr−1 (mr ≤ aw) and columns p0 … p0+kc−1 of op(A) k-major into dst:
// dst[p·aw+i] = op(A)[i0+i][p0+p], zero for mr ≤ i < aw.
func (g *gemmArgs) packAW(dst []float32, aw, i0, mr, p0, kc int) {
	dst = dst[:kc*aw]
	if mr < aw {
		clear(dst)
	}
	if g.transA {
		for p := range kc {
			src := g.a[(p0+p)*g.lda+i0:]
			d := dst[p*aw : p*aw+mr]
			for i := range d {
				d[i] = src[i]
			}
		}
		return
	}
	for i := range mr {
		src := g.a[(i0+i)*g.lda+p0:]
		src = src[:kc]
		for p, v := range src {
			dst[p*aw+i] = v
		}
	}
}

// blockAVX2 is blockA on the AVX2 path: per 6-row panel of the block, pack it, then run it against the
// whole packed B block (nc columns). Rows of A not transposed are copied whole (a memmove) into rows
// sgemmARowStride floats apart, which the kernels read in place (ks = 1); A transposed is packed k-major.
func (g *gemmArgs) blockAVX2(ap []float32, i0, mb, p0, kc, j0, nc int, bp []float32, beta float32) {
	for ir := 0; ir < mb; ir += avx2MR {
		mr := min(avx2MR, mb-ir)
		c := g.c[(i0+ir)*g.ldc+j0:]
		if g.transA && mr == avx2MR {
			// A stored transposed is k-major already: read the panel in place (A[i][p] at
			// a[p·lda + i]).
			tilesAVX2A(kc, g.a[p0*g.lda+i0+ir:], 1, g.lda, avx2MR, bp, c, g.ldc, g.alpha, beta, mr, nc)
			continue
		}
		if g.transA {
			g.packAW(ap, avx2MR, i0+ir, mr, p0, kc)
			tilesAVX2A(kc, ap, 1, avx2MR, avx2MR, bp, c, g.ldc, g.alpha, beta, mr, nc)
			continue
		}
		for i := range mr {
			src := g.a[(i0+ir+i)*g.lda+p0:]
			copy(ap[i*sgemmARowStride:i*sgemmARowStride+kc], src[:kc])
		}
		// Rows mr … 5 of the panel hold stale values: computed, never written.
		tilesAVX2A(kc, ap, sgemmARowStride, 1, avx2MR, bp, c, g.ldc, g.alpha, beta, mr, nc)
	}
}
