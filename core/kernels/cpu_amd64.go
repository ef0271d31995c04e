package kernels

import "golang.org/x/sys/cpu"

// hasAVX512 reports whether this CPU and OS run AVX-512F with FMA (the ZMM state is enabled by the OS;
// golang.org/x/sys/cpu checks XCR0 before it sets HasAVX512F).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasFMA

// hasAVX2 reports whether this CPU and OS run AVX2 with FMA (x/sys/cpu checks that the OS saves the YMM
// state before it sets HasAVX2).
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
