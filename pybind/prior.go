package pybind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/prior"
	"github.com/brainvq/brainvq/core/train"
	"github.com/brainvq/brainvq/onnxexport"
)

// The prior (core/prior: a gated PixelCNN over a VQ-VAE's code grids) from Python. Three kinds of handle:
//
//   - code sets (*prior.CodeSet): the code grids of a dataset under one VQ-VAE with each image's slice level,
//     made once (PriorEncode) and read by training, scoring and the unigram baseline;
//   - prior trainers (priorTrainerObj): train.PriorTrainer runs whole epochs, so an epoch runs in a goroutine
//     that Python starts (PriorTrainerStart) and then waits on in short calls (PriorTrainerWait), drawing
//     progress in between and cancelling on Ctrl-C (PriorTrainerCancel; the epoch stops between two steps).
//     Go never calls back into Python. The trainer keeps the checkpoint of its last finished epoch: a
//     cancelled or failed epoch is rolled back to it, and it is what PriorTrainerPrior and PriorTrainerSave
//     give, so they never see weights mid-epoch;
//   - priors (priorObj): a prior checkpoint whose weights never change, for sampling, completion, scoring,
//     saving and ONNX export.
//
// Code grids cross as little-endian int32 [N,h,w], slice levels as int32 [N] (−1: no level), uniforms as
// float64 [N,h,w], keep masks as one byte per cell (1: keep the known code).

// priorObj is a prior in the handle registry. The checkpoint never changes after the handle is made.
type priorObj struct{ ck *prior.Checkpoint }

func getPrior(h int64) (*prior.Prior, *prior.Checkpoint, error) {
	p, err := getAs[*priorObj](h, "prior")
	if err != nil {
		return nil, nil, err
	}
	return p.ck.Prior, p.ck, nil
}

func getCodes(h int64) (*prior.CodeSet, error) { return getAs[*prior.CodeSet](h, "code set") }

// priorDefaults is what PriorDefaults returns, as JSON.
type priorDefaults struct {
	Channels      int     `json:"channels"`
	Layers        int     `json:"layers"`
	Kernel        int     `json:"kernel"`
	HeadChannels  int     `json:"head_channels"`
	BatchSize     int     `json:"batch_size"`
	LearningRate  float64 `json:"learning_rate"`
	Seed          uint64  `json:"seed"`
	StepsPerEpoch int     `json:"steps_per_epoch"`
	NullFraction  float64 `json:"null_fraction"`
	MaxLevels     int     `json:"max_levels"`
	MaxSamples    int     `json:"max_samples"`
}

// PriorDefaults returns the defaults of a new prior and of its training (core/prior's and
// train.DefaultPriorOptions, the ones `brainvq prior train` uses) as JSON: channels, layers, kernel,
// head_channels, batch_size, learning_rate, seed, steps_per_epoch, null_fraction, max_levels, max_samples.
func PriorDefaults() (js string, err error) {
	defer guard("PriorDefaults", &err)
	o := train.DefaultPriorOptions()
	return marshal(priorDefaults{Channels: prior.DefaultChannels, Layers: prior.DefaultLayers, Kernel: prior.DefaultKernel,
		HeadChannels: prior.DefaultHeadChannels, BatchSize: o.BatchSize, LearningRate: o.LearningRate, Seed: o.Seed,
		StepsPerEpoch: o.StepsPerEpoch, NullFraction: o.NullFraction, MaxLevels: prior.MaxLevels, MaxSamples: prior.MaxSamples})
}

// -- code sets -----------------------------------------------------------------------------------------------

// PriorEncode runs the VQ-VAE (a model handle) over every image of a dataset handle and returns a code-set
// handle: the code grids with each image's slice level read from its file name (…slice_K…; −1 for
// in-memory images and names without one). param names the Python argument the dataset came from.
func PriorEncode(modelH, dataset int64, param string) (h int64, err error) {
	defer guard("PriorEncode", &err)
	m, err := getModel(modelH)
	if err != nil {
		return 0, err
	}
	s, err := getAs[*data.Split](dataset, "dataset")
	if err != nil {
		return 0, err
	}
	mm := m.model()
	if size := mm.Config.ImageSize; s.H != size || s.W != size {
		return 0, badArgf(param, "dataset %s holds %d×%d images; the model takes %d×%d", s.Name, s.H, s.W, size, size)
	}
	set, err := prior.Encode(mm, s, nil)
	if err != nil {
		return 0, badArg(param, err)
	}
	return handles.put(set), nil
}

