package kernels

// kernelAVX2x6I, kernelAVX2x4I and kernelAVX2x2I are the implicit-GEMM forms of the AVX2 register blocks
// (implicit_avx2_amd64.s): for R = 6, 4 or 2 they compute the R×16 block
// T[i][j] = Σ_{p<kc} a[i + p·ks]·b[off[p] + j] and write C[i][j] = T + beta·C for i < mr ≤ R (C not read
// when beta is 0).
//
//go:noescape
func kernelAVX2x6I(kc int, a *float32, ks int, b *float32, off *int32, c *float32, ldc int, beta float32, mr int)

//go:noescape
func kernelAVX2x4I(kc int, a *float32, ks int, b *float32, off *int32, c *float32, ldc int, beta float32, mr int)

//go:noescape
func kernelAVX2x2I(kc int, a *float32, ks int, b *float32, off *int32, c *float32, ldc int, beta float32, mr int)

// kernelAVX2I calls the r-row implicit kernel.
func kernelAVX2I(r, kc int, a *float32, ks int, b *float32, off *int32, c *float32, ldc int, beta float32, mr int) {
	switch r {
	case 6:
		kernelAVX2x6I(kc, a, ks, b, off, c, ldc, beta, mr)
	case 4:
		kernelAVX2x4I(kc, a, ks, b, off, c, ldc, beta, mr)
	default:
		kernelAVX2x2I(kc, a, ks, b, off, c, ldc, beta, mr)
	}
}

// mulImplicitAVX2 is mulImplicit on the AVX2 path: A as aw-row panels (any even aw), cols a multiple of
// 32, every tile split into two 16-column halves.
func mulImplicitAVX2(kb int, a []float32, aw, m int, buf []float32, off, tiles []int32, cols int, c []float32, ldc int, beta float32) {
	nq := cols / sgemmNR
	_ = off[kb-1]
	_ = tiles[nq-1]
	for ir := 0; ir*aw < m; ir++ {
		mp := min(aw, m-ir*aw)
		ap := a[ir*kb*aw : (ir+1)*kb*aw]
		_ = c[(ir*aw+mp-1)*ldc+cols-1]
		for r0 := 0; r0 < mp; {
			r := avx2Block(mp-r0, aw-r0)
			rows := min(r, mp-r0)
			cr := c[(ir*aw+r0)*ldc:]
			for t, tb := range tiles[:nq] {
				kernelAVX2I(r, kb, &ap[r0], aw, &buf[tb], &off[0], &cr[t*sgemmNR], ldc, beta, rows)
				kernelAVX2I(r, kb, &ap[r0], aw, &buf[int(tb)+16], &off[0], &cr[t*sgemmNR+16], ldc, beta, rows)
			}
			r0 += rows
		}
	}
}
