package kernels

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// parallelFor splits the index range [0, n) into at most Threads() contiguous chunks of near-equal size and
// calls fn(lo, hi) once per chunk, concurrently; it returns when every call has returned. The caller's
// goroutine runs the first chunk itself. With one thread (or n ≤ 1) it calls fn(0, n) directly.
func parallelFor(n int, fn func(lo, hi int)) {
	parallelForWorkers(n, Threads(), fn)
}

// parallelForWorkers is parallelFor with an explicit upper bound on the number of concurrent chunks.
func parallelForWorkers(n, workers int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/workers)
	wg.Wait()
}

// parallelChunks splits [0, n) into chunks of grain indices (the last may be shorter) and lets up to
// workers goroutines (the caller's among them) take chunks in order until none is left, calling
// fn(lo, hi) for each. Unlike parallelFor's fixed split, a worker slowed down (say, by another process
// on its core) simply takes fewer chunks. With one worker (or one chunk) it calls fn(0, n) once. It
// returns when every call has returned.
func parallelChunks(n, grain, workers int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	chunks := (n + grain - 1) / grain
	workers = min(workers, chunks)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			fn(c*grain, min((c+1)*grain, n))
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for range workers - 1 {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// floatPool hands out reusable float32 scratch buffers whose first element is 64-byte aligned, so kernels
// allocate nothing in steady state. Buffers of different sizes share the pool; a buffer too small for a
// request is dropped and a larger one is made.
type floatPool struct{ p sync.Pool }

// scratchBuf is one pooled buffer: data is the aligned view of the allocation.
type scratchBuf struct{ data []float32 }

// get returns a buffer with len(data) ≥ n, 64-byte aligned. Its contents are unspecified.
func (fp *floatPool) get(n int) *scratchBuf {
	if v := fp.p.Get(); v != nil {
		s := v.(*scratchBuf)
		if cap(s.data) >= n {
			s.data = s.data[:cap(s.data)]
			return s
		}
	}
	return &scratchBuf{data: alignedFloats(n)}
}

// put gives a buffer back for reuse.
func (fp *floatPool) put(s *scratchBuf) { fp.p.Put(s) }

// alignedFloats allocates n float32s whose first element is 64-byte aligned.
func alignedFloats(n int) []float32 {
	raw := make([]float32, n+16)
	off := 0
	if mis := uintptr(unsafe.Pointer(&raw[0])) & 63; mis != 0 {
		off = int((64 - mis) / 4)
	}
	return raw[off : off+n : off+n]
}
