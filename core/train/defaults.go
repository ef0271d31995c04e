package train

import (
	"fmt"
	"math"
	"strconv"

	"github.com/brainvq/brainvq/core/model"
)

// Defaults are the settings of a training run that nobody chose. This is their one home: `brainvq train`'s
// flags, DefaultOptions, DefaultConfig, the Python bindings' NewTrainer and (through pybind.TrainDefaults)
// the Python package all read them, and a test of the command fails if a flag's default differs.
type Defaults struct {
	Preset        string  `json:"preset"`          // model preset
	ImageSize     int     `json:"image_size"`      // side of the square images the model takes
	Epochs        int     `json:"epochs"`          // epochs of `brainvq train` (in total, counting resumed ones)
	BatchSize     int     `json:"batch_size"`      // images per optimiser step
	LearningRate  float64 `json:"learning_rate"`   // Adam's step size
	Seed          uint64  `json:"seed"`            // weights, shuffling, code restarts
	StepsPerEpoch int     `json:"steps_per_epoch"` // 0: one pass over the training split
	ReconLoss     string  `json:"recon_loss"`      // reconstruction loss: ReconClipped or ReconMSE
	Schedule      string  `json:"lr_schedule"`     // learning-rate schedule: ScheduleCosine or ScheduleConstant
	WarmupSteps   int     `json:"warmup_steps"`    // steps of linear warm-up to the learning rate
	SSIMWeight    float64 `json:"ssim_weight"`     // weight of the structural loss term 1 − SSIM (0: none)
	EMA           bool    `json:"ema"`             // the codebook learns by EMA (else by the codebook loss)
	DeadCodeMin   float32 `json:"dead_code_min"`   // restart codes used fewer times than this per batch
	Threads       int     `json:"threads"`         // CPU threads (0: all; see core/parallel)
}

// defaults is the table itself: the documented run (README "Results"): the residual preset at 256×256,
// batch 16, Adam with a 30-step warm-up to lr 1e-3 and a cosine decay over the run, the clipped
// reconstruction loss plus 1·(1 − SSIM), EMA codebook with dead-code restarts, seed 1, 10 epochs.
// docs/experiments.md has the runs that chose them.
var defaults = Defaults{
	Preset: "residual", ImageSize: 256, Epochs: 10, BatchSize: 16, LearningRate: 1e-3, Seed: 1,
	StepsPerEpoch: 0, ReconLoss: ReconClipped, Schedule: ScheduleCosine, WarmupSteps: 30, SSIMWeight: 1,
	EMA: true, DeadCodeMin: 1, Threads: 0,
}

// DefaultSettings returns the training defaults.
func DefaultSettings() Defaults { return defaults }

// DefaultOptions returns the default Options (batch size, learning rate, seed, steps per epoch, loss).
func DefaultOptions() Options {
	d := defaults
	return Options{BatchSize: d.BatchSize, LearningRate: d.LearningRate, Seed: d.Seed, StepsPerEpoch: d.StepsPerEpoch,
		ReconLoss: d.ReconLoss, Schedule: d.Schedule, WarmupSteps: d.WarmupSteps, SSIMWeight: d.SSIMWeight}
}

// DefaultConfig returns the preset's model configuration for imageSize with the training defaults applied:
// model.NewConfig describes the architecture (and β, the EMA decay and ε); whether the codebook learns by EMA
// and when dead codes restart are training choices, set here.
func DefaultConfig(preset string, imageSize int) (model.Config, error) {
	cfg, err := model.NewConfig(preset, imageSize)
	if err != nil {
		return model.Config{}, err
	}
	cfg.EMA, cfg.DeadCodeMin = defaults.EMA, defaults.DeadCodeMin
	return cfg, nil
}

// Range is the interval a numeric setting must lie in: from Min (excluded when MinOpen) up to Max (excluded
// when MaxOpen), with no upper bound when Max is 0. Every bounded setting has a Max above 0, so 0 is free to
// mean "none".
type Range struct {
	Min     float64 `json:"min"`
	MinOpen bool    `json:"min_exclusive,omitempty"`
	Max     float64 `json:"max,omitempty"`
	MaxOpen bool    `json:"max_exclusive,omitempty"`
}

// Contains reports whether v lies in r. NaN and ±Inf never do: no setting takes them.
func (r Range) Contains(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < r.Min || (r.MinOpen && v == r.Min) {
		return false
	}
	return r.Max == 0 || v < r.Max || (!r.MaxOpen && v == r.Max)
}

// String describes r as the end of a sentence: "≥ 1", "positive", "in (0, 1)".
func (r Range) String() string {
	lo := strconv.FormatFloat(r.Min, 'g', -1, 64)
	if r.Max == 0 {
		if r.MinOpen && r.Min == 0 {
			return "positive"
		}
		if r.MinOpen {
			return "> " + lo
		}
		return "≥ " + lo
	}
	open, close := "[", "]"
	if r.MinOpen {
		open = "("
	}
	if r.MaxOpen {
		close = ")"
	}
	return fmt.Sprintf("in %s%s, %s%s", open, lo, strconv.FormatFloat(r.Max, 'g', -1, 64), close)
}

// Limits are the ranges the training settings must lie in, by their snake_case names (the JSON keys of
// Defaults and Options): Options.Validate and the command's flag checks use them, and Python receives them
// with the defaults. The model's own limits (image size a multiple of 4, β ≥ 0, EMA decay in (0,1)) are
// model.Config.Validate's.
var Limits = map[string]Range{
	"epochs":          {Min: 1},
	"batch_size":      {Min: 1},
	"learning_rate":   {Min: 0, MinOpen: true},
	"steps_per_epoch": {Min: 0},
	"warmup_steps":    {Min: 0},
	"decay_steps":     {Min: 0},
	"ssim_weight":     {Min: 0},
	"dead_code_min":   {Min: 0},
	"threads":         {Min: 0},
}

// CheckLimit returns an error naming the setting (as what, e.g. "batch size" or "--batch") when v lies
// outside Limits[key].
func CheckLimit(key, what string, v float64) error {
	r, ok := Limits[key]
	if !ok {
		return fmt.Errorf("no limits known for %q", key)
	}
	if !r.Contains(v) {
		return fmt.Errorf("%s %g must be %s", what, v, r)
	}
	return nil
}
