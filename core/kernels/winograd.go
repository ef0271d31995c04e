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
// rows of the band's tiles), multiplied through the implicit-GEMM micro-kernels (row c of V[ξ] is the B
// row at offset ξ·vstep + c·stride), and the 16 planes of M are transformed back into the output
// rows, where bias, residual accumulation and ReLU are applied. The band is sized so that V and M stay
// in the core's L2 cache between the transforms and the products. The transforms are AVX-512 or AVX2
// assembly (winograd_amd64.s) that work on 16 or 8 tiles of one tile row at a time: a tile row's even
// and odd columns are split with permutes while the rows are loaded. The task loops, the band plan and
// the transforms' dispatch (winoAlg, winoPlan, forwardWino, weightGradWino) serve F(2×2, 2×2) as well
// (winograd22.go).
//
// The backward-data pass of a 3×3 stride-1 pad-1 convolution is itself one (of dy, with the weights
// transposed and flipped), so it takes the same path. The weight gradient has its own Winograd form
// (backwardFilterWinograd): products of the transformed input with the transformed output gradient.
//
// Where it applies (winograd): the implicit-GEMM paths (AVX-512, AVX2), 3×3 kernels, stride 1, pad 1,
// an even output height, an output width that is a multiple of 32, and at least winogradMinC input and
// output channels (16 is a guess, not a measurement: with few channels the products are thin and the
// transforms, whose cost does not shrink with them, weigh more).

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

// winoAlg is one of the two Winograd algorithms: its tile positions (16 or 9), its input tile size (4 or
// 3) and its three transforms, each in a Go reference form and, on amd64, in AVX-512 and AVX2 assembly.
type winoAlg struct {
	positions, tile int
	inRef           func(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int)
	outRef          func(y []float32, ystep, cstepY int, m []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int)
	gradRef         func(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int)
	asm             *winoAsm // nil where there is no assembly
}

// winoAsm holds an algorithm's assembly transforms, over groups of 16 (AVX-512) or 8 (AVX2) tiles;
// strides in elements.
type winoAsm struct {
	in512, in2     func(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)
	out512, out2   func(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)
	grad512, grad2 func(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)
}

// f23 is F(2×2, 3×3) (this file), f22 F(2×2, 2×2) (winograd22.go).
var (
	f23 = &winoAlg{positions: 16, tile: 4, inRef: winoInputRef, outRef: winoOutputRef, gradRef: winoGradRef, asm: f23Asm}
	f22 = &winoAlg{positions: 9, tile: 3, inRef: wino22InputRef, outRef: wino22OutputRef, gradRef: wino22GradRef, asm: f22Asm}
)

// vector returns 16 or 8 when the current path has assembly for a's transforms and tiles is a multiple
// of that width, else 0.
func (a *winoAlg) vector(tiles int) int {
	switch {
	case a.asm == nil:
		return 0
	case useAVX512 && tiles%16 == 0:
		return 16
	case useAVX2 && tiles%8 == 0:
		return 8
	}
	return 0
}

// input is the input transform: for each of nc channels and each of tiles tiles of one tile row, the
// tile × tile block of p (rows pstep apart, tile t at column 2·t, channels cstepP apart) becomes
// V = Bᵀ d B, position ξ at v[ξ·vstep + c·cstepV + t] (see the reference forms for each algorithm).
func (a *winoAlg) input(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) {
	if nc == 0 || tiles == 0 {
		return
	}
	_ = p[(nc-1)*cstepP+(a.tile-1)*pstep+2*tiles+1] // the assembly reads one column past the last tile
	_ = v[(a.positions-1)*vstep+(nc-1)*cstepV+tiles-1]
	switch a.vector(tiles) {
	case 16:
		a.asm.in512(&v[0], vstep, &p[0], pstep, cstepP, cstepV, nc, tiles/16)
	case 8:
		a.asm.in2(&v[0], vstep, &p[0], pstep, cstepP, cstepV, nc, tiles/8)
	default:
		a.inRef(v, vstep, p, pstep, cstepP, cstepV, nc, tiles)
	}
}

