package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// winogradISAs are the paths whose Winograd transforms have assembly on this CPU.
func winogradISAs() []isaKind {
	var out []isaKind
	if hasAVX512 {
		out = append(out, isaAVX512)
	}
	if hasAVX2 {
		out = append(out, isaAVX2)
	}
	return out
}

// TestWinogradTransformsMatchReference checks the assembly transforms against their Go definitions
// (winoInputRef, winoOutputRef, winoGradRef and the F(2×2, 2×2) pair), which follow the same order of operations, so the results must be
// identical: several channels, one to three vector groups, every flag combination, strides with slack.
func TestWinogradTransformsMatchReference(t *testing.T) {
	saved := currentISA()
	t.Cleanup(func() { setISA(saved) })
	isas := winogradISAs()
	if len(isas) == 0 {
		t.Skip("no Winograd assembly on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, is := range isas {
		setISA(is)
		for _, tiles := range []int{16, 32, 48} {
			for _, a := range []*winoAlg{f23, f22} {
				if a.vector(tiles) == 0 {
					t.Fatalf("%v: %d-position transforms of %d tiles do not take the assembly", is, a.positions, tiles)
				}
			}
			nc := 3
			pstep := 2*tiles + 2 + 5
			cstepP := 4*pstep + 3
			p := randSlice(rng, (nc-1)*cstepP+3*pstep+2*tiles+2)
			cstepV := tiles + 7
			vstep := nc*cstepV + 1
			v, vref := filled(16*vstep, 9), filled(16*vstep, 9)
			f23.input(v, vstep, p, pstep, cstepP, cstepV, nc, tiles)
			winoInputRef(vref, vstep, p, pstep, cstepP, cstepV, nc, tiles)
			same(t, fmt.Sprintf("%v input transform, %d tiles", is, tiles), v, vref)

			mstep, cstepM := nc*cstepV+3, cstepV
			m := randSlice(rng, 16*mstep)
			bias := randSlice(rng, nc)
			ystep := 2*tiles + 5
			cstepY := 2*ystep + 1
			y0 := randSlice(rng, nc*cstepY)
			dstep := 2*tiles + 3
			cstepD := 2*dstep + 5
			dy := randSlice(rng, nc*cstepD)
			g, gref := filled(16*mstep, 9), filled(16*mstep, 9)
			f23.grad(g, mstep, dy, dstep, cstepD, cstepM, nc, tiles)
			winoGradRef(gref, mstep, dy, dstep, cstepD, cstepM, nc, tiles)
			same(t, fmt.Sprintf("%v output-gradient transform, %d tiles", is, tiles), g, gref)

			for flags := range 4 {
				y, yref := append([]float32(nil), y0...), append([]float32(nil), y0...)
				f23.output(y, ystep, cstepY, m, mstep, cstepM, bias, nc, tiles, flags)
				winoOutputRef(yref, ystep, cstepY, m, mstep, cstepM, bias, nc, tiles, flags)
				same(t, fmt.Sprintf("%v output transform, %d tiles, flags %d", is, tiles, flags), y, yref)
			}

			// F(2×2, 2×2): 3×3 tiles, 9 positions.
			g, gref = filled(9*mstep, 9), filled(9*mstep, 9)
			f22.grad(g, mstep, dy, dstep, cstepD, cstepM, nc, tiles)
			wino22GradRef(gref, mstep, dy, dstep, cstepD, cstepM, nc, tiles)
			same(t, fmt.Sprintf("%v F(2,2) output-gradient transform, %d tiles", is, tiles), g, gref)
			v, vref = filled(9*vstep, 9), filled(9*vstep, 9)
			f22.input(v, vstep, p, pstep, cstepP, cstepV, nc, tiles)
			wino22InputRef(vref, vstep, p, pstep, cstepP, cstepV, nc, tiles)
			same(t, fmt.Sprintf("%v F(2,2) input transform, %d tiles", is, tiles), v, vref)
			for flags := range 4 {
				y, yref := append([]float32(nil), y0...), append([]float32(nil), y0...)
				f22.output(y, ystep, cstepY, m, mstep, cstepM, bias, nc, tiles, flags)
				wino22OutputRef(yref, ystep, cstepY, m, mstep, cstepM, bias, nc, tiles, flags)
				same(t, fmt.Sprintf("%v F(2,2) output transform, %d tiles, flags %d", is, tiles, flags), y, yref)
			}
		}
	}
}

// same fails unless got and want hold equal values (zeros of either sign equal).
func same(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			t.Fatalf("%s: element %d is %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestWinogradIsConvolution checks the whole Winograd path, weights transform included, against the
// naive convolution on one shape per path and the Go reference transforms (the generic path's stand-in),
// so that the algebra is tested even on a CPU without the assembly.
func TestWinogradIsConvolution(t *testing.T) {
	saved := currentISA()
	oldMin := winogradMinC
	t.Cleanup(func() { setISA(saved); winogradMinC = oldMin })
	winogradMinC = 0
	rng := rand.New(rand.NewPCG(5, 6))
	s := ConvShape{N: 2, C: 7, H: 4, W: 32, K: 5, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x := randSlice(rng, s.N*s.C*s.H*s.W)
	w := randSlice(rng, s.K*s.C*9)
	b := randSlice(rng, s.K)
	ref := naiveConv2D(s, x, w, b)
	for _, is := range winogradISAs() {
		setISA(is)
		if !s.geom().winograd() {
			t.Fatalf("%v: %+v should take the Winograd path", is, s)
		}
		y := filled(len(ref), 7)
		Conv2D(s, x, w, b, y)
		assertClose(t, fmt.Sprintf("%v Winograd %+v", is, s), y, ref, 1e-5)
	}
	// The transforms' algebra alone, in Go: one tile row of one image, through the reference forms and a
	// plain product per position.
	g := s.geom()
	u := make([]float32, 16*g.K*g.C)
	winogradWeights(u, w, g.K, g.C, 0, g.K)
	tiles, padW := g.OW/2, g.OW+2
	pad := make([]float32, g.C*4*padW)
	for c := range g.C {
		for r := range 4 {
			iy := r - 1 // tile row 0 reads input rows −1 … 2
			if iy < 0 || iy >= g.H {
				continue
			}
			copy(pad[(c*4+r)*padW+1:], x[(c*g.H+iy)*g.W:(c*g.H+iy+1)*g.W])
		}
	}
	v := make([]float32, 16*g.C*tiles)
	winoInputRef(v, g.C*tiles, pad, padW, 4*padW, tiles, g.C, tiles)
	m := make([]float32, 16*g.K*tiles)
	for xi := range 16 {
		for k := range g.K {
			for tt := range tiles {
				var acc float32
				for c := range g.C {
					acc += u[(xi*g.K+k)*g.C+c] * v[(xi*g.C+c)*tiles+tt]
				}
				m[(xi*g.K+k)*tiles+tt] = acc
			}
		}
	}
	y := make([]float32, g.K*2*g.OW)
	winoOutputRef(y, g.OW, 2*g.OW, m, g.K*tiles, tiles, b, g.K, tiles, 0)
	want := make([]float64, 0, len(y))
	for k := range g.K {
		want = append(want, ref[k*g.OH*g.OW:k*g.OH*g.OW+2*g.OW]...)
	}
	assertClose(t, "reference transforms", y, want, 1e-5)
}
