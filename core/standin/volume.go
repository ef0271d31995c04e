package standin

import (
	"cmp"
	"math"
	"slices"

	"github.com/brainvq/brainvq/core/parallel"
)

// lines calls f for every 1-D line of a [d2,d1,d0] volume along axis a (0: x, fastest): the line's first
// index and its stride; lines are visited in parallel (parallel.For: each thread one contiguous run of
// lines), and each line is independent, so the result does not depend on the thread count.
func lines(dim [3]int, a int, f func(start, stride int)) {
	stride := [3]int{1, dim[0], dim[0] * dim[1]}
	// The two other axes, enumerated as one counter.
	o1, o2 := (a+1)%3, (a+2)%3
	n := dim[o1] * dim[o2]
	parallel.For(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			f((i%dim[o1])*stride[o1]+(i/dim[o1])*stride[o2], stride[a])
		}
	})
}

// gaussianBlur3D smooths v ([dim[2],dim[1],dim[0]], x fastest) in place with a separable Gaussian of standard
// deviation sigma[a] voxels along axis a, truncated at 3σ; outside the volume counts as 0 (so a mask fades
// at the border). An axis with sigma ≤ 0 is left alone.
func gaussianBlur3D(v []float32, dim [3]int, sigma [3]float64) {
	for a := range 3 {
		if sigma[a] <= 0 {
			continue
		}
		r := int(math.Ceil(3 * sigma[a]))
		k := make([]float64, 2*r+1)
		sum := 0.0
		for i := range k {
			d := float64(i - r)
			k[i] = math.Exp(-d * d / (2 * sigma[a] * sigma[a]))
			sum += k[i]
		}
		for i := range k {
			k[i] /= sum
		}
		n := dim[a]
		lines(dim, a, func(start, stride int) {
			in := make([]float64, n)
			for i := range n {
				in[i] = float64(v[start+i*stride])
			}
			for i := range n {
				acc := 0.0
				for t := max(0, i-r); t <= min(n-1, i+r); t++ {
					acc += k[t-i+r] * in[t]
				}
				v[start+i*stride] = float32(acc)
			}
		})
	}
}

// distanceOutside returns, for each voxel, the Euclidean distance in mm (voxel size sp) to the nearest voxel
// where inside is true (0 for those voxels); +Inf everywhere if none is. Exact, by the separable squared-
// distance transform of Felzenszwalb and Huttenlocher (a lower envelope of parabolas along each axis).
func distanceOutside(inside []bool, dim [3]int, sp [3]float64) []float32 {
	d2 := make([]float64, len(inside))
	for i, in := range inside {
		if !in {
			d2[i] = math.Inf(1)
		}
	}
	for a := range 3 {
		w := sp[a] * sp[a]
		n := dim[a]
		lines(dim, a, func(start, stride int) {
			f := make([]float64, n)
			for i := range n {
				f[i] = d2[start+i*stride]
			}
			out := make([]float64, n)
			squaredDistance1D(f, out, w, make([]int, n), make([]float64, n+1))
			for i := range n {
				d2[start+i*stride] = out[i]
			}
		})
	}
	d := make([]float32, len(d2))
	for i, v := range d2 {
		d[i] = float32(math.Sqrt(v))
	}
	return d
}

// squaredDistance1D sets out[q] = min_p f[p] + w·(q−p)² (f may hold +Inf). v and z are scratch of length n
// and n+1: the parabolas of the lower envelope and the boundaries between them.
func squaredDistance1D(f, out []float64, w float64, v []int, z []float64) {
	n := len(f)
	k := -1
	for q := range n {
		if math.IsInf(f[q], 1) {
			continue
		}
		for k >= 0 {
			p := v[k]
			// Where parabola q starts to lie below parabola p.
			s := ((f[q] + w*float64(q*q)) - (f[p] + w*float64(p*p))) / (2 * w * float64(q-p))
			if s <= z[k] {
				k--
				continue
			}
			k++
			v[k], z[k] = q, s
			break
		}
		if k < 0 {
			k = 0
			v[0], z[0] = q, math.Inf(-1)
		}
		z[k+1] = math.Inf(1)
	}
	if k < 0 {
		for q := range out {
			out[q] = math.Inf(1)
		}
		return
	}
	j := 0
	for q := range n {
		for z[j+1] < float64(q) {
			j++
		}
		d := float64(q - v[j])
		out[q] = w*d*d + f[v[j]]
	}
}

