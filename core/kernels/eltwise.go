package kernels

import (
	"fmt"
	"math"
)

// eltwiseGrain is the smallest number of elements worth handing to another goroutine.
const eltwiseGrain = 1 << 15

// eltwiseFor runs fn over [0, n) split across workers when n is large enough to pay for the goroutines.
func eltwiseFor(n int, fn func(lo, hi int)) {
	if n < 2*eltwiseGrain {
		fn(0, n)
		return
	}
	chunks := min(convWorkers(), n/eltwiseGrain)
	convFor(chunks, func(_, lo, hi int) { fn(lo*n/chunks, hi*n/chunks) })
}

// ReLU writes dst[i] = max(src[i], 0) for i < len(dst); NaN stays NaN and −0 becomes +0. dst and src may
// be the same slice. (The builtin max compiles without a branch; a compare-and-branch loop mispredicts on
// half the activations and measured eight times slower.)
func ReLU(dst, src []float32) {
	if len(src) < len(dst) {
		panic(fmt.Errorf("kernels.ReLU: src has %d elements, dst %d", len(src), len(dst)))
	}
	eltwiseFor(len(dst), func(lo, hi int) { reluSlice(dst[lo:hi], src[lo:hi]) })
}

// reluSlice is ReLU on one goroutine, for len(d) elements.
func reluSlice(d, s []float32) {
	s = s[:len(d)]
	if useAVX512 && len(d) > 0 {
		reluAVX(&d[0], &s[0], len(d))
		return
	}
	if v := len(d) &^ 7; useAVX2 && v > 0 {
		reluAVX2(&d[0], &s[0], v)
		d, s = d[v:], s[v:]
	}
	for i, v := range s {
		d[i] = max(v, 0)
	}
}

// ReLUBackward writes dx[i] = dy[i] where y[i] > 0 and 0 elsewhere, for i < len(dx), y being ReLU's output
// (or its input: the sign test is the same). dx may alias dy.
func ReLUBackward(dx, dy, y []float32) {
	if len(dy) < len(dx) || len(y) < len(dx) {
		panic(fmt.Errorf("kernels.ReLUBackward: dx has %d elements, dy %d, y %d", len(dx), len(dy), len(y)))
	}
	eltwiseFor(len(dx), func(lo, hi int) {
		d, g, v := dx[lo:hi], dy[lo:hi], y[lo:hi]
		g, v = g[:len(d)], v[:len(d)]
		if useAVX512 && len(d) > 0 {
			reluBackwardAVX(&d[0], &g[0], &v[0], len(d))
			return
		}
		if n := len(d) &^ 7; useAVX2 && n > 0 {
			reluBackwardAVX2(&d[0], &g[0], &v[0], n)
			d, g, v = d[n:], g[n:], v[n:]
		}
		for i, yv := range v {
			d[i] = math.Float32frombits(math.Float32bits(g[i]) & positiveMask(yv))
		}
	})
}

// positiveMask is all ones when y > 0 and zero otherwise (y ≤ 0, −0 or NaN), without a branch: as an
// int32, t = bits(y) − 1 lies in [0, 0x7f800000) exactly for the positive floats up to +Inf.
func positiveMask(y float32) uint32 {
	t := int32(math.Float32bits(y)) - 1
	return uint32(^(t >> 31) & ((t - 0x7f800000) >> 31))
}

// AddBias adds b[c] to every element of channel c of y [N,C,HW] (NCHW with HW = H·W).
func AddBias(y, b []float32, n, c, hw int) {
	if n < 0 || c < 0 || hw < 0 || len(y) < n*c*hw || len(b) < c {
		panic(fmt.Errorf("kernels.AddBias: n=%d c=%d hw=%d with len(y)=%d len(b)=%d", n, c, hw, len(y), len(b)))
	}
	convFor(n, func(_, lo, hi int) {
		for img := lo; img < hi; img++ {
			addBiasBand(b, y[img*c*hw:], c, hw, hw)
		}
	})
}

// Add writes dst[i] = a[i] + b[i] for i < len(dst). dst may alias a or b.
func Add(dst, a, b []float32) {
	if len(a) < len(dst) || len(b) < len(dst) {
		panic(fmt.Errorf("kernels.Add: dst has %d elements, a %d, b %d", len(dst), len(a), len(b)))
	}
	eltwiseFor(len(dst), func(lo, hi int) {
		d, x, y := dst[lo:hi], a[lo:hi], b[lo:hi]
		x, y = x[:len(d)], y[:len(d)]
		if useAVX512 && len(d) > 0 {
			addAVX(&d[0], &x[0], &y[0], len(d))
			return
		}
		if n := len(d) &^ 7; useAVX2 && n > 0 {
			addAVX2(&d[0], &x[0], &y[0], n)
			d, x, y = d[n:], x[n:], y[n:]
		}
		for i := range d {
			d[i] = x[i] + y[i]
		}
	})
}

// ChannelSums writes out[c] = Σ_{n,p} v[n,c,p] for v [N,C,HW] (the bias gradient of a convolution whose
// output gradient is v). Each row of HW values is summed by eight float32 partial sums, the rows in
// float64.
func ChannelSums(v []float32, n, c, hw int, out []float32) {
	if n < 0 || c < 0 || hw < 0 || len(v) < n*c*hw || len(out) < c {
		panic(fmt.Errorf("kernels.ChannelSums: n=%d c=%d hw=%d with len(v)=%d len(out)=%d", n, c, hw, len(v), len(out)))
	}
	channelSums(n, c, hw, v, out)
}
