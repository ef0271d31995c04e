package kernels

import (
	"math"
	"sync/atomic"

	"github.com/brainvq/brainvq/core/parallel"
)

// Activations of the PixelCNN prior: the gated unit and the softmax cross-entropy over code logits. Both
// spend their time in exp, so they share Expf, a float32 exponential that runs three to four times as fast as
// math.Exp (BenchmarkExpf) and is accurate to a few ulp (relative error < 4e-7 on [−87, 88]).

// Range reduction constants: x = n·ln2 + r with |r| ≤ ln2/2; ln2 is split in a high part exact in float32
// and a low remainder, so that n·ln2hi is exact for |n| ≤ 2^10.
const (
	expLog2e = 1.44269504088896341
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4
	expMaxX  = 88.3762626647949  // exp(expMaxX) = largest finite float32
	expMinX  = -87.3365447505531 // exp(expMinX) = smallest normal float32
)

// Expf returns e^x in float32: +Inf above 88.38, 0 below −87.34 (subnormal results flush to zero), NaN for
// NaN. e^r on the reduced range is the degree-6 Taylor polynomial (truncation error r⁷/7! < 1.2e-7 there).
func Expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expMaxX:
		return float32(math.Inf(1))
	case x < expMinX:
		return 0
	}
	// n = ⌊x·log2e + ½⌋; the offset keeps the truncating conversion's argument positive (x·log2e ≥ −126).
	ni := int32(x*expLog2e+0.5+128) - 128
	n := float32(ni)
	r := x - n*expLn2Hi - n*expLn2Lo
	p := float32(1.0 / 720)
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(ni+127)<<23)
}

// ExpSlice sets dst[i] = Expf(src[i]) (dst may be src), eight at a time where the CPU has AVX2.
func ExpSlice(dst, src []float32) {
	src = src[:len(dst)]
	done := 0
	if v := len(dst) &^ 7; v > 0 && vecActivations() {
		expAVX2(&dst[0], &src[0], v)
		done = v
	}
	for i := done; i < len(dst); i++ {
		dst[i] = Expf(src[i])
	}
}

// Sigmoid is σ(x) = 1/(1+e^−x), computed without overflow for either sign of x.
func Sigmoid(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + Expf(-x))
	}
	e := Expf(x)
	return e / (1 + e)
}

// Tanh is tanh(x) = 2σ(2x) − 1 (absolute error below 2e-7).
func Tanh(x float32) float32 { return 2*Sigmoid(2*x) - 1 }

// gateGrain is how many (image, channel) planes one task of the gate kernels covers at least.
const gateGrain = 1 << 14

// Gate computes the gated activation of a [N,2C,HW] into y [N,C,HW]:
//
//	y[n,c,p] = tanh(a[n,c,p]) · σ(a[n,C+c,p]).
func Gate(y, a []float32, n, c, hw int) {
	mustConvLen("Gate", "a", a, n*2*c*hw)
	mustConvLen("Gate", "y", y, n*c*hw)
	parallel.Chunks(n*c, max(1, gateGrain/max(hw, 1)), 0, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			i, ch := nc/c, nc%c
			a1 := a[(i*2*c+ch)*hw : (i*2*c+ch+1)*hw]
			a2 := a[(i*2*c+c+ch)*hw : (i*2*c+c+ch+1)*hw]
			out := y[nc*hw : (nc+1)*hw]
			done := 0
			if v := hw &^ 7; v > 0 && vecActivations() {
				gateAVX2(&out[0], &a1[0], &a2[0], v)
				done = v
			}
			for p := done; p < hw; p++ {
				out[p] = Tanh(a1[p]) * Sigmoid(a2[p])
			}
		}
	})
}

// GateGrad computes da [N,2C,HW] from a [N,2C,HW] and dy [N,C,HW] for y = Gate(a):
//
//	da[n,c,p]   = dy · (1 − tanh²(a₁)) · σ(a₂),
//	da[n,C+c,p] = dy · tanh(a₁) · σ(a₂) · (1 − σ(a₂)),  a₁ = a[n,c,p], a₂ = a[n,C+c,p].
func GateGrad(da, a, dy []float32, n, c, hw int) {
	mustConvLen("GateGrad", "a", a, n*2*c*hw)
	mustConvLen("GateGrad", "da", da, n*2*c*hw)
	mustConvLen("GateGrad", "dy", dy, n*c*hw)
	parallel.Chunks(n*c, max(1, gateGrain/max(hw, 1)), 0, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			i, ch := nc/c, nc%c
			o1, o2 := (i*2*c+ch)*hw, (i*2*c+c+ch)*hw
			a1, a2 := a[o1:o1+hw], a[o2:o2+hw]
			d1, d2 := da[o1:o1+hw], da[o2:o2+hw]
			g := dy[nc*hw : (nc+1)*hw]
			done := 0
			if v := hw &^ 7; v > 0 && vecActivations() {
				gateGradAVX2(&d1[0], &d2[0], &a1[0], &a2[0], &g[0], v)
				done = v
			}
			for p := done; p < hw; p++ {
				t, s := Tanh(a1[p]), Sigmoid(a2[p])
				d1[p] = g[p] * (1 - t*t) * s
				d2[p] = g[p] * t * s * (1 - s)
			}
		}
	})
}

