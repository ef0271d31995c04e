package kernels

// The AVX2 loops of RowGemm (rowgemm_avx2_amd64.s): y[o, s] += Σ_{c<k} w[o·k + c]·x[c·ldx + s] for the R
// rows o < R (6, 4, 2 or 1) of y and w at the given pointers and the nb·16 columns s < 16·nb. k ≥ 1; ldy
// and ldx are in floats.
//
//go:noescape
func rowGemmAVX2x6(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)

//go:noescape
func rowGemmAVX2x4(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)

//go:noescape
func rowGemmAVX2x2(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)

//go:noescape
func rowGemmAVX2x1(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)

// rowGemmAVX2 is RowGemm on the AVX2 path (arguments checked, m, k, n ≥ 1): the columns in blocks of 16
// by the assembly, rows 6 at a time (then 4, 2, 1); the last n mod 16 columns in Go.
func rowGemmAVX2(y []float32, ldy int, w []float32, x []float32, ldx int, m, k, n int) {
	nb := n / 16
	if nb > 0 {
		_ = w[m*k-1]
		_ = x[(k-1)*ldx+16*nb-1]
		_ = y[(m-1)*ldy+16*nb-1]
		for o := 0; o < m; {
			yo, wo := &y[o*ldy], &w[o*k]
			switch left := m - o; {
			case left >= 6:
				rowGemmAVX2x6(yo, ldy, wo, k, &x[0], ldx, nb)
				o += 6
			case left >= 4:
				rowGemmAVX2x4(yo, ldy, wo, k, &x[0], ldx, nb)
				o += 4
			case left >= 2:
				rowGemmAVX2x2(yo, ldy, wo, k, &x[0], ldx, nb)
				o += 2
			default:
				rowGemmAVX2x1(yo, ldy, wo, k, &x[0], ldx, nb)
				o++
			}
		}
	}
	if r := 16 * nb; r < n {
		rowGemmGo(y[r:], ldy, w, x[r:], ldx, m, k, n-r)
	}
}
