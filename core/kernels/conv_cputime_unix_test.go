//go:build unix

package kernels

import "syscall"

// processCPUSeconds is the user+system CPU time this process has used so far, all threads together.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
