package pybind

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/train"
)

// Training runs in chunks: Python calls TrainerSteps for a few optimiser steps at a time and TrainerEndEpoch
// when an epoch's steps are done, so that between two calls it can draw progress bars and react to Ctrl-C.
// Go never calls back into Python.

// trainerObj is a trainer in the handle registry. mu serialises every call on it, so two Python threads
// cannot step the same trainer at once. running and step describe the epoch in progress (train.Trainer
// keeps them unexported).
type trainerObj struct {
	mu      sync.Mutex
	tr      *train.Trainer
	running bool // an epoch has taken at least one step and has not been ended
	last    train.Progress
}

func getTrainer(h int64) (*trainerObj, error) { return getAs[*trainerObj](h, "trainer") }

// reservedConfigKeys are model.Config fields that NewTrainer's arguments set, not its config JSON.
var reservedConfigKeys = []string{"preset", "image_size"}

// NewTrainer starts training a fresh model of the given preset on the training dataset trainSet (a dataset
// handle): the image size is the dataset's, and the preprocessing constants (μ, σ²) are its pixel mean and
// variance. configJSON overrides model.Config fields (hidden, res_hidden, num_res, num_codes, code_dim, beta,
// ema, ema_decay, ema_epsilon, dead_code_min) of the preset; the defaults are the preset's with ema true and
// dead_code_min 1, as `brainvq train` uses. optionsJSON overrides train.Options (batch_size, learning_rate,
// seed, steps_per_epoch; defaults 16, 2e-4, 1, 0). Unknown keys are errors. It returns a trainer handle.
func NewTrainer(preset, configJSON, optionsJSON string, trainSet int64) (h int64, err error) {
	defer guard("NewTrainer", &err)
	s, err := getAs[*data.Split](trainSet, "dataset")
	if err != nil {
		return 0, err
	}
	if s.H != s.W {
		return 0, fmt.Errorf("brainvq: training images are %d×%d; the model takes square images", s.H, s.W)
	}
	cfg, err := model.NewConfig(preset, s.H)
	if err != nil {
		return 0, err
	}
	cfg.EMA, cfg.DeadCodeMin = true, 1
	if configJSON != "" {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(configJSON), &keys); err != nil {
			return 0, fmt.Errorf("brainvq: model config: %w", err)
		}
		for _, k := range reservedConfigKeys {
			if _, ok := keys[k]; ok {
				return 0, fmt.Errorf("brainvq: model config: %q is set by the trainer (preset argument, dataset image size)", k)
			}
		}
	}
	if err := decodeStrict(configJSON, &cfg, "model config"); err != nil {
		return 0, err
	}
	opt := train.DefaultOptions()
	if err := decodeStrict(optionsJSON, &opt, "training options"); err != nil {
		return 0, err
	}
	mean, variance := data.Stats(s)
	if !(variance > 0) {
		return 0, fmt.Errorf("brainvq: training dataset %s has pixel variance %g; it needs images that are not all one grey", s.Name, variance)
	}
	tr, err := train.New(cfg, model.Preprocess{Mean: mean, Variance: variance}, opt)
	if err != nil {
		return 0, err
	}
	return handles.put(&trainerObj{tr: tr}), nil
}

// ResumeTrainer rebuilds a trainer from a checkpoint written by TrainerSave (or `brainvq train`), at the epoch
// boundary it was saved at, and returns its handle.
func ResumeTrainer(path string) (h int64, err error) {
	defer guard("ResumeTrainer", &err)
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return 0, err
	}
	tr, err := train.Resume(ck)
	if err != nil {
		return 0, fmt.Errorf("resume from %s: %w", path, err)
	}
	return handles.put(&trainerObj{tr: tr}), nil
}

// trainerState is what TrainerSteps and TrainerState return, as JSON.
type trainerState struct {
	Ran             int       `json:"ran"`        // steps this call ran (TrainerSteps only)
	Epochs          int       `json:"epochs"`     // completed epochs
	Running         bool      `json:"running"`    // an epoch is in progress (it took steps, not ended)
	EpochDone       bool      `json:"epoch_done"` // the epoch in progress has taken all its steps
	Epoch           int       `json:"epoch"`      // 1-based number of the epoch in progress (or next)
	Step            int       `json:"step"`       // steps done in it
	Steps           int       `json:"steps"`      // steps it takes in all
	Recon           jsonFloat `json:"recon_loss"` // running mean over the epoch so far
	VQ              jsonFloat `json:"vq_loss"`    // running mean over the epoch so far
	Perplexity      jsonFloat `json:"perplexity"` // of the last batch
	ImagesPerSecond jsonFloat `json:"images_per_second"`
	Elapsed         float64   `json:"elapsed_seconds"` // since the epoch started
}

func (t *trainerObj) state(ran, n int) trainerState {
	st := trainerState{Ran: ran, Epochs: t.tr.Epochs(), Running: t.running, Epoch: t.tr.Epochs() + 1,
		Steps: t.tr.StepsPerEpoch(n)}
	if t.running {
		p := t.last
		st.EpochDone = t.tr.EpochDone(n)
		st.Step, st.Steps = p.Step, p.Steps
		st.Recon, st.VQ, st.Perplexity = jsonFloat(p.Recon), jsonFloat(p.VQ), jsonFloat(p.Perplexity)
		st.ImagesPerSecond, st.Elapsed = jsonFloat(p.ImagesPerSecond), p.Elapsed.Seconds()
	}
	return st
}

