package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/brainvq/brainvq/core/metrics"
)

// TestSSIMLoss checks the structural loss against metrics.SSIM of the clipped reconstructions, and its
// gradient against finite differences, with some outputs clipped at black and white (no gradient there).
func TestSSIMLoss(t *testing.T) {
	const mean, weight, s = 0.2, 2.5, 13
	rng := rand.New(rand.NewPCG(7, 8))
	g := G.NewGraph()
	u, ud := randTensor(g, rng, "u", 0.2, 2, 1, s, s)
	v, vd := randTensor(g, rng, "v", 0.2, 2, 1, s, s)
	clipped := 0
	for i := range ud {
		ud[i] = min(1, max(0, ud[i]+0.3)) - mean
		vd[i] = ud[i] + 0.15*(rng.Float32()-0.5)
		if i%17 == 0 { // a few outputs well past black or white
			vd[i] = -mean - 0.3
			if i%34 == 0 {
				vd[i] = 1.4 - mean
			}
			clipped++
		}
	}
	cost, err := SSIMLoss(v, u, mean, weight)
	if err != nil {
		t.Fatal(err)
	}
	vm, gr := gradsOf(t, g, cost, v)
	var want float64
	for b := 0; b < 2; b++ {
		x, y := make([]float32, s*s), make([]float32, s*s)
		for j := range x {
			x[j] = ud[b*s*s+j] + mean
			y[j] = min(1, max(0, vd[b*s*s+j]+mean))
		}
		want += metrics.SSIM(x, y, s, s) / 2
	}
	want = weight * (1 - want)
	if got := float64(cost.Value().Data().(float32)); math.Abs(got-want) > 1e-5 {
		t.Errorf("SSIM loss %v, want %v", got, want)
	}
	for i := range vd {
		if i%17 == 0 && gr[0][i] != 0 {
			t.Errorf("clipped output %d has gradient %g", i, gr[0][i])
		}
	}
	fdCheck(t, "dv", vm, cost, gr[0], vd, rng)
	if _, err := SSIMLoss(v, u, mean, 1); err != nil {
		t.Error(err)
	}
	small, _ := randTensor(g, rng, "small", 1, 1, 1, 8, 8)
	if _, err := SSIMLoss(small, small, 0, 1); err == nil {
		t.Error("8×8 images accepted (SSIM needs 11×11)")
	}
}
