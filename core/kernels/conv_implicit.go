package kernels

// Implicit GEMM. When every 32-column tile of a band lies inside one output row (the output width is a
// multiple of 32), the micro-kernel can read its B operand straight from a zero-padded copy of the rows
// the band needs: im2col row r at output position (oy, ox) is the element at a fixed offset off[r] (its
// plane and kernel tap) plus the position's own offset. The copy costs one pass over the band's input
// instead of one per kernel tap (an im2col gather of a 3×3 convolution writes nine times its input).
// The bias row of ones is a plane of ones in the same buffer.

// padBand is the layout of a band's padded copy: planes planes of h rows of w floats, followed by one
// plane of ones; buffer row i of a plane holds plane row row0+i, buffer column j plane column col0+j.
type padBand struct {
	planes, h, w int
	row0, col0   int
}

// size is the buffer length, the ones plane included.
func (b padBand) size() int { return (b.planes + 1) * b.h * b.w }

// offsets fills off[r] for every im2col row src[r] (and the bias row, when off is longer) and tiles[t]
// for every 32-column tile of a band of rows output rows of width ow.
func (b padBand) offsets(src []colSrc, off []int32, tiles []int32, oy0, rows, ow int) {
	for r := range off {
		if r >= len(src) { // the bias row: ones
			off[r] = int32(b.planes * b.h * b.w)
			continue
		}
		s := src[r]
		off[r] = int32(s.plane*b.h*b.w + (oy0+s.ay-b.row0)*b.w + s.ax - b.col0)
	}
	tpr := ow / sgemmNR
	for t := range tiles[:rows*tpr] {
		tiles[t] = int32((t/tpr)*b.w + (t%tpr)*sgemmNR)
	}
}

// bandLayout returns the padded layout for output rows [oy0, oy1) of width ow that reads planes planes
// of planeH × planeW through src (plane rows row0 … of the band's first output row are oy0+ay).
func bandLayout(src []colSrc, planes, oy0, oy1, ow int) padBand {
	ayMin, ayMax, axMin, axMax := 0, 0, 0, 0
	for i, s := range src {
		if i == 0 || s.ay < ayMin {
			ayMin = s.ay
		}
		if i == 0 || s.ay > ayMax {
			ayMax = s.ay
		}
		if i == 0 || s.ax < axMin {
			axMin = s.ax
		}
		if i == 0 || s.ax > axMax {
			axMax = s.ax
		}
	}
	return padBand{planes: planes, h: oy1 - oy0 + ayMax - ayMin, w: ow + axMax - axMin,
		row0: oy0 + ayMin, col0: axMin}
}

// fillRows copies planes of a stack p [planes, p.h, p.w] (row p.row0 standing for row 0) into the padded
// buffer buf, zero outside the planes, as max(·, 0) when relu, and fills the ones plane.
func (b padBand) fillRows(buf []float32, p planes, relu bool) {
	for pl := range b.planes {
		for i := range b.h {
			dst := buf[(pl*b.h+i)*b.w : (pl*b.h+i+1)*b.w]
			q := b.row0 + i - p.row0
			if q < 0 || q >= p.h {
				clear(dst)
				continue
			}
			line := p.data[pl*p.stride+q*p.w : pl*p.stride+(q+1)*p.w]
			// buffer column j is plane column j+col0
			lo, hi := max(0, -b.col0), min(b.w, p.w-b.col0)
			if lo >= hi {
				clear(dst)
				continue
			}
			clear(dst[:lo])
			if relu {
				reluSlice(dst[lo:hi], line[lo+b.col0:])
			} else {
				copy(dst[lo:hi], line[lo+b.col0:])
			}
			clear(dst[hi:])
		}
	}
	b.fillOnes(buf)
}

