// AVX-512 loops for the stride-2 convolutions (conv_gemm.go): splitting an input row into its even and
// odd columns (the phase planes of a band), and spreading a phase's results back over every other column.

#include "textflag.h"

DATA evenidx<>+0(SB)/4, $0
DATA evenidx<>+4(SB)/4, $2
DATA evenidx<>+8(SB)/4, $4
DATA evenidx<>+12(SB)/4, $6
DATA evenidx<>+16(SB)/4, $8
DATA evenidx<>+20(SB)/4, $10
DATA evenidx<>+24(SB)/4, $12
DATA evenidx<>+28(SB)/4, $14
DATA evenidx<>+32(SB)/4, $16
DATA evenidx<>+36(SB)/4, $18
DATA evenidx<>+40(SB)/4, $20
DATA evenidx<>+44(SB)/4, $22
DATA evenidx<>+48(SB)/4, $24
DATA evenidx<>+52(SB)/4, $26
DATA evenidx<>+56(SB)/4, $28
DATA evenidx<>+60(SB)/4, $30
GLOBL evenidx<>(SB), RODATA|NOPTR, $64

// func deinterleave2AVX(even, odd, src *float32, n int)
// even[i] = src[2i] for 2i < n, odd[i] = src[2i+1] for 2i+1 < n.
TEXT ·deinterleave2AVX(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	VMOVUPS evenidx<>(SB), Z30
	MOVL $1, R8
	VPBROADCASTD R8, Z29
	VPADDD Z29, Z30, Z31        // odd indices

di32:
	CMPQ CX, $32
	JLT  ditail
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVAPS Z0, Z2
	VPERMT2PS Z1, Z30, Z2
	VPERMT2PS Z1, Z31, Z0
	VMOVUPS Z2, (DI)
	VMOVUPS Z0, (DX)
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $32, CX
	JMP  di32

ditail:
	TESTQ CX, CX
	JZ    didone
	// load the last CX < 32 elements through masks
	MOVQ $-1, R9
	BZHIQ CX, R9, R10
	KMOVW R10, K1
	SHRQ $16, R10
	KMOVW R10, K2
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVAPS Z0, Z2
	VPERMT2PS Z1, Z30, Z2
	VPERMT2PS Z1, Z31, Z0
	// ⌈CX/2⌉ even and ⌊CX/2⌋ odd elements
	MOVQ CX, R11
	INCQ R11
	SHRQ $1, R11
	BZHIQ R11, R9, R10
	KMOVW R10, K3
	MOVQ CX, R11
	SHRQ $1, R11
	BZHIQ R11, R9, R10
	KMOVW R10, K4
	VMOVUPS Z2, K3, (DI)
	VMOVUPS Z0, K4, (DX)

didone:
	VZEROUPPER
	RET

// func spread2AVX(dst, src *float32, n int, odd, acc, relu bool)
// dst[2i+odd] = f(src[i]) for i < n, f(v) = v, or dst[2i+odd] + v when acc, then max(·, 0) when relu
// (−0 made +0). Only those elements of dst are read and written (masked), so another goroutine may fill
// the other parity at the same time.
TEXT ·spread2AVX(SB), NOSPLIT, $0-27
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x55555555, R8
	MOVBLZX odd+24(FP), R9
	SHLXL R9, R8, R8            // 0x55555555 or 0xaaaaaaaa: this parity's lanes
	MOVBLZX acc+25(FP), R12
	MOVBLZX relu+26(FP), R13
	VPXORD Z31, Z31, Z31

sp16:
	CMPQ CX, $16
	JLT  sptail
	KMOVW R8, K1
	KMOVW R8, K2
	JMP  spbody

sptail:
	TESTQ CX, CX
	JZ   spdone
	// lanes of the last CX < 16 source elements: the low 2·CX bits of the pattern
	MOVQ CX, R10
	SHLQ $1, R10
	MOVQ $-1, R11
	BZHIQ R10, R11, R11
	ANDL R8, R11
	KMOVW R11, K1
	SHRL $16, R11
	KMOVW R11, K2

spbody:
	VEXPANDPS.Z (SI), K1, Z0
	KMOVW K1, R10
	POPCNTL R10, R10
	VEXPANDPS.Z (SI)(R10*4), K2, Z1
	TESTL R12, R12
	JZ   spnoacc
	VMOVUPS.Z (DI), K1, Z2
	VMOVUPS.Z 64(DI), K2, Z3
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1

spnoacc:
	TESTL R13, R13
	JZ   spstore
	VMAXPS Z0, Z31, Z0
	VMAXPS Z1, Z31, Z1
	VADDPS Z31, Z0, Z0
	VADDPS Z31, Z1, Z1

spstore:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K2, 64(DI)
	CMPQ CX, $16
	JLT  spdone
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $16, CX
	JMP  sp16

spdone:
	VZEROUPPER
	RET