// trilinear samples v ([dim[2],dim[1],dim[0]]) at continuous voxel coordinates (x,y,z) (voxel centres at
// integers); voxels outside the volume count as the value outside.
func trilinear(v []float32, dim [3]int, x, y, z float64, outside float32) float32 {
	x0, y0, z0 := math.Floor(x), math.Floor(y), math.Floor(z)
	i, j, k := int(x0), int(y0), int(z0)
	if i < -1 || j < -1 || k < -1 || i >= dim[0] || j >= dim[1] || k >= dim[2] {
		return outside
	}
	fx, fy, fz := float32(x-x0), float32(y-y0), float32(z-z0)
	at := func(a, b, c int) float32 {
		if a < 0 || b < 0 || c < 0 || a >= dim[0] || b >= dim[1] || c >= dim[2] {
			return outside
		}
		return v[a+dim[0]*(b+dim[1]*c)]
	}
	if i >= 0 && j >= 0 && k >= 0 && i+1 < dim[0] && j+1 < dim[1] && k+1 < dim[2] {
		// Fast path: all eight neighbours inside.
		sx, sy := 1, dim[0]
		sz := dim[0] * dim[1]
		o := i + dim[0]*(j+dim[1]*k)
		c00 := v[o] + fx*(v[o+sx]-v[o])
		c10 := v[o+sy] + fx*(v[o+sy+sx]-v[o+sy])
		c01 := v[o+sz] + fx*(v[o+sz+sx]-v[o+sz])
		c11 := v[o+sz+sy] + fx*(v[o+sz+sy+sx]-v[o+sz+sy])
		c0 := c00 + fy*(c10-c00)
		c1 := c01 + fy*(c11-c01)
		return c0 + fz*(c1-c0)
	}
	c00 := at(i, j, k) + fx*(at(i+1, j, k)-at(i, j, k))
	c10 := at(i, j+1, k) + fx*(at(i+1, j+1, k)-at(i, j+1, k))
	c01 := at(i, j, k+1) + fx*(at(i+1, j, k+1)-at(i, j, k+1))
	c11 := at(i, j+1, k+1) + fx*(at(i+1, j+1, k+1)-at(i, j+1, k+1))
	c0 := c00 + fy*(c10-c00)
	c1 := c01 + fy*(c11-c01)
	return c0 + fz*(c1-c0)
}

// convexHullSlices returns, for each axial slice z of mask ([dim[2],dim[1],dim[0]]), the filled convex hull
// of that slice's true voxels (taken as points at voxel centres); slices are filled in parallel.
func convexHullSlices(mask []bool, dim [3]int) []bool {
	out := make([]bool, len(mask))
	nxy := dim[0] * dim[1]
	parallel.For(dim[2], func(_, lo, hi int) {
		for z := lo; z < hi; z++ {
			fillConvexHull(mask[z*nxy:(z+1)*nxy], out[z*nxy:(z+1)*nxy], dim[0], dim[1])
		}
	})
	return out
}

type pt2 struct{ x, y float64 }

