// Package train trains a VQ-VAE: it builds the gorgonia training graph, batches a data split, runs Adam, keeps
// the codebook alive (EMA updates, dead-code restarts), validates after every epoch, records the history and
// writes checkpoints that resume exactly.
package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/eval"
	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/model"
)

// Options are the training settings that are not part of the model.
type Options struct {
	BatchSize     int     `json:"batch_size"`
	LearningRate  float64 `json:"learning_rate"`
	Seed          uint64  `json:"seed"`
	StepsPerEpoch int     `json:"steps_per_epoch"` // 0: one pass over the training split (⌊N/B⌋ steps)
	// ReconLoss is the reconstruction loss: ReconClipped or ReconMSE ("" is ReconMSE, what checkpoints
	// written before the choice existed trained with).
	ReconLoss string `json:"recon_loss,omitempty"`
	// Schedule is the learning-rate schedule (ScheduleCosine, ScheduleConstant; "" is constant), Rate has
	// the formula. WarmupSteps rise linearly to LearningRate first; a cosine decays until step DecaySteps
	// (0: Defaults.Epochs epochs of the training split, filled in at the first step, or for batches fed by
	// StepBatch when the first epoch ends).
	Schedule    string `json:"lr_schedule,omitempty"`
	WarmupSteps int    `json:"warmup_steps,omitempty"`
	DecaySteps  int    `json:"decay_steps,omitempty"`
	// SSIMWeight weighs a structural term SSIMWeight·(1 − SSIM(x, x̂)) (nn.SSIMLoss) added to the loss
	// (0: none).
	SSIMWeight float64 `json:"ssim_weight,omitempty"`
}

// The reconstruction losses (Options.ReconLoss); docs/model.md "Losses" has the formulas.
const (
	// ReconMSE is mean((v−u)²)/σ² over all pixels.
	ReconMSE = "mse"
	// ReconClipped is nn.ClippedMSE/σ² with the bounds of the clipped reconstruction (x̂ ∈ [0,1], so
	// v ∈ [−μ, 1−μ]): an output past the bound its target sits on costs nothing, so the background is
	// exactly black after the clip.
	ReconClipped = "clipped"
)

// ReconLosses lists the reconstruction losses in a stable order.
func ReconLosses() []string { return []string{ReconClipped, ReconMSE} }

// Validate reports the first option outside its range in Limits (batch size ≥ 1, a positive finite learning
// rate, steps per epoch ≥ 0).
func (o Options) Validate() error {
	if err := CheckLimit("batch_size", "batch size", float64(o.BatchSize)); err != nil {
		return err
	}
	if err := CheckLimit("learning_rate", "learning rate", o.LearningRate); err != nil {
		return err
	}
	if err := CheckLimit("steps_per_epoch", "steps per epoch", float64(o.StepsPerEpoch)); err != nil {
		return err
	}
	if err := o.validateSchedule(); err != nil {
		return err
	}
	if err := CheckLimit("ssim_weight", "SSIM weight", o.SSIMWeight); err != nil {
		return err
	}
	if o.ReconLoss != "" && !slices.Contains(ReconLosses(), o.ReconLoss) {
		return fmt.Errorf("reconstruction loss %q: choose one of %s", o.ReconLoss, strings.Join(ReconLosses(), ", "))
	}
	return nil
}

