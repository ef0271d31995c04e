package kernels

import "unsafe"

// The AVX-512 micro-kernels (sgemm_amd64.s). Each computes T = Σ_p A[i][p]·Bp[p][j] over kc steps for a
// 14×32 tile, with Bp a packed kc×32 panel, and writes C[i][j] = alpha·T + beta·C[i][j] for i < mr and
// the columns j whose bit is set in mask; C is not read when beta is 0. ldc is in floats.
//
// kernel14x32K reads A packed k-major: A[i][p] = a[p*14+i].
// kernel14x32R reads A packed row by row: A[i][p] = a[i*sgemmARowStride+p].
//
//go:noescape
func kernel14x32K(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr int, mask uint32)

//go:noescape
func kernel14x32R(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr int, mask uint32)

// packA14T sets dst[p*14+i] = src[p*lda+i] for p < kc, i < mr, and zero for mr ≤ i < 14.
//
//go:noescape
func packA14T(dst, src *float32, lda, kc, mr int)

// packB32 sets dst[p*32+j] = src[p*ldb+j] for p < kc and the columns j set in mask, zero elsewhere.
//
//go:noescape
func packB32(dst, src *float32, ldb, kc int, mask uint32)

// colMask returns the mask selecting the first nr ≤ 32 columns of a tile.
func colMask(nr int) uint32 { return uint32(uint64(1)<<uint(nr) - 1) }

// packB packs the kc×nc block of op(B) at (p0, j0) into 32-column panels (see packBGo).
func (g *gemmArgs) packB(dst []float32, p0, kc, j0, nc int) {
	if !useAVX512 || g.transB {
		g.packBGo(dst, p0, kc, j0, nc)
		return
	}
	dst = dst[:ceilDiv(nc, sgemmNR)*kc*sgemmNR]
	for q := 0; q*sgemmNR < nc; q++ {
		nr := min(sgemmNR, nc-q*sgemmNR)
		src := g.b[p0*g.ldb+j0+q*sgemmNR:]
		packB32(&dst[q*kc*sgemmNR], &src[0], g.ldb, kc, colMask(nr))
	}
}

// panelA packs rows i0 … i0+mr−1, columns p0 … p0+kc−1 of op(A) and multiplies them with every 32-column
// panel of the packed B block bp (nc columns, starting at column j0 of C).
func (g *gemmArgs) panelA(ap []float32, i0, mr, p0, kc, j0, nc int, bp []float32, beta float32) {
	if !useAVX512 {
		g.panelGo(ap, i0, mr, p0, kc, j0, nc, bp, beta)
		return
	}
	kern := kernel14x32K
	if g.transA {
		packA14T(&ap[0], &g.a[p0*g.lda+i0], g.lda, kc, mr)
	} else {
		// Row copies (contiguous in op(A)'s k) into rows of sgemmARowStride floats.
		kern = kernel14x32R
		for i := range mr {
			src := g.a[(i0+i)*g.lda+p0:]
			copy(ap[i*sgemmARowStride:i*sgemmARowStride+kc], src[:kc])
		}
		for i := mr; i < sgemmMR; i++ {
			clear(ap[i*sgemmARowStride : i*sgemmARowStride+kc])
		}
	}
	_ = bp[ceilDiv(nc, sgemmNR)*kc*sgemmNR-1]
	_ = g.c[(i0+mr-1)*g.ldc+j0+nc-1]
	c := unsafe.Pointer(&g.c[i0*g.ldc+j0])
	for q := 0; q*sgemmNR < nc; q++ {
		nr := min(sgemmNR, nc-q*sgemmNR)
		kern(kc, &ap[0], &bp[q*kc*sgemmNR], (*float32)(unsafe.Add(c, 4*q*sgemmNR)), g.ldc,
			g.alpha, beta, mr, colMask(nr))
	}
}
