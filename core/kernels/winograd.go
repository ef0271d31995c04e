package kernels

// Winograd convolution, F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// CVPR 2016). A 3×3 stride-1 correlation computes each 2×2 block of outputs from a 4×4 tile of input d
// (the tile of output block (ty, tx) starts at padded row 2·ty and column 2·tx; neighbouring tiles overlap
// by two) as
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,   summed over the input channels inside the brackets,
//
//	     ⎡1  0 −1  0⎤        ⎡1   0   0⎤        ⎡1 1  1  0⎤
//	Bᵀ = ⎢0  1  1  0⎥    G = ⎢½   ½   ½⎥   Aᵀ = ⎣0 1 −1 −1⎦
//	     ⎢0 −1  1  0⎥        ⎢½  −½   ½⎥
//	     ⎣0  1  0 −1⎦        ⎣0   0   1⎦
//
// The sum over channels makes each of the 16 positions ξ of the 4×4 transformed tile an ordinary matrix
// product: M[ξ] [K × tiles] = U[ξ] [K × C] · V[ξ] [C × tiles], with U = G g Gᵀ (the weights, transformed
// once per call) and V = Bᵀ d B (the input, transformed tile by tile). Sixteen products of depth C give
// four outputs per tile where direct convolution needs 36 multiply-adds per output channel and input
// channel for the same four outputs: 2.25× fewer multiplications, for the price of the two transforms,
// which only add and subtract (the ½ in G is applied to the weights). In float32 the error stays of the
// order of the direct sum's: the transforms' coefficients are 0, ±1 and ±½.
//
// A call works one image and one band of tile rows at a time, like the direct convolutions: the band's
// input rows are copied zero-padded (with max(·, 0) when ReLUInput), transformed into V (16 planes of C
// rows of the band's tiles), multiplied through the implicit-GEMM micro-kernels (the rows of V[ξ] are
// the B rows at offsets (ξ·C + c)·tiles), and the 16 planes of M are transformed back into the output
// rows, where bias, residual accumulation and ReLU are applied. The band is sized so that V and M stay
// in the core's L2 cache between the transforms and the products. The transforms are AVX-512 or AVX2
// assembly (winograd_amd64.s) that work on 16 or 8 tiles of one tile row at a time: a tile row's even
// and odd columns are split with permutes while the rows are loaded.
//
// The backward-data pass of a 3×3 stride-1 pad-1 convolution is itself one (of dy, with the weights
// transposed and flipped), so it takes the same path. The weight gradient has its own Winograd form
// (backwardFilterWinograd): products of the transformed input with the transformed output gradient.
//
// Where it applies (winograd): the implicit-GEMM paths (AVX-512, AVX2), 3×3 kernels, stride 1, pad 1,
// an even output height, an output width that is a multiple of 32, and at least winogradMinC input and
// output channels (with fewer, the products are too thin for the transforms to pay).

// winogradMinC is the fewest input and output channels a convolution needs to take the Winograd path.
// Tests set it to 0 (every eligible shape) or to a huge value (none, to test the direct paths).
var winogradMinC = 16

// winogradBudget is the target size, in float32 elements, of one band's V and M planes together.
var winogradBudget = 1 << 17

// winogradCopyTileRows is how many tile rows a task copies the input of at once (at least one band): the
// copy of one tile row reads four input rows for two outputs, of four tile rows ten for eight.
var winogradCopyTileRows = 4

// winograd reports whether forward takes the Winograd path.
func (g convGeom) winograd() bool {
	return implicitGEMM() && g.KH == 3 && g.KW == 3 && g.S == 1 && g.P == 1 &&
		g.OH%2 == 0 && g.OW%sgemmNR == 0 && g.C >= winogradMinC && g.K >= winogradMinC
}

