package kernels

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/brainvq/brainvq/core/parallel"
)

// ConvShape describes a 2D convolution of N images: x [N,C,H,W] ⋆ w [K,C,KH,KW] (+ b [K]) → y [N,K,OH,OW],
//
//	y[n,k,oy,ox] = b[k] + Σ_{c,ky,kx} w[k,c,ky,kx] · x[n, c, oy·Stride−Pad+ky, ox·Stride−Pad+kx],
//
// with OH = (H+2·Pad−KH)/Stride+1 (the same for W). Padding is symmetric and reads zeros.
type ConvShape struct{ N, C, H, W, K, KH, KW, Stride, Pad int }

// OutH is the output height (H+2·Pad−KH)/Stride+1.
func (s ConvShape) OutH() int { return convOut(s.H, s.KH, s.Stride, s.Pad) }

// OutW is the output width (W+2·Pad−KW)/Stride+1.
func (s ConvShape) OutW() int { return convOut(s.W, s.KW, s.Stride, s.Pad) }

func convOut(in, k, stride, pad int) int {
	if stride <= 0 || in+2*pad < k {
		return 0
	}
	return (in+2*pad-k)/stride + 1
}

// Validate reports whether every size is positive, the padding is not negative and the output is at least 1×1.
func (s ConvShape) Validate() error {
	if s.N < 1 || s.C < 1 || s.H < 1 || s.W < 1 || s.K < 1 || s.KH < 1 || s.KW < 1 || s.Stride < 1 || s.Pad < 0 {
		return fmt.Errorf("conv shape %+v: sizes and stride must be positive and pad non-negative", s)
	}
	if s.OutH() < 1 || s.OutW() < 1 {
		return fmt.Errorf("conv shape %+v: kernel %d×%d larger than the padded input %d×%d",
			s, s.KH, s.KW, s.H+2*s.Pad, s.W+2*s.Pad)
	}
	return nil
}

// geom turns s into the internal description shared with the transposed convolution.
func (s ConvShape) geom() convGeom {
	return convGeom{C: s.C, H: s.H, W: s.W, K: s.K, KH: s.KH, KW: s.KW, S: s.Stride, P: s.Pad,
		OH: s.OutH(), OW: s.OutW()}
}

// Conv2D computes y = x ⋆ w + b (see ConvShape), overwriting y [N,K,OH,OW]. b may be nil (no bias).
// It panics when s is invalid or a slice is shorter than its shape.
func Conv2D(s ConvShape, x, w, b, y []float32) {
	mustConv("Conv2D", s.Validate())
	g := s.geom()
	mustConvLen("Conv2D", "x", x, s.N*g.inSize())
	mustConvLen("Conv2D", "w", w, g.K*g.ckk())
	mustConvLen("Conv2D", "y", y, s.N*g.outSize())
	if b != nil {
		mustConvLen("Conv2D", "b", b, g.K)
	}
	g.forward(s.N, x, w, b, y, ConvOpts{})
}

// ConvOpts are the optional prologue and epilogues of Conv2DOpts and ConvTranspose2DOpts.
type ConvOpts struct {
	Accumulate bool // y += conv(x) (+ b), instead of overwriting y (a residual connection)
	ReLU       bool // then y = max(y, 0), applied to each band of the output while it is in cache
	// ReLUInput convolves max(x, 0) instead of x (x is not modified): applied while the input is copied
	// band by band where the convolution copies it (stride 1, output rows a multiple of 32 wide, AVX-512),
	// else through a temporary copy. Conv2DOpts only.
	ReLUInput bool
}

// Conv2DOpts is Conv2D with the epilogues o: the output is added to y when o.Accumulate, and passed through
// max(·, 0) when o.ReLU.
func Conv2DOpts(s ConvShape, x, w, b, y []float32, o ConvOpts) {
	mustConv("Conv2DOpts", s.Validate())
	g := s.geom()
	mustConvLen("Conv2DOpts", "x", x, s.N*g.inSize())
	mustConvLen("Conv2DOpts", "w", w, g.K*g.ckk())
	mustConvLen("Conv2DOpts", "y", y, s.N*g.outSize())
	if b != nil {
		mustConvLen("Conv2DOpts", "b", b, g.K)
	}
	if o.ReLUInput && !g.reluInputInPlace() {
		buf := getConvScratch(s.N * g.inSize())
		defer putConvScratch(buf)
		ReLU(*buf, x[:s.N*g.inSize()])
		x = *buf
		o.ReLUInput = false
	}
	g.forward(s.N, x, w, b, y, o)
}

// Conv2DBackwardData overwrites dx [N,C,H,W] with ∂L/∂x given dy = ∂L/∂y [N,K,OH,OW]:
//
//	dx[n,c,iy,ix] = Σ_{k,ky,kx : iy = oy·Stride−Pad+ky, ix = ox·Stride−Pad+kx} w[k,c,ky,kx] · dy[n,k,oy,ox].
func Conv2DBackwardData(s ConvShape, dy, w, dx []float32) {
	mustConv("Conv2DBackwardData", s.Validate())
	g := s.geom()
	mustConvLen("Conv2DBackwardData", "dy", dy, s.N*g.outSize())
	mustConvLen("Conv2DBackwardData", "w", w, g.K*g.ckk())
	mustConvLen("Conv2DBackwardData", "dx", dx, s.N*g.inSize())
	g.backwardData(s.N, dy, w, nil, dx, ConvOpts{})
}

