package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/eval"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/parallel"
	"github.com/brainvq/brainvq/core/plot"
	"github.com/brainvq/brainvq/core/train"
)

// Files a training run writes into its output folder.
const (
	checkpointFile = "checkpoint.bvq"
	historyCSV     = "history.csv"
	historyJSON    = "history.json"
	lossesPNG      = "losses.png"
	reconsPNG      = "reconstructions.png"
	testCSV        = "test_scores.csv"
)

// trainArgs are the flags of `brainvq train`.
type trainArgs struct {
	data, out, preset, loss     string
	schedule                    string
	epochs, batch, steps, limit int
	warmup                      int
	codes, dim, size, threads   int
	lr, beta, deadMin, ssimW    float64
	seed                        uint64
	ema, resize, resume         bool
	set                         map[string]bool // flags given on the command line
}

// trainFlags declares the flags of `brainvq train`. Every default comes from train.DefaultSettings and
// train.DefaultConfig, the one table of training defaults (a test checks it stays that way).
func trainFlags() (*flag.FlagSet, *trainArgs, error) {
	d := train.DefaultSettings()
	cfg, err := train.DefaultConfig(d.Preset, d.ImageSize)
	if err != nil {
		return nil, nil, fmt.Errorf("training defaults: %w", err)
	}
	fs := newFlags("train", "--data DIR [flags]",
		"Train a VQ-VAE on an OASIS-layout dataset (keras_png_slices_{train,validate,test}).\n"+
			"Writes into --out: checkpoint.bvq (after every epoch, atomically), history.csv/json,\n"+
			"losses.png, and after the last epoch the test split's scores and reconstructions.png.")
	a := &trainArgs{}
	fs.StringVar(&a.data, "data", "data", "dataset folder (keras_png_slices_data or its parent)")
	fs.StringVar(&a.out, "out", "runs/latest", "output folder")
	fs.StringVar(&a.preset, "preset", d.Preset, "model preset: "+strings.Join(model.Presets(), " or "))
	fs.IntVar(&a.epochs, "epochs", d.Epochs, "epochs to train (in total, counting resumed ones)")
	fs.IntVar(&a.batch, "batch", d.BatchSize, "batch size")
	fs.Float64Var(&a.lr, "lr", d.LearningRate, "Adam learning rate")
	fs.StringVar(&a.schedule, "lr-schedule", d.Schedule, "learning-rate schedule: "+train.ScheduleCosine+
		" (down to "+ftoa(train.CosineFloor)+"× --lr at the end of --epochs) or "+train.ScheduleConstant)
	fs.IntVar(&a.warmup, "warmup-steps", d.WarmupSteps, "optimiser steps over which the rate rises linearly to --lr")
	fs.Float64Var(&a.ssimW, "ssim-weight", d.SSIMWeight, "weight of a structural loss term 1 − SSIM(x, x̂) added to the loss (0: none)")
	fs.Uint64Var(&a.seed, "seed", d.Seed, "random seed (weights, shuffling, code restarts)")
	fs.BoolVar(&a.ema, "ema", d.EMA, "learn the codebook by exponential moving averages (else by the codebook loss)")
	fs.StringVar(&a.loss, "recon-loss", d.ReconLoss, "reconstruction loss: "+strings.Join(train.ReconLosses(), " or ")+
		" ("+train.ReconClipped+": overshooting past black or white is free, so the background is exactly black)")
	fs.Float64Var(&a.beta, "beta", float64(cfg.Beta), "commitment cost β")
	fs.IntVar(&a.codes, "codes", 0, "codebook size K (0: the preset's)")
	fs.IntVar(&a.dim, "dim", 0, "code dimension D (0: the preset's)")
	fs.Float64Var(&a.deadMin, "dead-code-min", float64(d.DeadCodeMin), "restart codes used fewer than this many times per batch on average (0: never)")
	fs.IntVar(&a.steps, "steps-per-epoch", d.StepsPerEpoch, "optimiser steps per epoch (0: one pass over the training split)")
	fs.IntVar(&a.limit, "limit", 0, "use only the first N images of each split (0: all)")
	fs.IntVar(&a.size, "size", d.ImageSize, "image size the model takes")
	fs.BoolVar(&a.resize, "resize", false, "resample images of other sizes to --size instead of failing")
	fs.BoolVar(&a.resume, "resume", false, "continue from --out/checkpoint.bvq (model and optimiser settings then come from it)")
	fs.IntVar(&a.threads, "threads", d.Threads, "CPU threads brainvq may keep busy (0: all)")
	return fs, a, nil
}