// output is the output transform: the 2×2 block Aᵀ M A of each tile (position ξ at m[ξ·mstep +
// c·cstepM + t]), plus bias[c], to y[c·cstepY + i·ystep + 2·t + j], added to y's old value when flags has
// winoAccumulate, then max(·, 0) when it has winoReLU.
func (a *winoAlg) output(y []float32, ystep, cstepY int, m []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) {
	if nc == 0 || tiles == 0 {
		return
	}
	_ = y[(nc-1)*cstepY+ystep+2*tiles-1]
	_ = m[(a.positions-1)*mstep+(nc-1)*cstepM+tiles-1]
	_ = bias[nc-1]
	switch a.vector(tiles) {
	case 16:
		a.asm.out512(&y[0], ystep, cstepY, &m[0], mstep, cstepM, &bias[0], nc, tiles/16, flags)
	case 8:
		a.asm.out2(&y[0], ystep, cstepY, &m[0], mstep, cstepM, &bias[0], nc, tiles/8, flags)
	default:
		a.outRef(y, ystep, cstepY, m, mstep, cstepM, bias, nc, tiles, flags)
	}
}

// grad is the output-gradient transform of the weight gradient: each tile's 2×2 block e of dy (rows
// dstep apart, channels cstepD apart) becomes A e Aᵀ, position ξ at m[ξ·mstep + c·cstepM + t].
func (a *winoAlg) grad(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) {
	if nc == 0 || tiles == 0 {
		return
	}
	_ = dy[(nc-1)*cstepD+dstep+2*tiles-1]
	_ = m[(a.positions-1)*mstep+(nc-1)*cstepM+tiles-1]
	switch a.vector(tiles) {
	case 16:
		a.asm.grad512(&m[0], mstep, &dy[0], dstep, cstepD, cstepM, nc, tiles/16)
	case 8:
		a.asm.grad2(&m[0], mstep, &dy[0], dstep, cstepD, cstepM, nc, tiles/8)
	default:
		a.gradRef(m, mstep, dy, dstep, cstepD, cstepM, nc, tiles)
	}
}

// winoPlan is what the tasks of one Winograd call share: the packed transformed weights (one [m × kdim]
// matrix per position), the layout of V and M for bands of tr tile rows of tpr tiles, and the B offsets.
type winoPlan struct {
	alg          *winoAlg
	m, kdim, ww  int
	tpr, stride  int
	vstep, mstep int
	vSize, mSize int
	off, tiles   []int32
	wp           []packedMat
}

// newWinoPlan packs u [positions, m, kdim] into dst (at least positions·packedLen(weightRows(), m, kdim)
// floats) on all workers and lays out V and M.
func newWinoPlan(a *winoAlg, dst, u []float32, m, kdim, tpr, tr int) *winoPlan {
	p := &winoPlan{alg: a, m: m, kdim: kdim, ww: weightRows(), tpr: tpr, wp: make([]packedMat, a.positions)}
	p.stride = roundUp(tr*tpr, sgemmNR) // tiles per plane row of V and M, whole 32-column tiles
	// The planes of V and of M lie vstep and mstep floats apart: 64 bytes more than they hold, so that the
	// transforms' streams do not all fall in the same L1 cache sets (with kdim·stride a multiple of 1024,
	// they would: the F(2×2, 3×3) input transform ran at half speed).
	p.vstep, p.mstep = kdim*p.stride+16, m*p.stride+16
	p.vSize, p.mSize = a.positions*p.vstep+sgemmNR, a.positions*p.mstep
	pl := packedLen(p.ww, m, kdim)
	convFor(a.positions, func(_, lo, hi int) {
		for xi := lo; xi < hi; xi++ {
			p.wp[xi] = packMat(dst[xi*pl:], p.ww, m, kdim, u[xi*m*kdim:], kdim, nil)
		}
	})
	// off[ξ·kdim + c] addresses row c of V[ξ]; the same table serves every band.
	p.off = make([]int32, a.positions*kdim)
	for i := range p.off {
		p.off[i] = int32(i/kdim*p.vstep + i%kdim*p.stride)
	}
	p.tiles = make([]int32, p.stride/sgemmNR)
	for t := range p.tiles {
		p.tiles[t] = int32(t * sgemmNR)
	}
	return p
}