// int32Levels decodes n slice levels (−1: none) and checks their range; param names the Python argument.
func int32Levels(b []byte, n int, param string) ([]int32, error) {
	lv, err := int32s(b, n, param+" ([N])")
	if err != nil {
		return nil, badArg(param, err)
	}
	for i, l := range lv {
		if l < -1 || l > prior.MaxLevels {
			return nil, badArgf(param, "level %d of image %d outside [-1, %d] (-1: no level)", l, i, prior.MaxLevels)
		}
	}
	return lv, nil
}

// PriorCodesFromArrays stores n code grids (codes: int32 [N,grid,grid], each in [0,numCodes)) with their
// levels (int32 [N], −1: none) as a code set and returns its handle. vq is the fingerprint of the VQ-VAE
// the codes come from ("" when unknown).
func PriorCodesFromArrays(codes, levels []byte, n, grid, numCodes int, vq string) (h int64, err error) {
	defer guard("PriorCodesFromArrays", &err)
	if n < 1 || grid < 1 || numCodes < 1 {
		return 0, badArgf("codes", "code grids (%d, %d, %d) of %d codes: all must be positive", n, grid, grid, numCodes)
	}
	c, err := int32s(codes, n*grid*grid, fmt.Sprintf("codes ([%d,%d,%d])", n, grid, grid))
	if err != nil {
		return 0, badArg("codes", err)
	}
	for i, k := range c {
		if k < 0 || int(k) >= numCodes {
			return 0, badArgf("codes", "code %d at flat index %d is outside [0, %d)", k, i, numCodes)
		}
	}
	lv, err := int32Levels(levels, n, "levels")
	if err != nil {
		return 0, err
	}
	return handles.put(&prior.CodeSet{Grid: grid, Codes: c, Levels: lv, VQ: vq}), nil
}

// PriorCodesWithLevels returns a new code-set handle with the codes of h and the given levels (int32 [N],
// −1: none), for training without levels or with levels that are not in the file names.
func PriorCodesWithLevels(h int64, levels []byte) (out int64, err error) {
	defer guard("PriorCodesWithLevels", &err)
	s, err := getCodes(h)
	if err != nil {
		return 0, err
	}
	lv, err := int32Levels(levels, s.N(), "levels")
	if err != nil {
		return 0, err
	}
	return handles.put(&prior.CodeSet{Grid: s.Grid, Codes: s.Codes, Levels: lv, Files: s.Files, VQ: s.VQ}), nil
}

// codesInfo is what PriorCodesInfo returns, as JSON.
type codesInfo struct {
	N      int      `json:"n"`
	Grid   int      `json:"grid"`
	VQ     string   `json:"vqvae_fingerprint"`
	Levels []int32  `json:"levels"`
	Files  []string `json:"files"`
}

// PriorCodesInfo describes a code set as JSON: n, grid, vqvae_fingerprint, levels (−1: none), files.
func PriorCodesInfo(h int64) (js string, err error) {
	defer guard("PriorCodesInfo", &err)
	s, err := getCodes(h)
	if err != nil {
		return "", err
	}
	files := s.Files
	if files == nil {
		files = []string{}
	}
	return marshal(codesInfo{N: s.N(), Grid: s.Grid, VQ: s.VQ, Levels: s.Levels, Files: files})
}

// PriorCodesArray returns a code set's grids as int32 [N,h,w].
func PriorCodesArray(h int64) (out []byte, err error) {
	defer guard("PriorCodesArray", &err)
	s, err := getCodes(h)
	if err != nil {
		return nil, err
	}
	return int32Bytes(s.Codes), nil
}

// unigramScore is what PriorUnigram returns, as JSON.
type unigramScore struct {
	Bits     jsonFloat `json:"bits_per_code"`
	Accuracy jsonFloat `json:"accuracy"`
}

// PriorUnigram scores the code set evalCodes under the unigram distribution of trainCodes (code
// frequencies with add-one smoothing over numCodes codes: the baseline a prior must beat) and returns
// bits_per_code and accuracy as JSON.
func PriorUnigram(trainCodes, evalCodes int64, numCodes int) (js string, err error) {
	defer guard("PriorUnigram", &err)
	tr, err := getCodes(trainCodes)
	if err != nil {
		return "", err
	}
	ev, err := getCodes(evalCodes)
	if err != nil {
		return "", err
	}
	if numCodes < 2 {
		return "", badArgf("num_codes", "%d codes: need at least 2", numCodes)
	}
	for _, s := range []*prior.CodeSet{tr, ev} {
		for _, c := range s.Codes {
			if c < 0 || int(c) >= numCodes {
				return "", badArgf("codes", "code %d outside [0, %d)", c, numCodes)
			}
		}
	}
	u := prior.NewUnigram(tr, numCodes)
	return marshal(unigramScore{Bits: jsonFloat(u.BitsPerCode(ev)), Accuracy: jsonFloat(u.Accuracy(ev))})
}

