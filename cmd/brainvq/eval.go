package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/model"
)

func cmdEval(args []string) error {
	fs := newFlags("eval", "--checkpoint FILE --data DIR [flags]",
		"Reconstruct a split with a trained model and report mean SSIM (Wang et al. 2004: 11×11 Gaussian, σ 1.5),\n"+
			"PSNR and MSE. Writes the per-image scores as CSV and a grid of random reconstructions into --out.")
	ckPath := fs.String("checkpoint", "runs/latest/checkpoint.bvq", "checkpoint to evaluate")
	dataDir := fs.String("data", "data", "dataset folder (keras_png_slices_data or its parent)")
	split := fs.String("split", "test", "split to evaluate: train, validate or test")
	out := fs.String("out", "", "folder for test_scores.csv and reconstructions.png (default: the checkpoint's folder)")
	limit := fs.Int("limit", 0, "evaluate only the first N images (0: all)")
	resize := fs.Bool("resize", false, "resample images of other sizes to the model's size instead of failing")
	record := fs.Bool("record", false, "store the mean SSIM in the checkpoint as its test SSIM (with --split test)")
	seed := fs.Uint64("seed", 1, "seed that picks the slices shown in the grid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ck, err := model.LoadCheckpoint(*ckPath)
	if err != nil {
		return err
	}
	s, err := loadSplit(*dataDir, *split, data.LoadOptions{Size: ck.Model.Config.ImageSize, Resize: *resize, Limit: *limit})
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(*ckPath)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ev, err := evaluateAndReport(ck.Model, s, dir, *seed)
	if err != nil {
		return err
	}
	fmt.Printf("%s: SSIM %.4f  PSNR %.2f dB  MSE %.5f  perplexity %.1f (head %.1f)  codes used %.0f%%  (%d images)\n",
		*split, ev.SSIM, ev.PSNR, ev.MSE, ev.Perplexity, ev.HeadPerplexity, 100*ev.CodesUsed, s.N)
	if *record {
		if *split != "test" || *limit != 0 {
			return fmt.Errorf("--record stores a test SSIM: use it with --split test and no --limit")
		}
		ck.TestSSIM = ev.SSIM
		if err := ck.Save(*ckPath); err != nil {
			return err
		}
		fmt.Printf("recorded test SSIM in %s\n", *ckPath)
	}
	return nil
}

func cmdInfo(args []string) error {
	fs := newFlags("info", "[--checkpoint] FILE", "Print what a checkpoint holds: preset, sizes, preprocessing, training progress, test SSIM.")
	ckPath := fs.String("checkpoint", "", "checkpoint file (or give it as the argument)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := *ckPath
	if path == "" && fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	if path == "" {
		return fmt.Errorf("which checkpoint? give --checkpoint FILE")
	}
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return err
	}
	c := ck.Model.Config
	fmt.Printf("checkpoint   %s\n", path)
	fmt.Printf("preset       %s (%d×%d input, latent %d×%d×%d)\n", c.Preset, c.ImageSize, c.ImageSize, c.CodeDim, c.LatentSize(), c.LatentSize())
	fmt.Printf("codebook     K=%d codes of D=%d, β=%g, EMA %v (decay %g), dead-code restart below %g\n", c.NumCodes, c.CodeDim, c.Beta, c.EMA, c.EMADecay, c.DeadCodeMin)
	fmt.Printf("parameters   %d\n", countParams(ck.Model.Weights))
	fmt.Printf("preprocess   x = pixel/255; encoder input x − %.6f; loss / %.6f\n", ck.Model.Pre.Mean, ck.Model.Pre.Variance)
	fmt.Printf("trained      %d epochs, %d steps\n", ck.Epoch, ck.Step)
	if math.IsNaN(ck.TestSSIM) {
		fmt.Printf("test SSIM    not measured\n")
	} else {
		fmt.Printf("test SSIM    %.4f\n", ck.TestSSIM)
	}
	return nil
}
