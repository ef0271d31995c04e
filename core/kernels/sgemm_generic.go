package kernels

import "unsafe"

// The pure-Go micro-kernel (the generic path on every architecture, and the one the assembly paths
// share no code with). It multiplies the same packed panels as the assembly kernels: an A panel of aw
// rows stored k-major (ap[p·aw+i]) and a 32-column B panel stored row by row (bp[p·32+j]).
//
// Go does not vectorise, so the kernel is built for what its compiler does with scalar code:
//   - The tile is computed in 2×4 register blocks: eight accumulators, the two A values and a product
//     in flight fit the 15 float registers amd64 gives Go without spilling; a 4×4 block spills.
//   - The k loop of a block is one basic block (no bounds checks inside: the panel bounds are checked
//     once per tile, and the loop steps through them with unsafe.Add), so that the scheduler keeps each
//     multiply next to its add instead of issuing all eight products first, which needs eight more
//     registers.
//   - The accumulators hold the negated sums (acc −= a·b): with acc += a·b the compiler puts the sum in
//     the product's register and moves all eight back at the end of every iteration; a subtraction
//     keeps the accumulator in place. (Negation is exact, so the result is the same.) On arm64 and
//     other FMA architectures acc −= a·b is one fused multiply-subtract.
//   - The block is a separate (not inlined) function, so that the tile loop's integers do not compete
//     with it for registers.
//   - k is walked in chunks of goKC, so that the part of the A panel and the 4-column strip of B lines a
//     block row reads stay in L1 while the tile's other blocks read them again.

// goKC is the k chunk of the pure-Go tile: 14 rows and 32 columns of 128 steps are 7 KiB of A and
// 16 KiB of B, inside a 32 KiB L1 data cache.
const goKC = 128

// kernelGo computes the mr×nr corner of one tile, T = Σ_p ap[p*14+i]·bp[p*32+j], and writes
// C = alpha·T + beta·C (C not read when beta is 0).
func kernelGo(kc int, ap, bp, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	kernelGoW(kc, sgemmMR, ap, bp, c, ldc, alpha, beta, mr, nr)
}

// kernelGoW is kernelGo for A panels of aw ≤ 14 rows (ap[p*aw+i]); aw must be even, mr ≤ aw and
// nr ≤ 32. Both panels are zero-padded (rows mr … aw−1 of A, columns nr … 31 of B), so the 2×4 blocks
// may reach into the padding; only the mr×nr corner is written to C.
func kernelGoW(kc, aw int, ap, bp, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	if aw%2 != 0 || aw > sgemmMR || mr > aw || nr > sgemmNR || mr < 0 || nr < 0 {
		panic("kernels: kernelGoW: bad tile shape")
	}
	var acc [sgemmMR * sgemmNR]float32 // −T, row i at acc[i*32:]
	if kc > 0 {
		// The bounds every block below stays in (checked here, once per tile): block (i0, j0) of chunk
		// p0 reads ap[(p0+p)·aw + i0 + {0,1}] and bp[(p0+p)·32 + j0 + {0…3}] for p < kb, with i0+1 < aw
		// (i0 even, aw even) and j0+3 < 32.
		ap, bp = ap[:kc*aw], bp[:kc*sgemmNR]
		for p0 := 0; p0 < kc; p0 += goKC {
			kb := min(goKC, kc-p0)
			pa, pb := ap[p0*aw:], bp[p0*sgemmNR:]
			for j0 := 0; j0 < nr; j0 += 4 {
				for i0 := 0; i0 < mr; i0 += 2 {
					block2x4Go(kb, uintptr(aw)*4, unsafe.Pointer(&pa[i0]), unsafe.Pointer(&pb[j0]),
						(*[4]float32)(acc[i0*sgemmNR+j0:]), (*[4]float32)(acc[(i0+1)*sgemmNR+j0:]))
				}
			}
		}
	}
	na := -alpha // acc holds −T
	for i := range mr {
		row := c[i*ldc : i*ldc+nr]
		t := acc[i*sgemmNR : i*sgemmNR+nr]
		if beta == 0 {
			for j, v := range t {
				row[j] = na * v
			}
			continue
		}
		for j, v := range t {
			row[j] = na*v + beta*row[j]
		}
	}
}

// block2x4Go subtracts Σ_{p<kb} a[p][i]·b[p][j] from r_i[j] for i < 2, j < 4, where a[p] is the 2 floats
// at pa + p·sa bytes and b[p] the 4 floats at pb + p·128 bytes (rows of a packed 32-column B panel).
// kb ≥ 1; the caller guarantees that every float read lies inside its panel.
//
//go:noinline
func block2x4Go(kb int, sa uintptr, pa, pb unsafe.Pointer, r0, r1 *[4]float32) {
	c00, c01, c02, c03 := r0[0], r0[1], r0[2], r0[3]
	c10, c11, c12, c13 := r1[0], r1[1], r1[2], r1[3]
	for p := uintptr(0); ; {
		a := (*[2]float32)(unsafe.Add(pa, p*sa))
		b := (*[4]float32)(unsafe.Add(pb, p*(sgemmNR*4)))
		a0, a1 := a[0], a[1]
		c00 -= a0 * b[0]
		c01 -= a0 * b[1]
		c02 -= a0 * b[2]
		c03 -= a0 * b[3]
		c10 -= a1 * b[0]
		c11 -= a1 * b[1]
		c12 -= a1 * b[2]
		c13 -= a1 * b[3]
		p++
		if p == uintptr(kb) {
			break
		}
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
}