// winogradTransposed is the geometry whose forward pass is g's backward-data pass, for 3×3 stride-1
// pad-1 convolutions: channels swapped, input and output sizes equal.
func (g convGeom) winogradTransposed() convGeom {
	return convGeom{C: g.K, H: g.OH, W: g.OW, K: g.C, KH: 3, KW: 3, S: 1, P: 1, OH: g.H, OW: g.W}
}

// flipTranspose3 writes wt [C,K,3,3] with wt[c,k,ky,kx] = w[k,c,2−ky,2−kx] for w [K,C,3,3]: the weights
// of the correlation that computes a 3×3 stride-1 pad-1 convolution's backward-data pass.
func flipTranspose3(wt, w []float32, k, c int) {
	for o := range k {
		for i := range c {
			src := w[(o*c+i)*9 : (o*c+i)*9+9]
			dst := wt[(i*k+o)*9 : (i*k+o)*9+9]
			for t := range 9 {
				dst[t] = src[8-t]
			}
		}
	}
}

// winogradWeights writes u [16, K, C] with u[ξ, k, c] = (G g Gᵀ)[ξ/4, ξ%4] for g = w[k, c] [3×3], for
// the output channels k0 ≤ k < k1.
func winogradWeights(u, w []float32, k, c, k0, k1 int) {
	plane := k * c
	for o := k0; o < k1; o++ {
		for i := range c {
			g := w[(o*c+i)*9 : (o*c+i)*9+9]
			var t [4][3]float32 // G·g
			for j := range 3 {
				g0, g1, g2 := g[j], g[3+j], g[6+j]
				t[0][j] = g0
				t[1][j] = 0.5 * (g0 + g1 + g2)
				t[2][j] = 0.5 * (g0 - g1 + g2)
				t[3][j] = g2
			}
			for r := range 4 {
				g0, g1, g2 := t[r][0], t[r][1], t[r][2]
				base := r*4*plane + o*c + i
				u[base] = g0
				u[base+plane] = 0.5 * (g0 + g1 + g2)
				u[base+2*plane] = 0.5 * (g0 - g1 + g2)
				u[base+3*plane] = g2
			}
		}
	}
}

// winogradTileRows is how many tile rows one band holds.
func (g convGeom) winogradTileRows() int {
	perRow := 16 * (g.C + g.K) * (g.OW / 2)
	return max(1, min(g.OH/2, winogradBudget/perRow))
}

