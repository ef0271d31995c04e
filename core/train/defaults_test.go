package train

import (
	"math"
	"testing"
)

func TestDefaultsAgree(t *testing.T) {
	d := DefaultSettings()
	opt := DefaultOptions()
	if opt.BatchSize != d.BatchSize || opt.LearningRate != d.LearningRate || opt.Seed != d.Seed || opt.StepsPerEpoch != d.StepsPerEpoch {
		t.Errorf("DefaultOptions %+v disagrees with DefaultSettings %+v", opt, d)
	}
	if err := opt.Validate(); err != nil {
		t.Errorf("default options fail validation: %v", err)
	}
	cfg, err := DefaultConfig(d.Preset, d.ImageSize)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.EMA || cfg.DeadCodeMin != d.DeadCodeMin || cfg.ImageSize != d.ImageSize || cfg.Preset != d.Preset {
		t.Errorf("DefaultConfig %+v disagrees with DefaultSettings %+v (the documented default is the EMA codebook)", cfg, d)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("default config fails validation: %v", err)
	}
	for key, v := range map[string]float64{"epochs": float64(d.Epochs), "batch_size": float64(d.BatchSize),
		"learning_rate": d.LearningRate, "steps_per_epoch": float64(d.StepsPerEpoch),
		"dead_code_min": float64(d.DeadCodeMin), "threads": float64(d.Threads)} {
		if err := CheckLimit(key, key, v); err != nil {
			t.Errorf("default outside its limits: %v", err)
		}
	}
}

func TestRange(t *testing.T) {
	for _, tc := range []struct {
		r    Range
		desc string
		in   []float64
		out  []float64
	}{
		{Range{Min: 1}, "≥ 1", []float64{1, 2, 1e9}, []float64{0.999, 0, -1, math.NaN(), math.Inf(1)}},
		{Range{Min: 0, MinOpen: true}, "positive", []float64{1e-12, 3}, []float64{0, -1e-12, math.NaN(), math.Inf(1)}},
		{Range{Min: 0, MinOpen: true, Max: 1, MaxOpen: true}, "in (0, 1)", []float64{0.5, 0.999}, []float64{0, 1, 2}},
		{Range{Min: 2, Max: 4}, "in [2, 4]", []float64{2, 3, 4}, []float64{1.9, 4.1}},
	} {
		if got := tc.r.String(); got != tc.desc {
			t.Errorf("%+v describes itself as %q, want %q", tc.r, got, tc.desc)
		}
		for _, v := range tc.in {
			if !tc.r.Contains(v) {
				t.Errorf("%s does not contain %g", tc.desc, v)
			}
		}
		for _, v := range tc.out {
			if tc.r.Contains(v) {
				t.Errorf("%s contains %g", tc.desc, v)
			}
		}
	}
	if err := CheckLimit("nonsense", "x", 1); err == nil {
		t.Error("CheckLimit of an unknown key: no error")
	}
}
