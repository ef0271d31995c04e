package kernels

// SpaceToBatch writes the d² interleaved sub-grids of src [N,C,H,W] (d divides H and W) as a batch of
// N·d² images, dst [N·d²,C,H/d,W/d]:
//
//	dst[(n·d + a)·d + b, c, i, j] = src[n, c, i·d + a, j·d + b].
//
// A k×k convolution dilated by d, zero-padded by d·(k/2), equals the undilated convolution (padded by k/2)
// of each sub-grid: the taps of the dilated kernel at (i·d+a, j·d+b) read exactly the pixels of sub-grid
// (a,b), and the padding of a sub-grid stands for the pixels beyond the image edge. BatchToSpace undoes it.
func SpaceToBatch(dst, src []float32, n, c, h, w, d int) {
	spaceBatch(dst, src, n, c, h, w, d, true)
}

// BatchToSpace is the inverse of SpaceToBatch: src [N·d²,C,H/d,W/d] → dst [N,C,H,W].
func BatchToSpace(dst, src []float32, n, c, h, w, d int) {
	spaceBatch(dst, src, n, c, h, w, d, false)
}

func spaceBatch(dst, src []float32, n, c, h, w, d int, toBatch bool) {
	if d == 1 {
		copy(dst[:n*c*h*w], src[:n*c*h*w])
		return
	}
	hs, ws := h/d, w/d
	for s := range n {
		for a := range d {
			for b := range d {
				sub := (s*d+a)*d + b
				for ch := range c {
					full := (s*c + ch) * h * w
					part := (sub*c + ch) * hs * ws
					for i := range hs {
						row := full + (i*d+a)*w + b
						prow := part + i*ws
						if toBatch {
							for j := range ws {
								dst[prow+j] = src[row+j*d]
							}
						} else {
							for j := range ws {
								dst[row+j*d] = src[prow+j]
							}
						}
					}
				}
			}
		}
	}
}