// forwardWinograd is forward's Winograd path (see the comment at the top of this file): y [n,K,OH,OW] =
// x ⋆ w (+ b), added to y when o.Accumulate, then max(·, 0) when o.ReLU; x is read as max(x, 0) when
// o.ReLUInput.
func (g convGeom) forwardWinograd(n int, x, w, b, y []float32, o ConvOpts) {
	in, out := g.inSize(), g.outSize()
	ww := weightRows()
	ubuf := getConvScratch(16*g.K*g.C + 16*packedLen(ww, g.K, g.C))
	defer putConvScratch(ubuf)
	u, pbuf := (*ubuf)[:16*g.K*g.C], (*ubuf)[16*g.K*g.C:]
	// The weights change every training step, so they are transformed and packed on every call, by all
	// workers (one alone took 2 % of an inference step).
	convFor(g.K, func(_, lo, hi int) { winogradWeights(u, w, g.K, g.C, lo, hi) })
	var wp [16]packedMat
	convFor(len(wp), func(_, lo, hi int) {
		for xi := lo; xi < hi; xi++ {
			wp[xi] = packMat(pbuf[xi*packedLen(ww, g.K, g.C):], ww, g.K, g.C, u[xi*g.K*g.C:], g.C, nil)
		}
	})
	bias := b
	if bias == nil {
		bias = make([]float32, g.K)
	}
	tr := g.winogradTileRows()
	tpr := g.OW / 2 // tiles per tile row
	th := g.OH / 2
	// A task copies the input of cr tile rows (2·cr+2 rows: neighbouring tile rows share two) and works
	// through them tr at a time.
	cr := max(tr, min(th, winogradCopyTileRows))
	bands := ceilDiv(th, cr)
	stride := roundUp(tr*tpr, sgemmNR) // tiles per plane row of V and M, a whole number of 32-column tiles
	// The 16 planes of V and of M lie vstep and mstep floats apart: 64 bytes more than they hold, so that
	// the transforms' 16 streams do not all fall in the same L1 cache sets (with C·stride a multiple of
	// 1024, they would: the input transform ran at half speed).
	vstep, mstep := g.C*stride+16, g.K*stride+16
	// off[ξ·C + c] addresses row c of V[ξ]; the same table serves every band.
	off := make([]int32, 16*g.C)
	for i := range off {
		off[i] = int32(i/g.C*vstep + i%g.C*stride)
	}
	tiles := make([]int32, stride/sgemmNR)
	for t := range tiles {
		tiles[t] = int32(t * sgemmNR)
	}
	padH, padW := 2*cr+2, g.OW+2
	padSize := padBand{planes: g.C, h: padH, w: padW}.size()
	vSize, mSize := 16*vstep+sgemmNR, 16*mstep
	flags := 0
	if o.ReLU {
		flags |= winoReLU
	}
	if o.Accumulate {
		flags |= winoAccumulate
	}
	convTasks(n*bands, func(next func() (int, bool)) {
		buf := getConvScratch(padSize + vSize + mSize)
		defer putConvScratch(buf)
		pad, v, m := (*buf)[:padSize], (*buf)[padSize:padSize+vSize], (*buf)[padSize+vSize:]
		checkReach(v, off, tiles)
		for t, ok := next(); ok; t, ok = next() {
			img, band := t/bands, t%bands
			cy0 := band * cr
			lay := padBand{planes: g.C, h: padH, w: padW, row0: 2*cy0 - 1, col0: -1}
			lay.fillRows(pad, planes{data: x[img*in:], stride: g.H * g.W, h: g.H, w: g.W}, o.ReLUInput)
			for ty0 := cy0; ty0 < min(cy0+cr, th); ty0 += tr {
				g.winogradRows(ty0, min(tr, th-ty0), pad[2*(ty0-cy0)*padW:], padH*padW, v, vstep, off, tiles,
					&wp, m, mstep, stride, y[img*out:], bias, flags)
			}
		}
	})
}

// winogradRows computes tile rows [ty0, ty0+rows) of one image: input transform from the padded copy
// pad (padded row 2·ty0 first, planes cstepP apart) into v, the 16 products into m, the output transform
// into the image's output y.
func (g convGeom) winogradRows(ty0, rows int, pad []float32, cstepP int, v []float32, vstep int, off, tiles []int32,
	wp *[16]packedMat, m []float32, mstep, stride int, y, bias []float32, flags int) {
	tpr, padW, ww := g.OW/2, g.OW+2, weightRows()
	for r := range rows {
		winoInput(v[r*tpr:], vstep, pad[2*r*padW:], padW, cstepP, stride, g.C, tpr)
	}
	for xi := range wp {
		pm := &wp[xi]
		for p0 := 0; p0 < pm.k; p0 += pm.kc {
			kb := min(pm.kc, pm.k-p0)
			beta := float32(1)
			if p0 == 0 {
				beta = 0
			}
			mulImplicit(kb, pm.block(p0, kb), ww, g.K, v, off[xi*g.C+p0:xi*g.C+p0+kb], tiles, stride,
				m[xi*mstep:], stride, beta)
		}
	}
	for r := range rows {
		winoOutput(y[2*(ty0+r)*g.OW:], g.OW, g.OH*g.OW, m[r*tpr:], mstep, stride, bias, g.K, tpr, flags)
	}
}

// Flags of the output transform.
const (
	winoReLU       = 1 << iota // y = max(y, 0) last
	winoAccumulate             // y += the convolution, instead of y = it
)