// fillPhases builds, from one image x [C,H,W], the S×S phase planes of a stride-S convolution (plane
// (ry·S+rx)·C + c holds x[c, S·q+ry, S·qx+rx] at row q, column qx, as fwdPlan lays them out) into the
// padded buffer, zero outside the image, and fills the ones plane.
func (b padBand) fillPhases(buf []float32, g convGeom, x []float32) {
	s := g.S
	wq := (g.W + s - 1) / s
	row := func(pl, i int) []float32 { return buf[(pl*b.h+i)*b.w : (pl*b.h+i+1)*b.w] }
	for c := range g.C {
		for i := range b.h {
			q := b.row0 + i
			for ry := range s {
				iy := s*q + ry
				if iy < 0 || iy >= g.H {
					for rx := range s {
						clear(row((ry*s+rx)*g.C+c, i))
					}
					continue
				}
				src := x[(c*g.H+iy)*g.W : (c*g.H+iy+1)*g.W]
				if s == 2 && b.col0 <= 0 && -b.col0+wq <= b.w {
					// Columns [−col0, −col0+count) of the two rows come from the image.
					even, odd := row(ry*s*g.C+c, i), row((ry*s+1)*g.C+c, i)
					off := -b.col0
					clear(even[:off])
					clear(odd[:off])
					deinterleave2(even[off:], odd[off:], src)
					clear(even[off+(g.W+1)/2:])
					clear(odd[off+g.W/2:])
					continue
				}
				for rx := range s {
					d := row((ry*s+rx)*g.C+c, i)
					for j := range d {
						if pc := j + b.col0; pc < 0 || s*pc+rx >= g.W {
							d[j] = 0
						} else {
							d[j] = src[s*pc+rx]
						}
					}
				}
			}
		}
	}
	b.fillOnes(buf)
}

// fillOnes sets the ones plane (the bias row's source).
func (b padBand) fillOnes(buf []float32) {
	ones := buf[b.planes*b.h*b.w : (b.planes+1)*b.h*b.w]
	for i := range ones {
		ones[i] = 1
	}
}

// checkReach panics unless every B element the offsets address lies in buf (a bounds check for the
// assembly, which reads 32 floats from each offset plus tile offset).
func checkReach(buf []float32, off, tiles []int32) {
	var mo, mt int32
	for _, v := range off {
		mo = max(mo, v)
		if v < 0 {
			panic("kernels: negative implicit-GEMM offset")
		}
	}
	for _, v := range tiles {
		mt = max(mt, v)
	}
	if int(mo)+int(mt)+sgemmNR > len(buf) {
		panic("kernels: implicit-GEMM offsets reach past the band buffer")
	}
}

// implicitGEMM reports whether the current path has implicit-GEMM kernels (AVX-512 and AVX2).
func implicitGEMM() bool { return useAVX512 || useAVX2 }

// mulImplicit runs one k block of an implicit product: C [m × cols] (row stride ldc) = A·B + beta·C with
// A as aw-row panels (a; 8 rows on the AVX-512 path, weightRows() on the AVX2 path) and B read from buf
// through off (kb rows) and tiles (⌈cols/32⌉ tiles), whose reach checkReach has verified.
func mulImplicit(kb int, a []float32, aw, m int, buf []float32, off, tiles []int32, cols int, c []float32, ldc int, beta float32) {
	if useAVX2 {
		mulImplicitAVX2(kb, a, aw, m, buf, off, tiles, cols, c, ldc, beta)
		return
	}
	if aw != convMR {
		panic("kernels: the AVX-512 implicit kernel takes 8-row panels")
	}
	nq := ceilDiv(cols, sgemmNR)
	last := cols - (nq-1)*sgemmNR
	_ = off[kb-1]
	_ = tiles[nq-1]
	for ir := 0; ir*convMR < m; ir++ {
		mr := min(convMR, m-ir*convMR)
		ap := a[ir*kb*convMR : (ir+1)*kb*convMR]
		cp := c[ir*convMR*ldc:]
		_ = cp[(mr-1)*ldc+(nq-1)*sgemmNR+last-1]
		kernel8x32I(kb, &ap[0], &buf[0], &off[0], &tiles[0], &cp[0], ldc, beta, mr, nq, colMask(last))
	}
}

// deinterleave2 writes the even columns of src to even and the odd ones to odd: even[i] = src[2i],
// odd[i] = src[2i+1] (⌈n/2⌉ and ⌊n/2⌋ elements for n = len(src) > 0).
func deinterleave2(even, odd, src []float32) {
	n := len(src)
	_, _ = even[(n+1)/2-1], odd[max(n/2, 1)-1]
	if useAVX512 {
		deinterleave2AVX(&even[0], &odd[0], &src[0], n)
		return
	}
	pairs := src[:n&^1]
	ev, od := even[:n/2], odd[:n/2]
	for i := range ev {
		ev[i], od[i] = pairs[2*i], pairs[2*i+1]
	}
	if n%2 == 1 {
		even[n/2] = src[n-1]
	}
}
