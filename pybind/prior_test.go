package pybind

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brainvq/brainvq/core/prior"
)

// priorFixture is a VQ-VAE (untrained: its codes are as good as any for the prior) and the code sets of
// two datasets under it, the training set with levels 0…3.
type priorFixture struct {
	model, train, val int64
	n, grid           int
}

func newPriorFixture(t *testing.T) priorFixture {
	t.Helper()
	const n, s = 16, 16
	ds, err := NewDataset(float32Bytes(blobs(n, s, s)), n, s, s, "blobs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Release(ds) })
	tr, err := NewTrainer("seed", `{"num_codes": 8}`, `{"batch_size": 4}`, ds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Release(tr) })
	m, err := TrainerModel(tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Release(m) })
	plain, err := PriorEncode(m, ds, "train")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Release(plain) })
	levels := make([]int32, n)
	for i := range levels {
		levels[i] = int32(i % 4)
	}
	train, err := PriorCodesWithLevels(plain, int32Bytes(levels))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Release(train) })
	return priorFixture{model: m, train: train, val: plain, n: n, grid: s / 4}
}

// waitEpoch waits for the running epoch to end and returns the final state.
func waitEpoch(t *testing.T, h int64) priorTrainerStateJSON {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		js, err := PriorTrainerWait(h, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		var st priorTrainerStateJSON
		mustJSON(t, js, &st)
		if !st.Running {
			return st
		}
	}
	t.Fatal("the epoch did not end within 2 minutes")
	return priorTrainerStateJSON{}
}

// priorTrainerStateJSON decodes PriorTrainerWait's JSON.
type priorTrainerStateJSON struct {
	Running     bool               `json:"running"`
	Epochs      int                `json:"epochs"`
	Step, Steps int                `json:"-"`
	Finished    map[string]float64 `json:"finished"`
	Interrupted bool               `json:"interrupted"`
}

func newTinyPrior(t *testing.T, f priorFixture) int64 {
	t.Helper()
	h, err := NewPriorTrainer(f.model, f.train, `{"channels": 8, "layers": 2, "head_channels": 16}`,
		`{"batch_size": 4, "steps_per_epoch": 3, "learning_rate": 0.003}`)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Release(h) })
	return h
}

// TestPriorTrainingThroughHandles trains two epochs the way Python does (start, wait in short calls) and
// checks the history, the snapshot prior and that save → resume continues with the same epoch count.
func TestPriorTrainingThroughHandles(t *testing.T) {
	f := newPriorFixture(t)
	h := newTinyPrior(t, f)
	var info priorTrainerInfo
	js, _ := PriorTrainerInfo(h)
	mustJSON(t, js, &info)
	if info.Config.Levels != 4 || info.Config.Grid != f.grid || info.Config.NumCodes != 8 || info.Config.Channels != 8 || info.Options.BatchSize != 4 {
		t.Fatalf("trainer info %+v: want 4 levels (from the codes), grid %d, K 8, 8 channels, batch 4", info, f.grid)
	}
	before, _ := PriorTrainerPrior(h)
	defer Release(before)
	for e := 1; e <= 2; e++ {
		if _, err := PriorTrainerStart(h, f.train, f.val); err != nil {
			t.Fatal(err)
		}
		st := waitEpoch(t, h)
		if st.Epochs != e || st.Finished == nil || st.Finished["epoch"] != float64(e) || st.Finished["steps"] != 3 ||
			!(st.Finished["val_bits_per_code"] > 0) {
			t.Fatalf("after epoch %d: %+v", e, st)
		}
		// The finished epoch is reported once.
		js, _ := PriorTrainerWait(h, 0)
		var again priorTrainerStateJSON
		mustJSON(t, js, &again)
		if again.Finished != nil || again.Running || again.Epochs != e {
			t.Fatalf("second wait after epoch %d: %+v", e, again)
		}
	}
	js, _ = PriorTrainerHistory(h)
	var hist []map[string]float64
	mustJSON(t, js, &hist)
	if len(hist) != 2 || hist[1]["epoch"] != 2 {
		t.Fatalf("history %v", hist)
	}
	after, _ := PriorTrainerPrior(h)
	defer Release(after)
	b0, _ := PriorBytes(before)
	b1, _ := PriorBytes(after)
	if bytes.Equal(b0, b1) {
		t.Fatal("the prior did not change over two epochs")
	}
	var pi priorInfo
	js, _ = PriorInfo(after)
	mustJSON(t, js, &pi)
	if pi.Epoch != 2 || pi.Step != 6 || !pi.Resumable || pi.VQ == "" {
		t.Fatalf("prior info %+v", pi)
	}

	path := filepath.Join(t.TempDir(), "prior.bvqp")
	if _, err := PriorTrainerSave(h, path); err != nil {
		t.Fatal(err)
	}
	r, err := ResumePriorTrainer(path, f.model)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(r)
	js, _ = PriorTrainerInfo(r)
	mustJSON(t, js, &info)
	if info.Epochs != 2 {
		t.Fatalf("resumed trainer has %d epochs, want 2", info.Epochs)
	}
	// Resume is exact: the third epoch of both trainers gives the same prior.
	for _, x := range []int64{h, r} {
		if _, err := PriorTrainerStart(x, f.train, 0); err != nil {
			t.Fatal(err)
		}
		waitEpoch(t, x)
	}
	p3, _ := PriorTrainerPrior(h)
	defer Release(p3)
	q3, _ := PriorTrainerPrior(r)
	defer Release(q3)
	// (The checkpoints' bytes differ in the epochs' timings; the weights must not.)
	a3, _, _ := getPrior(p3)
	b3, _, _ := getPrior(q3)
	for name, w := range a3.Weights {
		for i, v := range w.Data {
			if b3.Weights[name].Data[i] != v {
				t.Fatalf("%s[%d]: epoch 3 after save and resume %g, without %g", name, i, b3.Weights[name].Data[i], v)
			}
		}
	}
}

