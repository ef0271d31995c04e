package parallel

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// visits records how often each index was passed to a loop and checks that no worker index was used by two
// calls at the same time.
type visits struct {
	mu     sync.Mutex
	count  []int
	busy   map[int]bool
	failed string
}

func newVisits(n int) *visits { return &visits{count: make([]int, n), busy: map[int]bool{}} }

func (v *visits) enter(worker int, lo, hi int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.busy[worker] {
		v.failed = fmt.Sprintf("worker %d used by two calls at once", worker)
	}
	v.busy[worker] = true
	for i := lo; i < hi; i++ {
		v.count[i]++
	}
}

func (v *visits) leave(worker int) {
	v.mu.Lock()
	v.busy[worker] = false
	v.mu.Unlock()
}

func (v *visits) check(t *testing.T, what string) {
	t.Helper()
	if v.failed != "" {
		t.Fatalf("%s: %s", what, v.failed)
	}
	for i, c := range v.count {
		if c != 1 {
			t.Fatalf("%s: index %d visited %d times, want once", what, i, c)
		}
	}
}

func TestLoopsVisitEveryIndexOnce(t *testing.T) {
	defer SetThreads(0)
	for _, threads := range []int{1, 2, 3, 7} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 5, 64, 1001} {
			v := newVisits(n)
			For(n, func(w, lo, hi int) {
				if w < 0 || w >= threads {
					t.Errorf("For: worker %d outside [0,%d)", w, threads)
				}
				v.enter(w, lo, hi)
				v.leave(w)
			})
			v.check(t, fmt.Sprintf("For n=%d threads=%d", n, threads))

			v = newVisits(n)
			Tasks(n, func(i, w int) {
				if w < 0 || w >= threads {
					t.Errorf("Tasks: worker %d outside [0,%d)", w, threads)
				}
				v.enter(w, i, i+1)
				v.leave(w)
			})
			v.check(t, fmt.Sprintf("Tasks n=%d threads=%d", n, threads))

			for _, grain := range []int{1, 3, 100} {
				v = newVisits(n)
				Chunks(n, grain, 0, func(lo, hi int) {
					if hi-lo > grain && n > grain && threads > 1 {
						t.Errorf("Chunks: chunk [%d,%d) longer than grain %d", lo, hi, grain)
					}
					v.enter(-lo-1, lo, hi) // chunks never overlap: use the chunk as its own "worker"
					v.leave(-lo - 1)
				})
				v.check(t, fmt.Sprintf("Chunks n=%d grain=%d threads=%d", n, grain, threads))
			}
		}
	}
}

func TestSetThreadsBoundsTheRuntime(t *testing.T) {
	defer SetThreads(0)
	if got := SetThreads(1); got != 1 || runtime.GOMAXPROCS(0) != 1 || Threads() != 1 {
		t.Fatalf("SetThreads(1) = %d, GOMAXPROCS %d, Threads %d; want 1 each", got, runtime.GOMAXPROCS(0), Threads())
	}
	if got := SetThreads(3); got != 3 || runtime.GOMAXPROCS(0) != 3 {
		t.Fatalf("SetThreads(3) = %d, GOMAXPROCS %d", got, runtime.GOMAXPROCS(0))
	}
	SetThreads(0)
	if Threads() < 1 {
		t.Fatalf("Threads() = %d after restoring the default", Threads())
	}
}

// Sums must give bit-identical totals whatever the thread setting: training results may not depend on it.
func TestSumsIndependentOfThreads(t *testing.T) {
	defer SetThreads(0)
	const n = 100003
	x := make([]float64, n)
	for i := range x {
		x[i] = 1 / float64(i+1)
	}
	total := func() float64 {
		s := 0.0
		for _, p := range Sums(n, 16, func(lo, hi int) float64 {
			a := 0.0
			for _, v := range x[lo:hi] {
				a += v
			}
			return a
		}) {
			s += p
		}
		return s
	}
	SetThreads(1)
	one := total()
	SetThreads(4)
	if many := total(); many != one {
		t.Fatalf("sum on 4 threads %v differs from 1 thread %v", many, one)
	}
	if len(Sums(3, 16, func(lo, hi int) float64 { return 0 })) != 3 {
		t.Fatal("Sums with n < parts must return n parts")
	}
	if Sums(0, 4, nil) != nil {
		t.Fatal("Sums of nothing must be nil")
	}
}

func TestChunksExplicitWorkers(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		for _, n := range []int{0, 1, 5, 64, 101} {
			for _, grain := range []int{0, 1, 7, 200} {
				var mu sync.Mutex
				hits := make([]int, n)
				Chunks(n, grain, workers, func(lo, hi int) {
					if lo >= hi || (workers > 1 && hi-lo > max(grain, 1)) {
						t.Errorf("n=%d grain=%d: bad chunk [%d,%d)", n, grain, lo, hi)
					}
					mu.Lock()
					defer mu.Unlock()
					for i := lo; i < hi; i++ {
						hits[i]++
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Fatalf("workers=%d n=%d grain=%d: index %d covered %d times", workers, n, grain, i, h)
					}
				}
			}
		}
	}
}

func ExampleTasks() {
	squares := make([]int, 5)
	Tasks(len(squares), func(i, _ int) { squares[i] = i * i })
	fmt.Println(squares)
	// Output: [0 1 4 9 16]
}
