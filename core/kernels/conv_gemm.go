package kernels

// The convolutions are lowered to Sgemm one image and one band of output rows at a time: im2col copies the
// band's patches into a column buffer small enough to stay in the core's L2 cache, and the product with the
// weight matrix [K, C·KH·KW] writes the band of output straight into NCHW (forward), or the transposed
// product is scattered back by col2im (backward data). 1×1 stride-1 unpadded convolutions skip the copy.
// Work is split statically over (image, band) tasks, one goroutine per worker, each with its own buffer.

// colBudget is the target size, in float32 elements, of one im2col buffer (forward and backward data).
var colBudget = 1 << 18

// filterColBudget is the same for the weight gradient, whose GEMM has the band as its inner dimension and
// rereads the K×C·KH·KW accumulator for each band, so it prefers longer bands.
var filterColBudget = 1 << 20

// bandRows is how many output rows one im2col band of at most budget elements holds (at least one).
func (g convGeom) bandRows(budget int) int {
	r := budget / (g.ckk() * g.OW)
	return max(1, min(r, g.OH))
}

// pointwiseSplit is how many column ranges a pointwise convolution over n images is cut into per image so that
// every worker has work.
func pointwiseSplit(n int) int {
	if w := convWorkers(); n < w {
		return (w + n - 1) / n
	}
	return 1
}

// forward computes y [n,K,OH,OW] = x ⋆ w (+ b) for n images.
func (g convGeom) forward(n int, x, w, b, y []float32) {
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	if g.pointwise() {
		split := pointwiseSplit(n)
		convFor(n*split, func(_, lo, hi int) {
			for t := lo; t < hi; t++ {
				img, part := t/split, t%split
				c0, c1 := part*ohw/split, (part+1)*ohw/split
				if c0 == c1 {
					continue
				}
				yi := y[img*out+c0:]
				Sgemm(false, false, g.K, c1-c0, g.C, 1, w, g.C, x[img*in+c0:], ohw, 0, yi, ohw)
				addBiasBand(b, yi, g.K, ohw, c1-c0)
			}
		})
		return
	}
	rows := g.bandRows(colBudget)
	bands := (g.OH + rows - 1) / rows
	ckk := g.ckk()
	convFor(n*bands, func(_, lo, hi int) {
		buf := getConvScratch(ckk * rows * g.OW)
		defer putConvScratch(buf)
		for t := lo; t < hi; t++ {
			img, band := t/bands, t%bands
			oy0 := band * rows
			oy1 := min(oy0+rows, g.OH)
			cols := (oy1 - oy0) * g.OW
			col := (*buf)[:ckk*cols]
			im2col(g, x[img*in:], oy0, oy1, col)
			yi := y[img*out+oy0*g.OW:]
			Sgemm(false, false, g.K, cols, ckk, 1, w, ckk, col, cols, 0, yi, ohw)
			addBiasBand(b, yi, g.K, ohw, cols)
		}
	})
}

// addBiasBand adds b[k] to y[k·ld : k·ld+cols] for every k < rows; b may be nil.
func addBiasBand(b, y []float32, rows, ld, cols int) {
	if b == nil {
		return
	}
	for k := 0; k < rows; k++ {
		bk := b[k]
		for i := range y[k*ld : k*ld+cols] {
			y[k*ld+i] += bk
		}
	}
}

// backwardData computes dx [n,C,H,W] = ∂L/∂x from dy [n,K,OH,OW] for n images, overwriting dx.
func (g convGeom) backwardData(n int, dy, w, dx []float32) {
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	if g.pointwise() {
		split := pointwiseSplit(n)
		convFor(n*split, func(_, lo, hi int) {
			for t := lo; t < hi; t++ {
				img, part := t/split, t%split
				c0, c1 := part*ohw/split, (part+1)*ohw/split
				if c0 == c1 {
					continue
				}
				Sgemm(true, false, g.C, c1-c0, g.K, 1, w, g.C, dy[img*out+c0:], ohw, 0, dx[img*in+c0:], ohw)
			}
		})
		return
	}
	// Bands of one image overlap in dx (when the kernel is taller than the stride), so an image is one task.
	rows := g.bandRows(colBudget)
	ckk := g.ckk()
	convFor(n, func(_, lo, hi int) {
		buf := getConvScratch(ckk * rows * g.OW)
		defer putConvScratch(buf)
		for img := lo; img < hi; img++ {
			dxi := dx[img*in : (img+1)*in]
			clear(dxi)
			for oy0 := 0; oy0 < g.OH; oy0 += rows {
				oy1 := min(oy0+rows, g.OH)
				cols := (oy1 - oy0) * g.OW
				col := (*buf)[:ckk*cols]
				Sgemm(true, false, ckk, cols, g.K, 1, w, ckk, dy[img*out+oy0*g.OW:], ohw, 0, col, cols)
				col2im(g, col, oy0, oy1, dxi)
			}
		}
	})
}

// backwardFilter computes dw [K,C,KH,KW] = Σ_n dy_n ⋆ x_n for n images, overwriting dw. Each worker sums its
// share of the (image, band) tasks into its own accumulator; the accumulators are added in worker order.
func (g convGeom) backwardFilter(n int, x, dy, dw []float32) {
	in, out, ohw := g.inSize(), g.outSize(), g.OH*g.OW
	ckk := g.ckk()
	pw := g.pointwise()
	rows, bands := g.OH, 1
	if !pw {
		rows = g.bandRows(filterColBudget)
		bands = (g.OH + rows - 1) / rows
	}
	tasks := n * bands
	workers := min(convWorkers(), tasks)
	parts := make([]*[]float32, workers)
	clear(dw[:g.K*ckk])
	convFor(tasks, func(wk, lo, hi int) {
		acc := dw[:g.K*ckk]
		if wk > 0 {
			parts[wk] = getConvScratch(g.K * ckk)
			acc = *parts[wk]
			clear(acc)
		}
		var buf *[]float32
		if !pw {
			buf = getConvScratch(ckk * rows * g.OW)
			defer putConvScratch(buf)
		}
		for t := lo; t < hi; t++ {
			img, band := t/bands, t%bands
			if pw {
				Sgemm(false, true, g.K, g.C, ohw, 1, dy[img*out:], ohw, x[img*in:], ohw, 1, acc, g.C)
				continue
			}
			oy0 := band * rows
			oy1 := min(oy0+rows, g.OH)
			cols := (oy1 - oy0) * g.OW
			col := (*buf)[:ckk*cols]
			im2col(g, x[img*in:], oy0, oy1, col)
			Sgemm(false, true, g.K, ckk, cols, 1, dy[img*out+oy0*g.OW:], ohw, col, cols, 1, acc, ckk)
		}
	})
	for _, p := range parts[1:] {
		if p == nil {
			continue
		}
		convAccumulate(dw[:g.K*ckk], *p)
		putConvScratch(p)
	}
}

// convAccumulate adds src into dst element-wise.
func convAccumulate(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}
