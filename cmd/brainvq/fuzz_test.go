package main

import (
	"io"
	"strings"
	"testing"
)

// FuzzTrainFlags parses arbitrary command lines with train's flag set and runs its checks: they must return
// an error or a valid configuration, never panic. Seeds: the documented command and hostile values.
func FuzzTrainFlags(f *testing.F) {
	for _, s := range []string{
		"--data data --out runs/residual --epochs 10",
		"--batch 100000000", "--codes 100000000 --size 32", "--size 4 --resize", "--lr NaN", "--beta -Inf",
		"--preset seed --size 32 --batch 4 --lr 2e-3", "--epochs -1 --threads -3", "--dim 0 --codes 0",
		"--size 99999999999999999999", "--steps-per-epoch 1e3", "--resume --preset residual --batch 7",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fs, a, err := trainFlags()
		if err != nil {
			t.Fatal(err)
		}
		fs.SetOutput(io.Discard)
		if fs.Parse(strings.Fields(line)) != nil {
			return
		}
		if a.check() != nil {
			return
		}
		cfg, err := a.config()
		if err != nil {
			return
		}
		if cfg.Validate() != nil || a.size < 12 || a.batch < 1 || !(a.lr > 0) {
			t.Fatalf("accepted an invalid setting: %q → %+v", line, cfg)
		}
	})
}
