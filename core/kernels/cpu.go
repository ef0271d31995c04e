package kernels

import (
	"os"
	"runtime"
	"sync/atomic"
)

// threads is the worker count the kernels of this package use; 0 means runtime.GOMAXPROCS(0).
var threads atomic.Int32

// SetThreads sets how many goroutines the kernels of this package may run at once. n ≤ 0 restores the
// default, runtime.GOMAXPROCS(0) read at the time of each call.
func SetThreads(n int) {
	if n < 0 {
		n = 0
	}
	threads.Store(int32(n))
}

// Threads reports how many goroutines the kernels of this package may run at once (at least 1).
func Threads() int {
	if n := int(threads.Load()); n > 0 {
		return n
	}
	if n := runtime.GOMAXPROCS(0); n > 0 {
		return n
	}
	return 1
}

// noAsmEnv names the environment variable that, set to "1" (or "true"), makes every kernel of this
// package take its portable pure-Go path even where an assembly path exists.
const noAsmEnv = "BRAINVQ_NOASM"

// asmDisabledByEnv reports whether BRAINVQ_NOASM asks for the pure-Go paths.
func asmDisabledByEnv() bool {
	switch os.Getenv(noAsmEnv) {
	case "1", "true", "TRUE", "yes":
		return true
	}
	return false
}
