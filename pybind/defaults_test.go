package pybind

import (
	"encoding/json"
	"testing"

	"github.com/brainvq/brainvq/core/train"
)

// TestTrainDefaults checks that the JSON Python reads carries core/train's defaults under snake_case keys.
func TestTrainDefaults(t *testing.T) {
	js, err := TrainDefaults()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		train.Defaults
		Presets map[string]map[string]any `json:"presets"`
		Limits  map[string]train.Range    `json:"limits"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("%v in %s", err, js)
	}
	if got.Defaults != train.DefaultSettings() {
		t.Errorf("defaults %+v, want %+v", got.Defaults, train.DefaultSettings())
	}
	var flat map[string]any
	json.Unmarshal([]byte(js), &flat)
	for _, key := range []string{"preset", "image_size", "epochs", "batch_size", "learning_rate", "seed",
		"steps_per_epoch", "ema", "dead_code_min", "threads"} {
		if _, ok := flat[key]; !ok {
			t.Errorf("key %q missing from %s", key, js)
		}
	}
	if flat["ema"] != true || flat["learning_rate"] != train.DefaultOptions().LearningRate {
		t.Errorf("ema %v learning_rate %v", flat["ema"], flat["learning_rate"])
	}
	for _, p := range []string{"residual", "seed"} {
		c, ok := got.Presets[p]
		if !ok || c["ema"] != true || c["dead_code_min"] != 1.0 || c["num_codes"] == nil {
			t.Errorf("preset %s: %v", p, c)
		}
	}
	if r := got.Limits["batch_size"]; r != train.Limits["batch_size"] || got.Limits["learning_rate"] != train.Limits["learning_rate"] {
		t.Errorf("limits %+v, want %+v", got.Limits, train.Limits)
	}
	// NewTrainerFor with no JSON uses the same defaults.
	h, err := NewTrainerFor("", "", "", 16, 0.2, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(h)
	info, err := TrainerInfo(h)
	if err != nil {
		t.Fatal(err)
	}
	var ti struct {
		Config  map[string]any `json:"config"`
		Options train.Options  `json:"options"`
	}
	json.Unmarshal([]byte(info), &ti)
	if ti.Options != train.DefaultOptions() || ti.Config["ema"] != true || ti.Config["preset"] != got.Preset {
		t.Errorf("a trainer with no settings has options %+v, config %v; want the defaults", ti.Options, ti.Config)
	}
}
