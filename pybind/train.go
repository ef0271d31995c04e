package pybind

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
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

// defaultPreset is the preset of a trainer whose caller names none (Python's preset=None): the one of the
// training defaults (train.DefaultSettings), as `brainvq train` defaults to.
func defaultPreset() string { return train.DefaultSettings().Preset }

// reservedConfigKeys are model.Config fields that NewTrainer's arguments set, not its config JSON.
var reservedConfigKeys = []string{"preset", "image_size"}

// NewTrainer starts training a fresh model of the given preset ("": the default one) on the training dataset trainSet (a dataset
// handle): the image size is the dataset's, and the preprocessing constants (μ, σ²) are its pixel mean and
// variance. configJSON overrides model.Config fields (hidden, res_hidden, num_res, num_codes, code_dim, beta,
// ema, ema_decay, ema_epsilon, dead_code_min) of train.DefaultConfig (the preset's, with the training
// defaults: ema true, dead_code_min 1), as `brainvq train` uses. optionsJSON overrides train.DefaultOptions
// (batch_size, learning_rate, seed, steps_per_epoch). TrainDefaults lists every default. Unknown keys are
// errors. It returns a trainer handle.
func NewTrainer(preset, configJSON, optionsJSON string, trainSet int64) (h int64, err error) {
	defer guard("NewTrainer", &err)
	s, err := getAs[*data.Split](trainSet, "dataset")
	if err != nil {
		return 0, err
	}
	if s.H != s.W {
		return 0, badArgf("train", "training images are %d×%d; the model takes square images", s.H, s.W)
	}
	mean, variance := data.Stats(s)
	if !(variance > 0) {
		return 0, badArgf("train", "training dataset %s has pixel variance %g; it needs images that are not all one grey", s.Name, variance)
	}
	return newTrainer(preset, configJSON, optionsJSON, s.H, model.Preprocess{Mean: mean, Variance: variance})
}

// NewTrainerFor starts training a fresh model as NewTrainer does, for batches the caller will feed
// (TrainerStepBatch) instead of a dataset: imageSize is the side of the square images, mean and variance the
// preprocessing constants μ and σ² (the training images' pixel mean and variance).
func NewTrainerFor(preset, configJSON, optionsJSON string, imageSize int, mean, variance float64) (h int64, err error) {
	defer guard("NewTrainerFor", &err)
	if !(mean >= 0 && mean <= 1) {
		return 0, badArgf("preprocess", "pixel mean %g must lie in [0, 1]", mean)
	}
	if !(variance > 0 && variance <= 1) {
		return 0, badArgf("preprocess", "pixel variance %g must lie in (0, 1]", variance)
	}
	return newTrainer(preset, configJSON, optionsJSON, imageSize, model.Preprocess{Mean: float32(mean), Variance: float32(variance)})
}

// newTrainer builds the trainer of NewTrainer and NewTrainerFor and returns its handle.
func newTrainer(preset, configJSON, optionsJSON string, imageSize int, pre model.Preprocess) (int64, error) {
	if preset == "" {
		preset = defaultPreset()
	}
	if !slices.Contains(model.Presets(), preset) {
		return 0, badArgf("preset", "unknown preset %q (choose one of %s)", preset, strings.Join(model.Presets(), ", "))
	}
	cfg, err := train.DefaultConfig(preset, imageSize)
	if err != nil {
		return 0, badArg("train", err)
	}
	base := cfg
	if configJSON != "" {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(configJSON), &keys); err != nil {
			return 0, badType("config", fmt.Errorf("model config: %w", err))
		}
		for _, k := range reservedConfigKeys {
			if _, ok := keys[k]; ok {
				return 0, badType(k, fmt.Errorf("model config: %q is set by the trainer (preset argument, dataset image size)", k))
			}
		}
	}
	if err := decodeStrict(configJSON, &cfg, "model config"); err != nil {
		return 0, badType("config", err)
	}
	if err := cfg.Validate(); err != nil {
		return 0, badArg(faultyField(cfg, base, model.Config.Validate, "config"), err)
	}
	opt := train.DefaultOptions()
	if err := decodeStrict(optionsJSON, &opt, "training options"); err != nil {
		return 0, badType("options", err)
	}
	if err := opt.Validate(); err != nil {
		return 0, badArg(faultyField(opt, train.DefaultOptions(), train.Options.Validate, "options"), err)
	}
	tr, err := train.New(cfg, pre, opt)
	if err != nil {
		return 0, err
	}
	return handles.put(&trainerObj{tr: tr}), nil
}

