package train

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/brainvq/brainvq/core/prior"
)

// patternCodes makes n grids whose codes follow a rule a prior can learn from the codes before each
// position (code = previous code in the row + level, mod K, with 10 % noise), so its NLL must fall far
// below the unigram baseline (the codes are close to uniform).
func patternCodes(seed uint64, n, grid, k, levels int) *prior.CodeSet {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &prior.CodeSet{Grid: grid, Codes: make([]int32, n*grid*grid), Levels: make([]int32, n), VQ: "test"}
	for i := range n {
		lv := rng.IntN(levels)
		s.Levels[i] = int32(lv)
		for r := range grid {
			c := rng.IntN(k)
			for col := range grid {
				if col > 0 {
					c = (c + 1 + lv) % k
				}
				if rng.Float64() < 0.1 {
					c = rng.IntN(k)
				}
				s.Codes[(i*grid+r)*grid+col] = int32(c)
			}
		}
	}
	return s
}

func tinyPrior(t *testing.T) (prior.Config, []float32) {
	t.Helper()
	cfg := prior.Config{NumCodes: 8, CodeDim: 4, Grid: 6, Channels: 8, Layers: 2, Kernel: 3, HeadChannels: 16, Levels: 3,
		Dilations: []int{1, 2}}
	rng := rand.New(rand.NewPCG(2, 2))
	cb := make([]float32, cfg.NumCodes*cfg.CodeDim)
	for i := range cb {
		cb[i] = float32(rng.NormFloat64())
	}
	return cfg, cb
}

func TestPriorBeatsUnigram(t *testing.T) {
	cfg, cb := tinyPrior(t)
	train, val := patternCodes(1, 64, cfg.Grid, cfg.NumCodes, cfg.Levels), patternCodes(2, 32, cfg.Grid, cfg.NumCodes, cfg.Levels)
	opt := DefaultPriorOptions()
	opt.BatchSize, opt.LearningRate = 8, 3e-3
	tr, err := NewPriorTrainer(cfg, cb, "test", opt)
	if err != nil {
		t.Fatal(err)
	}
	var st PriorEpochStats
	for range 25 {
		if st, err = tr.Epoch(context.Background(), train, val, nil); err != nil {
			t.Fatal(err)
		}
	}
	uni := prior.NewUnigram(train, cfg.NumCodes)
	ub := uni.BitsPerCode(val)
	t.Logf("prior %.3f bits/code (accuracy %.3f), unigram %.3f bits/code (accuracy %.3f)", st.ValBits, st.ValAccuracy, ub, uni.Accuracy(val))
	if !(st.ValBits < ub-0.5) || !(st.ValAccuracy > uni.Accuracy(val)+0.2) {
		t.Fatalf("prior %.3f bits/code, accuracy %.3f does not beat the unigram's %.3f, %.3f", st.ValBits, st.ValAccuracy, ub, uni.Accuracy(val))
	}
	if h := tr.History; len(h) != 25 || !(h[24].TrainBits < h[0].TrainBits) {
		t.Fatalf("history %+v: training NLL did not fall", h)
	}
}

func TestPriorResumeIsExact(t *testing.T) {
	cfg, cb := tinyPrior(t)
	train := patternCodes(3, 32, cfg.Grid, cfg.NumCodes, cfg.Levels)
	opt := DefaultPriorOptions()
	opt.BatchSize = 8
	straight, err := NewPriorTrainer(cfg, cb, "test", opt)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := straight.Epoch(context.Background(), train, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	first, err := NewPriorTrainer(cfg, cb, "test", opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Epoch(context.Background(), train, nil, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := first.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prior.bvqp")
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := prior.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := ResumePrior(loaded)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := resumed.Epoch(context.Background(), train, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for name, w := range straight.Prior.Weights {
		r := resumed.Prior.Weights[name]
		for i := range w.Data {
			if w.Data[i] != r.Data[i] {
				t.Fatalf("%s[%d]: resumed %g, uninterrupted %g", name, i, r.Data[i], w.Data[i])
			}
		}
	}
	// A code set from another VQ-VAE is refused.
	other := *train
	other.VQ = "another"
	if _, err := resumed.Epoch(context.Background(), &other, nil, nil); err == nil {
		t.Fatal("codes of another VQ-VAE were accepted")
	}
	var buf bytes.Buffer
	if _, err := ck.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := prior.ReadCheckpoint(bytes.NewReader(buf.Bytes()[:buf.Len()/2])); err == nil {
		t.Fatal("a truncated prior checkpoint was read")
	}
}

// The training graph and the Go inference path compute the same prior: the graph's loss on a batch equals
// the inference path's score of it.
func TestPriorGraphMatchesInference(t *testing.T) {
	for _, d := range [][]int{nil, {1, 2}, {3, 1}} {
		cfg, cb := tinyPrior(t)
		cfg.Dilations = d
		graphMatchesInference(t, cfg, cb)
	}
}

func graphMatchesInference(t *testing.T, cfg prior.Config, cb []float32) {
	codes := patternCodes(4, 8, cfg.Grid, cfg.NumCodes, cfg.Levels)
	opt := DefaultPriorOptions()
	opt.BatchSize, opt.NullFraction = 8, 0
	tr, err := NewPriorTrainer(cfg, cb, "test", opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Epoch(context.Background(), codes, nil, nil); err != nil { // move the weights off their initial values
		t.Fatal(err)
	}
	p := tr.Current()
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	codes.Grids(tr.graph.targets, idx)
	classes := make([]int32, 8)
	for i := range classes {
		classes[i] = int32(i % cfg.Classes())
		tr.graph.classes[i] = classes[i]
	}
	p.Embed(tr.graph.input.Value().Data().([]float32), tr.graph.targets, 8)
	if _, err := tr.graph.run(); err != nil {
		t.Fatal(err)
	}
	sc, err := p.Score(tr.graph.targets, classes, 8)
	if err != nil {
		t.Fatal(err)
	}
	if d := sc.NLL - tr.graph.stats.NLL; d > 1e-4*sc.NLL || d < -1e-4*sc.NLL || sc.Correct != tr.graph.stats.Correct {
		t.Fatalf("dilations %v: inference NLL %g (%d correct), training graph %g (%d correct)", cfg.Dilations, sc.NLL, sc.Correct, tr.graph.stats.NLL, tr.graph.stats.Correct)
	}
}
