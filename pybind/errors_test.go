package pybind

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kindAndParam splits a tagged error message into the Python exception it names and the rest; kind is ""
// for an untagged (internal) error.
func kindAndParam(t *testing.T, err error) (kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	m := err.Error()
	if !strings.HasPrefix(m, kindPrefix) {
		return "", m
	}
	kind, rest, ok := strings.Cut(strings.TrimPrefix(m, kindPrefix), "] ")
	if !ok {
		t.Fatalf("malformed tag in %q", m)
	}
	return kind, rest
}

// TestErrorsCarryTheirPythonKind checks the tag of each kind of failure Python must tell apart, and that
// internal failures (Fail, a panic) stay untagged.
func TestErrorsCarryTheirPythonKind(t *testing.T) {
	const n, s = 8, 16
	ds, _ := NewDataset(float32Bytes(blobs(n, s, s)), n, s, s, "blobs")
	defer Release(ds)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.bvq")
	if err := os.WriteFile(bad, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	call := func(f func() error) error { return f() }
	for _, c := range []struct {
		name, kind, msg string
		err             error
	}{
		{"missing checkpoint", kindNotFound, "path: " + filepath.Join(dir, "none.bvq") + " does not exist",
			call(func() error { _, err := LoadModel(filepath.Join(dir, "none.bvq")); return err })},
		{"folder as checkpoint", kindIsDir, "path: ", call(func() error { _, err := LoadModel(dir); return err })},
		{"corrupt checkpoint", kindValue, "path: load checkpoint", call(func() error { _, err := LoadModel(bad); return err })},
		{"missing dataset root", kindNotFound, "root: ",
			call(func() error { _, err := LoadOASISSplit(filepath.Join(dir, "x"), "train", 0, false, 0); return err })},
		{"unknown split", kindValue, "split: unknown split", call(func() error { _, err := LoadOASISSplit(dir, "training", 0, false, 0); return err })},
		{"negative limit", kindValue, "limit: ", call(func() error { _, err := LoadImageFolder(dir, 0, false, -1); return err })},
		{"batch size", kindValue, "batch_size: batch size 0",
			call(func() error { _, err := NewTrainer("seed", "", `{"batch_size": 0}`, ds); return err })},
		{"learning rate", kindValue, "learning_rate: ",
			call(func() error { _, err := NewTrainer("seed", "", `{"learning_rate": -1}`, ds); return err })},
		{"num codes", kindValue, "num_codes: ",
			call(func() error { _, err := NewTrainer("seed", `{"num_codes": 0}`, "", ds); return err })},
		{"preprocess variance", kindValue, "preprocess: pixel variance 0",
			call(func() error { _, err := NewTrainerFor("seed", "", "", 16, 0.5, 0); return err })},
		{"fed image size", kindValue, "train: image size 18",
			call(func() error { _, err := NewTrainerFor("seed", "", "", 18, 0.5, 0.1); return err })},
		{"unknown preset", kindValue, "preset: unknown preset", call(func() error { _, err := NewTrainer("tiny", "", "", ds); return err })},
		{"unknown option", kindType, `unknown field "lr"`, call(func() error { _, err := NewTrainer("seed", "", `{"lr": 1}`, ds); return err })},
		{"threads", kindValue, "n: thread count -1", call(func() error { _, err := SetThreads(-1); return err })},
		{"save into a missing folder", kindNotFound, "",
			call(func() error {
				m, err := ModelFromBytes(mustModelBytes(t, ds))
				if err != nil {
					return fmt.Errorf("unexpected: %w", err)
				}
				defer Release(m)
				_, err = ModelSave(m, filepath.Join(dir, "no", "such", "m.bvq"))
				return err
			})},
		{"Go error", "", "disk on fire", call(func() error { _, err := Fail("disk on fire"); return err })},
		{"Go panic", "", "Go panic in Panic", call(func() error { _, err := Panic("boom"); return err })},
	} {
		kind, msg := kindAndParam(t, c.err)
		if kind != c.kind || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: kind %q message %q, want kind %q and %q in the message", c.name, kind, msg, c.kind, c.msg)
		}
	}
}

