package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/prior"
)

// PriorOptions are the settings of a prior's training that are not part of the prior.
type PriorOptions struct {
	Options // batch size, learning rate, seed, steps per epoch: as for the VQ-VAE
	// NullFraction of the training images are shown without their level (the null class), so that the
	// prior also samples unconditionally.
	NullFraction float64 `json:"null_fraction"`
}

// DefaultPriorOptions are the settings `brainvq prior train` and the Python Prior start from.
func DefaultPriorOptions() PriorOptions {
	return PriorOptions{Options: Options{BatchSize: 16, LearningRate: 1e-3, Seed: 1}, NullFraction: 0.1}
}

// Validate reports the first option out of range.
func (o PriorOptions) Validate() error {
	if err := o.Options.Validate(); err != nil {
		return err
	}
	if !(o.NullFraction >= 0 && o.NullFraction <= 1) {
		return fmt.Errorf("null fraction %g must lie in [0,1]", o.NullFraction)
	}
	return nil
}

// PriorEpochStats is one row of a prior's training history. Bits are the mean negative log-likelihood in
// bits per code; accuracy is the next-code accuracy (the most likely code is the true one).
type PriorEpochStats struct {
	Epoch           int     `json:"epoch"`
	Steps           int     `json:"steps"`
	TrainBits       float64 `json:"train_bits_per_code"`
	TrainAccuracy   float64 `json:"train_accuracy"`
	ValBits         float64 `json:"val_bits_per_code"`
	ValAccuracy     float64 `json:"val_accuracy"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
}

// PriorProgress reports where a running epoch of a prior stands.
type PriorProgress struct {
	Epoch, Step, Steps int
	Bits, Accuracy     float64 // running means over the epoch so far
	ImagesPerSecond    float64
	Elapsed            time.Duration
}

// PriorTrainer trains a PixelCNN prior on the code grids of a VQ-VAE, with the same Adam, epoch order,
// checkpointing and exact resume as the VQ-VAE's Trainer.
type PriorTrainer struct {
	Prior   *prior.Prior
	Options PriorOptions
	History []PriorEpochStats

	adam  *Adam
	pcg   *rand.PCG
	rng   *rand.Rand
	graph *priorGraph
	epoch int
}

// NewPriorTrainer starts training a fresh prior of cfg over the VQ-VAE with the given codebook [K,D] and
// fingerprint.
func NewPriorTrainer(cfg prior.Config, codebook []float32, vq string, opt PriorOptions) (*PriorTrainer, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	w, err := prior.InitWeights(cfg, codebook, opt.Seed)
	if err != nil {
		return nil, err
	}
	p, err := prior.New(cfg, w, vq)
	if err != nil {
		return nil, err
	}
	t := &PriorTrainer{Prior: p, Options: opt, adam: NewAdam(opt.LearningRate), pcg: rand.NewPCG(opt.Seed, 0x7072696f72)}
	t.rng = rand.New(t.pcg)
	return t, t.build()
}

func (t *PriorTrainer) build() error {
	g, err := buildPriorGraph(t.Prior.Config, t.Prior.Weights, t.Options.BatchSize)
	if err != nil {
		return fmt.Errorf("build prior training graph: %w", err)
	}
	t.graph = g
	return nil
}

// Epochs is the number of completed epochs.
func (t *PriorTrainer) Epochs() int { return t.epoch }

// Epoch trains one pass over train (⌊N/B⌋ steps, or Options.StepsPerEpoch) and scores val (skipped when
// nil) with the Go inference path. When ctx is done between two steps, Epoch returns ctx's error and the
// trainer is left mid-epoch: continue from the last checkpoint (ResumePrior), not from this trainer.
func (t *PriorTrainer) Epoch(ctx context.Context, train, val *prior.CodeSet, progress func(PriorProgress)) (PriorEpochStats, error) {
	if err := t.checkSet(train, "training"); err != nil {
		return PriorEpochStats{}, err
	}
	b := t.Options.BatchSize
	steps := train.N() / b
	if t.Options.StepsPerEpoch > 0 {
		steps = t.Options.StepsPerEpoch
	}
	if steps < 1 {
		return PriorEpochStats{}, fmt.Errorf("training codes hold %d grids, fewer than one batch of %d", train.N(), b)
	}
	t.Options.Options = t.Options.withDecay(steps)
	c := t.Prior.Config
	perm := epochOrder(t.Options.Seed, t.epoch, train.N())
	idx := make([]int, b)
	start := time.Now()
	var sum prior.Score
	pos := 0
	for step := range steps {
		if err := ctx.Err(); err != nil {
			return PriorEpochStats{}, fmt.Errorf("prior epoch %d interrupted after %d of %d steps: %w", t.epoch+1, step, steps, err)
		}
		for i := range idx {
			if pos == len(perm) {
				pos = 0
			}
			idx[i] = perm[pos]
			pos++
		}
		train.Grids(t.graph.targets, idx)
		for i, j := range idx {
			t.graph.classes[i] = t.Prior.ClassOf(int(train.Levels[j]))
			if t.rng.Float64() < t.Options.NullFraction {
				t.graph.classes[i] = int32(c.NullClass())
			}
		}
		t.Prior.Embed(t.graph.input.Value().Data().([]float32), t.graph.targets, b)
		loss, err := t.graph.run()
		if err != nil {
			return PriorEpochStats{}, fmt.Errorf("prior epoch %d step %d: %w", t.epoch+1, step+1, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return PriorEpochStats{}, fmt.Errorf("prior epoch %d step %d: %w; lower the learning rate", t.epoch+1, step+1, ErrNonFinite)
		}
		params := make([][]float32, len(t.graph.names))
		grads := make([][]float32, len(t.graph.names))
		for i, name := range t.graph.names {
			params[i] = t.Prior.Weights[name].Data
			grads[i] = t.graph.grad(i)
		}
		t.adam.LR = t.Options.Rate(t.adam.T)
		t.adam.Step(t.graph.names, params, grads)
		st := t.graph.stats
		sum.Add(prior.Score{NLL: st.NLL, Correct: st.Correct, Positions: st.Positions})
		if progress != nil {
			el := time.Since(start)
			progress(PriorProgress{Epoch: t.epoch + 1, Step: step + 1, Steps: steps, Bits: sum.BitsPerCode(),
				Accuracy: sum.Accuracy(), Elapsed: el, ImagesPerSecond: float64((step+1)*b) / el.Seconds()})
		}
	}
	el := time.Since(start)
	st := PriorEpochStats{Epoch: t.epoch + 1, Steps: steps, TrainBits: sum.BitsPerCode(), TrainAccuracy: sum.Accuracy(),
		Seconds: el.Seconds(), ImagesPerSecond: float64(steps*b) / el.Seconds()}
	if val != nil {
		sc, err := t.Current().ScoreSet(val)
		if err != nil {
			return st, fmt.Errorf("validate prior: %w", err)
		}
		st.ValBits, st.ValAccuracy = sc.BitsPerCode(), sc.Accuracy()
	}
	t.epoch++
	t.History = append(t.History, st)
	return st, nil
}

// Current returns a Prior over a snapshot of the weights now, for scoring and sampling (the trainer's own
// weights keep changing).
func (t *PriorTrainer) Current() *prior.Prior {
	p, _ := prior.New(t.Prior.Config, t.Prior.Weights.Clone(), t.Prior.VQ)
	return p
}

func (t *PriorTrainer) checkSet(s *prior.CodeSet, what string) error {
	c := t.Prior.Config
	switch {
	case s == nil || s.N() == 0:
		return fmt.Errorf("no %s codes", what)
	case s.Grid != c.Grid:
		return fmt.Errorf("%s codes on a %d×%d grid; the prior models %d×%d", what, s.Grid, s.Grid, c.Grid, c.Grid)
	case s.VQ != "" && t.Prior.VQ != "" && s.VQ != t.Prior.VQ:
		return fmt.Errorf("%s codes come from VQ-VAE %s; the prior models VQ-VAE %s", what, s.VQ, t.Prior.VQ)
	}
	return nil
}

// priorInfo is what a prior checkpoint's Info holds for resuming.
type priorInfo struct {
	Options PriorOptions      `json:"options"`
	History []PriorEpochStats `json:"history"`
	Adam    adamInfo          `json:"adam"`
	RNG     []byte            `json:"rng"`
}

// Checkpoint captures the trainer between epochs: the prior, Adam's moments, the RNG and the history.
func (t *PriorTrainer) Checkpoint() (*prior.Checkpoint, error) {
	info := priorInfo{Options: t.Options, History: t.History}
	var state map[string]*model.Tensor
	info.Adam, state = saveAdam(t.adam, t.Prior.Weights)
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	info.RNG = rng
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	steps := 0
	for _, h := range t.History {
		steps += h.Steps
	}
	return &prior.Checkpoint{Prior: t.Current(), Epoch: t.epoch, Step: steps, State: state, Info: raw}, nil
}

// ResumePrior rebuilds a prior trainer from a checkpoint that Checkpoint wrote.
func ResumePrior(ck *prior.Checkpoint) (*PriorTrainer, error) {
	var info priorInfo
	if err := readInfo(ck.Info, &info, "prior checkpoint"); err != nil {
		return nil, err
	}
	if err := info.Options.Validate(); err != nil {
		return nil, fmt.Errorf("prior checkpoint options: %w", err)
	}
	p, err := prior.New(ck.Prior.Config, ck.Prior.Weights.Clone(), ck.Prior.VQ)
	if err != nil {
		return nil, err
	}
	t := &PriorTrainer{Prior: p, Options: info.Options, History: info.History, epoch: ck.Epoch}
	if t.adam, err = loadAdam(info.Adam, ck.State, p.Weights); err != nil {
		return nil, err
	}
	if t.pcg, t.rng, err = restoreRNG(info.RNG, "prior checkpoint"); err != nil {
		return nil, err
	}
	return t, t.build()
}
