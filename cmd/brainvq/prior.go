package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/parallel"
	"github.com/brainvq/brainvq/core/plot"
	"github.com/brainvq/brainvq/core/prior"
	"github.com/brainvq/brainvq/core/runlock"
	"github.com/brainvq/brainvq/core/train"
)

// Files a prior run writes into its --out folder.
const (
	priorFile        = "prior.bvqp"
	priorHistoryJSON = "prior_history.json"
	priorHistoryCSV  = "prior_history.csv"
	priorCurvesPNG   = "prior_curves.png"
	priorSamplesPNG  = "samples.png"
)

func cmdPrior(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(os.Stderr, "Usage: brainvq prior train --checkpoint C --data DIR --out RUN [flags]\n\n"+
			"Train a gated PixelCNN prior over the code grids of a trained VQ-VAE (docs/model.md, \"The prior\").\n"+
			"Then `brainvq sample` generates slices and `brainvq complete` fills in parts of real ones.\n")
		if len(args) == 0 {
			return errors.New("which prior command? (train)")
		}
		return flag.ErrHelp
	}
	if args[0] != "train" {
		return fmt.Errorf("unknown prior command %q (want train)", args[0])
	}
	return priorTrain(args[1:])
}

func priorTrain(args []string) error {
	fs := newFlags("prior train", "--checkpoint C --data DIR --out RUN [flags]",
		"Train a PixelCNN prior on the codes the VQ-VAE checkpoint C gives the training split of DIR.\n"+
			"The codes are computed once and cached in RUN; every epoch writes RUN/"+priorFile+" atomically;\n"+
			"the end reports the test split's bits per code and next-code accuracy against the unigram baseline.")
	def := train.DefaultPriorOptions()
	ckPath := fs.String("checkpoint", "", "VQ-VAE checkpoint whose codes the prior models (required)")
	dataDir := fs.String("data", "data", "OASIS-layout dataset (keras_png_slices_data or its parent)")
	out := fs.String("out", "", "run folder for the prior's checkpoint, history, curves and samples (required)")
	epochs := fs.Int("epochs", 10, "train until this many epochs are done")
	batch := fs.Int("batch", def.BatchSize, "code grids per step")
	lr := fs.Float64("lr", def.LearningRate, "Adam learning rate")
	seed := fs.Uint64("seed", def.Seed, "random seed (initialisation, order, level dropout)")
	nullFrac := fs.Float64("null-fraction", def.NullFraction, "fraction of images trained without their level (for unconditional sampling)")
	steps := fs.Int("steps", 0, "optimiser steps per epoch (0: one pass over the training codes)")
	channels := fs.Int("channels", prior.DefaultChannels, "channels of each stack")
	layers := fs.Int("layers", prior.DefaultLayers, "gated layers")
	kernel := fs.Int("kernel", prior.DefaultKernel, "kernel size k (odd): k×k vertical, k/2+1 horizontal taps")
	head := fs.Int("head", prior.DefaultHeadChannels, "channels of the head's hidden layer")
	dilations := fs.String("dilations", "", "comma-separated dilation of each layer (default 1,2,4,8,16,1,2,… capped by the grid)")
	noLevels := fs.Bool("unconditional", false, "ignore the slice levels in the file names")
	resume := fs.Bool("resume", false, "continue RUN/"+priorFile+" (settings then come from it)")
	resize := fs.Bool("resize", false, "resample images of other sizes to the model's size instead of failing")
	threads := fs.Int("threads", 0, "CPU threads brainvq may keep busy (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %v (see --help)", fs.Args())
	case *ckPath == "":
		return errors.New("--checkpoint: which VQ-VAE? give the checkpoint its codes come from")
	case *out == "":
		return errors.New("--out: which run folder? (for example runs/prior)")
	case *epochs < 1:
		return fmt.Errorf("--epochs %d must be ≥ 1", *epochs)
	case *threads < 0:
		return fmt.Errorf("--threads %d must be ≥ 0", *threads)
	}
	opt := train.PriorOptions{Options: train.Options{BatchSize: *batch, LearningRate: *lr, Seed: *seed, StepsPerEpoch: *steps}, NullFraction: *nullFrac}
	if err := opt.Validate(); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	parallel.SetThreads(*threads)
	vq, err := model.LoadCheckpoint(*ckPath)
	if err != nil {
		return err
	}
	m := vq.Model
	path := filepath.Join(*out, priorFile)
	if !*resume {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s already exists: pass --resume to continue it, or choose another --out", path)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	lock, err := lockRun(*out)
	if err != nil {
		return err
	}
	defer lock.Release()
	lopt := data.LoadOptions{Size: m.Config.ImageSize, Resize: *resize}
	sets := map[string]*prior.CodeSet{}
	for _, split := range []string{"train", "validate", "test"} {
		if sets[split], err = splitCodes(m, *dataDir, split, lopt, *out); err != nil {
			return err
		}
		if *noLevels {
			for i := range sets[split].Levels {
				sets[split].Levels[i] = -1
			}
		}
	}
	var tr *train.PriorTrainer
	if *resume {
		ck, err := prior.LoadCheckpoint(path)
		if err != nil {
			return fmt.Errorf("%w (drop --resume to start afresh)", err)
		}
		if err := ck.Prior.CheckModel(m); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if tr, err = train.ResumePrior(ck); err != nil {
			return fmt.Errorf("resume from %s: %w", path, err)
		}
		fmt.Fprintf(os.Stderr, "resuming %s after epoch %d\n", path, tr.Epochs())
	} else {
		dil, err := parseInts(*dilations)
		if err != nil {
			return fmt.Errorf("--dilations %q: %w", *dilations, err)
		}
		cfg := prior.ConfigFor(m, sets["train"].MaxLevel()+1).Sized(*channels, *layers, *kernel, *head, dil)
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("flags: %w", err)
		}
		if tr, err = train.NewPriorTrainer(cfg, m.Weights[model.CodebookName].Data, prior.Fingerprint(m), opt); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "prior: %d gated layers of %d channels, kernel %d, dilations %v (sees %d rows up), %d levels, %d parameters, %.1f GFLOP per grid\n",
			cfg.Layers, cfg.Channels, cfg.Kernel, cfg.Dilations, cfg.ReceptiveRows(), cfg.Levels, countParams(tr.Prior.Weights), cfg.FLOPs()/1e9)
	}
	uni := prior.NewUnigram(sets["train"], m.Config.NumCodes)
	fmt.Fprintf(os.Stderr, "unigram baseline on validation: %.3f bits/code, accuracy %.3f\n", uni.BitsPerCode(sets["validate"]), uni.Accuracy(sets["validate"]))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pp := newProgress(os.Stderr, *epochs)
	for tr.Epochs() < *epochs {
		st, err := tr.Epoch(ctx, sets["train"], sets["validate"], pp.updatePrior)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted; %s holds epoch %d", path, tr.Epochs())
			}
			return fmt.Errorf("%w; %s keeps the last good epoch (%d)", err, path, tr.Epochs())
		}
		fmt.Fprintf(os.Stderr, "epoch %d: train %.3f bits/code accuracy %.3f | val %.3f bits/code accuracy %.3f | %.0fs, %.2f grids/s\n",
			st.Epoch, st.TrainBits, st.TrainAccuracy, st.ValBits, st.ValAccuracy, st.Seconds, st.ImagesPerSecond)
		ck, err := tr.Checkpoint()
		if err != nil {
			return err
		}
		if err := ck.Save(path); err != nil {
			return err
		}
		if err := writePriorHistory(*out, tr.History); err != nil {
			return err
		}
	}
	// The test split against the unigram baseline, recorded in the checkpoint.
	p := tr.Current()
	sc, err := p.ScoreSet(sets["test"])
	if err != nil {
		return err
	}
	test := &prior.TestScore{BitsPerCode: sc.BitsPerCode(), Accuracy: sc.Accuracy(),
		UnigramBits: uni.BitsPerCode(sets["test"]), UnigramAccuracy: uni.Accuracy(sets["test"])}
	ck, err := tr.Checkpoint()
	if err != nil {
		return err
	}
	ck.Test = test
	if err := ck.Save(path); err != nil {
		return err
	}
	if err := plotPriorHistory(filepath.Join(*out, priorCurvesPNG), tr.History, uni.BitsPerCode(sets["validate"])); err != nil {
		return err
	}
	levels := sampleLevels(p.Config.Levels)
	if err := writeSampleGrid(filepath.Join(*out, priorSamplesPNG), p, m, levels, *seed); err != nil {
		return err
	}
	fmt.Printf("test: %.3f bits/code, next-code accuracy %.3f (unigram baseline %.3f bits/code, accuracy %.3f; %d grids)\n",
		test.BitsPerCode, test.Accuracy, test.UnigramBits, test.UnigramAccuracy, sets["test"].N())
	fmt.Printf("wrote %s, %s, %s, %s\n", path, filepath.Join(*out, priorHistoryCSV), filepath.Join(*out, priorCurvesPNG), filepath.Join(*out, priorSamplesPNG))
	return nil
}