// TrainerSteps runs up to n optimiser steps of the current epoch on the training dataset trainSet (starting
// an epoch when none is running) and returns the trainer's state afterwards as JSON: ran (steps run; fewer
// than n when the epoch's steps are done), epochs, running, epoch_done, epoch, step, steps, recon_loss,
// vq_loss (running means over the epoch), perplexity (last batch), images_per_second, elapsed_seconds.
// A loss that becomes NaN or infinite is an error; the steps before it stay applied.
func TrainerSteps(h, trainSet int64, n int) (js string, err error) {
	defer guard("TrainerSteps", &err)
	t, err := getTrainer(h)
	if err != nil {
		return "", err
	}
	s, err := getAs[*data.Split](trainSet, "dataset")
	if err != nil {
		return "", err
	}
	if n < 1 {
		return "", fmt.Errorf("brainvq: steps per call %d must be at least 1", n)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ran, err := t.tr.Steps(s, n, func(p train.Progress) { t.last = p })
	if ran > 0 {
		t.running = true
	}
	if err != nil {
		return "", err
	}
	return marshal(t.state(ran, s.N))
}

// TrainerState returns the trainer's state as TrainerSteps does (ran 0), for a training dataset of the
// same size as trainSet.
func TrainerState(h, trainSet int64) (js string, err error) {
	defer guard("TrainerState", &err)
	t, err := getTrainer(h)
	if err != nil {
		return "", err
	}
	s, err := getAs[*data.Split](trainSet, "dataset")
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return marshal(t.state(0, s.N))
}

// TrainerEndEpoch closes the epoch in progress, whether or not it has taken all its steps: it validates on
// the dataset valSet (0: no validation; the val_* values are then 0) and appends the epoch's statistics to
// the history. It returns them as JSON with train.EpochStats' keys. It is an error when no epoch is running.
func TrainerEndEpoch(h, valSet int64) (js string, err error) {
	defer guard("TrainerEndEpoch", &err)
	t, err := getTrainer(h)
	if err != nil {
		return "", err
	}
	var val *data.Split
	if valSet != 0 {
		if val, err = getAs[*data.Split](valSet, "dataset"); err != nil {
			return "", err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.running {
		return "", fmt.Errorf("brainvq: no epoch is running (run steps first)")
	}
	st, err := t.tr.EndEpoch(val)
	if err != nil {
		return "", err
	}
	t.running = false
	t.last = train.Progress{}
	return marshal(jsonObject(st))
}

// TrainerHistory returns one JSON object per completed epoch (train.EpochStats' keys), as a JSON list.
func TrainerHistory(h int64) (js string, err error) {
	defer guard("TrainerHistory", &err)
	t, err := getTrainer(h)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rows := make([]map[string]any, len(t.tr.History))
	for i, st := range t.tr.History {
		rows[i] = jsonObject(st)
	}
	return marshal(rows)
}

// trainerInfo is what TrainerInfo returns, as JSON.
type trainerInfo struct {
	Config     model.Config     `json:"config"`
	Preprocess model.Preprocess `json:"preprocess"`
	Options    train.Options    `json:"options"`
	Epochs     int              `json:"epochs"`
}

// TrainerInfo returns the model configuration, preprocessing constants, training options and completed
// epochs as JSON.
func TrainerInfo(h int64) (js string, err error) {
	defer guard("TrainerInfo", &err)
	t, err := getTrainer(h)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.tr.Model
	return marshal(trainerInfo{Config: m.Config, Preprocess: m.Pre, Options: t.tr.Options, Epochs: t.tr.Epochs()})
}

// TrainerModel returns a handle to a snapshot of the model being trained: a copy of its current weights
// (mid-epoch ones too) that later training does not change. Its checkpoint carries no training state.
func TrainerModel(h int64) (mh int64, err error) {
	defer guard("TrainerModel", &err)
	t, err := getTrainer(h)
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.tr.Model
	steps := 0
	for _, e := range t.tr.History {
		steps += e.Steps
	}
	if t.running {
		steps += t.last.Step
	}
	ck := &model.Checkpoint{Model: &model.Model{Config: m.Config, Weights: m.Weights.Clone(), Pre: m.Pre},
		Epoch: t.tr.Epochs(), Step: steps, TestSSIM: math.NaN(), State: map[string]*model.Tensor{}}
	return handles.put(&modelObj{ck: ck}), nil
}

// TrainerSave writes a checkpoint that ResumeTrainer continues exactly (model, optimiser and codebook
// state, RNG, history) to path, atomically. It is an error in the middle of an epoch. The bool result is
// always true on success.
func TrainerSave(h int64, path string) (ok bool, err error) {
	defer guard("TrainerSave", &err)
	t, err := getTrainer(h)
	if err != nil {
		return false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running {
		return false, fmt.Errorf("brainvq: cannot save in the middle of epoch %d (step %d of %d): finish or end the epoch first",
			t.tr.Epochs()+1, t.last.Step, t.last.Steps)
	}
	ck, err := t.tr.Checkpoint()
	if err != nil {
		return false, err
	}
	if err := ck.Save(path); err != nil {
		return false, err
	}
	return true, nil
}