// check reports the first flag outside its range (train.Limits), naming the flag.
func (a *trainArgs) check() error {
	for _, c := range []struct {
		key, flag string
		v         float64
	}{{"epochs", "--epochs", float64(a.epochs)}, {"batch_size", "--batch", float64(a.batch)},
		{"learning_rate", "--lr", a.lr}, {"steps_per_epoch", "--steps-per-epoch", float64(a.steps)},
		{"warmup_steps", "--warmup-steps", float64(a.warmup)}, {"ssim_weight", "--ssim-weight", a.ssimW},
		{"dead_code_min", "--dead-code-min", a.deadMin}, {"threads", "--threads", float64(a.threads)}} {
		if err := train.CheckLimit(c.key, c.flag, c.v); err != nil {
			return err
		}
	}
	if a.codes < 0 || a.dim < 0 || a.limit < 0 {
		return fmt.Errorf("--codes %d, --dim %d and --limit %d must be ≥ 0", a.codes, a.dim, a.limit)
	}
	if a.size < train.MinImageSize || a.size%4 != 0 {
		return fmt.Errorf("--size %d: must be a multiple of 4 and at least %d (validation scores SSIM over an 11×11 window)", a.size, train.MinImageSize)
	}
	if !slices.Contains(train.ReconLosses(), a.loss) {
		return fmt.Errorf("--recon-loss %q: choose one of %s", a.loss, strings.Join(train.ReconLosses(), ", "))
	}
	if !slices.Contains(train.Schedules(), a.schedule) {
		return fmt.Errorf("--lr-schedule %q: choose one of %s", a.schedule, strings.Join(train.Schedules(), ", "))
	}
	if !(a.beta >= 0) || math.IsInf(a.beta, 0) {
		return fmt.Errorf("--beta %g must be a finite number ≥ 0", a.beta)
	}
	return nil
}

// config is the model configuration the flags describe (for a fresh run).
func (a *trainArgs) config() (model.Config, error) {
	cfg, err := train.DefaultConfig(a.preset, a.size)
	if err != nil {
		return model.Config{}, err
	}
	cfg.EMA, cfg.Beta, cfg.DeadCodeMin = a.ema, float32(a.beta), float32(a.deadMin)
	if a.codes > 0 {
		cfg.NumCodes = a.codes
	}
	if a.dim > 0 {
		cfg.CodeDim = a.dim
	}
	return cfg, cfg.Validate()
}

func cmdTrain(args []string) error {
	fs, a, err := trainFlags()
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v (flags go before nothing else; see --help)", fs.Args())
	}
	a.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { a.set[f.Name] = true })
	// Check what needs no data first, so a typo fails at once rather than after loading thousands of images.
	if err := a.check(); err != nil {
		return err
	}
	if a.threads > 0 {
		parallel.SetThreads(a.threads)
	}
	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return err
	}
	ckPath := filepath.Join(a.out, checkpointFile)
	var cfg model.Config
	if !a.resume {
		if cfg, err = a.config(); err != nil {
			return err
		}
		if _, err := os.Stat(ckPath); err == nil {
			return fmt.Errorf("%s already exists: pass --resume to continue it, or choose another --out", ckPath)
		}
		if err := train.CheckMemory(cfg, a.batch); err != nil {
			return err
		}
	}
	lock, err := lockRun(a.out)
	if err != nil {
		return err
	}
	defer lock.Release()
	var resumed *model.Checkpoint
	if a.resume {
		if resumed, err = model.LoadCheckpoint(ckPath); err != nil {
			return fmt.Errorf("%w (drop --resume to start afresh)", err)
		}
		if !a.set["size"] { // the images must have the resumed model's size
			a.size = resumed.Model.Config.ImageSize
		}
	}
	lopt := data.LoadOptions{Size: a.size, Resize: a.resize, Limit: a.limit}
	trainSplit, err := loadSplit(a.data, "train", lopt)
	if err != nil {
		return err
	}
	valSplit, err := loadSplit(a.data, "validate", lopt)
	if err != nil {
		return err
	}
	tr, err := a.trainer(cfg, trainSplit, resumed, ckPath)
	if err != nil {
		return err
	}
	if err := runEpochs(tr, trainSplit, valSplit, a.epochs, a.out); err != nil {
		return err
	}
	testSplit, err := loadSplit(a.data, "test", lopt)
	if err != nil {
		return err
	}
	return finishRun(tr, testSplit, a.out, a.seed)
}