// EpochStats is one row of the training history.
type EpochStats struct {
	Epoch           int     `json:"epoch"`
	Steps           int     `json:"steps"`
	TrainRecon      float64 `json:"train_recon_loss"`
	TrainVQ         float64 `json:"train_vq_loss"`
	TrainPerplexity float64 `json:"train_perplexity"`
	ValRecon        float64 `json:"val_recon_loss"`
	ValVQ           float64 `json:"val_vq_loss"`
	ValPerplexity   float64 `json:"val_perplexity"`
	ValCodesUsed    float64 `json:"val_codes_used"`      // fraction of the codebook used on the validation split
	ValHeadPerp     float64 `json:"val_head_perplexity"` // perplexity where the head is (eval.Evaluation.HeadPerplexity)
	ValSSIM         float64 `json:"val_ssim"`
	Restarted       int     `json:"codes_restarted"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
}

// Progress reports where a running epoch stands.
type Progress struct {
	Epoch, Step, Steps int     // 1-based epoch; steps done in it, of Steps
	Recon, VQ          float64 // running means over the epoch so far
	Perplexity         float64 // of the last batch
	ImagesPerSecond    float64
	Elapsed            time.Duration
}

// ErrNonFinite reports a loss that became NaN or infinite; training stops and the last checkpoint stays.
var ErrNonFinite = errors.New("loss is not finite")

// Trainer trains one model. Create it with New or Resume; call Steps/EndEpoch (or Epoch) to train.
type Trainer struct {
	Model   *model.Model
	Options Options
	History []EpochStats

	adam  *Adam
	cb    *codebookState
	rng   *rand.Rand
	pcg   *rand.PCG
	graph *graph
	epoch int // completed epochs
	// the running epoch
	perm                      []int
	pos, steps                int
	sumRecon, sumVQ, lastPerp float64
	epochStart                time.Time
	restartedAtStart          int
}

// New starts training a fresh model of cfg with preprocessing constants pre (from the training split).
func New(cfg model.Config, pre model.Preprocess, opt Options) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if cfg.ImageSize < MinImageSize {
		return nil, fmt.Errorf("image size %d: training needs at least %d×%d (validation scores SSIM over an 11×11 window)", cfg.ImageSize, MinImageSize, MinImageSize)
	}
	if err := CheckMemory(cfg, opt.BatchSize); err != nil {
		return nil, err
	}
	m := &model.Model{Config: cfg, Weights: model.InitWeights(cfg, opt.Seed), Pre: pre}
	t := &Trainer{Model: m, Options: opt, adam: NewAdam(opt.LearningRate), cb: newCodebookState(cfg.NumCodes, cfg.CodeDim)}
	t.pcg = rand.NewPCG(opt.Seed, 0x747261696e)
	t.rng = rand.New(t.pcg)
	if cfg.EMA {
		t.cb.initEMA(m.Weights[model.CodebookName].Data)
	}
	return t, t.build()
}

func (t *Trainer) build() error {
	g, err := buildGraph(t.Model.Config, t.Model.Weights, t.Model.Pre, t.Options)
	if err != nil {
		return fmt.Errorf("build training graph: %w", err)
	}
	t.graph = g
	return nil
}

// Epochs is the number of completed epochs.
func (t *Trainer) Epochs() int { return t.epoch }

// StepsPerEpoch is the number of optimiser steps one epoch over a split of n images takes.
func (t *Trainer) StepsPerEpoch(n int) int {
	if t.Options.StepsPerEpoch > 0 {
		return t.Options.StepsPerEpoch
	}
	return n / t.Options.BatchSize
}

// startEpoch shuffles the split for the next epoch: the order depends only on the seed and the epoch number.
func (t *Trainer) startEpoch(n int) {
	t.perm = epochOrder(t.Options.Seed, t.epoch, n)
	t.pos, t.steps, t.sumRecon, t.sumVQ = 0, 0, 0, 0
	t.epochStart = time.Now()
	t.restartedAtStart = t.cb.Restarted
}

// Steps runs up to n optimiser steps of the current epoch on split train (starting an epoch when none is
// running) and returns how many it ran; fewer than n when the epoch's steps are done. progress, when not nil,
// is called after every step.
func (t *Trainer) Steps(train *data.Split, n int, progress func(Progress)) (int, error) {
	if err := t.checkSplit(train); err != nil {
		return 0, err
	}
	total := t.StepsPerEpoch(train.N)
	if total < 1 {
		return 0, fmt.Errorf("training split %s has %d images, fewer than one batch of %d", train.Name, train.N, t.Options.BatchSize)
	}
	t.Options = t.Options.withDecay(total)
	if t.perm == nil || len(t.perm) != train.N {
		t.startEpoch(train.N)
	}
	b, s := t.Options.BatchSize, t.Model.Config.ImageSize
	u := make([]float32, b*s*s)
	idx := make([]int, b)
	done := 0
	for done < n && t.steps < total {
		for i := range idx {
			if t.pos >= len(t.perm) { // more steps than one pass: reshuffle deterministically
				t.pos = 0
			}
			idx[i] = t.perm[t.pos]
			t.pos++
		}
		train.Batch(u, idx)
		if err := t.step(u, total, progress); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// StepBatch runs one optimiser step on a batch the caller made (its own loader, augmentations), starting an
// epoch when none is running: x holds BatchSize images of ImageSize² pixels in [0,1], row-major ([B,S,S]).
// The epoch lasts until EndEpoch; progress, when not nil, is called after the step with Steps 0 (the caller
// knows how many batches it has). Do not mix it with Steps within one epoch.
func (t *Trainer) StepBatch(x []float32, progress func(Progress)) error {
	b, s := t.Options.BatchSize, t.Model.Config.ImageSize
	if len(x) != b*s*s {
		return fmt.Errorf("batch of %d values is not %d images of %d×%d", len(x), b, s, s)
	}
	t.Options = t.Options.withDecay(t.Options.StepsPerEpoch)
	if t.perm == nil {
		t.startEpoch(0)
	}
	return t.step(append([]float32(nil), x...), 0, progress)
}

// step runs one optimiser step on the batch u ([B,S,S] pixels in [0,1], overwritten with u − μ) of an
// epoch of total steps (0: unknown) and updates the epoch's running means.
func (t *Trainer) step(u []float32, total int, progress func(Progress)) error {
	for i := range u {
		u[i] -= t.Model.Pre.Mean
	}
	res, err := t.graph.run(u)
	if err != nil {
		return fmt.Errorf("epoch %d step %d: %w", t.epoch+1, t.steps+1, err)
	}
	if math.IsNaN(res.Total) || math.IsInf(res.Total, 0) {
		return fmt.Errorf("epoch %d step %d: %w (reconstruction %g, VQ %g); lower the learning rate", t.epoch+1, t.steps+1, ErrNonFinite, res.Recon, res.VQ)
	}
	t.applyUpdate()
	t.steps++
	t.sumRecon += res.Recon
	t.sumVQ += res.VQ
	t.lastPerp = metrics.Perplexity(histogram(t.graph.q.Indices, t.Model.Config.NumCodes))
	if progress != nil {
		el := time.Since(t.epochStart)
		progress(Progress{Epoch: t.epoch + 1, Step: t.steps, Steps: total, Recon: t.sumRecon / float64(t.steps),
			VQ: t.sumVQ / float64(t.steps), Perplexity: t.lastPerp, Elapsed: el,
			ImagesPerSecond: float64(t.steps*t.Options.BatchSize) / el.Seconds()})
	}
	return nil
}

// EpochDone reports whether the running epoch has taken all its steps (then call EndEpoch).
func (t *Trainer) EpochDone(n int) bool { return t.perm != nil && t.steps >= t.StepsPerEpoch(n) }

func (t *Trainer) applyUpdate() {
	g := t.graph
	params := make([][]float32, len(g.names))
	grads := make([][]float32, len(g.names))
	for i, name := range g.names {
		params[i] = t.Model.Weights[name].Data
		grads[i] = g.grad(i)
	}
	t.adam.LR = t.Options.Rate(t.adam.T)
	t.adam.Step(g.names, params, grads)
	cfg := t.Model.Config
	ze := g.ze.Value().Data().([]float32)
	l := cfg.LatentSize()
	t.cb.update(t.Model.Weights[model.CodebookName].Data, ze, g.q.Indices, t.Options.BatchSize, l*l,
		cfg.EMA, cfg.EMADecay, cfg.EMAEpsilon, cfg.DeadCodeMin, t.rng)
}

// EndEpoch closes the running epoch: it validates on val (skipped when val is nil) and appends the epoch's
// statistics to the history.
func (t *Trainer) EndEpoch(val *data.Split) (EpochStats, error) {
	if t.perm == nil || t.steps == 0 {
		return EpochStats{}, errors.New("no epoch is running")
	}
	el := time.Since(t.epochStart)
	st := EpochStats{Epoch: t.epoch + 1, Steps: t.steps, TrainRecon: t.sumRecon / float64(t.steps),
		TrainVQ: t.sumVQ / float64(t.steps), TrainPerplexity: t.lastPerp, Restarted: t.cb.Restarted - t.restartedAtStart,
		Seconds: el.Seconds(), ImagesPerSecond: float64(t.steps*t.Options.BatchSize) / el.Seconds()}
	if val != nil {
		ev, err := eval.Evaluate(t.Model, val, nil)
		if err != nil {
			return st, fmt.Errorf("validate: %w", err)
		}
		st.ValRecon, st.ValVQ, st.ValPerplexity, st.ValCodesUsed, st.ValSSIM = ev.Recon, ev.VQ, ev.Perplexity, ev.CodesUsed, ev.SSIM
		st.ValHeadPerp = ev.HeadPerplexity
	}
	t.epoch++
	t.perm = nil
	t.History = append(t.History, st)
	t.Options = t.Options.withDecay(t.steps) // a fed source's first epoch says how long an epoch is
	return st, nil
}

// Epoch runs one whole epoch on train and validates on val.
func (t *Trainer) Epoch(train, val *data.Split, progress func(Progress)) (EpochStats, error) {
	t.perm = nil
	if _, err := t.Steps(train, math.MaxInt, progress); err != nil {
		return EpochStats{}, err
	}
	return t.EndEpoch(val)
}

func (t *Trainer) checkSplit(s *data.Split) error {
	size := t.Model.Config.ImageSize
	if s == nil || s.N == 0 {
		return errors.New("empty training split")
	}
	if s.H != size || s.W != size {
		return fmt.Errorf("split %s holds %d×%d images; the model takes %d×%d", s.Name, s.H, s.W, size, size)
	}
	return nil
}

// trainerInfo is what a checkpoint's Info holds for resuming.
type trainerInfo struct {
	Options   Options      `json:"options"`
	History   []EpochStats `json:"history"`
	Adam      adamInfo     `json:"adam"`
	RNG       []byte       `json:"rng"`
	Restarted int          `json:"codes_restarted"`
}

// Checkpoint captures the trainer at an epoch boundary: the model, Adam's moments, the codebook statistics,
// the RNG and the history. Resume continues from it exactly.
func (t *Trainer) Checkpoint() (*model.Checkpoint, error) {
	if t.perm != nil && t.steps > 0 {
		return nil, errors.New("checkpoint in the middle of an epoch: finish it with EndEpoch first")
	}
	info := trainerInfo{Options: t.Options, History: t.History}
	var state map[string]*model.Tensor
	info.Adam, state = saveAdam(t.adam, t.Model.Weights)
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	info.RNG, info.Restarted = rng, t.cb.Restarted
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	k, d := t.cb.K, t.cb.D
	state["codebook.count"] = &model.Tensor{Shape: []int{k}, Data: append([]float32(nil), t.cb.Count...)}
	state["codebook.sum"] = &model.Tensor{Shape: []int{k, d}, Data: append([]float32(nil), t.cb.Sum...)}
	state["codebook.usage"] = &model.Tensor{Shape: []int{k}, Data: append([]float32(nil), t.cb.Usage...)}
	steps := 0
	for _, h := range t.History {
		steps += h.Steps
	}
	return &model.Checkpoint{Model: &model.Model{Config: t.Model.Config, Weights: t.Model.Weights.Clone(), Pre: t.Model.Pre},
		Epoch: t.epoch, Step: steps, TestSSIM: math.NaN(), State: state, Info: raw}, nil
}

// Resume rebuilds a trainer from a checkpoint that Checkpoint wrote, with the options saved in it.
func Resume(ck *model.Checkpoint) (*Trainer, error) {
	var info trainerInfo
	if err := readInfo(ck.Info, &info, "checkpoint"); err != nil {
		return nil, err
	}
	if err := info.Options.Validate(); err != nil {
		return nil, fmt.Errorf("checkpoint options: %w", err)
	}
	cfg := ck.Model.Config
	t := &Trainer{Model: &model.Model{Config: cfg, Weights: ck.Model.Weights.Clone(), Pre: ck.Model.Pre},
		Options: info.Options, History: info.History, epoch: ck.Epoch, cb: newCodebookState(cfg.NumCodes, cfg.CodeDim)}
	var err error
	if t.adam, err = loadAdam(info.Adam, ck.State, t.Model.Weights); err != nil {
		return nil, err
	}
	for name, dst := range map[string][]float32{"codebook.count": t.cb.Count, "codebook.sum": t.cb.Sum, "codebook.usage": t.cb.Usage} {
		src, ok := ck.State[name]
		if !ok || len(src.Data) != len(dst) {
			return nil, fmt.Errorf("checkpoint codebook state %s is missing or misshaped", name)
		}
		copy(dst, src.Data)
	}
	t.cb.Restarted = info.Restarted
	if t.pcg, t.rng, err = restoreRNG(info.RNG, "checkpoint"); err != nil {
		return nil, err
	}
	return t, t.build()
}
