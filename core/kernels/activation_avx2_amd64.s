// AVX2 loops of the prior's activations (activation.go, see activation_avx2_amd64.go): e^x, the gate
// tanh(a₁)·σ(a₂) and its gradient, 8 lanes at a time. Each computes exactly what the Go code computes —
// the same float32 operations in the same order, multiplies and adds never fused — so the results are bit
// for bit those of Expf, Sigmoid and Tanh (TestActivationsAVX2MatchGo), and the training step, the naive and
// fast samplers and ONNX parity do not depend on the path. The caller does the last n mod 8 elements.

#include "textflag.h"

// expSign: sign bit, 8 times.
DATA expSign<>+0(SB)/4, $0x80000000
DATA expSign<>+4(SB)/4, $0x80000000
DATA expSign<>+8(SB)/4, $0x80000000
DATA expSign<>+12(SB)/4, $0x80000000
DATA expSign<>+16(SB)/4, $0x80000000
DATA expSign<>+20(SB)/4, $0x80000000
DATA expSign<>+24(SB)/4, $0x80000000
DATA expSign<>+28(SB)/4, $0x80000000
GLOBL expSign<>(SB), RODATA|NOPTR, $32

// expOne: 1, 8 times.
DATA expOne<>+0(SB)/4, $0x3f800000
DATA expOne<>+4(SB)/4, $0x3f800000
DATA expOne<>+8(SB)/4, $0x3f800000
DATA expOne<>+12(SB)/4, $0x3f800000
DATA expOne<>+16(SB)/4, $0x3f800000
DATA expOne<>+20(SB)/4, $0x3f800000
DATA expOne<>+24(SB)/4, $0x3f800000
DATA expOne<>+28(SB)/4, $0x3f800000
GLOBL expOne<>(SB), RODATA|NOPTR, $32

// expL2e: log2 e, 8 times.
DATA expL2e<>+0(SB)/4, $0x3fb8aa3b
DATA expL2e<>+4(SB)/4, $0x3fb8aa3b
DATA expL2e<>+8(SB)/4, $0x3fb8aa3b
DATA expL2e<>+12(SB)/4, $0x3fb8aa3b
DATA expL2e<>+16(SB)/4, $0x3fb8aa3b
DATA expL2e<>+20(SB)/4, $0x3fb8aa3b
DATA expL2e<>+24(SB)/4, $0x3fb8aa3b
DATA expL2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL expL2e<>(SB), RODATA|NOPTR, $32

// expHalf: 0.5, 8 times.
DATA expHalf<>+0(SB)/4, $0x3f000000
DATA expHalf<>+4(SB)/4, $0x3f000000
DATA expHalf<>+8(SB)/4, $0x3f000000
DATA expHalf<>+12(SB)/4, $0x3f000000
DATA expHalf<>+16(SB)/4, $0x3f000000
DATA expHalf<>+20(SB)/4, $0x3f000000
DATA expHalf<>+24(SB)/4, $0x3f000000
DATA expHalf<>+28(SB)/4, $0x3f000000
GLOBL expHalf<>(SB), RODATA|NOPTR, $32

// exp128f: 128 (float), 8 times.
DATA exp128f<>+0(SB)/4, $0x43000000
DATA exp128f<>+4(SB)/4, $0x43000000
DATA exp128f<>+8(SB)/4, $0x43000000
DATA exp128f<>+12(SB)/4, $0x43000000
DATA exp128f<>+16(SB)/4, $0x43000000
DATA exp128f<>+20(SB)/4, $0x43000000
DATA exp128f<>+24(SB)/4, $0x43000000
DATA exp128f<>+28(SB)/4, $0x43000000
GLOBL exp128f<>(SB), RODATA|NOPTR, $32

// expHi: ln2 high part, 8 times.
DATA expHi<>+0(SB)/4, $0x3f318000
DATA expHi<>+4(SB)/4, $0x3f318000
DATA expHi<>+8(SB)/4, $0x3f318000
DATA expHi<>+12(SB)/4, $0x3f318000
DATA expHi<>+16(SB)/4, $0x3f318000
DATA expHi<>+20(SB)/4, $0x3f318000
DATA expHi<>+24(SB)/4, $0x3f318000
DATA expHi<>+28(SB)/4, $0x3f318000
GLOBL expHi<>(SB), RODATA|NOPTR, $32