// warnIgnored tells the user about flags given with --resume that differ from what the checkpoint trains
// with: the checkpoint wins, and nothing changes silently.
func (a *trainArgs) warnIgnored(tr *train.Trainer) {
	c, o := tr.Model.Config, tr.Options
	for _, d := range []struct {
		flag          string
		given, actual string
	}{
		{"preset", a.preset, c.Preset}, {"size", strconv.Itoa(a.size), strconv.Itoa(c.ImageSize)},
		{"batch", strconv.Itoa(a.batch), strconv.Itoa(o.BatchSize)}, {"lr", ftoa(a.lr), ftoa(o.LearningRate)},
		{"seed", strconv.FormatUint(a.seed, 10), strconv.FormatUint(o.Seed, 10)},
		{"ema", strconv.FormatBool(a.ema), strconv.FormatBool(c.EMA)}, {"beta", ftoa(a.beta), ftoa(float64(c.Beta))},
		{"steps-per-epoch", strconv.Itoa(a.steps), strconv.Itoa(o.StepsPerEpoch)},
		{"recon-loss", a.loss, reconLossName(o.ReconLoss)},
		{"lr-schedule", a.schedule, scheduleName(o.Schedule)}, {"ssim-weight", ftoa(a.ssimW), ftoa(o.SSIMWeight)}, {"warmup-steps", strconv.Itoa(a.warmup), strconv.Itoa(o.WarmupSteps)},
	} {
		if a.set[d.flag] && d.given != d.actual {
			fmt.Fprintf(os.Stderr, "warning: --%s %s ignored: the checkpoint trains with %s (drop --resume to start afresh with it)\n", d.flag, d.given, d.actual)
		}
	}
	for _, f := range []string{"codes", "dim"} {
		if a.set[f] {
			fmt.Fprintf(os.Stderr, "warning: --%s ignored: a resumed run keeps the checkpoint's codebook\n", f)
		}
	}
}

// reconLossName is the flag value of a checkpoint's loss ("" in checkpoints older than the choice is mse).
func reconLossName(l string) string {
	if l == "" {
		return train.ReconMSE
	}
	return l
}

// scheduleName is the flag value of a checkpoint's schedule ("" in checkpoints older than the choice is
// constant).
func scheduleName(s string) string {
	if s == "" {
		return train.ScheduleConstant
	}
	return s
}

// options are the training options the flags describe for a fresh run on a split of n images; a cosine
// schedule ends with the last of --epochs.
func (a *trainArgs) options(n int) train.Options {
	opt := train.Options{BatchSize: a.batch, LearningRate: a.lr, Seed: a.seed, StepsPerEpoch: a.steps, ReconLoss: a.loss,
		Schedule: a.schedule, WarmupSteps: a.warmup, SSIMWeight: a.ssimW}
	if a.schedule == train.ScheduleCosine {
		perEpoch := a.steps
		if perEpoch == 0 {
			perEpoch = n / a.batch
		}
		opt.DecaySteps = a.epochs * perEpoch
	}
	return opt
}

// trainer starts a fresh trainer of cfg on the training split's statistics, or with --resume rebuilds the one
// saved in ck (read from ckPath).
func (a *trainArgs) trainer(cfg model.Config, trainSplit *data.Split, ck *model.Checkpoint, ckPath string) (*train.Trainer, error) {
	if ck != nil {
		tr, err := train.Resume(ck)
		if err != nil {
			return nil, fmt.Errorf("resume from %s: %w", ckPath, err)
		}
		fmt.Fprintf(os.Stderr, "resuming %s after epoch %d\n", ckPath, tr.Epochs())
		a.warnIgnored(tr)
		return tr, nil
	}
	mean, variance := data.Stats(trainSplit)
	opt := a.options(trainSplit.N)
	tr, err := train.New(cfg, model.Preprocess{Mean: mean, Variance: variance}, opt)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "model %s: K=%d D=%d, %d parameters; preprocessing μ=%.4f σ²=%.4f\n",
		cfg.Preset, cfg.NumCodes, cfg.CodeDim, countParams(tr.Model.Weights), mean, variance)
	return tr, nil
}

