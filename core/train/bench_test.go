package train

import (
	"testing"

	"github.com/brainvq/brainvq/core/model"
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
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
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
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