// expLo: ln2 low part, 8 times.
DATA expLo<>+0(SB)/4, $0xb95e8083
DATA expLo<>+4(SB)/4, $0xb95e8083
DATA expLo<>+8(SB)/4, $0xb95e8083
DATA expLo<>+12(SB)/4, $0xb95e8083
DATA expLo<>+16(SB)/4, $0xb95e8083
DATA expLo<>+20(SB)/4, $0xb95e8083
DATA expLo<>+24(SB)/4, $0xb95e8083
DATA expLo<>+28(SB)/4, $0xb95e8083
GLOBL expLo<>(SB), RODATA|NOPTR, $32

// expMax: largest x with a finite e^x, 8 times.
DATA expMax<>+0(SB)/4, $0x42b0c0a5
DATA expMax<>+4(SB)/4, $0x42b0c0a5
DATA expMax<>+8(SB)/4, $0x42b0c0a5
DATA expMax<>+12(SB)/4, $0x42b0c0a5
DATA expMax<>+16(SB)/4, $0x42b0c0a5
DATA expMax<>+20(SB)/4, $0x42b0c0a5
DATA expMax<>+24(SB)/4, $0x42b0c0a5
DATA expMax<>+28(SB)/4, $0x42b0c0a5
GLOBL expMax<>(SB), RODATA|NOPTR, $32

// expMin: smallest x with a normal e^x, 8 times.
DATA expMin<>+0(SB)/4, $0xc2aeac50
DATA expMin<>+4(SB)/4, $0xc2aeac50
DATA expMin<>+8(SB)/4, $0xc2aeac50
DATA expMin<>+12(SB)/4, $0xc2aeac50
DATA expMin<>+16(SB)/4, $0xc2aeac50
DATA expMin<>+20(SB)/4, $0xc2aeac50
DATA expMin<>+24(SB)/4, $0xc2aeac50
DATA expMin<>+28(SB)/4, $0xc2aeac50
GLOBL expMin<>(SB), RODATA|NOPTR, $32

// expC720: 1/720, 8 times.
DATA expC720<>+0(SB)/4, $0x3ab60b61
DATA expC720<>+4(SB)/4, $0x3ab60b61
DATA expC720<>+8(SB)/4, $0x3ab60b61
DATA expC720<>+12(SB)/4, $0x3ab60b61
DATA expC720<>+16(SB)/4, $0x3ab60b61
DATA expC720<>+20(SB)/4, $0x3ab60b61
DATA expC720<>+24(SB)/4, $0x3ab60b61
DATA expC720<>+28(SB)/4, $0x3ab60b61
GLOBL expC720<>(SB), RODATA|NOPTR, $32

// expC120: 1/120, 8 times.
DATA expC120<>+0(SB)/4, $0x3c088889
DATA expC120<>+4(SB)/4, $0x3c088889
DATA expC120<>+8(SB)/4, $0x3c088889
DATA expC120<>+12(SB)/4, $0x3c088889
DATA expC120<>+16(SB)/4, $0x3c088889
DATA expC120<>+20(SB)/4, $0x3c088889
DATA expC120<>+24(SB)/4, $0x3c088889
DATA expC120<>+28(SB)/4, $0x3c088889
GLOBL expC120<>(SB), RODATA|NOPTR, $32

// expC24: 1/24, 8 times.
DATA expC24<>+0(SB)/4, $0x3d2aaaab
DATA expC24<>+4(SB)/4, $0x3d2aaaab
DATA expC24<>+8(SB)/4, $0x3d2aaaab
DATA expC24<>+12(SB)/4, $0x3d2aaaab
DATA expC24<>+16(SB)/4, $0x3d2aaaab
DATA expC24<>+20(SB)/4, $0x3d2aaaab
DATA expC24<>+24(SB)/4, $0x3d2aaaab
DATA expC24<>+28(SB)/4, $0x3d2aaaab
GLOBL expC24<>(SB), RODATA|NOPTR, $32