// splitCodes returns the code grids of a split under m: from RUN/codes-<split>.bvqc when that cache was
// made by the same model from the same files, else by encoding the split (and caching the result).
func splitCodes(m *model.Model, root, split string, opt data.LoadOptions, out string) (*prior.CodeSet, error) {
	dir, err := splitDir(root, split)
	if err != nil {
		return nil, err
	}
	files, err := data.ListSplit(dir)
	if err != nil {
		return nil, err
	}
	cache := filepath.Join(out, "codes-"+split+".bvqc")
	fp := prior.Fingerprint(m)
	if s, err := prior.LoadCodes(cache); err == nil && s.VQ == fp && slices.Equal(s.Files, files) {
		fmt.Fprintf(os.Stderr, "codes of %s: %d grids from %s\n", split, s.N(), cache)
		return s, nil
	}
	sp, err := loadSplit(root, split, opt)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := prior.Encode(m, sp, nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "encoded %s: %d grids of %d×%d in %s\n", split, s.N(), s.Grid, s.Grid, time.Since(start).Round(time.Millisecond))
	return s, s.Save(cache)
}

func writePriorHistory(out string, h []train.PriorEpochStats) error {
	rows := [][]string{{"epoch", "steps", "train_bits_per_code", "train_accuracy", "val_bits_per_code", "val_accuracy", "seconds", "images_per_second"}}
	for _, e := range h {
		rows = append(rows, []string{strconv.Itoa(e.Epoch), strconv.Itoa(e.Steps), ftoa(e.TrainBits), ftoa(e.TrainAccuracy),
			ftoa(e.ValBits), ftoa(e.ValAccuracy), ftoa(e.Seconds), ftoa(e.ImagesPerSecond)})
	}
	return writeTable(filepath.Join(out, priorHistoryJSON), filepath.Join(out, priorHistoryCSV), h, rows)
}

