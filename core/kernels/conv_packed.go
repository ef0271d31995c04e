package kernels

// The convolutions' products, forward and backward data, multiply one weight matrix (the same for every
// image and band of a call) by an im2col matrix that exists one band at a time. Through Sgemm that costs
// three copies per band besides the arithmetic: im2col writes the band's patches, then Sgemm packs both
// operands into its micro-kernel's panel layout. Here the weights are packed once per call, and each band's
// patches are gathered straight into the panel layout of the other operand, so a band costs a single copy.
// The bias rides along as one more row of ones in the gathered operand and one more column of the weights,
// so that the micro-kernel adds it; the optional ReLU is applied to the band while it is still in cache.

// packedMat is a matrix M [rows × k] packed for the micro-kernel, one k block at a time (blocks of kc,
// the last one shorter), each block as ⌈rows/width⌉ panels of width consecutive rows stored k-major:
// element M[t·width+i][p0+p] of block (p0, kb) is data[width·(panels·p0 + t·kb) + p·width + i], zero for
// rows past the end. With width 14 this is the micro-kernel's A operand (M = A); with width 32 its B
// operand (M = Bᵀ).
type packedMat struct {
	width, rows, k, kc, panels int
	data                       []float32
}

// kBlock is the k block length the packed products use for depth k: at most sgemmKC, balanced.
func kBlock(k int) int { return ceilDiv(k, ceilDiv(k, sgemmKC)) }

// packedLen is the size of a packed matrix of rows × k in panels of width.
func packedLen(width, rows, k int) int { return ceilDiv(rows, width) * width * k }

// block returns the panels of block (p0, kb).
func (p *packedMat) block(p0, kb int) []float32 {
	off := p.width * p.panels * p0
	return p.data[off : off+p.width*p.panels*kb]
}

// packMat packs M [rows × k] into dst (at least packedLen(width, rows, k) floats): row i of M is
// src[i·ld : i·ld+ksrc], followed by extra[i] when extra is not nil (then k = ksrc+1).
func packMat(dst []float32, width, rows, ksrc int, src []float32, ld int, extra []float32) packedMat {
	k := ksrc
	if extra != nil {
		k++
	}
	pm := packedMat{width: width, rows: rows, k: k, kc: kBlock(k), panels: ceilDiv(rows, width)}
	pm.data = dst[:packedLen(width, rows, k)]
	for p0 := 0; p0 < k; p0 += pm.kc {
		kb := min(pm.kc, k-p0)
		blk := pm.block(p0, kb)
		for t := range pm.panels {
			panel := blk[t*kb*width : (t+1)*kb*width]
			for i := range width {
				r := t*width + i
				if r >= rows {
					for p := range kb {
						panel[p*width+i] = 0
					}
					continue
				}
				row := src[r*ld:]
				for p := range kb {
					if c := p0 + p; c < ksrc {
						panel[p*width+i] = row[c]
					} else {
						panel[p*width+i] = extra[r]
					}
				}
			}
		}
	}
	return pm
}

// gatherPacked writes rows [p0, p0+kb) of the im2col matrix of one band into dst as ⌈cols/width⌉ panels
// of width columns, k-major: dst[t·kb·width + (r−p0)·width + j] = col[r][t·width+j], and zero for columns
// t·width+j ≥ cols. The band is output rows [oy0, oy1) of width ow (cols = (oy1−oy0)·ow); row r < len(src)
// of the im2col matrix reads through src[r] from p (as in gatherCols), and rows r ≥ len(src) are all ones
// (the bias row). stream says that every element is read once (a pointwise convolution): the source then
// comes from memory rather than cache, and plain copies fetch it faster than the vector loop's masked loads.
func gatherPacked(dst []float32, width int, p planes, src []colSrc, p0, kb, oy0, oy1, ow int, stream bool) {
	cols := (oy1 - oy0) * ow
	np := ceilDiv(cols, width)
	stride := kb * width
	dst = dst[:np*stride]
	if pad := np*width - cols; pad > 0 {
		last := dst[(np-1)*stride:]
		for r := range kb {
			clear(last[r*width+width-pad : (r+1)*width])
		}
	}
	for r := p0; r < p0+kb; r++ {
		base := (r - p0) * width
		if r >= len(src) {
			for jj := 0; jj < cols; {
				t, j := jj/width, jj%width
				n := min(width-j, cols-jj)
				d := dst[t*stride+base+j : t*stride+base+j+n]
				for i := range d {
					d[i] = 1
				}
				jj += n
			}
			continue
		}
		s := src[r]
		if useAVX512 && !stream {
			im2colRowAVX(dst[base:], width, stride, p, s, oy0, oy1, ow)
			continue
		}
		lo := min(max(0, -s.ax), ow)
		hi := max(min(ow, p.w-s.ax), lo)
		pl := p.data[s.plane*p.stride:]
		jj := 0
		for oy := oy0; oy < oy1; oy++ {
			q := oy + s.ay - p.row0
			t, j := jj/width, jj%width
			d := dst[t*stride+base:]
			if q >= 0 && q < p.h && lo < hi {
				scatterRun(d, j, width, stride, pl[q*p.w:(q+1)*p.w], s.ax, ow, lo, hi, !stream)
			} else {
				scatterRun(d, j, width, stride, nil, 0, ow, 0, 0, !stream)
			}
			jj += ow
		}
	}
}