// xentTile is how many positions SoftmaxXent treats together.
const xentTile = 64

// SoftmaxXent is the softmax cross-entropy of logits [N,K,HW] (class k of position p of image i at
// (i·K+k)·HW+p) against targets [N,HW] (each in [0,K)). It writes the softmax probabilities into probs
// (same layout as logits; nil to skip) and returns the summed negative log-likelihood in nats over all
// N·HW positions and how many positions have their target as the (first) largest logit:
//
//	nll = Σ_{i,p} ( log Σ_k exp(z[i,k,p]) − z[i,t[i,p],p] ).
//
// Positions are summed in a fixed order of fixed-size parts, so the result does not depend on the thread
// setting.
func SoftmaxXent(probs, logits []float32, targets []int32, n, k, hw int) (nll float64, correct int) {
	mustConvLen("SoftmaxXent", "logits", logits, n*k*hw)
	if probs != nil {
		mustConvLen("SoftmaxXent", "probs", probs, n*k*hw)
	}
	if len(targets) < n*hw {
		panic("kernels.SoftmaxXent: targets shorter than N·HW")
	}
	const parts = 64
	// Positions are taken in tiles of up to xentTile consecutive ones of one image, so that every pass reads
	// and writes contiguous runs of a logit plane (a position's K logits lie HW apart); within a tile each
	// position's sums run over k in order, as one position at a time would.
	var hits atomic.Int64
	sums := parallel.Sums(n*hw, parts, func(lo, hi int) float64 {
		var s float64
		e := make([]float32, k*xentTile)
		var best, z [xentTile]float32
		var arg [xentTile]int
		right := 0
		for q0 := lo; q0 < hi; {
			i, p0 := q0/hw, q0%hw
			m := min(xentTile, hi-q0, hw-p0)
			base := i*k*hw + p0
			for t := range m {
				best[t], arg[t], z[t] = float32(math.Inf(-1)), 0, 0
			}
			for c := range k {
				row := logits[base+c*hw : base+c*hw+m]
				for t, v := range row {
					if v > best[t] {
						best[t], arg[t] = v, c
					}
				}
			}
			for c := range k {
				row := logits[base+c*hw : base+c*hw+m]
				ec := e[c*m : (c+1)*m]
				for t, v := range row {
					ec[t] = v - best[t]
				}
				ExpSlice(ec, ec)
				for t, v := range ec {
					z[t] += v
				}
			}
			for t := range m {
				tg := int(targets[q0+t])
				if tg < 0 || tg >= k {
					panic("kernels.SoftmaxXent: target out of range")
				}
				s += math.Log(float64(z[t])) + float64(best[t]) - float64(logits[base+tg*hw+t])
				if arg[t] == tg {
					right++
				}
			}
			if probs != nil {
				var inv [xentTile]float32
				for t := range m {
					inv[t] = 1 / z[t]
				}
				for c := range k {
					dst := probs[base+c*hw : base+c*hw+m]
					for t, v := range e[c*m : (c+1)*m] {
						dst[t] = v * inv[t]
					}
				}
			}
			q0 += m
		}
		hits.Add(int64(right))
		return s
	})
	for _, v := range sums {
		nll += v
	}
	return nll, int(hits.Load())
}

// ShiftRows writes into dst the rows rows of width w of src, each moved s places to the right (left for
// negative s) with zeros filled in: dst[r·w+j] = src[r·w+j−s] where 0 ≤ j−s < w, else 0.
func ShiftRows(dst, src []float32, rows, w, s int) {
	for r := range rows {
		d, x := dst[r*w:(r+1)*w], src[r*w:(r+1)*w]
		switch {
		case s >= w || -s >= w:
			clear(d)
		case s >= 0:
			clear(d[:s])
			copy(d[s:], x[:w-s])
		default:
			copy(d[:w+s], x[-s:])
			clear(d[w+s:])
		}
	}
}
