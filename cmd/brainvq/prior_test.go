package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/runlock"
)

// The generative half from the command line: prior train (and resume) on a tiny stand-in, sample (fast
// and naive draw the same codes), complete, and the errors a user meets.
func TestPriorWorkflow(t *testing.T) {
	dir := t.TempDir()
	template := filepath.Join("..", "..", "testdata", "data", "mni_icbm152_t1_3mm.nii.gz")
	data := filepath.Join(dir, "data")
	mustRun(t, "data", "from-nifti", "--in", template, "--skull-stripped", "--out", data, "--size", "32",
		"--train-subjects", "3", "--validate-subjects", "1", "--test-subjects", "1", "--slices", "8")
	run := filepath.Join(dir, "run")
	mustRun(t, "train", "--data", data, "--out", run, "--preset", "seed", "--size", "32", "--batch", "4", "--lr", "2e-3", "--epochs", "1")
	ck := filepath.Join(run, checkpointFile)
	prun := filepath.Join(dir, "prior")
	common := []string{"prior", "train", "--checkpoint", ck, "--data", data, "--out", prun, "--channels", "8", "--layers", "2", "--head", "16", "--batch", "4"}
	mustRun(t, append(common, "--epochs", "1")...)
	mustFail(t, "pass --resume", append(common, "--epochs", "2")...)
	// A run folder another process writes into is refused, naming that process.
	held, err := runlock.Acquire(prun)
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, fmt.Sprintf("process %d is writing into it", os.Getpid()), append(common, "--epochs", "2", "--resume")...)
	held.Release()
	os.WriteFile(filepath.Join(prun, ".prior.bvqp.123456.tmp"), []byte("left by a killed run"), 0o644)
	out := mustRun(t, append(common, "--epochs", "2", "--resume")...)
	if !strings.Contains(out, "resuming") || !strings.Contains(out, "epoch 2:") || strings.Contains(out, "epoch 1:") {
		t.Errorf("resume should run epoch 2 only:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(prun, ".prior.bvqp.123456.tmp")); !os.IsNotExist(err) || !strings.Contains(out, "left by a run that was killed") {
		t.Errorf("the killed run's temp file was not cleaned up (%v):\n%s", err, out)
	}
	m := regexp.MustCompile(`test: ([0-9.]+) bits/code, next-code accuracy ([0-9.]+) \(unigram baseline ([0-9.]+) bits/code`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no test score in:\n%s", out)
	}
	for _, v := range m[1:] {
		if f, _ := strconv.ParseFloat(v, 64); !(f >= 0 && f <= 8) {
			t.Errorf("test score %s out of range in %q", v, m[0])
		}
	}
	for _, f := range []string{priorFile, priorHistoryCSV, priorHistoryJSON, priorCurvesPNG, priorSamplesPNG, "codes-train.bvqc"} {
		if st, err := os.Stat(filepath.Join(prun, f)); err != nil || st.Size() == 0 {
			t.Errorf("prior train did not write %s: %v", f, err)
		}
	}
	pk := filepath.Join(prun, priorFile)
	sample := []string{"sample", "--prior", pk, "--checkpoint", ck, "--n", "3", "--level", "2"}
	if o := mustRun(t, append(sample, "--out", filepath.Join(dir, "fast"), "--compare", data)...); !strings.Contains(o, "nearest training slice: 0.") {
		t.Errorf("sample --compare printed no nearest-slice SSIM:\n%s", o)
	}
	mustRun(t, append(sample, "--out", filepath.Join(dir, "naive"), "--naive")...)
	fast, _ := os.ReadFile(filepath.Join(dir, "fast", "codes.npy"))
	naive, _ := os.ReadFile(filepath.Join(dir, "naive", "codes.npy"))
	if len(fast) == 0 || !bytes.Equal(fast, naive) {
		t.Error("the fast and the naive sampler drew different codes")
	}
	for _, f := range []string{"samples.png", "sample_000.png", "sample_002.png", "uniforms.npy"} {
		if _, err := os.Stat(filepath.Join(dir, "fast", f)); err != nil {
			t.Errorf("sample did not write %s", f)
		}
	}
	imgs, _ := filepath.Glob(filepath.Join(data, "keras_png_slices_data", "keras_png_slices_test", "*.png"))
	mustRun(t, "complete", "--prior", pk, "--checkpoint", ck, "--out", filepath.Join(dir, "done"), "--n", "2", imgs[0])
	base := strings.TrimSuffix(filepath.Base(imgs[0]), ".nii.png")
	for _, f := range []string{base + "_completions.png", base + "_completion_2.png"} {
		if _, err := os.Stat(filepath.Join(dir, "done", f)); err != nil {
			t.Errorf("complete did not write %s", f)
		}
	}
	mustRun(t, "export", "--checkpoint", ck, "--prior", pk, "--out", filepath.Join(dir, "onnx"))
	if _, err := os.Stat(filepath.Join(dir, "onnx", "prior.onnx")); err != nil {
		t.Errorf("export --prior did not write prior.onnx: %v", err)
	}
	// Errors: a level the prior does not know, no samples, a prior of another VQ-VAE, missing flags.
	mustFail(t, "level 99", "sample", "--prior", pk, "--checkpoint", ck, "--out", filepath.Join(dir, "x"), "--level", "99")
	mustFail(t, "--n 0", "sample", "--prior", pk, "--checkpoint", ck, "--out", filepath.Join(dir, "x"), "--n", "0")
	mustFail(t, "--top-p", "sample", "--prior", pk, "--checkpoint", ck, "--out", filepath.Join(dir, "x"), "--top-p", "0")
	mustFail(t, "--prior", "sample", "--checkpoint", ck, "--out", filepath.Join(dir, "x"))
	mustFail(t, "not a brainvq prior checkpoint", "sample", "--prior", ck, "--checkpoint", ck, "--out", filepath.Join(dir, "x"))
	other := filepath.Join(dir, "other")
	mustRun(t, "train", "--data", data, "--out", other, "--preset", "seed", "--size", "32", "--batch", "4", "--epochs", "1", "--seed", "7")
	mustFail(t, "another VQ-VAE", "sample", "--prior", pk, "--checkpoint", filepath.Join(other, checkpointFile), "--out", filepath.Join(dir, "x"))
	mustFail(t, "another VQ-VAE", "export", "--prior", pk, "--checkpoint", filepath.Join(other, checkpointFile), "--out", filepath.Join(dir, "x"))
	mustFail(t, "--checkpoint", "prior", "train", "--data", data, "--out", filepath.Join(dir, "p2"))
	// Dilations: a list that does not parse, the wrong count, one that does not divide the 8×8 grid.
	bad := []string{"prior", "train", "--checkpoint", ck, "--data", data, "--out", filepath.Join(dir, "p3"), "--layers", "2"}
	mustFail(t, `--dilations "1,x"`, append(bad, "--dilations", "1,x")...)
	mustFail(t, "1 dilations for 2 layers", append(bad, "--dilations", "2")...)
	mustFail(t, "layer 1's dilation 3 must be ≥ 1 and divide the grid side 8", append(bad, "--dilations", "1,3")...)
	// A layer count below 1 is reported as such (the default dilations must not fail first).
	mustFail(t, "layers -1", "prior", "train", "--checkpoint", ck, "--data", data, "--out", filepath.Join(dir, "p3"), "--layers", "-1")
}