// Conv2DBackwardFilter overwrites dw [K,C,KH,KW] with ∂L/∂w = Σ_n dy_n ⋆ x_n, that is
//
//	dw[k,c,ky,kx] = Σ_{n,oy,ox} dy[n,k,oy,ox] · x[n, c, oy·Stride−Pad+ky, ox·Stride−Pad+kx],
//
// and, when db != nil, db [K] with db[k] = Σ_{n,oy,ox} dy[n,k,oy,ox].
func Conv2DBackwardFilter(s ConvShape, x, dy, dw, db []float32) {
	mustConv("Conv2DBackwardFilter", s.Validate())
	g := s.geom()
	mustConvLen("Conv2DBackwardFilter", "x", x, s.N*g.inSize())
	mustConvLen("Conv2DBackwardFilter", "dy", dy, s.N*g.outSize())
	mustConvLen("Conv2DBackwardFilter", "dw", dw, g.K*g.ckk())
	g.backwardFilter(s.N, x, dy, dw)
	if db != nil {
		mustConvLen("Conv2DBackwardFilter", "db", db, g.K)
		channelSums(s.N, g.K, g.OH*g.OW, dy, db)
	}
}

func mustConv(fn string, err error) {
	if err != nil {
		panic(fmt.Errorf("kernels.%s: %w", fn, err))
	}
}

func mustConvLen(fn, name string, v []float32, want int) {
	if len(v) < want {
		panic(fmt.Errorf("kernels.%s: %s has %d elements, the shape needs %d", fn, name, len(v), want))
	}
}

// errBadShape is wrapped by the quantiser's panics for inconsistent sizes.
var errBadShape = errors.New("inconsistent sizes")

// convWorkers is how many goroutines the convolution and quantiser kernels split their work over: the
// process's thread setting (parallel.Threads).
func convWorkers() int { return parallel.Threads() }

// convFor runs fn(worker, lo, hi) over a static split of [0, n) into at most convWorkers() contiguous ranges
// (parallel.For). For short, even work (sums, copies).
func convFor(n int, fn func(worker, lo, hi int)) { parallel.For(n, fn) }

// convTasks runs body on up to convWorkers() goroutines at once and waits; each body pulls task indices
// from [0, n) with next until next reports false. Tasks are handed out as workers become free, which keeps
// both cores busy on a machine shared with other work, where a static split waits for its slowest part.
// Which goroutine runs a task depends on timing, so a task must write only its own outputs.
func convTasks(n int, body func(next func() (int, bool))) {
	var counter atomic.Int64
	next := func() (int, bool) {
		t := int(counter.Add(1) - 1)
		return t, t < n
	}
	workers := min(convWorkers(), n)
	parallel.ForWorkers(max(workers, 1), workers, func(_, _, _ int) { body(next) })
}

// convScratchPools recycle float32 work buffers (im2col columns, GEMM tiles, partial gradients) so that
// calls in a training loop allocate little once warm. Pool i holds buffers of capacity 2^i, so a buffer
// drawn from the right pool always fits.
var convScratchPools [48]sync.Pool

// getConvScratch returns a buffer of length n with arbitrary contents; give it back with putConvScratch.
func getConvScratch(n int) *[]float32 {
	class := bits.Len(uint(max(n, 1) - 1))
	if p, ok := convScratchPools[class].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	buf := make([]float32, n, 1<<class)
	return &buf
}

func putConvScratch(p *[]float32) {
	class := bits.Len(uint(cap(*p) - 1))
	if cap(*p) == 1<<class {
		convScratchPools[class].Put(p)
	}
}

// channelSums writes out[k] = Σ_{n,p} v[n,k,p] for v [N,K,HW]. Each row of HW values is summed by eight
// float32 accumulators (independent, so the loop runs at several adds per cycle), and the rows' sums
// are added in float64.
func channelSums(n, k, hw int, v, out []float32) {
	convFor(k, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for i := 0; i < n; i++ {
				s += float64(sum32(v[(i*k+c)*hw : (i*k+c+1)*hw]))
			}
			out[c] = float32(s)
		}
	})
}

// sum32 is Σ x with several interleaved float32 partial sums (64 with AVX-512, 32 with AVX2, else 8).
func sum32(x []float32) float32 {
	if useAVX512 && len(x) > 0 {
		return sumAVX(&x[0], len(x))
	}
	if n := len(x) &^ 7; useAVX2 && n > 0 {
		s := sumAVX2(&x[0], n)
		for _, v := range x[n:] {
			s += v
		}
		return s
	}
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		y := x[i : i+8 : i+8]
		a0 += y[0]
		a1 += y[1]
		a2 += y[2]
		a3 += y[3]
		a4 += y[4]
		a5 += y[5]
		a6 += y[6]
		a7 += y[7]
	}
	for ; i < len(x); i++ {
		a0 += x[i]
	}
	return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
}
