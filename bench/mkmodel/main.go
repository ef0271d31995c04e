// Command mkmodel writes a freshly initialised brainvq model of a preset for the benchmark: a checkpoint
// that `brainvq export` turns into vqvae.onnx, and the same weights as one NumPy file per parameter that the
// PyTorch twin (bench/torch_vqvae.py) loads, so that onnxruntime and PyTorch can be checked against each
// other on the same weights.
//
// The preprocessing constants come from the benchmark's data file (see package benchdata): μ and σ² are
// the mean and population variance of p/255 over every pixel.
//
// Usage: go run ./bench/mkmodel -preset residual -data synthetic.u8 -out DIR [-size 256] [-seed 1]
//
// It writes DIR/checkpoint.bvq, DIR/weights/<name>.npy (float32) and DIR/preprocess.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/brainvq/brainvq/bench/benchdata"
	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/onnxexport"
)

func main() {
	preset := flag.String("preset", "residual", "model preset: residual or seed")
	dataPath := flag.String("data", "", "raw uint8 image file [N,S,S] (required)")
	size := flag.Int("size", 256, "image side S")
	seed := flag.Uint64("seed", 1, "weight initialisation seed")
	out := flag.String("out", "", "output folder (required)")
	flag.Parse()
	if *dataPath == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "mkmodel: -data and -out are required")
		os.Exit(2)
	}
	if err := run(*preset, *dataPath, *size, *seed, *out); err != nil {
		fmt.Fprintf(os.Stderr, "mkmodel: %v\n", err)
		os.Exit(1)
	}
}

func run(preset, dataPath string, size int, seed uint64, out string) error {
	cfg, err := model.NewConfig(preset, size)
	if err != nil {
		return err
	}
	im, err := benchdata.Read(dataPath, size)
	if err != nil {
		return err
	}
	pre := im.Preprocess()
	m := &model.Model{Config: cfg, Weights: model.InitWeights(cfg, seed), Pre: pre}
	ck := &model.Checkpoint{Model: m, TestSSIM: math.NaN()}
	if err := os.MkdirAll(filepath.Join(out, "weights"), 0o755); err != nil {
		return fmt.Errorf("make %s: %w", out, err)
	}
	if err := ck.Save(filepath.Join(out, "checkpoint.bvq")); err != nil {
		return fmt.Errorf("save %s: %w", filepath.Join(out, "checkpoint.bvq"), err)
	}
	for name, t := range m.Weights {
		path := filepath.Join(out, "weights", name+".npy")
		err := atomicfile.Write(path, func(w io.Writer) error { return onnxexport.WriteNPYFloat32(w, t.Shape, t.Data) })
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	js, err := json.Marshal(pre)
	if err != nil {
		return err
	}
	path := filepath.Join(out, "preprocess.json")
	if err := atomicfile.WriteBytes(path, append(js, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