// runEpochs trains until tr has completed epochs epochs, validating on val and writing the checkpoint and
// history into out after each. Ctrl-C finishes nothing half-way: the current epoch stops, the last checkpoint
// stays as it was.
func runEpochs(tr *train.Trainer, trainSplit, valSplit *data.Split, epochs int, out string) error {
	ckPath := filepath.Join(out, checkpointFile)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	defer signal.Stop(stop)
	pp := newProgress(os.Stderr, epochs)
	for tr.Epochs() < epochs {
		for !tr.EpochDone(trainSplit.N) {
			select {
			case <-stop:
				return fmt.Errorf("interrupted during epoch %d; %s holds epoch %d", tr.Epochs()+1, ckPath, tr.Epochs())
			default:
			}
			if _, err := tr.Steps(trainSplit, 1, pp.update); err != nil {
				if errors.Is(err, train.ErrNonFinite) {
					return fmt.Errorf("%w; training stopped, %s keeps the last good epoch (%d)", err, ckPath, tr.Epochs())
				}
				return err
			}
		}
		st, err := tr.EndEpoch(valSplit)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "epoch %d: train recon %.4f vq %.4f | val recon %.4f vq %.4f SSIM %.4f perplexity %.1f codes used %.0f%% | %.0fs, %.2f img/s\n",
			st.Epoch, st.TrainRecon, st.TrainVQ, st.ValRecon, st.ValVQ, st.ValSSIM, st.ValPerplexity, 100*st.ValCodesUsed, st.Seconds, st.ImagesPerSecond)
		ck, err := tr.Checkpoint()
		if err != nil {
			return err
		}
		if err := ck.Save(ckPath); err != nil {
			return err
		}
		if err := writeHistory(out, tr.History); err != nil {
			return err
		}
	}
	return nil
}

// finishRun draws the loss curves, evaluates the test split (scores, pictures) and records the test SSIM in
// the checkpoint.
func finishRun(tr *train.Trainer, testSplit *data.Split, out string, seed uint64) error {
	ckPath := filepath.Join(out, checkpointFile)
	if err := plotHistory(filepath.Join(out, lossesPNG), tr.History); err != nil {
		return err
	}
	ev, err := evaluateAndReport(tr.Model, testSplit, out, seed)
	if err != nil {
		return err
	}
	ck, err := tr.Checkpoint()
	if err != nil {
		return err
	}
	ck.TestSSIM = ev.SSIM
	if err := ck.Save(ckPath); err != nil {
		return err
	}
	fmt.Printf("test SSIM %.4f  PSNR %.2f dB  MSE %.5f  (%d images)\n", ev.SSIM, ev.PSNR, ev.MSE, testSplit.N)
	fmt.Printf("wrote %s, %s, %s, %s, %s\n", ckPath, filepath.Join(out, historyCSV), filepath.Join(out, lossesPNG),
		filepath.Join(out, reconsPNG), filepath.Join(out, testCSV))
	return nil
}

func countParams(w model.Weights) int {
	n := 0
	for _, t := range w {
		n += len(t.Data)
	}
	return n
}

