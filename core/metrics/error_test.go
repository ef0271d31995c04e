package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMSEAndPSNRMatchScikitImage(t *testing.T) {
	idx := loadFixtures(t)
	infs := 0
	for _, p := range idx.Pairs {
		mse := MSE(p.a, p.b)
		if math.Abs(mse-p.MSE) > 1e-12*math.Max(1, p.MSE) {
			t.Errorf("%s: MSE %.15g, scikit-image %.15g", p.Name, mse, p.MSE)
		}
		want := p.psnr(t)
		got := PSNR(p.a, p.b, 1)
		switch {
		case math.IsInf(want, 1):
			infs++
			if !math.IsInf(got, 1) {
				t.Errorf("%s: PSNR %g, want +Inf", p.Name, got)
			}
		case math.Abs(got-want) > 1e-9:
			t.Errorf("%s: PSNR %.12f, scikit-image %.12f", p.Name, got, want)
		}
	}
	if infs == 0 {
		t.Error("no fixture with identical images")
	}
}

func TestBatchErrorsMatchSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const n, size = 5, 300
	a := randomImage(rng, n*size)
	b := noisy(rng, a, 0.1)
	copy(b[2*size:3*size], a[2*size:3*size]) // image 2 is reconstructed exactly
	mses := MSEBatch(a, b, n)
	psnrs := PSNRBatch(a, b, n, 1)
	for i := range n {
		x, y := a[i*size:(i+1)*size], b[i*size:(i+1)*size]
		if mses[i] != MSE(x, y) {
			t.Errorf("image %d: MSEBatch %g, MSE %g", i, mses[i], MSE(x, y))
		}
		if psnrs[i] != PSNR(x, y, 1) {
			t.Errorf("image %d: PSNRBatch %g, PSNR %g", i, psnrs[i], PSNR(x, y, 1))
		}
	}
	if !math.IsInf(psnrs[2], 1) {
		t.Errorf("exact image: PSNR %g, want +Inf", psnrs[2])
	}
	// A data range of 255 on images scaled by 255 gives the same PSNR.
	a255, b255 := make([]float32, size), make([]float32, size)
	for i := range size {
		a255[i], b255[i] = 255*a[i], 255*b[i]
	}
	if d := math.Abs(PSNR(a255, b255, 255) - psnrs[0]); d > 1e-5 {
		t.Errorf("PSNR at range 255 differs by %g", d)
	}
	expectPanic(t, "MSEBatch", "values", func() { MSEBatch(a[:len(a)-1], b[:len(b)-1], n) })
	expectPanic(t, "MSE", "values", func() { MSE(a, b[:10]) })
}

func TestMeanPSNR(t *testing.T) {
	v := []float64{20, 30, math.Inf(1), 40}
	if got, want := MeanPSNR(v, DefaultPSNRCap), (20+30+DefaultPSNRCap+40)/4; got != want {
		t.Errorf("MeanPSNR = %g, want %g", got, want)
	}
	if got := MeanPSNR(v, 35); got != (20+30+35+35)/4.0 {
		t.Errorf("MeanPSNR capped at 35 = %g", got)
	}
	if !math.IsNaN(MeanPSNR(nil, DefaultPSNRCap)) {
		t.Error("MeanPSNR of nothing is not NaN")
	}
	// The cap sits above the PSNR of a one-grey-level error over a whole 256×256 image.
	if p := PSNRFromMSE(1.0/255/255, 1); p >= DefaultPSNRCap {
		t.Errorf("PSNR of a 1/255 error %g is above the cap", p)
	}
}
