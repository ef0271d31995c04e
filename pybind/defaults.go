package pybind

import (
	"fmt"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/train"
)

// trainDefaults is what TrainDefaults returns, as JSON: train.Defaults' keys at the top level, then the model
// configuration every preset starts from and the ranges of the training settings.
type trainDefaults struct {
	train.Defaults
	Presets map[string]model.Config `json:"presets"` // train.DefaultConfig(preset, image_size) by preset name
	Limits  map[string]train.Range  `json:"limits"`  // train.Limits
}

// TrainDefaults returns the training defaults of core/train (the table `brainvq train`'s flags and NewTrainer
// read) as a JSON object:
//
//	preset, image_size, epochs, batch_size, learning_rate, seed, steps_per_epoch, ema, dead_code_min, threads
//	presets: {name: model config (hidden, res_hidden, num_res, num_codes, code_dim, beta, ema, ema_decay,
//	          ema_epsilon, dead_code_min, preset, image_size) at the default image_size}
//	limits:  {setting: {min, min_exclusive?, max?, max_exclusive?}} for epochs, batch_size, learning_rate,
//	          steps_per_epoch, dead_code_min, threads (no max: unbounded above)
func TrainDefaults() (js string, err error) {
	defer guard("TrainDefaults", &err)
	d := train.DefaultSettings()
	out := trainDefaults{Defaults: d, Presets: map[string]model.Config{}, Limits: train.Limits}
	for _, p := range model.Presets() {
		cfg, err := train.DefaultConfig(p, d.ImageSize)
		if err != nil {
			return "", fmt.Errorf("training defaults for preset %s: %w", p, err)
		}
		out.Presets[p] = cfg
	}
	return marshal(out)
}
