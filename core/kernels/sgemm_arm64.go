package kernels

// The NEON path on arm64 (sgemm_arm64.s). Advanced SIMD is part of every ARMv8-A CPU, so it needs no
// feature check: it is the default on arm64, and BRAINVQ_ISA=generic (or BRAINVQ_NOASM=1) takes the
// pure-Go kernels instead. It uses the same packed B panels as the other paths (kc×32, row-major, packed
// by packBGo) and R×16 register blocks of C (R = 6, 4 or 2; 4R of the 32 vector registers hold the block)
// that read R consecutive rows of a k-major A panel. Sgemm packs A in 6-row panels for it (or reads A
// stored transposed in place); the convolutions' products hand it their 8- and 14-row panels, which it
// covers with 6-, 4- and 2-row blocks.

// kernelNEONx6, kernelNEONx4 and kernelNEONx2 compute, for nh ≥ 1 consecutive 16-column halves h of the
// packed B panels at b (half h: panel h/2, columns 16·(h mod 2) …; b must point at a left half unless
// nh is 1), the R×16 block T[i][j] = Σ_{p<kc} A[i][p]·B_h[p][j] with A[i][p] = a[i + p·ks] for i < R,
// and write C[i][16h+j] = alpha·T + beta·C for i < mr ≤ R (C not read when beta is 0). kc ≥ 1; ks and
// ldc are in floats. Every k step reads exactly R floats of A.
//
//go:noescape
func kernelNEONx6(kc int, a *float32, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)

//go:noescape
func kernelNEONx4(kc int, a *float32, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)

//go:noescape
func kernelNEONx2(kc int, a *float32, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)

// kernelNEON calls the r-row kernel (r = 6, 4 or 2; a direct call, so that the scratch block passed as
// c stays on the caller's stack).
func kernelNEON(r, kc int, a *float32, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int) {
	switch r {
	case 6:
		kernelNEONx6(kc, a, ks, b, c, ldc, alpha, beta, mr, nh)
	case 4:
		kernelNEONx4(kc, a, ks, b, c, ldc, alpha, beta, mr, nh)
	default:
		kernelNEONx2(kc, a, ks, b, c, ldc, alpha, beta, mr, nh)
	}
}

// neonMR is the row count of the A panels Sgemm packs for the NEON path (one 6×16 block per half panel).
const neonMR = 6

// tilesNEON computes C[i][j] = alpha·Σ_{p<kc} A[i][p]·B[p][j] + beta·C[i][j] for i < mr and j < n, with
// A[i][p] = a[i + p·ks] and B the ⌈n/32⌉ packed kc×32 panels bp (C not read when beta is 0). The first
// room ≥ mr rows of A may be read; room must be even (6-, 4- and 2-row blocks tile it).
func tilesNEON(kc int, a []float32, ks, room int, bp, c []float32, ldc int, alpha, beta float32, mr, n int) {
	if kc <= 0 || mr <= 0 || n <= 0 {
		if mr > 0 && n > 0 {
			scaleC(mr, n, beta, c, ldc)
		}
		return
	}
	if room%2 != 0 || room < mr {
		panic("kernels: tilesNEON: room must be even and ≥ mr")
	}
	nq := ceilDiv(n, sgemmNR)
	_ = a[(room-1)+(kc-1)*ks]
	_ = bp[nq*kc*sgemmNR-1]
	_ = c[(mr-1)*ldc+n-1]
	full, rem := n/16, n%16
	for r0 := 0; r0 < mr; {
		left, space := mr-r0, room-r0
		// 6-row blocks where they fill up, but 8 (or 7) rows as two 4-row blocks rather than 6+2: the
		// 2-row block has only 8 accumulators, fewer than the FMLA latency × issue width wants.
		r := 2
		switch {
		case (left == 8 || left == 7) && space >= 8:
			r = 4
		case space >= 6 && left >= 5:
			r = 6
		case space >= 4 && left >= 3:
			r = 4
		}
		rows := min(r, left)
		ar := &a[r0]
		if full > 0 {
			kernelNEON(r, kc, ar, ks, &bp[0], &c[r0*ldc], ldc, alpha, beta, rows, full)
		}
		if rem > 0 {
			// The last columns through a 6×16 scratch block.
			var s [neonMR * 16]float32
			h := full
			kernelNEON(r, kc, ar, ks, &bp[(h/2)*kc*sgemmNR+(h%2)*16], &s[0], 16, 1, 0, rows, 1)
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

// packA6 packs rows i0 … i0+mr−1 (mr ≤ 6) and columns p0 … p0+kc−1 of op(A) k-major into dst:
// dst[p·6+i] = op(A)[i0+i][p0+p], zero for mr ≤ i < 6.
func (g *gemmArgs) packA6(dst []float32, i0, mr, p0, kc int) {
	dst = dst[:kc*neonMR]
	if mr < neonMR {
		clear(dst)
	}
	if g.transA {
		for p := range kc {
			src := g.a[(p0+p)*g.lda+i0:]
			copy(dst[p*neonMR:p*neonMR+mr], src[:mr])
		}
		return
	}
	for i := range mr {
		src := g.a[(i0+i)*g.lda+p0:]
		src = src[:kc]
		for p, v := range src {
			dst[p*neonMR+i] = v
		}
	}
}

// packB packs the kc×nc block of op(B) at (p0, j0) into 32-column panels (see packBGo; the NEON path
// uses the same panels).
func (g *gemmArgs) packB(dst []float32, p0, kc, j0, nc int) { g.packBGo(dst, p0, kc, j0, nc) }

// blockA multiplies a block of mb rows of op(A) with the packed B block: on the NEON path per 6-row
// panel (A stored transposed is k-major already and read in place when the panel is full; otherwise the
// panel is packed k-major), else with the pure-Go kernels (see blockGo).
func (g *gemmArgs) blockA(ap []float32, i0, mb, p0, kc, j0, nc int, bp []float32, beta float32,
	_ *[2]pfRegion) {
	if !useNEON {
		g.blockGo(ap, i0, mb, p0, kc, j0, nc, bp, beta)
		return
	}
	for ir := 0; ir < mb; ir += neonMR {
		mr := min(neonMR, mb-ir)
		c := g.c[(i0+ir)*g.ldc+j0:]
		if g.transA && mr == neonMR {
			tilesNEON(kc, g.a[p0*g.lda+i0+ir:], g.lda, neonMR, bp, c, g.ldc, g.alpha, beta, mr, nc)
			continue
		}
		g.packA6(ap, i0+ir, mr, p0, kc)
		tilesNEON(kc, ap, neonMR, neonMR, bp, c, g.ldc, g.alpha, beta, mr, nc)
	}
}

// tiles runs one 14-row A panel (ap[p·14+i]) against nq packed B panels, all columns of each but the
// first last of the final one (see tilesGo).
func tiles(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	if useNEON {
		tilesNEON(kc, ap, sgemmMR, sgemmMR, bp, c, ldc, 1, beta, mr, (nq-1)*sgemmNR+last)
		return
	}
	tilesGo(kc, sgemmMR, ap, bp, c, ldc, beta, mr, nq, last)
}

// tiles8 is tiles for an 8-row A panel (ap[p·8+i]).
func tiles8(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	if useNEON {
		tilesNEON(kc, ap, convMR, convMR, bp, c, ldc, 1, beta, mr, (nq-1)*sgemmNR+last)
		return
	}
	tilesGo(kc, convMR, ap, bp, c, ldc, beta, mr, nq, last)
}
