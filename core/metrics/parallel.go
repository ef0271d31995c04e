package metrics

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelWorkers returns how many workers to use for n independent items: runtime.GOMAXPROCS(0),
// but at least 1 and at most n.
func parallelWorkers(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// parallelFor calls f(i, worker) for every i in [0, n) from the given number of goroutines; worker is
// in [0, workers) and is never used by two calls at the same time, so f may index per-worker scratch
// space with it. Items are handed out one at a time, which balances uneven items.
func parallelFor(n, workers int, f func(i, worker int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			f(i, 0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for worker := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i, worker)
			}
		}()
	}
	wg.Wait()
}
