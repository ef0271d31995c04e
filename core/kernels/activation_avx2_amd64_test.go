package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// activationInputs spans Expf's whole domain: random values on [−100, 100] and [−3, 3], the edges of the
// finite range and their neighbours, zeros, infinities and NaN; n is not a multiple of 8 so the Go tail runs.
func activationInputs(n int) []float32 {
	rng := rand.New(rand.NewPCG(8, 8))
	x := make([]float32, n)
	for i := range x {
		if i%2 == 0 {
			x[i] = rng.Float32()*200 - 100
		} else {
			x[i] = rng.Float32()*6 - 3
		}
	}
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		expMaxX, expMinX, 88.37626, 88.37627, -87.33654, -87.33655, 44, -44, 1e-30, -1e-30, math.MaxFloat32, -math.MaxFloat32}
	for _, v := range special {
		for _, s := range []float32{v, math.Nextafter32(v, 0), math.Nextafter32(v, float32(math.Inf(1)))} {
			x = append(x, s)
		}
	}
	return x
}

func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestActivationsAVX2MatchGo checks the AVX2 loops against the Go functions bit for bit: ExpSlice against
// Expf, Gate against Tanh·Sigmoid, GateGrad against its formula.
func TestActivationsAVX2MatchGo(t *testing.T) {
	needAVX2(t)
	setISA(isaAVX2)
	x := activationInputs(4099)
	n := len(x)
	got := make([]float32, n)
	ExpSlice(got, x)
	for i, v := range x {
		if want := Expf(v); !sameBits(got[i], want) {
			t.Fatalf("ExpSlice(%g) = %g (%#x), Expf = %g (%#x)", v, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
		}
	}
	// Gate and GateGrad over one image of 2 channels: a₁ = x, a₂ = x reversed, dy random.
	a := make([]float32, 2*n)
	copy(a, x)
	for i := range x {
		a[n+i] = x[n-1-i]
	}
	dy := make([]float32, n)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range dy {
		dy[i] = rng.Float32()*4 - 2
	}
	y := make([]float32, n)
	Gate(y, a, 1, 1, n)
	da := make([]float32, 2*n)
	GateGrad(da, a, dy, 1, 1, n)
	for p := range n {
		tt, s := Tanh(a[p]), Sigmoid(a[n+p])
		if want := tt * s; !sameBits(y[p], want) {
			t.Fatalf("Gate at %d (a₁ %g, a₂ %g) = %g, Go %g", p, a[p], a[n+p], y[p], want)
		}
		g := dy[p]
		if w1, w2 := g*(1-tt*tt)*s, g*tt*s*(1-s); !sameBits(da[p], w1) || !sameBits(da[n+p], w2) {
			t.Fatalf("GateGrad at %d (a₁ %g, a₂ %g, dy %g) = %g, %g; Go %g, %g", p, a[p], a[n+p], g, da[p], da[n+p], w1, w2)
		}
	}
}
