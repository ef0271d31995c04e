package pybind

import (
	"fmt"
	"sync"
)

// registry maps opaque int64 handles to long-lived Go objects that Python refers to.
// Handles start at 1 and are never reused within a process, so a stale handle can only
// fail to resolve, never reach another object. Safe for concurrent use.
type registry struct {
	mu   sync.Mutex
	next int64
	objs map[int64]any
}

// handles is the process-wide registry behind every handle given to Python.
var handles = &registry{objs: make(map[int64]any)}

// put stores obj and returns its new handle (> 0).
func (r *registry) put(obj any) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.objs[r.next] = obj
	return r.next
}

// get returns the object behind h, or an error if h is unknown or released.
func (r *registry) get(h int64) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	obj, ok := r.objs[h]
	if !ok {
		return nil, fmt.Errorf("brainvq: invalid or released handle %d", h)
	}
	return obj, nil
}

// release forgets h so that its object can be garbage collected; an unknown h is an error.
func (r *registry) release(h int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.objs[h]; !ok {
		return fmt.Errorf("brainvq: release of invalid or already released handle %d", h)
	}
	delete(r.objs, h)
	return nil
}

// len returns the number of live handles.
func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.objs)
}

// getAs resolves h and checks that its object has type T; what names the expected kind of
// object in the error (for example "dataset").
func getAs[T any](h int64, what string) (T, error) {
	var zero T
	obj, err := handles.get(h)
	if err != nil {
		return zero, err
	}
	t, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("brainvq: handle %d is a %T, not a %s", h, obj, what)
	}
	return t, nil
}

// Release frees the Go object behind handle h. Releasing an unknown or already released handle
// is an error. The bool result is always true on success.
func Release(h int64) (ok bool, err error) {
	defer guard("Release", &err)
	if err := handles.release(h); err != nil {
		return false, err
	}
	return true, nil
}

// LiveHandles returns how many handles are currently held (for leak checks in tests).
func LiveHandles() (n int, err error) {
	defer guard("LiveHandles", &err)
	return handles.len(), nil
}

// blob is a stored byte buffer; it is the simplest handle-backed object and lets tests exercise
// the registry from Python before datasets and models exist.
type blob struct{ data []byte }

// NewBlob stores a copy of b in Go and returns a handle to it.
func NewBlob(b []byte) (h int64, err error) {
	defer guard("NewBlob", &err)
	data := make([]byte, len(b))
	copy(data, b)
	return handles.put(&blob{data: data}), nil
}

// BlobBytes returns a copy of the bytes stored behind handle h (made by NewBlob).
func BlobBytes(h int64) (out []byte, err error) {
	defer guard("BlobBytes", &err)
	b, err := getAs[*blob](h, "blob")
	if err != nil {
		return nil, err
	}
	out = make([]byte, len(b.data))
	copy(out, b.data)
	return out, nil
}