// mustModelBytes trains nothing: it snapshots a fresh trainer's model on ds and returns its checkpoint bytes.
func mustModelBytes(t *testing.T, ds int64) []byte {
	t.Helper()
	tr, err := NewTrainer("seed", `{"num_codes": 8}`, `{"batch_size": 4}`, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(tr)
	m, err := TrainerModel(tr)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(m)
	b, err := ModelBytes(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestModelBytesRoundTrip checks that ModelBytes is what ModelSave writes and that ModelFromBytes reads it
// back to a model that reconstructs identically.
func TestModelBytesRoundTrip(t *testing.T) {
	const n, s = 4, 16
	ds, _ := NewDataset(float32Bytes(blobs(n, s, s)), n, s, s, "blobs")
	defer Release(ds)
	b := mustModelBytes(t, ds)
	m, err := ModelFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(m)
	path := filepath.Join(t.TempDir(), "m.bvq")
	if _, err := ModelSave(m, path); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(b) {
		t.Fatalf("saved file (%d bytes) differs from ModelBytes (%d bytes)", len(onDisk), len(b))
	}
	loaded, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(loaded)
	x := float32Bytes(blobs(2, s, s))
	a, _ := ModelReconstruct(m, x, 2)
	c, _ := ModelReconstruct(loaded, x, 2)
	if string(a) != string(c) {
		t.Fatal("a model read from bytes reconstructs differently from the same checkpoint loaded from disk")
	}
	if _, err := ModelFromBytes(b[:len(b)-1]); err == nil {
		t.Fatal("a truncated checkpoint was accepted")
	}
}

// TestStepBatchMatchesSteps feeds TrainerStepBatch the batches that TrainerSteps draws itself (the same
// shuffle, reproduced from the seed) and checks that both runs take the same steps: equal losses and
// weights after an epoch.
func TestStepBatchMatchesSteps(t *testing.T) {
	const n, s, b, steps = 12, 16, 4, 3
	px := blobs(n, s, s)
	ds, _ := NewDataset(float32Bytes(px), n, s, s, "blobs")
	defer Release(ds)
	// decay_steps planned up front: Steps knows the epoch's length, StepBatch only learns it at its end
	opts := fmt.Sprintf(`{"batch_size": %d, "learning_rate": 0.002, "seed": 7, "decay_steps": 30}`, b)
	a, err := NewTrainer("seed", `{"num_codes": 16}`, opts, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(a)
	c, err := NewTrainer("seed", `{"num_codes": 16}`, opts, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(c)
	if _, err := TrainerSteps(a, ds, steps); err != nil {
		t.Fatal(err)
	}
	// The first epoch's shuffle as train.Trainer.startEpoch draws it (seed 7, epoch index 0).
	perm := rand.New(rand.NewPCG(7, 1)).Perm(n)
	var st trainerState
	for k := range steps {
		batch := make([]float32, 0, b*s*s)
		for _, i := range perm[k*b : (k+1)*b] {
			batch = append(batch, px[i*s*s:(i+1)*s*s]...)
		}
		js, err := TrainerStepBatch(c, float32Bytes(batch), b)
		if err != nil {
			t.Fatal(err)
		}
		mustJSON(t, js, &st)
	}
	if st.Step != steps || st.Steps != 0 || st.EpochDone || !st.Running || !(st.LossMin > 0) || st.LossMax < st.LossMin {
		t.Fatalf("state after %d fed steps: %+v", steps, st)
	}
	ea, err := TrainerEndEpoch(a, 0)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := TrainerEndEpoch(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ra, rc map[string]any
	mustJSON(t, ea, &ra)
	mustJSON(t, ec, &rc)
	for _, k := range []string{"train_recon_loss", "train_vq_loss", "steps"} {
		if ra[k] != rc[k] {
			t.Errorf("%s: Steps %v, StepBatch %v", k, ra[k], rc[k])
		}
	}
	ma, _ := TrainerModel(a)
	mc, _ := TrainerModel(c)
	defer Release(ma)
	defer Release(mc)
	ba, _ := ModelBytes(ma)
	bc, _ := ModelBytes(mc)
	if string(ba) != string(bc) {
		t.Error("weights differ after the same batches fed through Steps and StepBatch")
	}
	if _, err := TrainerStepBatch(c, float32Bytes(px[:2*s*s]), 2); err == nil || !strings.Contains(err.Error(), "batch size is 4") {
		t.Errorf("a batch of 2 for batch size 4: %v", err)
	}
}