// rows runs tile rows [0, rows) of a band: the input transform from pad (the first tile row's padded row
// 0; rows pstep apart, planes cstepP apart; tile row r starts 2·r rows further), the products into m, the
// output transform into y (tile row r's output rows at y[2·r·ystep …], channels cstepY apart).
func (p *winoPlan) rows(rows int, pad []float32, pstep, cstepP int, v, m, y []float32, ystep, cstepY int, bias []float32, flags int) {
	for r := range rows {
		p.alg.input(v[r*p.tpr:], p.vstep, pad[2*r*pstep:], pstep, cstepP, p.stride, p.kdim, p.tpr)
	}
	for xi := range p.wp {
		pm := &p.wp[xi]
		for p0 := 0; p0 < pm.k; p0 += pm.kc {
			kb := min(pm.kc, pm.k-p0)
			beta := float32(1)
			if p0 == 0 {
				beta = 0
			}
			mulImplicit(kb, pm.block(p0, kb), p.ww, p.m, v, p.off[xi*p.kdim+p0:xi*p.kdim+p0+kb], p.tiles, p.stride,
				m[xi*p.mstep:], p.stride, beta)
		}
	}
	for r := range rows {
		p.alg.output(y[2*r*ystep:], ystep, cstepY, m[r*p.tpr:], p.mstep, p.stride, bias, p.m, p.tpr, flags)
	}
}

// padRows is how many padded input rows cr tile rows of a read: neighbouring tile rows share
// tile − 2 rows.
func (a *winoAlg) padRows(cr int) int { return 2*cr + a.tile - 2 }

// forwardWino is the task loop of a Winograd forward pass of n images into y [n,K,OH,OW]: u [positions,
// K, kdim] holds the transformed weights; fill(pad, padH, img, cy0) writes the kdim padded input planes
// (padH rows of OW+2) of image img's band that starts at tile row cy0. A task copies the input of cr tile
// rows at once (neighbouring tile rows share rows) and works through them tr at a time, tr sized so that V
// and M stay in L2. Bias, accumulation and ReLU are applied by the output transform.
func (g convGeom) forwardWino(a *winoAlg, n int, u []float32, kdim int, fill func(pad []float32, padH, img, cy0 int), b, y []float32, o ConvOpts) {
	out := g.outSize()
	pbuf := getConvScratch(a.positions * packedLen(weightRows(), g.K, kdim))
	defer putConvScratch(pbuf)
	tpr, th := g.OW/2, g.OH/2
	tr := max(1, min(th, winogradBudget/(a.positions*(kdim+g.K)*tpr)))
	cr := max(tr, min(th, winogradCopyTileRows))
	bands := ceilDiv(th, cr)
	plan := newWinoPlan(a, *pbuf, u, g.K, kdim, tpr, tr)
	bias := b
	if bias == nil {
		bias = make([]float32, g.K)
	}
	flags := winoFlags(o)
	padH, padW := a.padRows(cr), g.OW+2
	padSize := (kdim + 1) * padH * padW // a padBand's ones plane included
	convTasks(n*bands, func(next func() (int, bool)) {
		buf := getConvScratch(padSize + plan.vSize + plan.mSize)
		defer putConvScratch(buf)
		pad := (*buf)[:padSize]
		v := (*buf)[padSize : padSize+plan.vSize]
		m := (*buf)[padSize+plan.vSize:]
		checkReach(v, plan.off, plan.tiles)
		for t, ok := next(); ok; t, ok = next() {
			img, band := t/bands, t%bands
			cy0 := band * cr
			fill(pad, padH, img, cy0)
			for ty0 := cy0; ty0 < min(cy0+cr, th); ty0 += tr {
				plan.rows(min(tr, th-ty0), pad[2*(ty0-cy0)*padW:], padW, padH*padW, v, m,
					y[img*out+2*ty0*g.OW:], g.OW, g.OH*g.OW, bias, flags)
			}
		}
	})
}

