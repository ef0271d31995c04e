package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/prior"
)

// BenchmarkTrainStep times one optimiser step (forward, backward, Adam, codebook update) at 256×256, batch 16.
func BenchmarkTrainStep(b *testing.B) {
	for _, preset := range model.Presets() {
		b.Run(preset, func(b *testing.B) {
			const batch, size = 16, 256
			cfg, _ := model.NewConfig(preset, size)
			cfg.EMA = true
			train := blobs(batch, size, 1)
			opt := DefaultOptions()
			opt.BatchSize = batch
			tr, err := New(cfg, model.Preprocess{Mean: 0.12, Variance: 0.03}, opt)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tr.Steps(train, 1, nil); err != nil { // warm-up: first run allocates
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tr.perm = nil
				if _, err := tr.Steps(train, 1, nil); err != nil {
					b.Fatal(err)
				}
			}
			ips := float64(batch*b.N) / b.Elapsed().Seconds()
			b.ReportMetric(ips, "img/s")
			// Forward ×3 (input and weight gradients), counted as direct convolutions: where the Winograd
			// kernels run (core/kernels/winograd.go) the arithmetic done is less: 54 % of it for the residual preset.
			b.ReportMetric(ips*3*cfg.FLOPs()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkInference times encode + quantise + decode through the inference path at 256×256, batch 16.
func BenchmarkInference(b *testing.B) {
	for _, preset := range model.Presets() {
		b.Run(preset, func(b *testing.B) {
			const batch, size = 16, 256
			cfg, _ := model.NewConfig(preset, size)
			m := &model.Model{Config: cfg, Weights: model.InitWeights(cfg, 1), Pre: model.Preprocess{Mean: 0.12, Variance: 0.03}}
			x := blobs(batch, size, 2).Pixels
			m.Reconstruct(x, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Reconstruct(x, batch)
			}
			ips := float64(batch*b.N) / b.Elapsed().Seconds()
			b.ReportMetric(ips, "img/s")
			// Counted as direct convolutions (the residual preset's Winograd kernels do 54 % of it).
			b.ReportMetric(ips*cfg.FLOPs()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPriorStep times one training step of the default prior over the residual preset's codes (K 512,
// D 64, 64×64 grid, 32 levels) at batch 16, in grids per second and GFLOP/s (forward FLOPs × 3).
func BenchmarkPriorStep(b *testing.B) {
	cfg, err := prior.NewConfig(512, 64, 64, 32)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	cb := make([]float32, 512*64)
	for i := range cb {
		cb[i] = float32(rng.NormFloat64())
	}
	opt := DefaultPriorOptions()
	opt.StepsPerEpoch = 1
	tr, err := NewPriorTrainer(cfg, cb, "bench", opt)
	if err != nil {
		b.Fatal(err)
	}
	set := &prior.CodeSet{Grid: 64, Codes: make([]int32, 16*64*64), Levels: make([]int32, 16), VQ: "bench"}
	for i := range set.Codes {
		set.Codes[i] = int32(rng.IntN(512))
	}
	ctx := context.Background()
	if _, err := tr.Epoch(ctx, set, nil, nil); err != nil { // warm the memory plan
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := tr.Epoch(ctx, set, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(16/per, "grids/s")
	b.ReportMetric(3*cfg.FLOPs()*16/per/1e9, "GFLOP/s")
}