// -- training ------------------------------------------------------------------------------------------------

// priorTrainerObj is a prior trainer in the handle registry. mu guards every field; while an epoch runs
// (run != nil) only its goroutine touches tr, and the other calls read last and history instead.
type priorTrainerObj struct {
	mu      sync.Mutex
	tr      *train.PriorTrainer
	last    *prior.Checkpoint       // after the last finished epoch (or before the first)
	history []train.PriorEpochStats // tr.History as of last
	run     *priorRun               // the epoch in progress, nil when none
	// What the last settled epoch left for PriorTrainerWait to report: its statistics, or that it was
	// cancelled, or its error.
	finished    *train.PriorEpochStats
	interrupted bool
	failed      error
}

// priorRun is one epoch running in its own goroutine.
type priorRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine ends

	mu       sync.Mutex
	progress train.PriorProgress

	// Set by the goroutine before done is closed.
	stats train.PriorEpochStats
	ck    *prior.Checkpoint
	err   error
}

func (r *priorRun) latest() train.PriorProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.progress
}

func getPriorTrainer(h int64) (*priorTrainerObj, error) {
	return getAs[*priorTrainerObj](h, "prior trainer")
}

// priorSettings are the prior's settings NewPriorTrainer takes as JSON; K, D and the grid come from the
// VQ-VAE. Levels nil means "from the training codes" (the largest level + 1; 0 when none has a level).
type priorSettings struct {
	Channels     int  `json:"channels"`
	Layers       int  `json:"layers"`
	Kernel       int  `json:"kernel"`
	HeadChannels int  `json:"head_channels"`
	Levels       *int `json:"levels"`
	// Dilations per layer; null: prior.DefaultDilations for the layer count.
	Dilations []int `json:"dilations"`
}

// NewPriorTrainer starts training a fresh prior over the codes of the VQ-VAE modelH, on the code set
// trainCodes (PriorEncode of the training dataset under the same model). configJSON overrides the prior's
// channels, layers, kernel, head_channels, dilations and levels (default: the training codes' largest level + 1);
// optionsJSON overrides batch_size, learning_rate, seed, steps_per_epoch and null_fraction (PriorDefaults
// lists the defaults). Unknown keys are errors. It returns a prior-trainer handle.
func NewPriorTrainer(modelH, trainCodes int64, configJSON, optionsJSON string) (h int64, err error) {
	defer guard("NewPriorTrainer", &err)
	m, err := getModel(modelH)
	if err != nil {
		return 0, err
	}
	s, err := getCodes(trainCodes)
	if err != nil {
		return 0, err
	}
	mm := m.model()
	fp := prior.Fingerprint(mm)
	if s.VQ != "" && s.VQ != fp {
		return 0, badArgf("train", "the training codes come from VQ-VAE %s, not from this model (%s)", s.VQ, fp)
	}
	def := prior.ConfigFor(mm, 0)
	set := priorSettings{Channels: def.Channels, Layers: def.Layers, Kernel: def.Kernel, HeadChannels: def.HeadChannels}
	if err := decodeStrict(configJSON, &set, "prior config"); err != nil {
		return 0, badType("config", err)
	}
	levels := s.MaxLevel() + 1
	if set.Levels != nil {
		levels = *set.Levels
	}
	cfg := prior.ConfigFor(mm, levels).Sized(set.Channels, set.Layers, set.Kernel, set.HeadChannels, set.Dilations)
	if err := cfg.Validate(); err != nil {
		return 0, badArg(faultyField(cfg, def, prior.Config.Validate, "config"), err)
	}
	if s.Grid != cfg.Grid {
		return 0, badArgf("train", "training codes on a %d×%d grid; the model's grid is %d×%d", s.Grid, s.Grid, cfg.Grid, cfg.Grid)
	}
	opt := train.DefaultPriorOptions()
	if err := decodeStrict(optionsJSON, &opt, "prior training options"); err != nil {
		return 0, badType("options", err)
	}
	if err := opt.Options.Validate(); err != nil {
		return 0, badArg(faultyField(opt.Options, train.DefaultPriorOptions().Options, train.Options.Validate, "options"), err)
	}
	if err := opt.Validate(); err != nil {
		return 0, badArg("null_fraction", err)
	}
	tr, err := train.NewPriorTrainer(cfg, mm.Weights[model.CodebookName].Data, fp, opt)
	if err != nil {
		return 0, err
	}
	return newPriorTrainerObj(tr)
}

