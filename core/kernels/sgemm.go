package kernels

import (
	"fmt"
	"unsafe"

	"github.com/brainvq/brainvq/core/parallel"
)

// Tile and block sizes of Sgemm. The micro-kernel computes an sgemmMR×sgemmNR tile of C from a packed
// sgemmMR-row panel of op(A) and a packed sgemmNR-column panel of op(B), both kc long.
const (
	sgemmMR = 14 // rows of a C tile (14 rows × 2 zmm = 28 of the 32 AVX-512 registers)
	sgemmNR = 32 // columns of a C tile (two 16-float vectors)

	// sgemmARowStride is the row stride, in floats, of an A panel packed row by row (the AVX-512 path
	// with A not transposed). It is ≥ sgemmKC and 16 times an odd number, so the 14 rows of a panel fall
	// in different L1 sets. sgemm_amd64.s hard-codes it (AST = 4·sgemmARowStride bytes).
	sgemmARowStride = 400

	// sgemmParallelMin is the smallest padded m·n·k worth splitting across goroutines.
	sgemmParallelMin = 1 << 20
	// sgemmPackCost weighs one packed element against one multiply-add when choosing how to split.
	sgemmPackCost = 8
)

// Cache blocking of Sgemm (variables so that tests and benchmarks can try others).
var (
	// sgemmKC is the largest k block (≤ sgemmARowStride): the packed A panel (sgemmMR×KC) stays in L1
	// while it meets every B panel of the block, and the packed B block (KC×NC) stays in L2.
	sgemmKC = 384
	// sgemmBBlockFloats bounds the packed B block (KC×NC floats) so that it fits in this CPU's
	// per-core L2 (1 MiB here) beside the streams of A and C.
	sgemmBBlockFloats = 128 * 1024
	// sgemmMC is how many rows of op(A) are packed at once (a multiple of sgemmMR).
	sgemmMC = 8 * sgemmMR

	// sgemmChunksPerWorker is how many chunks a parallel product is cut into per worker, so that a
	// worker that falls behind leaves its share to the others; sgemmSplitBlocks is the fewest blocks of
	// sgemmMC rows a chunk along m gets (along n: one B block).
	sgemmChunksPerWorker = 4
	sgemmSplitBlocks     = 2
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32 matrices, where op(X) is X, or Xᵀ
// when the matching trans flag is set.
//
// op(A) is m×k, op(B) is k×n and C is m×n. lda, ldb and ldc are the row strides of the stored arrays:
// A is stored m×k (lda ≥ k) or, transposed, k×m (lda ≥ m); B is stored k×n (ldb ≥ n) or n×k (ldb ≥ k);
// C is m×n (ldc ≥ n). When beta is 0, C is only written, so NaN or Inf already in C does not leak into
// the result. Sgemm panics when a dimension is negative, a stride is too small or a slice is too short.
//
// Large products run on up to parallel.Threads() goroutines. On amd64 CPUs with AVX-512 the inner loops are
// assembly; elsewhere (or with BRAINVQ_NOASM=1) a blocked pure-Go kernel computes the same thing.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	g.check()
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if w := g.workers(parallel.Threads()); w > 1 {
		runParallel(g, w)
		return
	}
	g.serial()
}

// sgemmSerial is Sgemm on the calling goroutine alone, for callers that already keep every worker busy
// with their own tasks (the convolutions hand out one task per image and band): splitting each of their
// products again would only add goroutines and make every part pack its own copy of the shared operand.
func sgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	g.check()
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	g.serial()
}

// gemmArgs carries one Sgemm call (or a part of it, after splitting across workers).
type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
}

// check panics with a description of the first invalid argument.
func (g *gemmArgs) check() {
	if g.m < 0 || g.n < 0 || g.k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative dimension m=%d n=%d k=%d", g.m, g.n, g.k))
	}
	ar, ac := g.m, g.k // stored shape of A
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n // stored shape of B
	if g.transB {
		br, bc = g.n, g.k
	}
	checkMatrix("A", ar, ac, g.a, g.lda)
	checkMatrix("B", br, bc, g.b, g.ldb)
	checkMatrix("C", g.m, g.n, g.c, g.ldc)
}

