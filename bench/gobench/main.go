// Command gobench measures brainvq's side of the benchmark: training steps or inference at batch B on the
// benchmark's data file, printing one JSON object in the contract of bench/README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/brainvq/brainvq/bench/benchdata"
	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/kernels"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/parallel"
	"github.com/brainvq/brainvq/core/train"
)

// profile is the file the timed steps' CPU profile goes to ("" for none).
var profile string

type result struct {
	System         string    `json:"system"`
	Preset         string    `json:"preset"`
	Mode           string    `json:"mode"`
	ImgPerS        float64   `json:"img_per_s"`
	PeakRSSMiB     float64   `json:"peak_rss_mib"`
	BaselineRSSMiB float64   `json:"baseline_rss_mib"`
	Batch          int       `json:"batch"`
	Threads        int       `json:"threads"`
	Steps          int       `json:"steps"`
	Warmup         int       `json:"warmup"`
	StepS          []float64 `json:"step_s"`
	StepCPUS       []float64 `json:"step_cpu_s"`
	AllocMiB       float64   `json:"alloc_mib_per_step"`
	GCPerStep      float64   `json:"gc_per_step"`
	Version        string    `json:"version"`
	ISA            string    `json:"isa"`
	LossFirst      float64   `json:"loss_first,omitempty"`
	LossLast       float64   `json:"loss_last,omitempty"`
}

func main() {
	preset := flag.String("preset", "residual", "model preset")
	batch := flag.Int("batch", 16, "images per step")
	steps := flag.Int("steps", 5, "timed steps")
	warmup := flag.Int("warmup", 2, "untimed steps first")
	threads := flag.Int("threads", runtime.NumCPU(), "threads for the kernels and GOMAXPROCS")
	mode := flag.String("mode", "train", "train or infer")
	dataPath := flag.String("data", "", "benchmark data file (raw uint8 [N,256,256])")
	asJSON := flag.Bool("json", true, "print the result as one JSON line")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	printISA := flag.Bool("print-isa", false, "print the kernels' instruction-set path (avx512, avx2 or generic; BRAINVQ_ISA chooses) and exit")
	flag.Parse()
	if *printISA {
		fmt.Println(kernels.ISA())
		return
	}
	profile = *cpuProfile
	if err := run(*preset, *batch, *steps, *warmup, *threads, *mode, *dataPath, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
}

func run(preset string, batch, steps, warmup, threads int, mode, dataPath string, asJSON bool) error {
	if dataPath == "" {
		return fmt.Errorf("--data is required")
	}
	runtime.GOMAXPROCS(threads)
	parallel.SetThreads(threads)
	const size = 256
	im, err := benchdata.Read(dataPath, size)
	if err != nil {
		return err
	}
	cfg, err := model.NewConfig(preset, size)
	if err != nil {
		return err
	}
	cfg.EMA = false
	pre := im.Preprocess()
	res := result{System: "brainvq", Preset: preset, Mode: mode, Batch: batch, Threads: threads, Steps: steps,
		Warmup: warmup, Version: "brainvq " + model.Version, ISA: kernels.ISA()}
	var step func(i int) (float64, error)
	switch mode {
	case "train":
		// The trainer draws batches from a split; give it exactly steps+warmup batches of the file, in order.
		n := (steps + warmup) * batch
		split := &data.Split{Name: "bench", N: n, H: size, W: size, Pixels: make([]float32, n*size*size)}
		for i := 0; i < steps+warmup; i++ {
			im.Batch(split.Pixels[i*batch*size*size:], i, batch)
		}
		res.BaselineRSSMiB, _ = benchdata.PeakRSSMiB()
		tr, err := train.New(cfg, pre, train.Options{BatchSize: batch, LearningRate: 2e-4, Seed: 1, StepsPerEpoch: steps + warmup})
		if err != nil {
			return err
		}
		step = func(int) (float64, error) {
			var loss float64
			_, err := tr.Steps(split, 1, func(p train.Progress) { loss = p.Recon + p.VQ })
			return loss, err
		}
	case "infer":
		m := &model.Model{Config: cfg, Weights: model.InitWeights(cfg, 1), Pre: pre}
		x := make([]float32, batch*size*size)
		res.BaselineRSSMiB, _ = benchdata.PeakRSSMiB()
		step = func(i int) (float64, error) {
			m.Reconstruct(im.Batch(x, i, batch), batch)
			return 0, nil
		}
	default:
		return fmt.Errorf("--mode %q: want train or infer", mode)
	}
	var ms0, ms1 runtime.MemStats
	for i := 0; i < warmup+steps; i++ {
		if i == warmup {
			runtime.ReadMemStats(&ms0)
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("cpu profile %s: %w", profile, err)
				}
				defer pprof.StopCPUProfile()
			}
		}
		c0, err := benchdata.CPUSeconds()
		if err != nil {
			return err
		}
		t0 := time.Now()
		loss, err := step(i)
		if err != nil {
			return err
		}
		if i >= warmup {
			res.StepS = append(res.StepS, time.Since(t0).Seconds())
			c1, err := benchdata.CPUSeconds()
			if err != nil {
				return err
			}
			res.StepCPUS = append(res.StepCPUS, c1-c0)
		}
		if i == 0 {
			res.LossFirst = loss
		}
		res.LossLast = loss
	}
	runtime.ReadMemStats(&ms1)
	if steps > 0 {
		res.AllocMiB = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(steps) / (1 << 20)
		res.GCPerStep = float64(ms1.NumGC-ms0.NumGC) / float64(steps)
	}
	sorted := append([]float64(nil), res.StepS...)
	sort.Float64s(sorted)
	if len(sorted) == 0 {
		return fmt.Errorf("no timed steps (--steps %d)", steps)
	}
	res.ImgPerS = float64(batch) / sorted[len(sorted)/2]
	res.PeakRSSMiB, _ = benchdata.PeakRSSMiB()
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%s %s: %.2f img/s, peak %.0f MiB\n", preset, mode, res.ImgPerS, res.PeakRSSMiB)
	return nil
}