// expC6: 1/6, 8 times.
DATA expC6<>+0(SB)/4, $0x3e2aaaab
DATA expC6<>+4(SB)/4, $0x3e2aaaab
DATA expC6<>+8(SB)/4, $0x3e2aaaab
DATA expC6<>+12(SB)/4, $0x3e2aaaab
DATA expC6<>+16(SB)/4, $0x3e2aaaab
DATA expC6<>+20(SB)/4, $0x3e2aaaab
DATA expC6<>+24(SB)/4, $0x3e2aaaab
DATA expC6<>+28(SB)/4, $0x3e2aaaab
GLOBL expC6<>(SB), RODATA|NOPTR, $32

// exp128i: 128 (int32), 8 times.
DATA exp128i<>+0(SB)/4, $0x00000080
DATA exp128i<>+4(SB)/4, $0x00000080
DATA exp128i<>+8(SB)/4, $0x00000080
DATA exp128i<>+12(SB)/4, $0x00000080
DATA exp128i<>+16(SB)/4, $0x00000080
DATA exp128i<>+20(SB)/4, $0x00000080
DATA exp128i<>+24(SB)/4, $0x00000080
DATA exp128i<>+28(SB)/4, $0x00000080
GLOBL exp128i<>(SB), RODATA|NOPTR, $32

// exp127i: 127 (int32), 8 times.
DATA exp127i<>+0(SB)/4, $0x0000007f
DATA exp127i<>+4(SB)/4, $0x0000007f
DATA exp127i<>+8(SB)/4, $0x0000007f
DATA exp127i<>+12(SB)/4, $0x0000007f
DATA exp127i<>+16(SB)/4, $0x0000007f
DATA exp127i<>+20(SB)/4, $0x0000007f
DATA exp127i<>+24(SB)/4, $0x0000007f
DATA exp127i<>+28(SB)/4, $0x0000007f
GLOBL exp127i<>(SB), RODATA|NOPTR, $32

// expInf: +Inf, 8 times.
DATA expInf<>+0(SB)/4, $0x7f800000
DATA expInf<>+4(SB)/4, $0x7f800000
DATA expInf<>+8(SB)/4, $0x7f800000
DATA expInf<>+12(SB)/4, $0x7f800000
DATA expInf<>+16(SB)/4, $0x7f800000
DATA expInf<>+20(SB)/4, $0x7f800000
DATA expInf<>+24(SB)/4, $0x7f800000
DATA expInf<>+28(SB)/4, $0x7f800000
GLOBL expInf<>(SB), RODATA|NOPTR, $32

// expTwo: 2, 8 times.
DATA expTwo<>+0(SB)/4, $0x40000000
DATA expTwo<>+4(SB)/4, $0x40000000
DATA expTwo<>+8(SB)/4, $0x40000000
DATA expTwo<>+12(SB)/4, $0x40000000
DATA expTwo<>+16(SB)/4, $0x40000000
DATA expTwo<>+20(SB)/4, $0x40000000
DATA expTwo<>+24(SB)/4, $0x40000000
DATA expTwo<>+28(SB)/4, $0x40000000
GLOBL expTwo<>(SB), RODATA|NOPTR, $32

// EXP sets X = Expf(X) lane-wise, using T, N, M as scratch (Y8…Y15 hold the constants LOADC loads).
// Expf: n = int32(x·log2e + ½ + 128) − 128, r = (x − n·ln2hi) − n·ln2lo, p = Horner(1/720 … 1, 1)(r),
// e^x = p · 2^n; NaN stays NaN, x > max gives +Inf, x < min gives 0.
#define EXP(X, T, N, M) \
	VMULPS     Y13, X, T; \
	VADDPS     Y12, T, T; \
	VADDPS     Y11, T, T; \
	VCVTTPS2DQ T, N; \
	VPSUBD     exp128i<>(SB), N, N; \
	VCVTDQ2PS  N, T; \
	VMULPS     Y10, T, M; \
	VSUBPS     M, X, M; \
	VMULPS     Y9, T, T; \
	VSUBPS     T, M, M; \
	VMOVUPS    expC720<>(SB), T; \
	VMULPS     M, T, T; \
	VADDPS     expC120<>(SB), T, T; \
	VMULPS     M, T, T; \
	VADDPS     expC24<>(SB), T, T; \
	VMULPS     M, T, T; \
	VADDPS     expC6<>(SB), T, T; \
	VMULPS     M, T, T; \
	VADDPS     Y12, T, T; \
	VMULPS     M, T, T; \
	VADDPS     Y14, T, T; \
	VMULPS     M, T, T; \
	VADDPS     Y14, T, T; \
	VPADDD     exp127i<>(SB), N, N; \
	VPSLLD     $23, N, N; \
	VMULPS     N, T, T; \
	VCMPPS     $0x1E, Y8, X, M; \
	VBLENDVPS  M, expInf<>(SB), T, T; \
	VCMPPS     $0x11, Y15, X, M; \
	VANDNPS    T, M, T; \
	VCMPPS     $0x03, X, X, M; \
	VBLENDVPS  M, X, T, X