// checkMatrix panics unless x can hold a rows×cols row-major matrix with row stride ld.
func checkMatrix(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: Sgemm: ld%s = %d, want ≥ %d", name, ld, max(1, cols)))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: Sgemm: len(%s) = %d, want ≥ %d for %d×%d with stride %d",
			name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// scaleC sets C = beta·C; with beta 0 it writes zeros without reading C.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// colMask returns the mask selecting the first nr ≤ 32 columns of a tile.
func colMask(nr int) uint32 { return uint32(uint64(1)<<uint(nr) - 1) }

// ceilDiv returns ⌈x/y⌉ for x ≥ 0, y > 0.
func ceilDiv(x, y int) int { return (x + y - 1) / y }

// roundUp rounds x ≥ 0 up to a multiple of y > 0.
func roundUp(x, y int) int { return ceilDiv(x, y) * y }

// gemmBlocks returns the k block length and the n block length for a problem, both balanced so that the
// last block is not much shorter than the others.
func gemmBlocks(n, k int) (kc, nc int) {
	kcMax := max(1, min(sgemmKC, sgemmARowStride))
	kc = ceilDiv(k, ceilDiv(k, kcMax))
	ncMax := max(sgemmNR, sgemmBBlockFloats/kc/sgemmNR*sgemmNR)
	nc = roundUp(ceilDiv(n, ceilDiv(n, ncMax)), sgemmNR)
	return kc, nc
}

// workers returns how many goroutines the product is worth: 1 for small ones, else limit.
func (g *gemmArgs) workers(limit int) int {
	tm, tn := ceilDiv(g.m, sgemmMR), ceilDiv(g.n, sgemmNR) // tiles along m and n
	if limit <= 1 || tm*sgemmMR*tn*sgemmNR*g.k < sgemmParallelMin || (tm == 1 && tn == 1) {
		return 1
	}
	return limit
}

// runParallel splits the product along m or n, whichever costs less in padded multiply-adds and
// packing, into chunks that up to workers goroutines take in turn (see parallel.Chunks), and runs them.
// (g is passed by value so that the serial path's gemmArgs stays on the stack.)
func runParallel(g gemmArgs, workers int) {
	tm, tn := ceilDiv(g.m, sgemmMR), ceilDiv(g.n, sgemmNR) // tiles along m and n
	_, nc := gemmBlocks(g.n, g.k)
	// Cost of the busiest worker when splitting m: its rows of tiles, all of B packed, its A packed
	// once per n block.
	wm := min(workers, tm)
	rowsM := ceilDiv(tm, wm) * sgemmMR
	costM := rowsM*tn*sgemmNR*g.k + sgemmPackCost*(g.k*g.n+rowsM*g.k*ceilDiv(g.n, nc))
	wn := min(workers, tn)
	colsN := ceilDiv(tn, wn) * sgemmNR
	costN := tm*sgemmMR*colsN*g.k + sgemmPackCost*(g.k*colsN+tm*sgemmMR*g.k*ceilDiv(colsN, nc))
	if costM <= costN {
		parallel.Chunks(tm, chunkTiles(tm, wm, sgemmMC/sgemmMR*sgemmSplitBlocks), wm, func(lo, hi int) {
			s := g
			i0, i1 := lo*sgemmMR, min(hi*sgemmMR, g.m)
			s.m = i1 - i0
			if g.transA {
				s.a = g.a[i0:]
			} else {
				s.a = g.a[i0*g.lda:]
			}
			s.c = g.c[i0*g.ldc:]
			s.serial()
		})
		return
	}
	parallel.Chunks(tn, chunkTiles(tn, wn, nc/sgemmNR), wn, func(lo, hi int) {
		s := g
		j0, j1 := lo*sgemmNR, min(hi*sgemmNR, g.n)
		s.n = j1 - j0
		if g.transB {
			s.b = g.b[j0*g.ldb:]
		} else {
			s.b = g.b[j0:]
		}
		s.c = g.c[j0:]
		s.serial()
	})
}

// chunkTiles returns how many tiles one parallel chunk gets: about sgemmChunksPerWorker chunks per
// worker, but at least minTiles (each chunk packs its own copy of the other operand), and never more
// than an even split.
func chunkTiles(tiles, workers, minTiles int) int {
	even := ceilDiv(tiles, workers)
	return min(even, max(minTiles, ceilDiv(tiles, workers*sgemmChunksPerWorker)))
}

// Pools of packing buffers: one A block and one B block per running worker.
var sgemmAPool, sgemmBPool floatPool

// serial computes the whole (sub)problem on the calling goroutine. Loop order: n blocks (jc), k blocks
// (pc: the kc×nc B block is packed once), blocks of up to sgemmMC rows of A (ic: packed once per B
// block), then per 14-row panel of that block every 32-column panel of the B block (the micro-kernel).
//
// While a block of A is multiplied, the kernels prefetch what is packed next: the next block of A or,
// during the last block, the first block of A and the B block of the next (jc, pc) step.
func (g *gemmArgs) serial() {
	kc, nc := gemmBlocks(g.n, g.k)
	mc := roundUp(ceilDiv(g.m, ceilDiv(g.m, sgemmMC)), sgemmMR)
	abuf := sgemmAPool.get(mc * sgemmARowStride)
	bbuf := sgemmBPool.get(kc * nc)
	defer sgemmAPool.put(abuf)
	defer sgemmBPool.put(bbuf)
	ap, bp := abuf.data, bbuf.data

	for jc := 0; jc < g.n; jc += nc {
		ncur := min(nc, g.n-jc)
		for pc := 0; pc < g.k; pc += kc {
			kcur := min(kc, g.k-pc)
			g.packB(bp, pc, kcur, jc, ncur)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			// The next (jc, pc) step, if any.
			pc2, kc2, jc2, nc2 := pc+kc, min(kc, g.k-pc-kc), jc, ncur
			if pc2 >= g.k {
				pc2, kc2, jc2, nc2 = 0, kc, jc+nc, min(nc, g.n-jc-nc)
			}
			for ic := 0; ic < g.m; ic += mc {
				var next [2]pfRegion
				if ic+mc < g.m {
					next[0] = g.regionA(ic+mc, min(mc, g.m-ic-mc), pc, kcur)
				} else if jc2 < g.n {
					next[0] = g.regionA(0, mc, pc2, kc2)
					next[1] = g.regionB(pc2, kc2, jc2, nc2)
				}
				g.blockA(ap, ic, min(mc, g.m-ic), pc, kcur, jc, ncur, bp, beta, &next)
			}
		}
	}
}

// pfRegion is a part of A or B that will be packed soon, to be prefetched: rows of lines 64-byte lines
// each, ld bytes apart, from address base. The zero value is empty.
type pfRegion struct {
	base        uintptr
	ld          int
	rows, lines int
}

// regionLines returns how many 64-byte lines can hold n bytes starting at any alignment.
func regionLines(n int) int { return (n+63)/64 + 1 }

// regionA returns the stored part of A that holds rows i0 … i0+mb−1, columns p0 … p0+kc−1 of op(A).
func (g *gemmArgs) regionA(i0, mb, p0, kc int) pfRegion {
	mb = min(mb, g.m-i0)
	if mb <= 0 || kc <= 0 {
		return pfRegion{}
	}
	if g.transA {
		return pfRegion{base: uintptr(unsafe.Pointer(&g.a[p0*g.lda+i0])), ld: 4 * g.lda,
			rows: kc, lines: regionLines(4 * mb)}
	}
	return pfRegion{base: uintptr(unsafe.Pointer(&g.a[i0*g.lda+p0])), ld: 4 * g.lda,
		rows: mb, lines: regionLines(4 * kc)}
}

// regionB returns the stored part of B that holds rows p0 … p0+kc−1, columns j0 … j0+nc−1 of op(B).
func (g *gemmArgs) regionB(p0, kc, j0, nc int) pfRegion {
	if nc <= 0 || kc <= 0 {
		return pfRegion{}
	}
	if g.transB {
		return pfRegion{base: uintptr(unsafe.Pointer(&g.b[j0*g.ldb+p0])), ld: 4 * g.ldb,
			rows: nc, lines: regionLines(4 * kc)}
	}
	return pfRegion{base: uintptr(unsafe.Pointer(&g.b[p0*g.ldb+j0])), ld: 4 * g.ldb,
		rows: kc, lines: regionLines(4 * nc)}
}

// packBPanelGo packs columns jq … jq+nr−1 (nr ≤ 32) and rows p0 … p0+kc−1 of op(B) into the kc×32
// panel dst, row-major, zero-padding the columns past nr.
func (g *gemmArgs) packBPanelGo(dst []float32, p0, kc, jq, nr int) {
	dst = dst[:kc*sgemmNR]
	if g.transB {
		// op(B)[p][j] = b[j*ldb+p]: walk each stored row (one output column) contiguously.
		for j := range nr {
			src := g.b[(jq+j)*g.ldb+p0:]
			src = src[:kc]
			for p, v := range src {
				dst[p*sgemmNR+j] = v
			}
		}
		if nr < sgemmNR {
			for p := range kc {
				clear(dst[p*sgemmNR+nr : (p+1)*sgemmNR])
			}
		}
		return
	}
	for p := range kc {
		row := dst[p*sgemmNR : (p+1)*sgemmNR]
		copy(row, g.b[(p0+p)*g.ldb+jq:(p0+p)*g.ldb+jq+nr])
		clear(row[nr:])
	}
}

// packBGo packs the kc×nc block of op(B) at (p0, j0) into dst as ⌈nc/32⌉ panels of kc×32 floats
// (panel q holds columns j0+32q … j0+32q+31, row-major), zero-padding the columns past nc.
func (g *gemmArgs) packBGo(dst []float32, p0, kc, j0, nc int) {
	for q := 0; q*sgemmNR < nc; q++ {
		g.packBPanelGo(dst[q*kc*sgemmNR:], p0, kc, j0+q*sgemmNR, min(sgemmNR, nc-q*sgemmNR))
	}
}

// packAGo packs rows i0 … i0+mr−1 and columns p0 … p0+kc−1 of op(A) k-major into dst:
// dst[p*14+i] = op(A)[i0+i][p0+p], zero for i ≥ mr.
func (g *gemmArgs) packAGo(dst []float32, i0, mr, p0, kc int) {
	dst = dst[:kc*sgemmMR]
	if mr < sgemmMR {
		clear(dst)
	}
	if g.transA {
		for p := range kc {
			src := g.a[(p0+p)*g.lda+i0:]
			copy(dst[p*sgemmMR:p*sgemmMR+mr], src[:mr])
		}
		return
	}
	for i := range mr {
		src := g.a[(i0+i)*g.lda+p0:]
		src = src[:kc]
		for p, v := range src {
			dst[p*sgemmMR+i] = v
		}
	}
}

// blockGo is the portable path for a block of mb rows of op(A) (starting at row i0, columns p0 …
// p0+kc−1) against the packed B block bp: per 14-row panel, pack it, then run the pure-Go micro-kernel
// on every 32-column panel of the B block.
func (g *gemmArgs) blockGo(ap []float32, i0, mb, p0, kc, j0, nc int, bp []float32, beta float32) {
	// (The pure-Go path does not prefetch.)
	for ir := 0; ir < mb; ir += sgemmMR {
		mr := min(sgemmMR, mb-ir)
		g.packAGo(ap, i0+ir, mr, p0, kc)
		for q := 0; q*sgemmNR < nc; q++ {
			nr := min(sgemmNR, nc-q*sgemmNR)
			off := (i0+ir)*g.ldc + j0 + q*sgemmNR
			kernelGo(kc, ap, bp[q*kc*sgemmNR:(q+1)*kc*sgemmNR], g.c[off:], g.ldc, g.alpha, beta, mr, nr)
		}
	}
}