// fillConvexHull sets out (w×h, x fastest) true inside the convex hull of in's true pixels.
func fillConvexHull(in, out []bool, w, h int) {
	// Only the leftmost and rightmost pixel of each row can be hull vertices.
	var pts []pt2
	for y := range h {
		row := in[y*w : (y+1)*w]
		l, r := -1, -1
		for x, v := range row {
			if v {
				if l < 0 {
					l = x
				}
				r = x
			}
		}
		if l >= 0 {
			pts = append(pts, pt2{float64(l), float64(y)})
			if r != l {
				pts = append(pts, pt2{float64(r), float64(y)})
			}
		}
	}
	hull := convexHull(pts)
	if len(hull) == 0 {
		return
	}
	for y := range h {
		fy := float64(y)
		xmin, xmax := math.Inf(1), math.Inf(-1)
		for i := range hull {
			p, q := hull[i], hull[(i+1)%len(hull)]
			if fy < math.Min(p.y, q.y)-1e-9 || fy > math.Max(p.y, q.y)+1e-9 {
				continue
			}
			if p.y == q.y {
				xmin, xmax = math.Min(xmin, math.Min(p.x, q.x)), math.Max(xmax, math.Max(p.x, q.x))
				continue
			}
			x := p.x + (fy-p.y)/(q.y-p.y)*(q.x-p.x)
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
		for x := max(0, int(math.Ceil(xmin-1e-9))); x <= min(w-1, int(math.Floor(xmax+1e-9))); x++ {
			out[y*w+x] = true
		}
	}
}

// convexHull returns the hull of pts by Andrew's monotone chain, counter-clockwise, without collinear
// points. One or two points give themselves.
func convexHull(pts []pt2) []pt2 {
	if len(pts) < 3 {
		return pts
	}
	sorted := append([]pt2(nil), pts...)
	sortPts(sorted)
	cross := func(o, a, b pt2) float64 { return (a.x-o.x)*(b.y-o.y) - (a.y-o.y)*(b.x-o.x) }
	var lower, upper []pt2
	for _, p := range sorted {
		for len(lower) >= 2 && cross(lower[len(lower)-2], lower[len(lower)-1], p) <= 0 {
			lower = lower[:len(lower)-1]
		}
		lower = append(lower, p)
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		p := sorted[i]
		for len(upper) >= 2 && cross(upper[len(upper)-2], upper[len(upper)-1], p) <= 0 {
			upper = upper[:len(upper)-1]
		}
		upper = append(upper, p)
	}
	return append(lower[:len(lower)-1], upper[:len(upper)-1]...)
}

func sortPts(p []pt2) {
	slices.SortFunc(p, func(a, b pt2) int {
		if c := cmp.Compare(a.x, b.x); c != 0 {
			return c
		}
		return cmp.Compare(a.y, b.y)
	})
}

// axialPlane sets dst ([dim[1],dim[0]]) to v linearly interpolated at height z, 0 ≤ z ≤ dim[2]−1.
func axialPlane(v []float32, dim [3]int, z float64, dst []float32) {
	nxy := dim[0] * dim[1]
	k := min(dim[2]-1, max(0, int(math.Floor(z))))
	f := float32(z - float64(k))
	lo := v[k*nxy : (k+1)*nxy]
	if k+1 >= dim[2] || f == 0 {
		copy(dst, lo)
		return
	}
	hi := v[(k+1)*nxy : (k+2)*nxy]
	for i := range dst {
		dst[i] = lo[i] + f*(hi[i]-lo[i])
	}
}

// bilinear samples a [ny,nx] plane at continuous pixel coordinates (x,y) (pixel centres at integers);
// pixels outside count as the value outside.
func bilinear(v []float32, nx, ny int, x, y float64, outside float32) float32 {
	x0, y0 := math.Floor(x), math.Floor(y)
	i, j := int(x0), int(y0)
	if i < -1 || j < -1 || i >= nx || j >= ny {
		return outside
	}
	fx, fy := float32(x-x0), float32(y-y0)
	if i >= 0 && j >= 0 && i+1 < nx && j+1 < ny {
		o := i + nx*j
		c0 := v[o] + fx*(v[o+1]-v[o])
		c1 := v[o+nx] + fx*(v[o+nx+1]-v[o+nx])
		return c0 + fy*(c1-c0)
	}
	at := func(a, b int) float32 {
		if a < 0 || b < 0 || a >= nx || b >= ny {
			return outside
		}
		return v[a+nx*b]
	}
	c0 := at(i, j) + fx*(at(i+1, j)-at(i, j))
	c1 := at(i, j+1) + fx*(at(i+1, j+1)-at(i, j+1))
	return c0 + fy*(c1-c0)
}