// SIGMOID sets X = Sigmoid(X): e = Expf(−|x|), σ = (x ≥ 0 ? 1 : e) / (1 + e).
#define SIGMOID(X, E, T, N, M) \
	VORPS     expSign<>(SB), X, E; \
	EXP(E, T, N, M); \
	VXORPS    T, T, T; \
	VCMPPS    $0x1D, T, X, M; \
	VBLENDVPS M, Y14, E, X; \
	VADDPS    Y14, E, E; \
	VDIVPS    E, X, X

// TANH sets X = Tanh(X) = 2·σ(2x) − 1.
#define TANH(X, E, T, N, M) \
	VADDPS  X, X, X; \
	SIGMOID(X, E, T, N, M); \
	VADDPS  X, X, X; \
	VSUBPS  Y14, X, X

// LOADC loads the constants EXP reads from registers.
#define LOADC \
	VMOVUPS expMin<>(SB), Y15; \
	VMOVUPS expOne<>(SB), Y14; \
	VMOVUPS expL2e<>(SB), Y13; \
	VMOVUPS expHalf<>(SB), Y12; \
	VMOVUPS exp128f<>(SB), Y11; \
	VMOVUPS expHi<>(SB), Y10; \
	VMOVUPS expLo<>(SB), Y9; \
	VMOVUPS expMax<>(SB), Y8

// func expAVX2(dst, src *float32, n int)
// dst[i] = Expf(src[i]) for i < n − n mod 8 (dst may be src).
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	LOADC

exp8:
	CMPQ CX, $8
	JLT  expdone
	VMOVUPS (SI), Y0
	EXP(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  exp8

expdone:
	VZEROUPPER
	RET

// func gateAVX2(y, a1, a2 *float32, n int)
// y[i] = Tanh(a1[i]) · Sigmoid(a2[i]) for i < n − n mod 8.
TEXT ·gateAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ a1+8(FP), SI
	MOVQ a2+16(FP), DX
	MOVQ n+24(FP), CX
	LOADC

gate8:
	CMPQ CX, $8
	JLT  gatedone
	VMOVUPS (SI), Y0
	TANH(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS (DX), Y5
	SIGMOID(Y5, Y1, Y2, Y3, Y4)
	VMULPS  Y5, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  gate8

gatedone:
	VZEROUPPER
	RET

// func gateGradAVX2(d1, d2, a1, a2, dy *float32, n int)
// With t = Tanh(a1[i]), s = Sigmoid(a2[i]), g = dy[i]: d1[i] = (g·(1 − t·t))·s, d2[i] = ((g·t)·s)·(1 − s), for
// i < n − n mod 8.
TEXT ·gateGradAVX2(SB), NOSPLIT, $0-48
	MOVQ d1+0(FP), DI
	MOVQ d2+8(FP), R8
	MOVQ a1+16(FP), SI
	MOVQ a2+24(FP), DX
	MOVQ dy+32(FP), BX
	MOVQ n+40(FP), CX
	LOADC

grad8:
	CMPQ CX, $8
	JLT  graddone
	VMOVUPS (SI), Y0
	TANH(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS (DX), Y5
	SIGMOID(Y5, Y1, Y2, Y3, Y4)
	VMOVUPS (BX), Y6
	VMULPS  Y0, Y0, Y1
	VSUBPS  Y1, Y14, Y1
	VMULPS  Y1, Y6, Y1
	VMULPS  Y5, Y1, Y1
	VMOVUPS Y1, (DI)
	VMULPS  Y0, Y6, Y2
	VMULPS  Y5, Y2, Y2
	VSUBPS  Y5, Y14, Y3
	VMULPS  Y3, Y2, Y2
	VMOVUPS Y2, (R8)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  grad8

graddone:
	VZEROUPPER
	RET
