package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/model"
)

// smallModel is a seed-preset model of 16×16 images with random weights.
func smallModel(t *testing.T) *model.Model {
	cfg, err := model.NewConfig("seed", 16)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hidden, cfg.NumCodes, cfg.CodeDim = 8, 16, 4
	return &model.Model{Config: cfg, Weights: model.InitWeights(cfg, 3), Pre: model.Preprocess{Mean: 0.3, Variance: 0.05}}
}

// noise is a split of n random s×s images (more than one evaluation chunk when n > 32).
func noise(n, s int) *data.Split {
	r := rand.New(rand.NewPCG(5, 6))
	sp := &data.Split{Name: "noise", N: n, H: s, W: s, Pixels: make([]float32, n*s*s)}
	for i := range sp.Pixels {
		sp.Pixels[i] = r.Float32()
	}
	return sp
}

// TestEvaluateMatchesReference checks every score against the metrics of Model.Reconstruct image by image,
// and the means and code statistics against sums over those.
func TestEvaluateMatchesReference(t *testing.T) {
	m, s := smallModel(t), noise(40, 16)
	seen := make([]bool, s.N)
	ev, err := Evaluate(m, s, func(first int, x, xhat []float32, n int) {
		for i := 0; i < n; i++ {
			seen[first+i] = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	xhat := m.Reconstruct(s.Pixels, s.N)
	idx := m.Quantize(m.Encode(s.Pixels, s.N), s.N)
	counts := make([]int, m.Config.NumCodes)
	for _, k := range idx {
		counts[k]++
	}
	const hw = 16 * 16
	var ssim, mse float64
	for i := 0; i < s.N; i++ {
		a, b := s.Pixels[i*hw:(i+1)*hw], xhat[i*hw:(i+1)*hw]
		want := ImageScore{File: "noise[" + strconv.Itoa(i) + "]", SSIM: metrics.SSIM(a, b, 16, 16), PSNR: metrics.PSNR(a, b, 1), MSE: metrics.MSE(a, b)}
		if got := ev.PerImage[i]; got != want {
			t.Errorf("image %d: %+v, want %+v", i, got, want)
		}
		if !seen[i] {
			t.Errorf("image %d never reached the keep callback", i)
		}
		ssim += want.SSIM
		mse += want.MSE
	}
	if math.Abs(ev.SSIM-ssim/40) > 1e-12 || math.Abs(ev.MSE-mse/40) > 1e-12 {
		t.Errorf("means SSIM %g MSE %g, want %g %g", ev.SSIM, ev.MSE, ssim/40, mse/40)
	}
	if ev.Perplexity != metrics.Perplexity(counts) || ev.CodesUsed != metrics.UsedFraction(counts) {
		t.Errorf("perplexity %g codes used %g, want %g %g", ev.Perplexity, ev.CodesUsed, metrics.Perplexity(counts), metrics.UsedFraction(counts))
	}
	// Recon is the mean squared error of the reconstructions scaled by 1/σ² (the clip aside).
	if want := mse / 40 / 0.05; math.Abs(ev.Recon-want) > 1e-6*want {
		t.Errorf("recon loss %g, want %g", ev.Recon, want)
	}
}

func TestEvaluateErrors(t *testing.T) {
	m := smallModel(t)
	if _, err := Evaluate(m, &data.Split{Name: "empty"}, nil); err == nil {
		t.Error("empty split: no error")
	}
	if _, err := Evaluate(m, noise(2, 8), nil); err == nil {
		t.Error("8×8 images for a 16×16 model: no error")
	}
}

// A model whose outputs are NaN (a diverged model held in memory) is reported, not scored as "SSIM NaN".
func TestNonFiniteOutputsAreAnError(t *testing.T) {
	m, s := smallModel(t), noise(4, 16)
	for _, w := range m.Weights {
		for i := range w.Data {
			w.Data[i] = float32(math.NaN())
		}
	}
	if _, err := Evaluate(m, s, nil); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("overflowing model: %v, want ErrNonFinite", err)
	}
}

// TestHeadPerplexity blacks out the left half of every image and checks HeadPerplexity against the histogram
// of the codes whose 4×4 pixel cell holds a pixel above 0, counted here pixel by pixel.
func TestHeadPerplexity(t *testing.T) {
	m, s := smallModel(t), noise(12, 16)
	for i := range s.Pixels {
		if i%16 < 8 || (i/16%16 == 3 && i%16 == 13) { // one more black pixel cannot make a cell black
			s.Pixels[i] = 0
		}
	}
	ev, err := Evaluate(m, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := m.Quantize(m.Encode(s.Pixels, s.N), s.N)
	l := m.Config.LatentSize()
	f := 16 / l
	head := make([]int, m.Config.NumCodes)
	cells := 0
	for p, k := range idx {
		img, cell := p/(l*l), p%(l*l)
		lit := false
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				if y/f == cell/l && x/f == cell%l && s.Pixels[img*256+y*16+x] > 0 {
					lit = true
				}
			}
		}
		if lit {
			head[k]++
			cells++
		}
	}
	if cells != s.N*l*l/2 {
		t.Fatalf("%d head cells, want half of %d", cells, s.N*l*l)
	}
	if want := metrics.Perplexity(head); ev.HeadPerplexity != want {
		t.Errorf("head perplexity %g, want %g", ev.HeadPerplexity, want)
	}
}
