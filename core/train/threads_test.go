//go:build linux

package train

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/parallel"
)

// processCPUSeconds is the user+system CPU time of this process so far, all threads together.
func processCPUSeconds(t *testing.T) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// stepCPU runs training steps of the seed preset (32×32, batch 8) with the thread setting n for about
// half a second of wall time and returns the process's CPU time divided by the wall time they took.
func stepCPU(t *testing.T, n int) float64 {
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	parallel.SetThreads(n)
	cfg, err := DefaultConfig("seed", 32)
	if err != nil {
		t.Fatal(err)
	}
	opt := DefaultOptions()
	opt.BatchSize = 8
	tr, err := New(cfg, model.Preprocess{Mean: 0.12, Variance: 0.03}, opt)
	if err != nil {
		t.Fatal(err)
	}
	train := blobs(opt.BatchSize, 32, 4)
	if _, err := tr.Steps(train, 1, nil); err != nil { // the first step allocates the graph's buffers
		t.Fatal(err)
	}
	runtime.GC()
	cpu0, start := processCPUSeconds(t), time.Now()
	steps := 0
	for steps < 3 || time.Since(start) < 500*time.Millisecond {
		tr.perm = nil
		if _, err := tr.Steps(train, 1, nil); err != nil {
			t.Fatal(err)
		}
		steps++
	}
	wall := time.Since(start).Seconds()
	ratio := (processCPUSeconds(t) - cpu0) / wall
	t.Logf("%d thread(s): %d steps in %.2fs wall, CPU/wall %.2f", n, steps, wall, ratio)
	return ratio
}

// loadAverage is the 1-minute load average of the machine (0 when unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// TestOneThreadOneCore checks that the thread setting bounds every loop of a training step (kernels, loss,
// Adam, codebook, metrics): with one thread the process keeps at most one core busy (CPU time ≤ 1.25 × wall
// time), and with two it does keep more than one busy, which shows the measurement can tell them apart.
func TestOneThreadOneCore(t *testing.T) {
	if testing.Short() {
		t.Skip("times training steps")
	}
	if r := stepCPU(t, 1); r > 1.25 {
		t.Errorf("with one thread a training step keeps %.2f cores busy, want ≤ 1.25", r)
	}
	if runtime.NumCPU() < 2 {
		t.Log("one CPU: the two-thread check cannot run")
		return
	}
	best := 0.0
	for range 3 { // another job on the machine can take a core away for a while
		if best = max(best, stepCPU(t, 2)); best > 1.25 {
			return
		}
	}
	if load := loadAverage(); load > float64(runtime.NumCPU())-1 {
		t.Skipf("with two threads a step kept only %.2f cores busy, but the machine is busy (load %.1f on %d CPUs)", best, load, runtime.NumCPU())
	}
	t.Errorf("with two threads a training step keeps only %.2f cores busy, want > 1.25", best)
}
