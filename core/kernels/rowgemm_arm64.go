package kernels

// The NEON loops of RowGemm (rowgemm_arm64.s): y[o, s] += Σ_{c<k} w[o·k + c]·x[c·ldx + s] for the R rows
// o < R (4 or 1) of y and w at the given pointers and the nb·16 columns s < 16·nb. k, nb ≥ 1; ldy and ldx
// are in floats. (ldy is unused by the 1-row loop.)
//
//go:noescape
func rowGemmNEONx4(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)

//go:noescape
func rowGemmNEONx1(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)

// rowGemmNEON is RowGemm on the NEON path (arguments checked, m, k, n ≥ 1): the columns in blocks of 16
// by the assembly, rows 4 at a time (16 accumulators, 4 x registers and 4 w scalars fill 24 of the 32
// vector registers), the last m mod 4 rows one at a time; the last n mod 16 columns in Go.
func rowGemmNEON(y []float32, ldy int, w []float32, x []float32, ldx int, m, k, n int) {
	nb := n / 16
	if nb > 0 {
		_ = w[m*k-1]
		_ = x[(k-1)*ldx+16*nb-1]
		_ = y[(m-1)*ldy+16*nb-1]
		o := 0
		for ; o+4 <= m; o += 4 {
			rowGemmNEONx4(&y[o*ldy], ldy, &w[o*k], k, &x[0], ldx, nb)
		}
		for ; o < m; o++ {
			rowGemmNEONx1(&y[o*ldy], ldy, &w[o*k], k, &x[0], ldx, nb)
		}
	}
	if r := 16 * nb; r < n {
		rowGemmGo(y[r:], ldy, w, x[r:], ldx, m, k, n-r)
	}
}