// winoInputRef is the reference form of the input transform (the assembly's specification): for each of
// nc channels, for each of tiles tiles of one tile row, it reads the 4×4 tile d[r][s] =
// p[c·cstepP + r·pstep + 2·t + s] and writes V[ξ] = (Bᵀ d B)[ξ/4][ξ%4] to v[ξ·vstep + c·cstepV + t],
// taking d B first (the order of the assembly, so that the two agree bit for bit).
func winoInputRef(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) {
	for c := range nc {
		for t := range tiles {
			var d, u [4][4]float32
			for r := range 4 {
				for s := range 4 {
					d[r][s] = p[c*cstepP+r*pstep+2*t+s]
				}
			}
			for r := range 4 { // d B: along each row
				q := d[r]
				u[r] = [4]float32{q[0] - q[2], q[1] + q[2], q[2] - q[1], q[1] - q[3]}
			}
			for j := range 4 { // Bᵀ (d B): across the rows
				vals := [4]float32{u[0][j] - u[2][j], u[1][j] + u[2][j], u[2][j] - u[1][j], u[1][j] - u[3][j]}
				for i, val := range vals {
					v[(i*4+j)*vstep+c*cstepV+t] = val
				}
			}
		}
	}
}

// winoOutputRef is the reference form of the output transform: for each of nc channels and each of tiles
// tiles, the 2×2 block Aᵀ m A of m[ξ] = mt[ξ·mstep + c·cstepM + t], plus bias[c], goes to
// y[c·cstepY + i·ystep + 2·t + j], added to what y holds when flags has winoAccumulate, then max(·, 0)
// when it has winoReLU.
func winoOutputRef(y []float32, ystep, cstepY int, mt []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) {
	for c := range nc {
		for t := range tiles {
			var m [4][4]float32
			for xi := range 16 {
				m[xi/4][xi%4] = mt[xi*mstep+c*cstepM+t]
			}
			var s [2][4]float32 // Aᵀ m
			for j := range 4 {
				s[0][j] = m[0][j] + m[1][j] + m[2][j]
				s[1][j] = m[1][j] - m[2][j] - m[3][j]
			}
			for i := range 2 {
				pair := [2]float32{s[i][0] + s[i][1] + s[i][2], s[i][1] - s[i][2] - s[i][3]}
				for j, val := range pair {
					at := c*cstepY + i*ystep + 2*t + j
					val += bias[c]
					if flags&winoAccumulate != 0 {
						val += y[at]
					}
					if flags&winoReLU != 0 {
						val = max(val, 0)
					}
					y[at] = val
				}
			}
		}
	}
}

// winoInput is the input transform (see winoInputRef for its definition), in assembly where the path has
// it (AVX-512 and AVX2, for tile counts that are a multiple of the vector width).
func winoInput(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) {
	if nc == 0 || tiles == 0 {
		return
	}
	_ = p[(nc-1)*cstepP+3*pstep+2*tiles+1]
	_ = v[15*vstep+(nc-1)*cstepV+tiles-1]
	if !winoInputAsm(v, vstep, p, pstep, cstepP, cstepV, nc, tiles) {
		winoInputRef(v, vstep, p, pstep, cstepP, cstepV, nc, tiles)
	}
}

// winoOutput is the output transform (see winoOutputRef), in assembly where the path has it.
func winoOutput(y []float32, ystep, cstepY int, m []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) {
	if nc == 0 || tiles == 0 {
		return
	}
	_ = y[(nc-1)*cstepY+ystep+2*tiles-1]
	_ = m[15*mstep+(nc-1)*cstepM+tiles-1]
	_ = bias[nc-1]
	if !winoOutputAsm(y, ystep, cstepY, m, mstep, cstepM, bias, nc, tiles, flags) {
		winoOutputRef(y, ystep, cstepY, m, mstep, cstepM, bias, nc, tiles, flags)
	}
}

