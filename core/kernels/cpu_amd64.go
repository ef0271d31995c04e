package kernels

import "golang.org/x/sys/cpu"

// hasAVX512 reports whether this CPU and OS run AVX-512F with FMA (the ZMM state is enabled by the OS;
// golang.org/x/sys/cpu checks XCR0 before it sets HasAVX512F).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasFMA

// useAVX512 selects the AVX-512 assembly paths. Tests switch it off to cover the pure-Go paths.
var useAVX512 = hasAVX512 && !asmDisabledByEnv()
