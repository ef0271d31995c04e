// Package parallel is brainvq's one worker pool: every loop that spreads work over goroutines — the compute
// kernels, the loss, Adam, SSIM, data loading, the stand-in maker — goes through it, so the one thread
// setting (the command's --threads, Python's brainvq.set_threads) bounds all of them.
//
// The setting is the Go runtime's GOMAXPROCS: SetThreads(n) sets it, so that the garbage collector and the
// runtime's own helpers are bounded as well as brainvq's loops, and `--threads 1` keeps the whole process to
// one busy core. Threads reads it back.
//
// Three shapes of loop cover every use:
//   - For: a static split of [0,n) into Threads() contiguous ranges, for short even work (copies, sums);
//   - Tasks: items handed out one at a time to the first free worker, for uneven items (images, volumes),
//     which also keeps both cores busy on a machine shared with other work;
//   - Chunks: Tasks over fixed-size chunks of [0,n).
//
// Each runs the first share of the work on the caller's goroutine and returns when every call has returned.
// Results that are summed must not depend on the split: callers that reduce use a fixed chunk count
// (see Sums), so a run gives the same numbers on one thread as on many.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// SetThreads sets how many goroutines run Go code at once (runtime.GOMAXPROCS), which bounds every loop of
// this package. n ≤ 0 restores the runtime's default (the CPUs this process may use). It returns the setting
// now in force.
func SetThreads(n int) int {
	if n <= 0 {
		runtime.SetDefaultGOMAXPROCS()
	} else {
		runtime.GOMAXPROCS(n)
	}
	return Threads()
}

// Threads is the number of goroutines the loops of this package use at most (at least 1).
func Threads() int { return max(1, runtime.GOMAXPROCS(0)) }

// For splits [0, n) into at most Threads() contiguous ranges of near-equal size and calls fn(worker, lo, hi)
// once per range, concurrently; worker is in [0, Threads()) and distinct per call. With one thread (or
// n ≤ 1) it calls fn(0, 0, n) directly. Nothing is called when n ≤ 0.
func For(n int, fn func(worker, lo, hi int)) { ForWorkers(n, Threads(), fn) }

// ForWorkers is For with an explicit bound on the number of ranges (at most workers, at most n).
func ForWorkers(n, workers int, fn func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	workers = min(workers, n)
	if workers <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { fn(w, w*n/workers, (w+1)*n/workers) })
	}
	fn(0, 0, n/workers)
	wg.Wait()
}

// Tasks calls fn(i, worker) for every i in [0, n) from at most Threads() goroutines, handing indices out in
// order, one at a time, as workers become free. worker is in [0, Threads()) and never used by two calls at
// once, so fn may index per-worker scratch space with it. Which worker runs an item depends on timing: an
// item must write only its own outputs.
func Tasks(n int, fn func(i, worker int)) { TasksWorkers(n, Threads(), fn) }

// TasksWorkers is Tasks with an explicit bound on the number of goroutines.
func TasksWorkers(n, workers int, fn func(i, worker int)) {
	if n <= 0 {
		return
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			fn(i, 0)
		}
		return
	}
	var next atomic.Int64
	work := func(worker int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(i, worker)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { work(w) })
	}
	work(0)
	wg.Wait()
}

// Chunks splits [0, n) into chunks of grain indices (the last may be shorter) and hands them out as Tasks
// does, calling fn(lo, hi) for each, on at most workers goroutines (≤ 0: Threads()). With one chunk or one
// worker it calls fn(0, n) once.
func Chunks(n, grain, workers int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	if workers <= 0 {
		workers = Threads()
	}
	chunks := (n + grain - 1) / grain
	if chunks <= 1 || workers <= 1 {
		fn(0, n)
		return
	}
	TasksWorkers(chunks, workers, func(c, _ int) { fn(c*grain, min((c+1)*grain, n)) })
}

// Sums splits [0, n) into exactly parts contiguous ranges (fewer when n < parts), computes fn on each through
// Tasks and returns the partial results in range order. The split does not depend on the thread setting, so
// a caller that adds the parts in order gets the same sum on one thread as on many.
func Sums(n, parts int, fn func(lo, hi int) float64) []float64 {
	if n <= 0 {
		return nil
	}
	parts = max(1, min(parts, n))
	out := make([]float64, parts)
	Tasks(parts, func(i, _ int) { out[i] = fn(i*n/parts, (i+1)*n/parts) })
	return out
}
