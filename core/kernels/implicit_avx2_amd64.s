// AVX2 + FMA implicit-GEMM micro-kernels (see implicit_avx2_amd64.go and conv_implicit.go).
//
// The same R×16 register blocks as sgemm_avx2_amd64.s (R = 6, 4 or 2 rows, two ymm accumulators per
// row), but B is not a packed panel: row p of the block's B operand is the 16 floats at b + 4·off[p], read
// in place from a band's zero-padded input copy. A is a k-major panel (A[i][p] = a[i + p·ks]). Each k
// step loads one offset, the 16 B floats into Y12, Y13 and, per row, broadcasts one A element into Y14
// or Y15 (alternating) for two VFMADD231PS that accumulate in place. After kc steps the first mr rows are
// written as C = acc + beta·C (C not read when beta is 0).

#include "textflag.h"

#define FMA2I(addr, yt, lo, hi) VBROADCASTSS addr, yt; VFMADD231PS yt, Y12, lo; VFMADD231PS yt, Y13, hi

#define LOADBI(r) VMOVUPS (BX)(r*4), Y12; VMOVUPS 32(BX)(r*4), Y13

#define ISTEP6(r) LOADBI(r); \
	FMA2I(0(AX), Y14, Y0, Y1); FMA2I(4(AX), Y15, Y2, Y3); FMA2I(8(AX), Y14, Y4, Y5); \
	FMA2I(12(AX), Y15, Y6, Y7); FMA2I(16(AX), Y14, Y8, Y9); FMA2I(20(AX), Y15, Y10, Y11); \
	ADDQ DI, AX

#define ISTEP4(r) LOADBI(r); \
	FMA2I(0(AX), Y14, Y0, Y1); FMA2I(4(AX), Y15, Y2, Y3); FMA2I(8(AX), Y14, Y4, Y5); \
	FMA2I(12(AX), Y15, Y6, Y7); \
	ADDQ DI, AX

#define ISTEP2(r) LOADBI(r); FMA2I(0(AX), Y14, Y0, Y1); FMA2I(4(AX), Y15, Y2, Y3); ADDQ DI, AX

#define IZERO6 VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; VXORPS Y9, Y9, Y9; VXORPS Y10, Y10, Y10; VXORPS Y11, Y11, Y11
#define IZERO4 VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7
#define IZERO2 VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3

// ISETUP: AX = A, DI = A step (ks·4 bytes), BX = B base, R8 = off, CX = kc.
#define ISETUP \
	MOVQ a+8(FP), AX; \
	MOVQ ks+16(FP), DI; \
	SHLQ $2, DI; \
	MOVQ b+24(FP), BX; \
	MOVQ off+32(FP), R8; \
	MOVQ kc+0(FP), CX

// ILOOP runs the k loop with the step macro st, four offsets at a time, then one at a time.
#define ILOOP(st, l4, lt, ep) \
l4: \
	CMPQ CX, $4; \
	JLT  lt; \
	MOVLQSX (R8), R10; \
	MOVLQSX 4(R8), R11; \
	MOVLQSX 8(R8), R12; \
	MOVLQSX 12(R8), R13; \
	st(R10); \
	st(R11); \
	st(R12); \
	st(R13); \
	ADDQ $16, R8; \
	SUBQ $4, CX; \
	JMP  l4; \
lt: \
	TESTQ CX, CX; \
	JZ    ep; \
	MOVLQSX (R8), R10; \
	st(R10); \
	ADDQ  $4, R8; \
	DECQ  CX; \
	JMP   lt

// IEPILOGUE: DI = C, DX = ldc·4, SI = mr, Y13 = beta; branches to wb unless beta is +0 or −0.
#define IEPILOGUE(wb) \
	VBROADCASTSS beta+56(FP), Y13; \
	MOVQ mr+64(FP), SI; \
	MOVQ c+40(FP), DI; \
	MOVQ ldc+48(FP), DX; \
	SHLQ $2, DX; \
	MOVL beta+56(FP), BX; \
	ANDL $0x7fffffff, BX; \
	JNZ  wb

#define IROW0(lo, hi) VMOVUPS lo, (DI); VMOVUPS hi, 32(DI)
#define IROWB(lo, hi) VFMADD231PS (DI), Y13, lo; VFMADD231PS 32(DI), Y13, hi; VMOVUPS lo, (DI); VMOVUPS hi, 32(DI)
#define INEXT(d) DECQ SI; JZ d; ADDQ DX, DI

// func kernelAVX2x6I(kc int, a *float32, ks int, b *float32, off *int32, c *float32, ldc int, beta float32, mr int)
TEXT ·kernelAVX2x6I(SB), NOSPLIT, $0-72
	ISETUP
	IZERO6
	ILOOP(ISTEP6, loop4, tail, epilogue)

epilogue:
	IEPILOGUE(withbeta)
	IROW0(Y0, Y1); INEXT(done); IROW0(Y2, Y3); INEXT(done); IROW0(Y4, Y5); INEXT(done)
	IROW0(Y6, Y7); INEXT(done); IROW0(Y8, Y9); INEXT(done); IROW0(Y10, Y11)
	JMP done

withbeta:
	IROWB(Y0, Y1); INEXT(done); IROWB(Y2, Y3); INEXT(done); IROWB(Y4, Y5); INEXT(done)
	IROWB(Y6, Y7); INEXT(done); IROWB(Y8, Y9); INEXT(done); IROWB(Y10, Y11)

done:
	VZEROUPPER
	RET

// func kernelAVX2x4I(kc int, a *float32, ks int, b *float32, off *int32, c *float32, ldc int, beta float32, mr int)
TEXT ·kernelAVX2x4I(SB), NOSPLIT, $0-72
	ISETUP
	IZERO4
	ILOOP(ISTEP4, loop4, tail, epilogue)

epilogue:
	IEPILOGUE(withbeta)
	IROW0(Y0, Y1); INEXT(done); IROW0(Y2, Y3); INEXT(done); IROW0(Y4, Y5); INEXT(done); IROW0(Y6, Y7)
	JMP done

withbeta:
	IROWB(Y0, Y1); INEXT(done); IROWB(Y2, Y3); INEXT(done); IROWB(Y4, Y5); INEXT(done); IROWB(Y6, Y7)

done:
	VZEROUPPER
	RET

// func kernelAVX2x2I(kc int, a *float32, ks int, b *float32, off *int32, c *float32, ldc int, beta float32, mr int)
TEXT ·kernelAVX2x2I(SB), NOSPLIT, $0-72
	ISETUP
	IZERO2
	ILOOP(ISTEP2, loop4, tail, epilogue)

epilogue:
	IEPILOGUE(withbeta)
	IROW0(Y0, Y1); INEXT(done); IROW0(Y2, Y3)
	JMP done

withbeta:
	IROWB(Y0, Y1); INEXT(done); IROWB(Y2, Y3)

done:
	VZEROUPPER
	RET
