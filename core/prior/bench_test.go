package prior

import (
	"math/rand/v2"
	"testing"
	"time"
)

// residualPrior is the default prior over the residual preset's codes (K 512, D 64, 64×64 grid, 32 levels)
// with random weights: sampling costs the same whatever the weights.
func residualPrior(b *testing.B) *Prior {
	b.Helper()
	cfg, err := NewConfig(512, 64, 64, 32)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	cb := make([]float32, 512*64)
	for i := range cb {
		cb[i] = float32(rng.NormFloat64())
	}
	w, err := InitWeights(cfg, cb, 1)
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(cfg, w, "")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkSample16 samples 16 code grids of 64×64 with the fast sampler (the bound: 16 slices in
// at most 60 s with decoding), and reports the naive sampler's time estimated from one of its h·w full
// passes (running all 4096 would take hours) and the ratio.
func BenchmarkSample16(b *testing.B) {
	p := residualPrior(b)
	const n = 16
	g := p.Config.Grid
	classes := make([]int32, n)
	for i := range classes {
		classes[i] = int32(i * 2)
	}
	r := Request{N: n, Classes: classes, Uniforms: Uniforms(1, 0, n, g), Options: DefaultSampleOptions()}
	codes := make([]int32, n*g*g)
	start := time.Now()
	if _, err := p.Logits(codes, classes, n); err != nil { // one naive pass
		b.Fatal(err)
	}
	pass := time.Since(start)
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Sample(r); err != nil {
			b.Fatal(err)
		}
	}
	perSample := b.Elapsed().Seconds() / float64(b.N)
	naive := pass.Seconds() * float64(g*g)
	b.ReportMetric(perSample, "s/16grids")
	b.ReportMetric(naive, "naive-s/16grids")
	b.ReportMetric(naive/perSample, "speedup")
}
