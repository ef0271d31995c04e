package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var binary string

// TestMain builds the command once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "brainvq-cmd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "brainvq")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func brainvq(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	o, e, err := brainvq(t, args...)
	if err != nil {
		t.Fatalf("brainvq %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, o, e)
	}
	return o + e
}

func mustFail(t *testing.T, want string, args ...string) {
	t.Helper()
	o, e, err := brainvq(t, args...)
	if err == nil {
		t.Fatalf("brainvq %s succeeded, want an error mentioning %q\n%s%s", strings.Join(args, " "), want, o, e)
	}
	if !strings.Contains(e, want) {
		t.Fatalf("brainvq %s: error %q, want one mentioning %q", strings.Join(args, " "), e, want)
	}
}

// TestWorkflow makes a tiny stand-in dataset from the 3 mm template copy, trains, resumes, evaluates,
// reconstructs, inspects and exports — the user's path through the command, at toy size.
func TestWorkflow(t *testing.T) {
	dir := t.TempDir()
	template := filepath.Join("..", "..", "testdata", "data", "mni_icbm152_t1_3mm.nii.gz")
	data := filepath.Join(dir, "data")
	mustRun(t, "data", "from-nifti", "--in", template, "--skull-stripped", "--out", data, "--size", "32",
		"--train-subjects", "3", "--validate-subjects", "1", "--test-subjects", "1", "--slices", "8")
	inspect := mustRun(t, "data", "inspect", data, "--size", "32")
	if !strings.Contains(inspect, "train") || !strings.Contains(inspect, "24 images") {
		t.Errorf("inspect output lacks the train split's 24 images:\n%s", inspect)
	}
	run := filepath.Join(dir, "run")
	common := []string{"--data", data, "--out", run, "--preset", "seed", "--size", "32", "--batch", "4", "--lr", "2e-3"}
	mustRun(t, append([]string{"train", "--epochs", "1"}, common...)...)
	for _, f := range []string{checkpointFile, historyCSV, historyJSON, lossesPNG, reconsPNG, testCSV} {
		if st, err := os.Stat(filepath.Join(run, f)); err != nil || st.Size() == 0 {
			t.Errorf("train did not write %s: %v", f, err)
		}
	}
	mustFail(t, "pass --resume", append([]string{"train", "--epochs", "2"}, common...)...)
	out := mustRun(t, append([]string{"train", "--epochs", "2", "--resume"}, common...)...)
	if !strings.Contains(out, "resuming") || !strings.Contains(out, "epoch 2:") || strings.Contains(out, "epoch 1:") {
		t.Errorf("resume should run epoch 2 only:\n%s", out)
	}
	m := regexp.MustCompile(`test SSIM ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no test SSIM in:\n%s", out)
	}
	if s, _ := strconv.ParseFloat(m[1], 64); s <= 0 || s > 1 {
		t.Errorf("test SSIM %v out of range", s)
	}
	ck := filepath.Join(run, checkpointFile)
	info := mustRun(t, "info", ck)
	if !strings.Contains(info, "seed") || !strings.Contains(info, "2 epochs") || !strings.Contains(info, "test SSIM    "+m[1][:4]) {
		t.Errorf("info output:\n%s", info)
	}
	eval := mustRun(t, "eval", "--checkpoint", ck, "--data", data, "--out", filepath.Join(dir, "eval"))
	if !strings.Contains(eval, "test: SSIM "+m[1]) {
		t.Errorf("eval should reproduce the test SSIM %s:\n%s", m[1], eval)
	}
	imgs, _ := filepath.Glob(filepath.Join(data, "keras_png_slices_data", "keras_png_slices_test", "*.png"))
	rec := mustRun(t, "reconstruct", "--checkpoint", ck, "--out", filepath.Join(dir, "rec"), imgs[0], imgs[1])
	if strings.Count(rec, "SSIM") != 2 {
		t.Errorf("reconstruct output:\n%s", rec)
	}
	if _, err := os.Stat(filepath.Join(dir, "rec", filepath.Base(imgs[0]))); err != nil {
		t.Errorf("reconstruct wrote no PNG: %v", err)
	}
	mustRun(t, "export", "--checkpoint", ck, "--out", filepath.Join(dir, "onnx"))
	for _, f := range []string{"encoder.onnx", "quantizer.onnx", "decoder.onnx", "vqvae.onnx", "codebook.npy"} {
		if _, err := os.Stat(filepath.Join(dir, "onnx", f)); err != nil {
			t.Errorf("export did not write %s", f)
		}
	}
	// Wrong image size without --resize names the file and the way out.
	mustFail(t, "pass --resize", "train", "--data", data, "--out", filepath.Join(dir, "run256"), "--epochs", "1")
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	mustFail(t, "does not exist", "train", "--data", filepath.Join(dir, "nowhere"), "--out", filepath.Join(dir, "r"))
	mustFail(t, "unknown command", "fly")
	mustFail(t, "not a brainvq checkpoint", "info", "/dev/null")
	bad := filepath.Join(dir, "bad.bvq")
	os.WriteFile(bad, []byte("BRAINVQ\x00\x01\x00\x00\x00"), 0o644)
	mustFail(t, "truncated", "eval", "--checkpoint", bad, "--data", dir)
	mustFail(t, "no input images", "reconstruct", "--checkpoint", bad)
	mustFail(t, "unknown preset", "train", "--data", dir, "--out", filepath.Join(dir, "r2"), "--preset", "huge")
	if _, e, err := brainvq(t, "train", "--help"); err != nil || !strings.Contains(e, "--resume") && !strings.Contains(e, "-resume") {
		t.Errorf("train --help: %v\n%s", err, e)
	}
}