func plotPriorHistory(path string, h []train.PriorEpochStats, unigram float64) error {
	x := make([]float64, len(h))
	curve := func(name string, f func(train.PriorEpochStats) float64) plot.Curve {
		y := make([]float64, len(h))
		for i, e := range h {
			x[i], y[i] = float64(e.Epoch), f(e)
		}
		return plot.Curve{Name: name, X: slices.Clone(x), Y: y}
	}
	flat := plot.Curve{Name: "unigram (validation)", X: []float64{}, Y: []float64{}}
	for _, e := range h {
		flat.X, flat.Y = append(flat.X, float64(e.Epoch)), append(flat.Y, unigram)
	}
	return plot.Curves(path, []plot.Panel{
		{Title: "Negative log-likelihood", XLabel: "epoch", YLabel: "bits per code", Curves: []plot.Curve{
			curve("train", func(e train.PriorEpochStats) float64 { return e.TrainBits }),
			curve("validation", func(e train.PriorEpochStats) float64 { return e.ValBits }), flat}},
		{Title: "Next-code accuracy", XLabel: "epoch", YLabel: "accuracy", Curves: []plot.Curve{
			curve("train", func(e train.PriorEpochStats) float64 { return e.TrainAccuracy }),
			curve("validation", func(e train.PriorEpochStats) float64 { return e.ValAccuracy })}},
	})
}

// sampleLevels picks up to 8 levels spread over 0…levels−1 for a run's sample grid (−1, no level, when the
// prior has none).
func sampleLevels(levels int) []int {
	if levels == 0 {
		return []int{-1, -1, -1, -1, -1, -1, -1, -1}
	}
	var out []int
	for i := range 8 {
		out = append(out, (2*i+1)*levels/16)
	}
	return out
}

// writeSampleGrid samples one grid per level with the fast sampler, decodes them with m and draws them.
func writeSampleGrid(path string, p *prior.Prior, m *model.Model, levels []int, seed uint64) error {
	n := len(levels)
	classes := make([]int32, n)
	labels := make([]string, n)
	for i, l := range levels {
		c, err := p.Config.Class(l)
		if err != nil {
			return err
		}
		classes[i] = c
		labels[i] = levelLabel(l)
	}
	codes, err := p.Sample(prior.Request{N: n, Classes: classes, Uniforms: prior.Uniforms(seed, 0, n, p.Config.Grid), Options: prior.DefaultSampleOptions()})
	if err != nil {
		return err
	}
	s := m.Config.ImageSize
	return plot.ImageGrid(path, m.Decode(codes, n), n, s, s, 8, labels)
}

func levelLabel(l int) string {
	if l < 0 {
		return "no level"
	}
	return fmt.Sprintf("level %d", l)
}

// lockRun takes the run folder's lock (a second writer is refused, naming the first one's PID) and then
// removes the temp files an earlier, killed run left there.
func lockRun(dir string) (*runlock.Lock, error) {
	lock, err := runlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	removed, err := atomicfile.CleanTemps(dir)
	for _, p := range removed {
		fmt.Fprintf(os.Stderr, "removed %s, left by a run that was killed\n", p)
	}
	if err != nil {
		lock.Release()
		return nil, err
	}
	return lock, nil
}

// parseInts reads a comma-separated list of integers; "" is nil.
func parseInts(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}
