//go:build !unix

package kernels

// processCPUSeconds is unavailable here; the benchmarks then report wall-clock rates only.
func processCPUSeconds() float64 { return 0 }
