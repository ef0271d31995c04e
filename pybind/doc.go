// Package pybind is the thin Go surface that gopy binds into the brainvq Python extension.
//
// It only adapts; all real work lives in core/. Its rules keep the binding fast and safe:
//
//   - Arrays cross the boundary as raw little-endian bytes ([]byte, which gopy maps to a
//     Python bytes object with one memcpy each way), never element by element as gopy slices.
//     Shapes travel as plain ints next to the bytes; the Python package checks them.
//   - Only plain ints, floats, strings and []byte appear in signatures. Long-lived Go objects
//     (datasets, trainers, models) stay in Go and Python holds an opaque int64 handle into a
//     registry (see Release and LiveHandles).
//   - Every exported function returns (value, error): gopy turns a non-nil error into a Python
//     RuntimeError carrying the Go message. A function returning only an error is avoided on
//     purpose, because gopy v0.5.0's wrapper for that shape leaks a C string on every call.
//   - Every exported function recovers panics (see guard) and reports them as errors, so a bug
//     in Go raises a Python exception instead of killing the interpreter.
//
// The surface, by file: data.go (datasets from OASIS folders or bytes, the stand-in maker), train.go (a
// trainer that runs a few optimiser steps per call, so that Python can draw progress and stop on Ctrl-C
// between calls; Go never calls back into Python), model.go (inference, evaluation, checkpoints, ONNX
// export), metrics.go (SSIM, PSNR, MSE, perplexity, kernel threads). Structured results travel as JSON
// text. The Python package python/brainvq wraps all of it with numpy; docs/python.md documents that.
//
// gopy releases the GIL for the duration of each call, so long Go calls do not block other
// Python threads. The Go runtime starts when the extension is imported; a process that has
// imported it must not fork without exec (use multiprocessing's "spawn" start method).
package pybind
