//go:build !amd64 && !arm64

package kernels

// packB packs the kc×nc block of op(B) at (p0, j0) into 32-column panels (see packBGo).
func (g *gemmArgs) packB(dst []float32, p0, kc, j0, nc int) { g.packBGo(dst, p0, kc, j0, nc) }

// blockA multiplies a block of mb rows of op(A) with the packed B block (see blockGo).
func (g *gemmArgs) blockA(ap []float32, i0, mb, p0, kc, j0, nc int, bp []float32, beta float32,
	_ *[2]pfRegion) {
	g.blockGo(ap, i0, mb, p0, kc, j0, nc, bp, beta)
}

// tiles runs one 14-row A panel against nq packed B panels (see tilesGo).
func tiles(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	tilesGo(kc, sgemmMR, ap, bp, c, ldc, beta, mr, nq, last)
}

// tiles8 runs one 8-row A panel against nq packed B panels (see tilesGo).
func tiles8(kc int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	tilesGo(kc, convMR, ap, bp, c, ldc, beta, mr, nq, last)
}