// ResumeTrainer rebuilds a trainer from a checkpoint written by TrainerSave (or `brainvq train`), at the epoch
// boundary it was saved at, and returns its handle.
func ResumeTrainer(path string) (h int64, err error) {
	defer guard("ResumeTrainer", &err)
	if err := checkPath("path", path, false); err != nil {
		return 0, err
	}
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return 0, badFile("path", err)
	}
	tr, err := train.Resume(ck)
	if err != nil {
		return 0, badArg("path", fmt.Errorf("resume from %s: %w", path, err))
	}
	return handles.put(&trainerObj{tr: tr}), nil
}

// trainerState is what TrainerSteps, TrainerStepBatch and TrainerState return, as JSON.
type trainerState struct {
	Ran             int       `json:"ran"`        // steps this call ran (TrainerSteps, TrainerStepBatch)
	Epochs          int       `json:"epochs"`     // completed epochs
	Running         bool      `json:"running"`    // an epoch is in progress (it took steps, not ended)
	EpochDone       bool      `json:"epoch_done"` // the epoch in progress has taken all its steps
	Epoch           int       `json:"epoch"`      // 1-based number of the epoch in progress (or next)
	Step            int       `json:"step"`       // steps done in it
	Steps           int       `json:"steps"`      // steps it takes in all (0: unknown, batches fed by the caller)
	Recon           jsonFloat `json:"recon_loss"` // running mean over the epoch so far
	VQ              jsonFloat `json:"vq_loss"`    // running mean over the epoch so far
	Perplexity      jsonFloat `json:"perplexity"` // of the last batch
	ImagesPerSecond jsonFloat `json:"images_per_second"`
	Elapsed         float64   `json:"elapsed_seconds"` // since the epoch started
	LossMin         jsonFloat `json:"step_loss_min"`   // least recon+VQ loss of one step of this call (NaN: none ran)
	LossMax         jsonFloat `json:"step_loss_max"`   // greatest one (Python warns when it grows by orders of magnitude)
}

// state describes the trainer for a training dataset of n images (n < 0: batches fed by the caller, whose
// epoch has no known length unless steps_per_epoch is set).
func (t *trainerObj) state(ran, n int, losses stepLosses) trainerState {
	st := trainerState{Ran: ran, Epochs: t.tr.Epochs(), Running: t.running, Epoch: t.tr.Epochs() + 1,
		LossMin: jsonFloat(losses.min), LossMax: jsonFloat(losses.max)}
	if n >= 0 {
		st.Steps = t.tr.StepsPerEpoch(n)
	} else {
		st.Steps = t.tr.Options.StepsPerEpoch
	}
	if t.running {
		p := t.last
		st.EpochDone = n >= 0 && t.tr.EpochDone(n)
		st.Step = p.Step
		if n >= 0 {
			st.Steps = p.Steps
		}
		st.Recon, st.VQ, st.Perplexity = jsonFloat(p.Recon), jsonFloat(p.VQ), jsonFloat(p.Perplexity)
		st.ImagesPerSecond, st.Elapsed = jsonFloat(p.ImagesPerSecond), p.Elapsed.Seconds()
	}
	return st
}

// stepLosses tracks the least and greatest loss (reconstruction + VQ) of single steps, recovered from the
// epoch's running means: step k's loss is k·mean_k − (k−1)·mean_{k−1}.
type stepLosses struct {
	min, max float64
	prevSum  float64 // (k−1)·mean_{k−1} of the last step seen
}

// newStepLosses starts tracking after progress p of the running epoch (a zero p: none).
func newStepLosses(p train.Progress) stepLosses {
	return stepLosses{min: math.NaN(), max: math.NaN(), prevSum: (p.Recon + p.VQ) * float64(p.Step)}
}

// observe records the step that progress p reports.
func (l *stepLosses) observe(p train.Progress) {
	sum := (p.Recon + p.VQ) * float64(p.Step)
	if p.Step == 1 {
		l.prevSum = 0
	}
	v := sum - l.prevSum
	l.prevSum = sum
	if math.IsNaN(l.min) || v < l.min {
		l.min = v
	}
	if math.IsNaN(l.max) || v > l.max {
		l.max = v
	}
}