// winogradFilterTiles is the most tiles one band of a Winograd weight gradient holds: the depth of its
// products (at most sgemmARowStride, the row stride of the A panels the AVX-512 kernel reads).
var winogradFilterTiles = 128

// weightGradWino is the task loop of a Winograd weight gradient over n images. Since y = Aᵀ (U ⊙ V) A
// with U the transformed weights,
//
//	∂L/∂U[ξ] [kdim × K] = Σ_tiles V[ξ] [kdim × tiles] · (A e Aᵀ)[ξ]ᵀ [tiles × K]
//
// for e each tile's 2×2 block of dy: one product per position, of depth the tiles of one band, summed
// over the bands. fill(pad, padH, img, ty0) writes the band's kdim padded input planes (padH rows of
// OW+2); their transform goes straight into the row-layout A panels the weight-gradient micro-kernels
// read, and each position's transformed dy is packed into B panels as dy is in the direct path. Partial
// sums are kept per group of tasks, as there, and added in order; the sum [positions, kdim, K] is
// returned (give it back with putConvScratch) for the caller's back-transform.
func (g convGeom) weightGradWino(a *winoAlg, n int, dy []float32, kdim int, fill func(pad []float32, padH, img, ty0 int)) *[]float32 {
	out := g.outSize()
	tpr, th := g.OW/2, g.OH/2
	tr := max(1, min(th, min(winogradFilterTiles, sgemmARowStride)/tpr))
	bands := ceilDiv(th, tr)
	tb := tr * tpr
	rs := sgemmARowStride
	rows := roundUp(kdim, sgemmMR) // rows of V[ξ] the kernels may read
	vstep := rows*rs + 16
	mstep := g.K*tb + 16
	padH, padW := a.padRows(tr), g.OW+2
	padSize := (kdim + 1) * padH * padW
	bSize := roundUp(g.K, sgemmNR) * tb
	np := a.positions
	plane := kdim * g.K
	tasks := n * bands
	groups := min(tasks, max(filterGroups, 2*convWorkers()))
	accs := make([]*[]float32, groups)
	convTasks(groups, func(next func() (int, bool)) {
		buf := getConvScratch(padSize + np*vstep + np*mstep + bSize)
		defer putConvScratch(buf)
		pad := (*buf)[:padSize]
		v := (*buf)[padSize : padSize+np*vstep]
		m := (*buf)[padSize+np*vstep : padSize+np*vstep+np*mstep]
		bp := (*buf)[padSize+np*vstep+np*mstep:]
		for gr, ok := next(); ok; gr, ok = next() {
			accs[gr] = getConvScratch(np * plane)
			acc := *accs[gr]
			clear(acc)
			for t := gr * tasks / groups; t < (gr+1)*tasks/groups; t++ {
				img, band := t/bands, t%bands
				ty0 := band * tr
				nr := min(tr, th-ty0)
				cols := nr * tpr
				fill(pad, padH, img, ty0)
				for r := range nr {
					a.input(v[r*tpr:], vstep, pad[2*r*padW:], padW, padH*padW, rs, kdim, tpr)
					a.grad(m[r*tpr:], mstep, dy[img*out+2*(ty0+r)*g.OW:], g.OW, g.OH*g.OW, tb, g.K, tpr)
				}
				for xi := range np {
					db := gemmArgs{transB: true, b: m[xi*mstep:], ldb: tb, n: g.K, k: cols}
					db.packB(bp, 0, cols, 0, g.K)
					if useAVX2 {
						tilesAVX2A(cols, v[xi*vstep:], rs, 1, rows, bp, acc[xi*plane:], g.K, 1, 1, kdim, g.K)
					} else {
						tilesR(cols, v[xi*vstep:], kdim, bp, g.K, acc[xi*plane:], g.K)
					}
				}
			}
		}
	})
	// The groups' partial sums are added into the first, in order, with the vector adds on all workers.
	for _, p := range accs[1:] {
		Add(*accs[0], *accs[0], *p)
		putConvScratch(p)
	}
	return accs[0]
}

