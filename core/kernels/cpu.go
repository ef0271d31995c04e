package kernels

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// noAsmEnv names the environment variable that, set to "1" (or "true"), makes every kernel of this
// package take its portable pure-Go path even where an assembly path exists (the same as
// BRAINVQ_ISA=generic).
const noAsmEnv = "BRAINVQ_NOASM"

// isaEnv names the environment variable that forces one instruction-set path: "avx512", "avx2" (amd64),
// "neon" (arm64) or "generic" (pure Go). Unset or empty, the best path this CPU runs is taken. A path the
// CPU cannot run (or an unknown name) is not an error: the package prints one warning to standard error
// and falls back to the best path that does run, so that a script written for one machine still runs on
// another.
const isaEnv = "BRAINVQ_ISA"

// isaKind is an instruction-set path of this package's kernels.
type isaKind int

const (
	isaGeneric isaKind = iota // pure Go, every architecture
	isaAVX2                   // amd64 AVX2 + FMA (256-bit vectors, 16 registers)
	isaAVX512                 // amd64 AVX-512F + FMA
	isaNEON                   // arm64 Advanced SIMD (128-bit vectors, 32 registers; every ARMv8 CPU)
)

// hasNEON reports whether the NEON (ASIMD) path exists: on every arm64 CPU, none elsewhere.
const hasNEON = runtime.GOARCH == "arm64"

// String returns the name BRAINVQ_ISA uses for k.
func (k isaKind) String() string {
	switch k {
	case isaAVX2:
		return "avx2"
	case isaAVX512:
		return "avx512"
	case isaNEON:
		return "neon"
	}
	return "generic"
}

// asmDisabledByEnv reports whether BRAINVQ_NOASM asks for the pure-Go paths.
func asmDisabledByEnv() bool {
	switch os.Getenv(noAsmEnv) {
	case "1", "true", "TRUE", "yes":
		return true
	}
	return false
}

// availableISAs lists the paths this CPU runs, best last (generic is always first).
func availableISAs() []isaKind {
	k := []isaKind{isaGeneric}
	if hasAVX2 {
		k = append(k, isaAVX2)
	}
	if hasAVX512 {
		k = append(k, isaAVX512)
	}
	if hasNEON {
		k = append(k, isaNEON)
	}
	return k
}

// chooseISA picks the path for the environment values noAsm (BRAINVQ_NOASM set) and want (BRAINVQ_ISA)
// among avail (best last). warn is not empty when want could not be honoured.
func chooseISA(noAsm bool, want string, avail []isaKind) (k isaKind, warn string) {
	best := avail[len(avail)-1]
	if noAsm {
		return isaGeneric, ""
	}
	want = strings.ToLower(strings.TrimSpace(want))
	if want == "" {
		return best, ""
	}
	for _, a := range avail {
		if a.String() == want {
			return a, ""
		}
	}
	switch want {
	case "avx2", "avx512", "neon":
		return best, fmt.Sprintf("kernels: %s=%s, but this CPU does not run %s; using %s", isaEnv, want, want, best)
	}
	return best, fmt.Sprintf("kernels: %s=%q is not one of avx512, avx2, neon, generic; using %s", isaEnv, want, best)
}

// selectISA reads the environment once at start-up and warns on standard error when it asks for a path
// that is not available.
func selectISA() isaKind {
	k, warn := chooseISA(asmDisabledByEnv(), os.Getenv(isaEnv), availableISAs())
	if warn != "" {
		fmt.Fprintln(os.Stderr, warn)
	}
	return k
}

// activeISA is the path the kernels take; useAVX512 and useAVX2 (which tests switch) follow it.
var activeISA = selectISA()

var (
	// useAVX512 selects the AVX-512 assembly paths.
	useAVX512 = activeISA == isaAVX512
	// useAVX2 selects the AVX2 assembly paths (never together with useAVX512: the AVX-512 paths
	// have their own kernels).
	useAVX2 = activeISA == isaAVX2
	// useNEON selects the arm64 NEON assembly paths.
	useNEON = activeISA == isaNEON
)

// setISA switches the kernels to path k (tests and benchmarks; not safe while kernels run).
func setISA(k isaKind) {
	useAVX512, useAVX2, useNEON = k == isaAVX512, k == isaAVX2, k == isaNEON
}

// currentISA returns the path the kernels take now.
func currentISA() isaKind {
	switch {
	case useAVX512:
		return isaAVX512
	case useAVX2:
		return isaAVX2
	case useNEON:
		return isaNEON
	}
	return isaGeneric
}

// ISA names the instruction-set path the kernels take: "avx512", "avx2", "neon" or "generic" (see
// BRAINVQ_ISA in the package documentation), for benchmark and log lines.
func ISA() string { return currentISA().String() }