// TrainerSteps runs up to n optimiser steps of the current epoch on the training dataset trainSet (starting
// an epoch when none is running) and returns the trainer's state afterwards as JSON: ran (steps run; fewer
// than n when the epoch's steps are done), epochs, running, epoch_done, epoch, step, steps, recon_loss,
// vq_loss (running means over the epoch), perplexity (last batch), images_per_second, elapsed_seconds,
// step_loss_min and step_loss_max. A loss that becomes NaN or infinite is an error (FloatingPointError in
// Python); the steps before it stay applied.
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
		return "", badArgf("n", "steps per call %d must be at least 1", n)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if size := t.tr.Model.Config.ImageSize; s.H != size || s.W != size {
		return "", badArgf("train", "dataset %s holds %d×%d images; the model takes %d×%d", s.Name, s.H, s.W, size, size)
	}
	losses := newStepLosses(t.runningProgress())
	ran, err := t.tr.Steps(s, n, func(p train.Progress) { t.last = p; losses.observe(p) })
	if ran > 0 {
		t.running = true
	}
	if err != nil {
		return "", err
	}
	return marshal(t.state(ran, s.N, losses))
}

// runningProgress is the last progress of the epoch in progress (zero when none is running).
func (t *trainerObj) runningProgress() train.Progress {
	if t.running {
		return t.last
	}
	return train.Progress{}
}

// TrainerStepBatch runs one optimiser step on a batch the caller made (its own loader, augmentations):
// pixels holds n images of the model's size, [N,S,S] little-endian float32 in [0,1], with n the trainer's
// batch size. It starts an epoch when none is running; the caller ends it with TrainerEndEpoch. It returns
// the state as TrainerSteps does (steps: steps_per_epoch, 0 when unset; epoch_done false).
func TrainerStepBatch(h int64, pixels []byte, n int) (js string, err error) {
	defer guard("TrainerStepBatch", &err)
	t, err := getTrainer(h)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b, size := t.tr.Options.BatchSize, t.tr.Model.Config.ImageSize
	if n != b {
		return "", badArgf("batch", "%d images given, the trainer's batch size is %d", n, b)
	}
	px, err := float32s(pixels, n*size*size, fmt.Sprintf("batch ([%d,%d,%d])", n, size, size))
	if err != nil {
		return "", badArg("batch", err)
	}
	if err := checkPixels(px, "batch"); err != nil {
		return "", badArg("batch", err)
	}
	losses := newStepLosses(t.runningProgress())
	err = t.tr.StepBatch(px, func(p train.Progress) { t.last = p; losses.observe(p) })
	if err != nil {
		return "", err
	}
	t.running = true
	return marshal(t.state(1, -1, losses))
}

// TrainerState returns the trainer's state as TrainerSteps does (ran 0), for a training dataset of the
// same size as trainSet; trainSet 0 means batches fed by the caller (TrainerStepBatch).
func TrainerState(h, trainSet int64) (js string, err error) {
	defer guard("TrainerState", &err)
	t, err := getTrainer(h)
	if err != nil {
		return "", err
	}
	n := -1
	if trainSet != 0 {
		s, err := getAs[*data.Split](trainSet, "dataset")
		if err != nil {
			return "", err
		}
		n = s.N
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return marshal(t.state(0, n, newStepLosses(train.Progress{})))
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
		return "", badState(errors.New("no epoch is running (run steps first)"))
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
		return false, badState(fmt.Errorf("cannot save in the middle of epoch %d (step %d): finish or end the epoch first",
			t.tr.Epochs()+1, t.last.Step))
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

// faultyField names the field of v whose value makes validate fail: the JSON name of the first field that,
// set back to its value in base (the defaults), makes v valid; fallback when no single field does. It lets
// an error from a Validate method name the Python keyword at fault without repeating the limits here.
func faultyField[T any](v, base T, validate func(T) error, fallback string) string {
	rv, rb := reflect.ValueOf(&v).Elem(), reflect.ValueOf(base)
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		trial := v
		reflect.ValueOf(&trial).Elem().Field(i).Set(rb.Field(i))
		if validate(trial) == nil {
			return name
		}
	}
	return fallback
}
