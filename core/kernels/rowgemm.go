package kernels

import "fmt"

// RowGemm computes y += w·x for a small number of columns, the products of sampling from the PixelCNN
// prior one position at a time: w [M,K] row-major, x [K,n] with row stride ldx, y [M,n] with row stride
// ldy, n the samples drawn together (typically 16):
//
//	y[o,s] += Σ_c w[o,c]·x[c,s],  o < M, s < n.
//
// Sgemm packs its operands into panels 32 columns wide, which costs more than the product itself at these
// sizes; RowGemm reads w and x in place. It runs on the calling goroutine only: the sampler's products are
// too small to share. On the AVX2 path, 16-column blocks run in assembly, 6 rows of y at a time in
// registers (rowgemm_avx2_amd64.s). (No AVX-512 loop yet: the AVX-512 path takes the Go loop.)
func RowGemm(y []float32, ldy int, w []float32, x []float32, ldx int, m, k, n int) {
	if m < 0 || k < 0 || n < 0 || ldy < n || ldx < n {
		panic(fmt.Errorf("kernels.RowGemm: m=%d k=%d n=%d ldy=%d ldx=%d", m, k, n, ldy, ldx))
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	mustConvLen("RowGemm", "w", w, m*k)
	mustConvLen("RowGemm", "x", x, (k-1)*ldx+n)
	mustConvLen("RowGemm", "y", y, (m-1)*ldy+n)
	if useAVX2 {
		rowGemmAVX2(y, ldy, w, x, ldx, m, k, n)
		return
	}
	if useNEON {
		rowGemmNEON(y, ldy, w, x, ldx, m, k, n)
		return
	}
	rowGemmGo(y, ldy, w, x, ldx, m, k, n)
}

// rowGemmGo is RowGemm in plain Go.
func rowGemmGo(y []float32, ldy int, w []float32, x []float32, ldx int, m, k, n int) {
	for o := range m {
		yo := y[o*ldy : o*ldy+n]
		for c, wv := range w[o*k : (o+1)*k] {
			xc := x[c*ldx : c*ldx+n]
			for s := range yo {
				yo[s] += wv * xc[s]
			}
		}
	}
}
