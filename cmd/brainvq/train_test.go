package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/train"
)

// TestTrainFlagDefaults fails when a default of `brainvq train` differs from the one table of training
// defaults (train.DefaultSettings, train.DefaultOptions, train.DefaultConfig).
func TestTrainFlagDefaults(t *testing.T) {
	fs, a, err := trainFlags()
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	d := train.DefaultSettings()
	got := train.Defaults{Preset: a.preset, ImageSize: a.size, Epochs: a.epochs, BatchSize: a.batch, LearningRate: a.lr,
		Seed: a.seed, StepsPerEpoch: a.steps, ReconLoss: a.loss, Schedule: a.schedule, WarmupSteps: a.warmup, SSIMWeight: a.ssimW,
		EMA: a.ema, DeadCodeMin: float32(a.deadMin), Threads: a.threads}
	if got != d {
		t.Errorf("flag defaults %+v\ndiffer from train.DefaultSettings() %+v", got, d)
	}
	opt := a.options(960)
	if opt.Schedule == train.ScheduleCosine && opt.DecaySteps != a.epochs*(960/a.batch) {
		t.Errorf("cosine decay over %d steps, want --epochs × steps per epoch = %d", opt.DecaySteps, a.epochs*(960/a.batch))
	}
	opt.DecaySteps = 0 // the command plans it from --epochs; the trainer fills in the default epochs
	if opt != train.DefaultOptions() {
		t.Errorf("flag options %+v differ from train.DefaultOptions() %+v", opt, train.DefaultOptions())
	}
	cfg, err := a.config()
	if err != nil {
		t.Fatal(err)
	}
	want, err := train.DefaultConfig(d.Preset, d.ImageSize)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("flag model config %+v\ndiffers from train.DefaultConfig %+v", cfg, want)
	}
	if err := a.check(); err != nil {
		t.Errorf("the defaults fail the flag checks: %v", err)
	}
}

// TestTrainFlagLimits checks that the flag checks use train.Limits and name the flag.
func TestTrainFlagLimits(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--batch 0", "--batch 0 must be ≥ 1"},
		{"--lr -1", "--lr -1 must be positive"},
		{"--epochs 0", "--epochs 0 must be ≥ 1"},
		{"--threads -2", "--threads -2 must be ≥ 0"},
		{"--steps-per-epoch -1", "--steps-per-epoch -1 must be ≥ 0"},
		{"--dead-code-min -0.5", "--dead-code-min -0.5 must be ≥ 0"},
	} {
		fs, a, err := trainFlags()
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Parse(strings.Fields(tc.args)); err != nil {
			t.Fatal(err)
		}
		if err := a.check(); err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