func newPriorTrainerObj(tr *train.PriorTrainer) (int64, error) {
	ck, err := tr.Checkpoint()
	if err != nil {
		return 0, err
	}
	return handles.put(&priorTrainerObj{tr: tr, last: ck, history: slices.Clone(tr.History)}), nil
}

// ResumePriorTrainer rebuilds a prior trainer from a prior checkpoint written by PriorTrainerSave, PriorSave
// of a trainer's prior, or `brainvq prior train`, at the epoch it was saved at. The checkpoint must be of a
// prior of the VQ-VAE modelH.
func ResumePriorTrainer(path string, modelH int64) (h int64, err error) {
	defer guard("ResumePriorTrainer", &err)
	m, err := getModel(modelH)
	if err != nil {
		return 0, err
	}
	if err := checkPath("path", path, false); err != nil {
		return 0, err
	}
	ck, err := prior.LoadCheckpoint(path)
	if err != nil {
		return 0, badFile("path", err)
	}
	if err := ck.Prior.CheckModel(m.model()); err != nil {
		return 0, badArgf("model", "%s: %v", path, err)
	}
	tr, err := train.ResumePrior(ck)
	if err != nil {
		return 0, badArg("path", fmt.Errorf("resume from %s: %w", path, err))
	}
	return newPriorTrainerObj(tr)
}

// settle collects an epoch whose goroutine has ended: its checkpoint becomes last, or — cancelled or failed —
// the trainer is rebuilt from last, so that it continues from the last finished epoch. Call with mu held.
func (t *priorTrainerObj) settle() {
	r := t.run
	if r == nil {
		return
	}
	select {
	case <-r.done:
	default:
		return
	}
	t.run = nil
	if r.err == nil {
		st := r.stats
		t.last, t.history, t.finished = r.ck, slices.Clone(t.tr.History), &st
		return
	}
	if tr, err := train.ResumePrior(t.last); err == nil {
		t.tr = tr
	} else {
		r.err = fmt.Errorf("%w (and the trainer could not be rolled back to its last epoch: %v)", r.err, err)
	}
	if errors.Is(r.err, context.Canceled) {
		t.interrupted = true
	} else {
		t.failed = r.err
	}
}

// PriorTrainerStart starts an epoch over the code set trainCodes in the background and validates on valCodes
// after it (0: no validation). It returns at once; PriorTrainerWait follows the epoch. It is an error while
// an epoch runs. The bool result is always true on success.
func PriorTrainerStart(h, trainCodes, valCodes int64) (ok bool, err error) {
	defer guard("PriorTrainerStart", &err)
	t, err := getPriorTrainer(h)
	if err != nil {
		return false, err
	}
	trainSet, err := getCodes(trainCodes)
	if err != nil {
		return false, err
	}
	var valSet *prior.CodeSet
	if valCodes != 0 {
		if valSet, err = getCodes(valCodes); err != nil {
			return false, err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	if t.run != nil {
		return false, badState(fmt.Errorf("epoch %d is still running", t.tr.Epochs()+1))
	}
	if b := t.tr.Options.BatchSize; t.tr.Options.StepsPerEpoch == 0 && trainSet.N() < b {
		return false, badArgf("train", "%d training images, fewer than one batch of %d", trainSet.N(), b)
	}
	for _, c := range []struct {
		s     *prior.CodeSet
		param string
	}{{trainSet, "train"}, {valSet, "val"}} {
		if c.s != nil && c.s.VQ != "" && c.s.VQ != t.last.Prior.VQ {
			return false, badArgf(c.param, "codes of VQ-VAE %s; the prior models VQ-VAE %s", c.s.VQ, t.last.Prior.VQ)
		}
	}
	t.finished, t.interrupted, t.failed = nil, false, nil
	ctx, cancel := context.WithCancel(context.Background())
	r := &priorRun{cancel: cancel, done: make(chan struct{})}
	t.run = r
	tr := t.tr
	go func() {
		defer close(r.done)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("brainvq: Go panic in prior training: %v\n%s", p, panicStack(debug.Stack(), stackLines))
			}
		}()
		r.stats, r.err = tr.Epoch(ctx, trainSet, valSet, func(p train.PriorProgress) {
			r.mu.Lock()
			r.progress = p
			r.mu.Unlock()
		})
		if r.err == nil {
			r.ck, r.err = tr.Checkpoint()
		}
	}()
	return true, nil
}