// winoGradRef is the reference form of the output-gradient transform of the weight gradient: for each of
// nc channels and each of tiles tiles of one tile row, the 2×2 block e of dy (rows dy[c·cstepD + i·dstep
// + 2·t + j]) becomes the 4×4 tile A e Aᵀ (A = (Aᵀ)ᵀ, the output transform's matrix transposed), written
// to m[ξ·mstep + c·cstepM + t]. It is ∂L/∂(U ⊙ V) for that tile, since y = Aᵀ (U ⊙ V) A is linear.
// Along each row first: a = (e0, e0+e1, e0−e1, −e1); then across the two rows the same way.
func winoGradRef(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) {
	for c := range nc {
		for t := range tiles {
			var a [2][4]float32
			for i := range 2 {
				e0, e1 := dy[c*cstepD+i*dstep+2*t], dy[c*cstepD+i*dstep+2*t+1]
				a[i] = [4]float32{e0, e0 + e1, e0 - e1, -e1}
			}
			for j := range 4 {
				vals := [4]float32{a[0][j], a[0][j] + a[1][j], a[0][j] - a[1][j], -a[1][j]}
				for i, val := range vals {
					m[(i*4+j)*mstep+c*cstepM+t] = val
				}
			}
		}
	}
}

// winoGrad is the output-gradient transform (winoGradRef), in assembly where the path has it.
func winoGrad(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) {
	if nc == 0 || tiles == 0 {
		return
	}
	_ = dy[(nc-1)*cstepD+dstep+2*tiles-1]
	_ = m[15*mstep+(nc-1)*cstepM+tiles-1]
	if !winoGradAsm(m, mstep, dy, dstep, cstepD, cstepM, nc, tiles) {
		winoGradRef(m, mstep, dy, dstep, cstepD, cstepM, nc, tiles)
	}
}

// winogradWeightGrad writes dw[k, c] [3×3] = Gᵀ X G for X [4×4] with X[ξ] = Σ_parts part[ξ, c, k], for the
// output channels k0 ≤ k < k1: the weight gradient from the gradients of the transformed weights U =
// G g Gᵀ. parts are summed in order.
func winogradWeightGrad(dw []float32, parts []*[]float32, k, c, k0, k1 int) {
	plane := c * k
	for o := k0; o < k1; o++ {
		for i := range c {
			var x [4][4]float32
			for _, p := range parts {
				part := *p
				for xi := range 16 {
					x[xi/4][xi%4] += part[xi*plane+i*k+o]
				}
			}
			var t [3][4]float32 // Gᵀ X
			for q := range 4 {
				x0, x1, x2, x3 := x[0][q], x[1][q], x[2][q], x[3][q]
				t[0][q] = x0 + 0.5*(x1+x2)
				t[1][q] = 0.5 * (x1 - x2)
				t[2][q] = 0.5*(x1+x2) + x3
			}
			g := dw[(o*c+i)*9 : (o*c+i)*9+9]
			for u := range 3 {
				x0, x1, x2, x3 := t[u][0], t[u][1], t[u][2], t[u][3]
				g[3*u] = x0 + 0.5*(x1+x2)
				g[3*u+1] = 0.5 * (x1 - x2)
				g[3*u+2] = 0.5*(x1+x2) + x3
			}
		}
	}
}

// winogradFilterTiles is the most tiles one band of the Winograd weight gradient holds: the depth of its
// products (at most sgemmARowStride, the row stride of the A panels the AVX-512 kernel reads).
var winogradFilterTiles = 128

// winogradFilter reports whether backwardFilter takes the Winograd path: the forward conditions, and tile
// rows short enough for one k block.
func (g convGeom) winogradFilter() bool {
	return g.winograd() && g.OW/2 <= min(winogradFilterTiles, sgemmARowStride)
}

