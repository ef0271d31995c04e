package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
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

func cmdTrain(args []string) error {
	fs := newFlags("train", "--data DIR [flags]",
		"Train a VQ-VAE on an OASIS-layout dataset (keras_png_slices_{train,validate,test}).\n"+
			"Writes into --out: checkpoint.bvq (after every epoch, atomically), history.csv/json,\n"+
			"losses.png, and after the last epoch the test split's scores and reconstructions.png.")
	dataDir := fs.String("data", "data", "dataset folder (keras_png_slices_data or its parent)")
	out := fs.String("out", "runs/latest", "output folder")
	preset := fs.String("preset", "residual", "model preset: residual or seed")
	epochs := fs.Int("epochs", 10, "epochs to train (in total, counting resumed ones)")
	batch := fs.Int("batch", 16, "batch size")
	lr := fs.Float64("lr", 2e-4, "Adam learning rate")
	seed := fs.Uint64("seed", 1, "random seed (weights, shuffling, code restarts)")
	ema := fs.Bool("ema", true, "learn the codebook by exponential moving averages (else by the codebook loss)")
	beta := fs.Float64("beta", 0.25, "commitment cost β")
	codes := fs.Int("codes", 0, "codebook size K (0: the preset's)")
	dim := fs.Int("dim", 0, "code dimension D (0: the preset's)")
	deadMin := fs.Float64("dead-code-min", 1, "restart codes used fewer than this many times per batch on average (0: never)")
	steps := fs.Int("steps-per-epoch", 0, "optimiser steps per epoch (0: one pass over the training split)")
	limit := fs.Int("limit", 0, "use only the first N images of each split (0: all)")
	size := fs.Int("size", 256, "image size the model takes")
	resize := fs.Bool("resize", false, "resample images of other sizes to --size instead of failing")
	resume := fs.Bool("resume", false, "continue from --out/checkpoint.bvq (model and optimiser settings then come from it)")
	threads := fs.Int("threads", 0, "CPU threads brainvq may keep busy (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v (flags go before nothing else; see --help)", fs.Args())
	}
	if *threads > 0 {
		parallel.SetThreads(*threads)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	ckPath := filepath.Join(*out, checkpointFile)
	// Check what needs no data first, so a typo fails at once rather than after loading thousands of images.
	var cfg model.Config
	if !*resume {
		var err error
		if cfg, err = model.NewConfig(*preset, *size); err != nil {
			return err
		}
		cfg.EMA, cfg.Beta, cfg.DeadCodeMin = *ema, float32(*beta), float32(*deadMin)
		if *codes > 0 {
			cfg.NumCodes = *codes
		}
		if *dim > 0 {
			cfg.CodeDim = *dim
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		if _, err := os.Stat(ckPath); err == nil {
			return fmt.Errorf("%s already exists: pass --resume to continue it, or choose another --out", ckPath)
		}
	}
	lopt := data.LoadOptions{Size: *size, Resize: *resize, Limit: *limit}
	trainSplit, err := loadSplit(*dataDir, "train", lopt)
	if err != nil {
		return err
	}
	valSplit, err := loadSplit(*dataDir, "validate", lopt)
	if err != nil {
		return err
	}
	var tr *train.Trainer
	if *resume {
		ck, err := model.LoadCheckpoint(ckPath)
		if err != nil {
			return fmt.Errorf("%w (drop --resume to start afresh)", err)
		}
		if tr, err = train.Resume(ck); err != nil {
			return fmt.Errorf("resume from %s: %w", ckPath, err)
		}
		fmt.Fprintf(os.Stderr, "resuming %s after epoch %d\n", ckPath, tr.Epochs())
	} else {
		mean, variance := data.Stats(trainSplit)
		opt := train.Options{BatchSize: *batch, LearningRate: *lr, Seed: *seed, StepsPerEpoch: *steps}
		if tr, err = train.New(cfg, model.Preprocess{Mean: mean, Variance: variance}, opt); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "model %s: K=%d D=%d, %d parameters; preprocessing μ=%.4f σ²=%.4f\n",
			cfg.Preset, cfg.NumCodes, cfg.CodeDim, countParams(tr.Model.Weights), mean, variance)
	}
	// Ctrl-C finishes nothing half-way: the current epoch stops, the last checkpoint stays as it was.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	defer signal.Stop(stop)
	pp := newProgress(os.Stderr, *epochs)
	for tr.Epochs() < *epochs {
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
		if err := writeHistory(*out, tr.History); err != nil {
			return err
		}
	}
	if err := plotHistory(filepath.Join(*out, lossesPNG), tr.History); err != nil {
		return err
	}
	// Final test evaluation: scores, pictures, and the test SSIM recorded in the checkpoint.
	testSplit, err := loadSplit(*dataDir, "test", lopt)
	if err != nil {
		return err
	}
	ev, err := evaluateAndReport(tr.Model, testSplit, *out, *seed)
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
	fmt.Printf("wrote %s, %s, %s, %s, %s\n", ckPath, filepath.Join(*out, historyCSV), filepath.Join(*out, lossesPNG),
		filepath.Join(*out, reconsPNG), filepath.Join(*out, testCSV))
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
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"file", "ssim", "psnr_db", "mse"})
		for _, s := range ev.PerImage {
			cw.Write([]string{s.File, ftoa(s.SSIM), ftoa(s.PSNR), ftoa(s.MSE)})
		}
		cw.Flush()
		return cw.Error()
	})
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

func writeHistory(out string, h []train.EpochStats) error {
	js, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(out, historyJSON), append(js, '\n')); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(out, historyCSV), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"epoch", "steps", "train_recon_loss", "train_vq_loss", "train_perplexity", "val_recon_loss",
			"val_vq_loss", "val_perplexity", "val_codes_used", "val_ssim", "codes_restarted", "seconds", "images_per_second"})
		for _, e := range h {
			cw.Write([]string{strconv.Itoa(e.Epoch), strconv.Itoa(e.Steps), ftoa(e.TrainRecon), ftoa(e.TrainVQ),
				ftoa(e.TrainPerplexity), ftoa(e.ValRecon), ftoa(e.ValVQ), ftoa(e.ValPerplexity), ftoa(e.ValCodesUsed),
				ftoa(e.ValSSIM), strconv.Itoa(e.Restarted), ftoa(e.Seconds), ftoa(e.ImagesPerSecond)})
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