// evaluateAndReport scores m on s, writes the per-image CSV and a grid of 8 random slices with their SSIM.
func evaluateAndReport(m *model.Model, s *data.Split, out string, seed uint64) (*eval.Evaluation, error) {
	const show = 8
	pick := rand.New(rand.NewPCG(seed, 99)).Perm(s.N)[:min(show, s.N)]
	want := map[int]int{}
	for j, i := range pick {
		want[i] = j
	}
	size := m.Config.ImageSize
	orig := make([]float32, len(pick)*size*size)
	recon := make([]float32, len(pick)*size*size)
	start := time.Now()
	ev, err := eval.Evaluate(m, s, func(first int, x, xhat []float32, n int) {
		for i := 0; i < n; i++ {
			if j, ok := want[first+i]; ok {
				copy(orig[j*size*size:], x[i*size*size:(i+1)*size*size])
				copy(recon[j*size*size:], xhat[i*size*size:(i+1)*size*size])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "evaluated %d %s images in %s\n", s.N, s.Name, time.Since(start).Round(time.Millisecond))
	labels := make([]string, len(pick))
	for j, i := range pick {
		labels[j] = fmt.Sprintf("SSIM %.3f", ev.PerImage[i].SSIM)
	}
	if err := plot.ReconstructionGrid(filepath.Join(out, reconsPNG), orig, recon, len(pick), size, size, labels); err != nil {
		return nil, err
	}
	return ev, writeScores(filepath.Join(out, testCSV), ev)
}

func writeScores(path string, ev *eval.Evaluation) error {
	rows := [][]string{{"file", "ssim", "psnr_db", "mse"}}
	for _, s := range ev.PerImage {
		rows = append(rows, []string{s.File, ftoa(s.SSIM), ftoa(s.PSNR), ftoa(s.MSE)})
	}
	return writeCSV(path, rows)
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

func writeHistory(out string, h []train.EpochStats) error {
	rows := [][]string{{"epoch", "steps", "train_recon_loss", "train_vq_loss", "train_perplexity", "val_recon_loss",
		"val_vq_loss", "val_perplexity", "val_codes_used", "val_head_perplexity", "val_ssim", "codes_restarted", "seconds",
		"images_per_second"}}
	for _, e := range h {
		rows = append(rows, []string{strconv.Itoa(e.Epoch), strconv.Itoa(e.Steps), ftoa(e.TrainRecon), ftoa(e.TrainVQ),
			ftoa(e.TrainPerplexity), ftoa(e.ValRecon), ftoa(e.ValVQ), ftoa(e.ValPerplexity), ftoa(e.ValCodesUsed),
			ftoa(e.ValHeadPerp), ftoa(e.ValSSIM), strconv.Itoa(e.Restarted), ftoa(e.Seconds), ftoa(e.ImagesPerSecond)})
	}
	return writeTable(filepath.Join(out, historyJSON), filepath.Join(out, historyCSV), h, rows)
}

// writeTable writes v as indented JSON to jsonPath and rows (the first is the header) as CSV to csvPath,
// both atomically: a run's history in the two forms people read it in.
func writeTable(jsonPath, csvPath string, v any, rows [][]string) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(jsonPath, append(js, '\n')); err != nil {
		return err
	}
	return writeCSV(csvPath, rows)
}

// writeCSV writes rows (the first is the header) to path atomically.
func writeCSV(path string, rows [][]string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		for _, r := range rows {
			cw.Write(r)
		}
		cw.Flush()
		return cw.Error()
	})
}

// plotHistory draws the loss curves per epoch: reconstruction and VQ loss (train vs validation),
// validation SSIM and perplexity.
func plotHistory(path string, h []train.EpochStats) error {
	if len(h) == 0 {
		return nil
	}
	col := func(f func(train.EpochStats) float64) ([]float64, []float64) {
		x, y := make([]float64, len(h)), make([]float64, len(h))
		for i, e := range h {
			x[i], y[i] = float64(e.Epoch), f(e)
		}
		return x, y
	}
	curve := func(name string, f func(train.EpochStats) float64) plot.Curve {
		x, y := col(f)
		return plot.Curve{Name: name, X: x, Y: y}
	}
	positive := func(c plot.Curve) bool {
		for _, v := range c.Y {
			if !(v > 0) || math.IsInf(v, 0) {
				return false
			}
		}
		return true
	}
	recon := []plot.Curve{curve("train", func(e train.EpochStats) float64 { return e.TrainRecon }),
		curve("validation", func(e train.EpochStats) float64 { return e.ValRecon })}
	vq := []plot.Curve{curve("train", func(e train.EpochStats) float64 { return e.TrainVQ }),
		curve("validation", func(e train.EpochStats) float64 { return e.ValVQ })}
	logY := positive(recon[0]) && positive(recon[1]) && positive(vq[0]) && positive(vq[1])
	return plot.Curves(path, []plot.Panel{
		{Title: "Reconstruction loss", XLabel: "epoch", YLabel: "mean (v−u)² / σ²", Curves: recon, LogY: logY},
		{Title: "VQ loss", XLabel: "epoch", YLabel: "codebook + β·commitment", Curves: vq, LogY: logY},
		{Title: "Validation SSIM", XLabel: "epoch", YLabel: "SSIM", Curves: []plot.Curve{curve("validation", func(e train.EpochStats) float64 { return e.ValSSIM })}},
		{Title: "Codebook perplexity", XLabel: "epoch", YLabel: "perplexity", Curves: []plot.Curve{
			curve("train (last batch)", func(e train.EpochStats) float64 { return e.TrainPerplexity }),
			curve("validation", func(e train.EpochStats) float64 { return e.ValPerplexity })}},
	})
}