// backwardFilterWinograd is backwardFilter's Winograd path. Since y = Aᵀ (U ⊙ V) A with U = G g Gᵀ,
//
//	∂L/∂U[ξ] [C × K] = Σ_tiles V[ξ] [C × tiles] · (A e Aᵀ)[ξ]ᵀ [tiles × K],   ∂L/∂g = Gᵀ (∂L/∂U) G,
//
// for e each tile's 2×2 block of dy: 16 products of depth tiles (the tiles of one band) accumulated over
// the bands, then one back-transform per (k, c). A band's V is written straight into the row-layout A
// panels the weight-gradient micro-kernels read; each position's transformed dy is packed into B panels
// as dy is in the direct path. Partial sums are kept per group of tasks, as there, and summed in order.
func (g convGeom) backwardFilterWinograd(n int, x, dy, dw []float32) {
	in, out := g.inSize(), g.outSize()
	tpr, th := g.OW/2, g.OH/2
	tr := max(1, min(th, min(winogradFilterTiles, sgemmARowStride)/tpr))
	bands := ceilDiv(th, tr)
	tb := tr * tpr
	rs := sgemmARowStride
	cRows := roundUp(g.C, sgemmMR) // rows of V[ξ] the kernels may read
	vstep := cRows*rs + 16
	mstep := g.K*tb + 16
	padH, padW := 2*tr+2, g.OW+2
	padSize := padBand{planes: g.C, h: padH, w: padW}.size()
	bSize := roundUp(g.K, sgemmNR) * tb
	plane := g.C * g.K
	tasks := n * bands
	groups := min(tasks, max(filterGroups, 2*convWorkers()))
	accs := make([]*[]float32, groups)
	convTasks(groups, func(next func() (int, bool)) {
		buf := getConvScratch(padSize + 16*vstep + 16*mstep + bSize)
		defer putConvScratch(buf)
		pad := (*buf)[:padSize]
		v := (*buf)[padSize : padSize+16*vstep]
		m := (*buf)[padSize+16*vstep : padSize+16*vstep+16*mstep]
		bp := (*buf)[padSize+16*vstep+16*mstep:]
		for gr, ok := next(); ok; gr, ok = next() {
			accs[gr] = getConvScratch(16 * plane)
			acc := *accs[gr]
			clear(acc)
			for t := gr * tasks / groups; t < (gr+1)*tasks/groups; t++ {
				img, band := t/bands, t%bands
				ty0 := band * tr
				rows := min(tr, th-ty0)
				cols := rows * tpr
				lay := padBand{planes: g.C, h: padH, w: padW, row0: 2*ty0 - 1, col0: -1}
				lay.fillRows(pad, planes{data: x[img*in:], stride: g.H * g.W, h: g.H, w: g.W}, false)
				for r := range rows {
					winoInput(v[r*tpr:], vstep, pad[2*r*padW:], padW, padH*padW, rs, g.C, tpr)
					winoGrad(m[r*tpr:], mstep, dy[img*out+2*(ty0+r)*g.OW:], g.OW, g.OH*g.OW, tb, g.K, tpr)
				}
				for xi := range 16 {
					db := gemmArgs{transB: true, b: m[xi*mstep:], ldb: tb, n: g.K, k: cols}
					db.packB(bp, 0, cols, 0, g.K)
					if useAVX2 {
						tilesAVX2A(cols, v[xi*vstep:], rs, 1, cRows, bp, acc[xi*plane:], g.K, 1, 1, g.C, g.K)
					} else {
						tilesR(cols, v[xi*vstep:], g.C, bp, g.K, acc[xi*plane:], g.K)
					}
				}
			}
		}
	})
	sumParts(accs)
	convFor(g.K, func(_, lo, hi int) { winogradWeightGrad(dw, accs[:1], g.K, g.C, lo, hi) })
	for _, p := range accs {
		putConvScratch(p)
	}
}

// sumParts adds the partial sums parts[1:] into parts[0], in order, with the vector adds on all workers
// (the back-transforms then read one array instead of one per group).
func sumParts(parts []*[]float32) {
	for _, p := range parts[1:] {
		Add(*parts[0], *parts[0], *p)
	}
}