// priorTrainerState is what PriorTrainerWait returns, as JSON.
type priorTrainerState struct {
	Running         bool           `json:"running"`       // an epoch is still in progress
	Epochs          int            `json:"epochs"`        // completed epochs
	Epoch           int            `json:"epoch"`         // 1-based number of the epoch in progress (or next)
	Step            int            `json:"step"`          // steps it has done
	Steps           int            `json:"steps"`         // steps it takes (0 before its first step)
	Bits            jsonFloat      `json:"bits_per_code"` // running mean over the epoch
	Accuracy        jsonFloat      `json:"accuracy"`      // running mean over the epoch
	ImagesPerSecond jsonFloat      `json:"images_per_second"`
	Elapsed         float64        `json:"elapsed_seconds"`
	Finished        map[string]any `json:"finished"`    // the epoch that just ended (train.PriorEpochStats' keys), or null
	Interrupted     bool           `json:"interrupted"` // the epoch was cancelled and rolled back
}

// PriorTrainerWait waits up to seconds (≥ 0) for the running epoch to end and returns the trainer's state
// as JSON: running, epochs, epoch, step, steps, bits_per_code, accuracy, images_per_second,
// elapsed_seconds, finished (the statistics of the epoch that ended, once; else null) and interrupted (the
// epoch was cancelled and the trainer rolled back to its last finished epoch). An epoch that failed is
// reported here, once, as its error (FloatingPointError in Python for a non-finite loss), with the trainer
// rolled back.
func PriorTrainerWait(h int64, seconds float64) (js string, err error) {
	defer guard("PriorTrainerWait", &err)
	t, err := getPriorTrainer(h)
	if err != nil {
		return "", err
	}
	if !(seconds >= 0) || math.IsInf(seconds, 0) {
		return "", badArgf("seconds", "wait of %g seconds: want a finite number ≥ 0", seconds)
	}
	t.mu.Lock()
	r := t.run
	t.mu.Unlock()
	if r != nil {
		timer := time.NewTimer(time.Duration(seconds * float64(time.Second)))
		select {
		case <-r.done:
		case <-timer.C:
		}
		timer.Stop()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	if t.failed != nil {
		err, t.failed = t.failed, nil
		return "", err
	}
	epochs := len(t.history)
	st := priorTrainerState{Running: t.run != nil, Epochs: epochs, Epoch: epochs + 1, Interrupted: t.interrupted}
	if t.run != nil {
		p := t.run.latest()
		st.Step, st.Steps = p.Step, p.Steps
		st.Bits, st.Accuracy, st.ImagesPerSecond, st.Elapsed = jsonFloat(p.Bits), jsonFloat(p.Accuracy), jsonFloat(p.ImagesPerSecond), p.Elapsed.Seconds()
	}
	if t.finished != nil {
		st.Finished = jsonObject(*t.finished)
		st.Epoch = t.finished.Epoch
		st.Step, st.Steps = t.finished.Steps, t.finished.Steps
		st.Bits, st.Accuracy = jsonFloat(t.finished.TrainBits), jsonFloat(t.finished.TrainAccuracy)
	}
	t.finished, t.interrupted = nil, false
	return marshal(st)
}

// PriorTrainerCancel asks the running epoch to stop before its next step; PriorTrainerWait then reports it
// as interrupted, with the trainer rolled back to its last finished epoch. It returns whether an epoch was
// running.
func PriorTrainerCancel(h int64) (running bool, err error) {
	defer guard("PriorTrainerCancel", &err)
	t, err := getPriorTrainer(h)
	if err != nil {
		return false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	if t.run == nil {
		return false, nil
	}
	t.run.cancel()
	return true, nil
}

// PriorTrainerHistory returns one JSON object per completed epoch (train.PriorEpochStats' keys), as a
// JSON list.
func PriorTrainerHistory(h int64) (js string, err error) {
	defer guard("PriorTrainerHistory", &err)
	t, err := getPriorTrainer(h)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	rows := make([]map[string]any, len(t.history))
	for i, st := range t.history {
		rows[i] = jsonObject(st)
	}
	return marshal(rows)
}

// priorTrainerInfo is what PriorTrainerInfo returns, as JSON.
type priorTrainerInfo struct {
	Config  prior.Config       `json:"config"`
	Options train.PriorOptions `json:"options"`
	VQ      string             `json:"vqvae_fingerprint"`
	Epochs  int                `json:"epochs"`
	Running bool               `json:"running"`
}

// PriorTrainerInfo returns the prior's configuration, the training options, the VQ-VAE's fingerprint, the
// completed epochs and whether an epoch is running, as JSON.
func PriorTrainerInfo(h int64) (js string, err error) {
	defer guard("PriorTrainerInfo", &err)
	t, err := getPriorTrainer(h)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	p := t.last.Prior
	return marshal(priorTrainerInfo{Config: p.Config, Options: t.tr.Options, VQ: p.VQ, Epochs: len(t.history), Running: t.run != nil})
}

// PriorTrainerPrior returns a prior handle holding the trainer's last finished epoch (the initial weights
// before the first), with its training state, so that PriorSave of it can be resumed.
func PriorTrainerPrior(h int64) (ph int64, err error) {
	defer guard("PriorTrainerPrior", &err)
	t, err := getPriorTrainer(h)
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	return handles.put(&priorObj{ck: t.last}), nil
}

// PriorTrainerSave writes the trainer's last finished epoch to path atomically: a prior checkpoint that
// ResumePriorTrainer (and `brainvq prior train --resume`) continues exactly. The bool result is always true
// on success.
func PriorTrainerSave(h int64, path string) (ok bool, err error) {
	defer guard("PriorTrainerSave", &err)
	t, err := getPriorTrainer(h)
	if err != nil {
		return false, err
	}
	t.mu.Lock()
	ck := t.last
	t.mu.Unlock()
	if err := ck.Save(path); err != nil {
		return false, err
	}
	return true, nil
}

// -- priors --------------------------------------------------------------------------------------------------

// LoadPrior reads a prior checkpoint (`brainvq prior train`'s prior.bvqp, PriorSave, PriorTrainerSave) and
// returns a prior handle.
func LoadPrior(path string) (h int64, err error) {
	defer guard("LoadPrior", &err)
	if err := checkPath("path", path, false); err != nil {
		return 0, err
	}
	ck, err := prior.LoadCheckpoint(path)
	if err != nil {
		return 0, badFile("path", err)
	}
	return handles.put(&priorObj{ck: ck}), nil
}

// PriorBytes returns the prior's checkpoint as bytes, exactly what PriorSave writes.
func PriorBytes(h int64) (out []byte, err error) {
	defer guard("PriorBytes", &err)
	_, ck, err := getPrior(h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := ck.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PriorFromBytes reads a prior checkpoint given as bytes and returns a prior handle.
func PriorFromBytes(b []byte) (h int64, err error) {
	defer guard("PriorFromBytes", &err)
	ck, err := prior.ReadCheckpoint(bytes.NewReader(b))
	if err != nil {
		return 0, badArg("data", err)
	}
	return handles.put(&priorObj{ck: ck}), nil
}

// PriorSave writes the prior's checkpoint to path atomically. The bool result is always true on success.
func PriorSave(h int64, path string) (ok bool, err error) {
	defer guard("PriorSave", &err)
	_, ck, err := getPrior(h)
	if err != nil {
		return false, err
	}
	if err := ck.Save(path); err != nil {
		return false, err
	}
	return true, nil
}

// priorInfo is what PriorInfo returns, as JSON.
type priorInfo struct {
	Config    prior.Config     `json:"config"`
	VQ        string           `json:"vqvae_fingerprint"`
	Epoch     int              `json:"epoch"`
	Step      int              `json:"step"`
	Test      *prior.TestScore `json:"test"` // null when not measured
	Params    int              `json:"num_params"`
	Resumable bool             `json:"resumable"`
}

// PriorInfo returns the prior's configuration, the fingerprint of its VQ-VAE, its training progress, its
// recorded test score (or null), its number of parameters and whether it holds training state, as JSON.
func PriorInfo(h int64) (js string, err error) {
	defer guard("PriorInfo", &err)
	p, ck, err := getPrior(h)
	if err != nil {
		return "", err
	}
	info := priorInfo{Config: p.Config, VQ: p.VQ, Epoch: ck.Epoch, Step: ck.Step, Test: ck.Test, Resumable: len(ck.Info) > 0}
	for _, t := range p.Weights {
		info.Params += len(t.Data)
	}
	return marshal(info)
}

// ModelFingerprint returns the identity of a VQ-VAE that a prior records (prior.Fingerprint).
func ModelFingerprint(h int64) (fp string, err error) {
	defer guard("ModelFingerprint", &err)
	m, err := getModel(h)
	if err != nil {
		return "", err
	}
	return prior.Fingerprint(m.model()), nil
}

// PriorCheckModel reports whether the prior models the codes of the VQ-VAE modelH; a prior of another model
// is a ValueError naming param. The bool result is always true on success.
func PriorCheckModel(h, modelH int64, param string) (ok bool, err error) {
	defer guard("PriorCheckModel", &err)
	p, _, err := getPrior(h)
	if err != nil {
		return false, err
	}
	m, err := getModel(modelH)
	if err != nil {
		return false, err
	}
	if err := p.CheckModel(m.model()); err != nil {
		return false, badArg(param, err)
	}
	return true, nil
}

// sampleRequest checks what PriorSample and PriorComplete share and builds the request: n grids with levels
// (int32 [N], −1: none), the uniforms of samples first…first+n−1 of seed, and the sampling options.
func sampleRequest(p *prior.Prior, levels []byte, n int, temperature float64, topK int, topP float64, seed int64, first int) (prior.Request, error) {
	if n < 1 || n > prior.MaxSamples {
		return prior.Request{}, badArgf("n", "%d samples: want 1 to %d", n, prior.MaxSamples)
	}
	if seed < 0 {
		return prior.Request{}, badArgf("seed", "seed %d must not be negative", seed)
	}
	if first < 0 {
		return prior.Request{}, badArgf("first", "first sample %d must not be negative", first)
	}
	opt := prior.SampleOptions{Temperature: temperature, TopK: topK, TopP: topP}
	if err := opt.Validate(p.Config.NumCodes); err != nil {
		var oe *prior.OptionError
		if errors.As(err, &oe) {
			return prior.Request{}, badArg(oe.Option, errors.New(oe.Problem))
		}
		return prior.Request{}, err
	}
	lv, err := int32s(levels, n, fmt.Sprintf("level ([%d])", n))
	if err != nil {
		return prior.Request{}, badArg("level", err)
	}
	classes := make([]int32, n)
	for i, l := range lv {
		if classes[i], err = p.Config.Class(int(l)); err != nil {
			return prior.Request{}, badArg("level", err)
		}
	}
	return prior.Request{N: n, Classes: classes, Uniforms: prior.Uniforms(uint64(seed), first, n, p.Config.Grid), Options: opt}, nil
}

func draw(p *prior.Prior, r prior.Request, naive bool) ([]byte, error) {
	sample := p.Sample
	if naive {
		sample = p.SampleNaive
	}
	codes, err := sample(r)
	if err != nil {
		return nil, err
	}
	return int32Bytes(codes), nil
}

// PriorSample draws n code grids from the prior (ancestral sampling in raster order, core/prior): sample i
// is conditioned on levels[i] (int32 [N], −1: no level) and drawn with the uniforms of sample first+i of
// seed (PriorUniforms), so a sample does not depend on n. temperature > 0, top_k ∈ [0,K] (0: all codes),
// top_p ∈ (0,1] (1: all) shape each draw; naive uses the reference sampler (one full pass per position).
// It returns the codes as int32 [N,h,w].
func PriorSample(h int64, levels []byte, n int, temperature float64, topK int, topP float64, seed int64, first int, naive bool) (out []byte, err error) {
	defer guard("PriorSample", &err)
	p, _, err := getPrior(h)
	if err != nil {
		return nil, err
	}
	r, err := sampleRequest(p, levels, n, temperature, topK, topP, seed, first)
	if err != nil {
		return nil, err
	}
	return draw(p, r, naive)
}

// PriorComplete samples as PriorSample does, but keeps the known codes (int32 [N,h,w]) wherever keep (one
// byte per cell, [N,h,w]; nonzero: keep) says so and draws only the others, each given every code before
// it. It returns the completed codes as int32 [N,h,w].
func PriorComplete(h int64, known, keep, levels []byte, n int, temperature float64, topK int, topP float64, seed int64, first int, naive bool) (out []byte, err error) {
	defer guard("PriorComplete", &err)
	p, _, err := getPrior(h)
	if err != nil {
		return nil, err
	}
	r, err := sampleRequest(p, levels, n, temperature, topK, topP, seed, first)
	if err != nil {
		return nil, err
	}
	g := p.Config.Grid
	cells := n * g * g
	if r.Known, err = int32s(known, cells, fmt.Sprintf("codes ([%d,%d,%d])", n, g, g)); err != nil {
		return nil, badArg("images", err)
	}
	if len(keep) != cells {
		return nil, badArgf("mask", "%d mask cells for %d grids of %d×%d", len(keep), n, g, g)
	}
	r.Keep = make([]bool, cells)
	for i, k := range keep {
		r.Keep[i] = k != 0
		if r.Keep[i] && (r.Known[i] < 0 || int(r.Known[i]) >= p.Config.NumCodes) {
			return nil, badArgf("images", "known code %d at flat index %d is outside [0, %d)", r.Known[i], i, p.Config.NumCodes)
		}
	}
	return draw(p, r, naive)
}

// PriorUniforms returns the uniform numbers samples first…first+n−1 of seed are drawn with (prior.Uniforms),
// float64 [N,h,w]: fed to another sampler (onnxruntime over prior.onnx, docs/onnx.md) they reproduce Go's
// codes.
func PriorUniforms(h int64, seed int64, first, n int) (out []byte, err error) {
	defer guard("PriorUniforms", &err)
	p, _, err := getPrior(h)
	if err != nil {
		return nil, err
	}
	switch {
	case n < 1 || n > prior.MaxSamples:
		return nil, badArgf("n", "%d samples: want 1 to %d", n, prior.MaxSamples)
	case seed < 0:
		return nil, badArgf("seed", "seed %d must not be negative", seed)
	case first < 0:
		return nil, badArgf("first", "first sample %d must not be negative", first)
	}
	return float64Bytes(prior.Uniforms(uint64(seed), first, n, p.Config.Grid)), nil
}

// priorScore is what PriorScore returns, as JSON.
type priorScore struct {
	Bits      jsonFloat  `json:"bits_per_code"`
	Accuracy  jsonFloat  `json:"accuracy"`
	Positions int        `json:"positions"`
	ImageBits jsonFloats `json:"image_bits_per_code"`
	ImageAcc  jsonFloats `json:"image_accuracy"`
}

// PriorScore scores every grid of a code set under the prior, each conditioned on its level (no level
// where it has none or the prior does not know it): the mean negative log-likelihood in bits per code and
// the next-code accuracy, over the set and per grid, as JSON (bits_per_code, accuracy, positions,
// image_bits_per_code, image_accuracy).
func PriorScore(h, codes int64) (js string, err error) {
	defer guard("PriorScore", &err)
	p, _, err := getPrior(h)
	if err != nil {
		return "", err
	}
	s, err := getCodes(codes)
	if err != nil {
		return "", err
	}
	if s.VQ != "" && p.VQ != "" && s.VQ != p.VQ {
		return "", badArgf("x", "codes of VQ-VAE %s; the prior models VQ-VAE %s", s.VQ, p.VQ)
	}
	if s.Grid != p.Config.Grid {
		return "", badArgf("x", "codes on a %d×%d grid; the prior models %d×%d", s.Grid, s.Grid, p.Config.Grid, p.Config.Grid)
	}
	for i, c := range s.Codes {
		if c < 0 || int(c) >= p.Config.NumCodes {
			return "", badArgf("x", "code %d at flat index %d is outside [0, %d)", c, i, p.Config.NumCodes)
		}
	}
	hw := s.Grid * s.Grid
	out := priorScore{ImageBits: make(jsonFloats, s.N()), ImageAcc: make(jsonFloats, s.N())}
	var total prior.Score
	for i := range s.N() {
		sc, err := p.Score(s.Codes[i*hw:(i+1)*hw], []int32{p.ClassOf(int(s.Levels[i]))}, 1)
		if err != nil {
			return "", err
		}
		out.ImageBits[i], out.ImageAcc[i] = sc.BitsPerCode(), sc.Accuracy()
		total.Add(sc)
	}
	out.Bits, out.Accuracy, out.Positions = jsonFloat(total.BitsPerCode()), jsonFloat(total.Accuracy()), total.Positions
	return marshal(out)
}

// PriorExportONNX writes the prior as prior.onnx into dir (onnxexport.ExportPrior; docs/onnx.md) and returns
// its path.
func PriorExportONNX(h int64, dir string) (path string, err error) {
	defer guard("PriorExportONNX", &err)
	p, _, err := getPrior(h)
	if err != nil {
		return "", err
	}
	return onnxexport.ExportPrior(p, dir, onnxexport.Options{})
}
