package kernels

import (
	"fmt"
	"testing"
	"unsafe"
)

// BenchmarkSgemmKernel measures the bare AVX-512 micro-kernels on L1/L2-resident panels: one call computes
// 8 tiles (14×256 of C) over kc steps. It shows the ceiling that the blocking around them can reach.
// (The "m×k×n" of the metric is 14×kc×256.)
func BenchmarkSgemmKernel(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	const nq = 8
	for _, kc := range []int{16, 64, 384} {
		for _, layout := range []string{"K", "R"} {
			b.Run(fmt.Sprintf("%s/kc=%d", layout, kc), func(b *testing.B) {
				ap := alignedFloats(sgemmMR * sgemmARowStride)
				bp := alignedFloats(kc * sgemmNR * nq)
				c := alignedFloats(sgemmMR * sgemmNR * nq)
				kern := kernel14x32K
				if layout == "R" {
					kern = kernel14x32R
				}
				pf, skip, lines, left := idlePrefetch(uintptr(unsafe.Pointer(&ap[0])))
				benchGemmCPU(b, sgemmMR, kc, sgemmNR*nq, true, func() {
					kern(kc, &ap[0], &bp[0], &c[0], sgemmNR*nq, 1, 0, sgemmMR, nq, 0xffffffff, pf, skip, lines, left)
				})
			})
		}
	}
}

// TestPrefetchCursor replays the kernel's prefetch walk (the PFA macro in sgemm_amd64.s) over the
// arguments the cursor hands out and checks that it visits every line of both regions in memory order,
// then only the idle line.
func TestPrefetchCursor(t *testing.T) {
	regs := [2]pfRegion{
		{base: 1 << 20, ld: 1000, rows: 5, lines: 3},
		{base: 1 << 24, ld: 640, rows: 4, lines: 7},
	}
	var want []uintptr
	for _, r := range regs {
		for row := range r.rows {
			for l := range r.lines {
				want = append(want, r.base+uintptr(row*r.ld+l*64))
			}
		}
	}
	const idle = 1 << 28
	pc := prefetchCursor{regs: &regs, idle: idle}
	var got []uintptr
	for call := 0; call < 20; call++ {
		const n = 4 // lines per kernel call
		pf, skip, lines, left := pc.take(n)
		for range n {
			got = append(got, pf)
			pf += 64
			left--
			if left == 0 {
				pf += uintptr(skip)
				left = lines
			}
		}
	}
	// Each call stays in its region, so a region's last call may run past it; drop what lies outside.
	in := func(a uintptr) bool {
		for _, r := range regs {
			if a >= r.base && a < r.base+uintptr(r.rows*r.ld) && int(a-r.base)%r.ld < r.lines*64 {
				return true
			}
		}
		return false
	}
	var seen []uintptr
	for _, a := range got {
		if in(a) {
			seen = append(seen, a)
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("prefetched lines\n got %v\nwant %v", seen, want)
	}
	if last := got[len(got)-1]; last != idle {
		t.Fatalf("after both regions the cursor prefetches %#x, want the idle line %#x", last, idle)
	}
}
