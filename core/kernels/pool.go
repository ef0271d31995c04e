package kernels

import (
	"sync"
	"unsafe"
)

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