// winoFinish is the output transforms' epilogue for one value: v + bias, plus old when flags has
// winoAccumulate, then max(·, 0) when it has winoReLU (the assembly's order).
func winoFinish(v, bias, old float32, flags int) float32 {
	v += bias
	if flags&winoAccumulate != 0 {
		v += old
	}
	if flags&winoReLU != 0 {
		v = max(v, 0)
	}
	return v
}

// winoFlags turns the output options into the output transforms' flags.
func winoFlags(o ConvOpts) int {
	flags := 0
	if o.ReLU {
		flags |= winoReLU
	}
	if o.Accumulate {
		flags |= winoAccumulate
	}
	return flags
}

// forwardWinograd is forward's F(2×2, 3×3) path (see the comment at the top of this file): y [n,K,OH,OW]
// = x ⋆ w (+ b), added to y when o.Accumulate, then max(·, 0) when o.ReLU; x is read as max(x, 0) when
// o.ReLUInput.
func (g convGeom) forwardWinograd(n int, x, w, b, y []float32, o ConvOpts) {
	in := g.inSize()
	ubuf := getConvScratch(16 * g.K * g.C)
	defer putConvScratch(ubuf)
	// The weights change every training step, so they are transformed and packed on every call, by all
	// workers (one alone took 2 % of an inference step).
	convFor(g.K, func(_, lo, hi int) { winogradWeights(*ubuf, w, g.K, g.C, lo, hi) })
	g.forwardWino(f23, n, *ubuf, g.C, func(pad []float32, padH, img, cy0 int) {
		lay := padBand{planes: g.C, h: padH, w: g.OW + 2, row0: 2*cy0 - 1, col0: -1}
		lay.fillRows(pad, planes{data: x[img*in:], stride: g.H * g.W, h: g.H, w: g.W}, o.ReLUInput)
	}, b, y, o)
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
					y[at] = winoFinish(val, bias[c], y[at], flags)
				}
			}
		}
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

// winogradWeightGrad writes dw[k, c] [3×3] = Gᵀ X G for X [4×4] with X[ξ] = part[ξ, c, k], for the
// output channels k0 ≤ k < k1: the weight gradient from the gradients of the transformed weights U =
// G g Gᵀ.
func winogradWeightGrad(dw, part []float32, k, c, k0, k1 int) {
	plane := c * k
	for o := k0; o < k1; o++ {
		for i := range c {
			var x [4][4]float32
			for xi := range 16 {
				x[xi/4][xi%4] = part[xi*plane+i*k+o]
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

// winogradFilter reports whether backwardFilter takes the F(2×2, 3×3) path: the forward conditions, and
// tile rows short enough for one k block.
func (g convGeom) winogradFilter() bool {
	return g.winograd() && g.OW/2 <= min(winogradFilterTiles, sgemmARowStride)
}

// backwardFilterWinograd is backwardFilter's F(2×2, 3×3) path (weightGradWino), then ∂L/∂g = Gᵀ (∂L/∂U) G.
func (g convGeom) backwardFilterWinograd(n int, x, dy, dw []float32) {
	in := g.inSize()
	sum := g.weightGradWino(f23, n, dy, g.C, func(pad []float32, padH, img, ty0 int) {
		lay := padBand{planes: g.C, h: padH, w: g.OW + 2, row0: 2*ty0 - 1, col0: -1}
		lay.fillRows(pad, planes{data: x[img*in:], stride: g.H * g.W, h: g.H, w: g.W}, false)
	})
	defer putConvScratch(sum)
	convFor(g.K, func(_, lo, hi int) { winogradWeightGrad(dw, *sum, g.K, g.C, lo, hi) })
}
