package kernels

import "github.com/brainvq/brainvq/core/parallel"

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
	// One task per sub-grid plane (image, a, b, channel): it reads or writes a strided set of the full
	// plane's pixels and a contiguous sub-grid plane.
	parallel.Chunks(n*d*d*c, max(1, (1<<14)/max(hs*ws, 1)), 0, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			sub, ch := t/c, t%c
			s, ab := sub/(d*d), sub%(d*d)
			a, b := ab/d, ab%d
			full := src
			part := dst
			if !toBatch {
				full, part = dst, src
			}
			fp := full[(s*c+ch)*h*w : (s*c+ch+1)*h*w]
			pp := part[(sub*c+ch)*hs*ws : (sub*c+ch+1)*hs*ws]
			for i := range hs {
				row := fp[(i*d+a)*w+b : (i*d+a+1)*w]
				prow := pp[i*ws : (i+1)*ws]
				if toBatch {
					for j := range prow {
						prow[j] = row[j*d]
					}
				} else {
					for j, v := range prow {
						row[j*d] = v
					}
				}
			}
		}
	})
}