// TestPriorCancelRollsBack cancels an epoch and checks that the trainer is back at its last finished epoch
// and still trains.
func TestPriorCancelRollsBack(t *testing.T) {
	f := newPriorFixture(t)
	h, err := NewPriorTrainer(f.model, f.train, `{"channels": 8, "layers": 2, "head_channels": 16}`,
		`{"batch_size": 4, "steps_per_epoch": 100000}`)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(h)
	p0, _ := PriorTrainerPrior(h)
	defer Release(p0)
	if _, err := PriorTrainerStart(h, f.train, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := PriorTrainerStart(h, f.train, 0); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("second start while running: %v", err)
	}
	// Let it take a few steps, then cancel.
	var st priorTrainerStateJSON
	for range 100 {
		js, err := PriorTrainerWait(h, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		mustJSON(t, js, &raw)
		if raw["step"].(float64) >= 2 {
			break
		}
	}
	if running, err := PriorTrainerCancel(h); err != nil || !running {
		t.Fatalf("cancel: running %v, %v", running, err)
	}
	st = waitEpoch(t, h)
	if !st.Interrupted || st.Epochs != 0 || st.Finished != nil {
		t.Fatalf("after cancel: %+v", st)
	}
	p1, _ := PriorTrainerPrior(h)
	defer Release(p1)
	b0, _ := PriorBytes(p0)
	b1, _ := PriorBytes(p1)
	if !bytes.Equal(b0, b1) {
		t.Fatal("a cancelled epoch changed the trainer's prior")
	}
	if running, _ := PriorTrainerCancel(h); running {
		t.Fatal("cancel reports a running epoch after the interrupted one settled")
	}
}

// TestPriorSampleCompleteScore checks sampling through handles: shapes, determinism per sample, the fast
// sampler against the naive one, completion keeping its known codes, the uniforms, and scoring.
func TestPriorSampleCompleteScore(t *testing.T) {
	f := newPriorFixture(t)
	tr := newTinyPrior(t, f)
	h, _ := PriorTrainerPrior(tr)
	defer Release(h)
	g := f.grid
	lv := func(v ...int32) []byte { return int32Bytes(v) }
	a, err := PriorSample(h, lv(1, -1, 3), 3, 1, 0, 1, 7, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	codes, _ := int32s(a, 3*g*g, "codes")
	for _, c := range codes {
		if c < 0 || c >= 8 {
			t.Fatalf("sampled code %d outside [0,8)", c)
		}
	}
	naive, err := PriorSample(h, lv(1, -1, 3), 3, 1, 0, 1, 7, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, naive) {
		t.Fatal("fast and naive samplers drew different codes")
	}
	// Sample i of a seed does not depend on the batch: sample 2 alone (first = 2) equals sample 2 above.
	one, _ := PriorSample(h, lv(3), 1, 1, 0, 1, 7, 2, false)
	if !bytes.Equal(one, a[2*4*g*g:]) {
		t.Fatal("sample 2 of seed 7 differs when drawn alone")
	}
	u, _ := PriorUniforms(h, 7, 0, 2)
	want := prior.Uniforms(7, 0, 2, g)
	if !bytes.Equal(u, float64Bytes(want)) {
		t.Fatal("PriorUniforms differs from prior.Uniforms")
	}

	// Completion keeps the codes of the top half.
	known := make([]int32, 2*g*g)
	keep := make([]byte, 2*g*g)
	for i := range known {
		known[i] = int32(i % 8)
		if (i%(g*g))/g < g/2 {
			keep[i] = 1
		}
	}
	done, err := PriorComplete(h, int32Bytes(known), keep, lv(0, 0), 2, 0.8, 3, 0.9, 1, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	dc, _ := int32s(done, 2*g*g, "codes")
	for i := range dc {
		if keep[i] == 1 && dc[i] != known[i] {
			t.Fatalf("completion changed kept code %d: %d → %d", i, known[i], dc[i])
		}
	}

	// Scoring: the per-image bits average to the total (every grid has the same number of codes).
	js, err := PriorScore(h, f.train)
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Bits      float64   `json:"bits_per_code"`
		Accuracy  float64   `json:"accuracy"`
		Positions int       `json:"positions"`
		ImageBits []float64 `json:"image_bits_per_code"`
	}
	mustJSON(t, js, &sc)
	var mean float64
	for _, b := range sc.ImageBits {
		mean += b / float64(len(sc.ImageBits))
	}
	if sc.Positions != f.n*g*g || len(sc.ImageBits) != f.n || !(sc.Bits > 0) || sc.Accuracy < 0 || sc.Accuracy > 1 ||
		abs(mean-sc.Bits) > 1e-9*sc.Bits {
		t.Fatalf("score %+v (mean of per-image bits %g)", sc, mean)
	}
	js, err = PriorUnigram(f.train, f.val, 8)
	if err != nil {
		t.Fatal(err)
	}
	var uni map[string]float64
	mustJSON(t, js, &uni)
	if !(uni["bits_per_code"] > 0 && uni["bits_per_code"] <= 3+1e-9) {
		t.Fatalf("unigram %v: bits must lie in (0, log2 8]", uni)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestPriorArgumentErrors checks that bad arguments come back as ValueError naming the Python parameter.
func TestPriorArgumentErrors(t *testing.T) {
	f := newPriorFixture(t)
	tr := newTinyPrior(t, f)
	h, _ := PriorTrainerPrior(tr)
	defer Release(h)
	one := int32Bytes([]int32{-1})
	other, _ := NewDataset(float32Bytes(blobs(4, 16, 16)), 4, 16, 16, "other")
	defer Release(other)
	otr, _ := NewTrainer("seed", `{"num_codes": 8}`, `{"seed": 99}`, other)
	defer Release(otr)
	om, _ := TrainerModel(otr)
	defer Release(om)
	for _, c := range []struct {
		name, kind, msg string
		err             error
	}{
		{"n 0", kindValue, "n: 0 samples", second(PriorSample(h, nil, 0, 1, 0, 1, 1, 0, false))},
		{"level", kindValue, "level: slice level out of range: level 4", second(PriorSample(h, int32Bytes([]int32{4}), 1, 1, 0, 1, 1, 0, false))},
		{"temperature", kindValue, "temperature: 0 must be positive", second(PriorSample(h, one, 1, 0, 0, 1, 1, 0, false))},
		{"top_k", kindValue, "top_k: 9 outside", second(PriorSample(h, one, 1, 1, 9, 1, 1, 0, false))},
		{"top_p", kindValue, "top_p: 0 outside", second(PriorSample(h, one, 1, 1, 0, 0, 1, 0, false))},
		{"seed", kindValue, "seed: seed -1", second(PriorSample(h, one, 1, 1, 0, 1, -1, 0, false))},
		{"other model", kindValue, "model: the prior was trained on the codes of another VQ-VAE", second(PriorCheckModel(h, om, "model"))},
		{"channels", kindValue, "channels: ", second(NewPriorTrainer(f.model, f.train, `{"channels": 0}`, ""))},
		{"kernel", kindValue, "kernel: prior: kernel 4 must be odd", second(NewPriorTrainer(f.model, f.train, `{"kernel": 4}`, ""))},
		{"batch", kindValue, "batch_size: ", second(NewPriorTrainer(f.model, f.train, "", `{"batch_size": 0}`))},
		{"null fraction", kindValue, "null_fraction: ", second(NewPriorTrainer(f.model, f.train, "", `{"null_fraction": 2}`))},
		{"unknown key", kindType, "config: ", second(NewPriorTrainer(f.model, f.train, `{"width": 3}`, ""))},
		{"codes from another model", kindValue, "train: the training codes come from VQ-VAE", second(NewPriorTrainer(om, f.train, "", ""))},
		{"levels length", kindValue, "levels: brainvq: levels ([N]): expected 16 int32", second(PriorCodesWithLevels(f.train, int32Bytes(make([]int32, f.n-1))))},
	} {
		kind, msg := kindAndParam(t, c.err)
		if kind != c.kind || !strings.HasPrefix(msg, c.msg) {
			t.Errorf("%s: got [%s] %q, want [%s] %q…", c.name, kind, msg, c.kind, c.msg)
		}
	}
	lv := make([]int32, f.n)
	lv[3] = -2
	_, err := PriorCodesWithLevels(f.train, int32Bytes(lv))
	if kind, msg := kindAndParam(t, err); kind != kindValue || !strings.HasPrefix(msg, "levels: level -2 of image 3") {
		t.Errorf("level -2: [%s] %q", kind, msg)
	}
}

func second[T any](_ T, err error) error { return err }