// im2colRowAVX writes row s of the im2col matrix for output rows [oy0, oy1) of width ow into panels of
// width (≤ 32) columns, stride floats apart, from the first column of dst: column jj to
// dst[(jj/width)·stride + jj mod width]. With width = stride = 32 that is one contiguous row.
func im2colRowAVX(dst []float32, width, stride int, p planes, s colSrc, oy0, oy1, ow int) {
	lo := min(max(0, -s.ax), ow)
	hi := max(min(ow, p.w-s.ax), lo)
	pl := p.data[s.plane*p.stride:]
	q0 := oy0 + s.ay - p.row0 // source row of output row oy0
	rows := oy1 - oy0
	qlo, qhi := min(max(0, -q0), rows), min(max(0, p.h-q0), rows)
	if lo == hi {
		qlo, qhi = 0, 0
	}
	if qlo < qhi { // every element read lies in pl
		_ = pl[(q0+qlo)*p.w+lo+s.ax]
		_ = pl[(q0+qhi-1)*p.w+hi-1+s.ax]
	}
	end := rows*ow - 1
	_ = dst[(end/width)*stride+end%width]
	scatterRowsAVX(&dst[0], 0, width, stride, &pl[0], p.w, q0, qlo, qhi, rows, s.ax, ow, lo, hi)
}

// scatterRun writes the run of ow elements v[ox] = line[ox+ax] for lo ≤ ox < hi, 0 otherwise (line holds
// every element read), into consecutive panels of width: element ox goes to
// dst[((j0+ox)/width)·stride + (j0+ox) mod width], for 0 ≤ j0 < width ≤ 32. vec selects the AVX-512 or
// AVX2 loop where there is one.
func scatterRun(dst []float32, j0, width, stride int, line []float32, ax, ow, lo, hi int, vec bool) {
	if ow <= 0 {
		return
	}
	end := j0 + ow - 1
	_ = dst[(end/width)*stride+end%width] // the last element written
	if (useAVX512 || useAVX2) && vec {
		src := &dst[0] // never read: every load is masked off
		if lo < hi {
			_ = line[lo+ax]
			_ = line[hi-1+ax]
			src = &line[0]
		} else {
			ax = 0
		}
		if useAVX512 {
			scatterRunAVX(&dst[0], j0, width, stride, src, ax, ow, lo, hi)
		} else {
			scatterRunAVX2(&dst[0], j0, width, stride, src, ax, ow, lo, hi)
		}
		return
	}
	for ox := 0; ox < ow; {
		n := min(width-j0, ow-ox)
		d := dst[j0 : j0+n]
		a, b := max(ox, lo), min(ox+n, hi)
		if a >= b {
			clear(d)
		} else {
			clear(d[:a-ox])
			copy(d[a-ox:b-ox], line[a+ax:])
			clear(d[b-ox:])
		}
		ox += n
		if ox < ow {
			dst = dst[stride:]
		}
		j0 = 0
	}
}

// convMR is the row count of the A panels of the packed convolution products (the weights, or the
// phase sub-kernels): 8-row tiles cover the power-of-two channel counts of the model exactly.
const convMR = 8

// avx2WeightRows is the row count of the weight panels on the AVX2 path, whose register blocks are 6
// rows tall: an 8-row panel ran as two 4-row blocks, whose 8 accumulators leave the FMA units less busy
// than the 6-row block's 12.
const avx2WeightRows = 12

// weightRows is the row count of the packed weight panels (the A operand) of the convolution products on
// the current path.
func weightRows() int {
	if useAVX2 {
		return avx2WeightRows
	}
	return convMR
}

// mulPacked runs one k block of a packed product: C [m × n] (row stride ldc) = A·B + beta·C, with A as
// ⌈m/aw⌉ row panels of width aw (8 or 14; 12 or 14 on the AVX2 path, which takes any even width) and B
// as ⌈n/32⌉ column panels of width 32, both kb deep.
func mulPacked(kb int, a []float32, aw, m int, b []float32, n int, c []float32, ldc int, beta float32) {
	nq := ceilDiv(n, sgemmNR)
	if useAVX2 {
		for ir := 0; ir*aw < m; ir++ {
			tilesAVX2(kb, aw, a[ir*kb*aw:(ir+1)*kb*aw], b[:nq*kb*sgemmNR], c[ir*aw*ldc:], ldc, 1, beta, min(aw, m-ir*aw), n)
		}
		return
	}
	last := n - (nq-1)*sgemmNR
	for ir := 0; ir*aw < m; ir++ {
		mr := min(aw, m-ir*aw)
		ap, bp, cp := a[ir*kb*aw:(ir+1)*kb*aw], b[:nq*kb*sgemmNR], c[ir*aw*ldc:]
		if aw == convMR {
			tiles8(kb, ap, bp, cp, ldc, beta, mr, nq, last)
		} else {
			tiles(kb, ap, bp, cp, ldc, beta, mr, nq, last)
		}
	}
}

// tilesGo is the portable tiles (and tiles8, with aw = 8): one kernelGoW call per tile.
func tilesGo(kc, aw int, ap, bp, c []float32, ldc int, beta float32, mr, nq, last int) {
	for t := range nq {
		nr := sgemmNR
		if t == nq-1 {
			nr = last
		}
		kernelGoW(kc, aw, ap, bp[t*kc*sgemmNR:], c[t*sgemmNR:], ldc, 1, beta, mr, nr)
	}
}

// reluRows sets the first cols elements of each of rows rows of c (row stride ld) to max(v, 0).
func reluRows(c []float32, rows, cols, ld int) {
	for r := range rows {
		row := c[r*ld : r*ld+cols]
		reluSlice(row, row)
	}
}
