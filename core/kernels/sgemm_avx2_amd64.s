// AVX2 + FMA micro-kernels for CPUs without AVX-512 (see sgemm_avx2_amd64.go for the Go side).
//
// A kernel computes R×16 blocks of C (R = 6, 4 or 2 rows, two 8-float ymm registers per row) from R
// rows of A (A[i][p] = a[i·rs + p·ks]: k-major panels have rs = 1, row-layout ones ks = 1) and one half (16 of the
// 32 columns) of a packed B panel (row p of panel t at b + t·kc·32 + p·32). It runs over nh ≥ 1
// consecutive halves: half h reads B panel h/2, columns 16·(h mod 2) …, and writes C columns 16h … 16h+15.
// Each k step loads the 16 B floats into Y12, Y13 and, per row, broadcasts one A element from memory into
// Y14 or Y15 (alternating) and feeds it to two VFMADD231PS that accumulate in place: with R = 6 that is
// 12 accumulators, 2 B registers and 2 broadcast registers, all 16 ymm registers. After kc steps the first
// mr rows of the block are written as C = alpha·acc + beta·C (C is not read when beta is 0).

#include "textflag.h"

// FMA2: accumulators (lo, hi) += broadcast(A element at addr) · (Y12, Y13), the broadcast going
// through yt. Row i of the block is at (AX)(R9*i) for i < 3 and (SI)(R9*(i-3)) for the others (SI = AX +
// 3·R9).
#define FMA2(addr, yt, lo, hi) VBROADCASTSS addr, yt; VFMADD231PS yt, Y12, lo; VFMADD231PS yt, Y13, hi

#define LOADB(u) VMOVUPS (u*128)(BX), Y12; VMOVUPS (u*128+32)(BX), Y13

#define STEP6(u) LOADB(u); \
	FMA2((AX), Y14, Y0, Y1); FMA2((AX)(R9*1), Y15, Y2, Y3); FMA2((AX)(R9*2), Y14, Y4, Y5); \
	FMA2((SI), Y15, Y6, Y7); FMA2((SI)(R9*1), Y14, Y8, Y9); FMA2((SI)(R9*2), Y15, Y10, Y11); \
	ADDQ DI, AX; ADDQ DI, SI

#define STEP4(u) LOADB(u); \
	FMA2((AX), Y14, Y0, Y1); FMA2((AX)(R9*1), Y15, Y2, Y3); FMA2((AX)(R9*2), Y14, Y4, Y5); \
	FMA2((SI), Y15, Y6, Y7); \
	ADDQ DI, AX; ADDQ DI, SI

#define STEP2(u) LOADB(u); FMA2((AX), Y14, Y0, Y1); FMA2((AX)(R9*1), Y15, Y2, Y3); ADDQ DI, AX

#define ZERO6 VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; VXORPS Y9, Y9, Y9; VXORPS Y10, Y10, Y10; VXORPS Y11, Y11, Y11
#define ZERO4 VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7
#define ZERO2 VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3

// Write-back of one row at DI: with beta 0, C = alpha·acc; else C = alpha·acc + beta·C. Y12 holds alpha,
// Y13 beta.
#define ROW0(lo, hi) VMULPS Y12, lo, lo; VMULPS Y12, hi, hi; VMOVUPS lo, (DI); VMOVUPS hi, 32(DI)
#define ROWB(lo, hi) VMULPS (DI), Y13, Y14; VMULPS 32(DI), Y13, Y15; \
	VFMADD231PS Y12, lo, Y14; VFMADD231PS Y12, hi, Y15; VMOVUPS Y14, (DI); VMOVUPS Y15, 32(DI)

// NEXTROW moves DI to the next row of C, or leaves the write-back after the mr-th row.
#define NEXTROW DECQ SI; JZ done; ADDQ DX, DI

// SETUP loads the arguments that stay in registers: R9 = A row stride (rs·4 bytes), DX = ldc·4, R10 = kc,
// R11 = A, R12 = B (current half), R13 = C (current block), R14 = B panel stride (kc·128 bytes),
// R8 = halves left, CX is the loop counter. (BP and R15 are left alone: frame pointer, and clobbered by
// the linker in dynamic builds.)
#define SETUP \
	MOVQ kc+0(FP), R10; \
	MOVQ a+8(FP), R11; \
	MOVQ rs+16(FP), R9; \
	SHLQ $2, R9; \
	MOVQ b+32(FP), R12; \
	MOVQ c+40(FP), R13; \
	MOVQ ldc+48(FP), DX; \
	SHLQ $2, DX; \
	MOVQ R10, R14; \
	SHLQ $7, R14; \
	MOVQ nh+72(FP), R8

// HALFSTART points AX, SI and BX at the start of the current half, sets the counter CX to kc and DI to
// the A step (ks·4 bytes; DI is the C row pointer in the write-back).
#define HALFSTART MOVQ R11, AX; LEAQ (AX)(R9*2), SI; ADDQ R9, SI; MOVQ R12, BX; MOVQ R10, CX; \
	MOVQ ks+24(FP), DI; SHLQ $2, DI

// EPILOGUE loads alpha and beta, and branches to withbeta unless beta is +0 or −0.
#define EPILOGUE \
	VBROADCASTSS alpha+56(FP), Y12; \
	VBROADCASTSS beta+60(FP), Y13; \
	MOVQ mr+64(FP), SI; \
	MOVQ R13, DI; \
	MOVL beta+60(FP), BX; \
	ANDL $0x7fffffff, BX; \
	JNZ withbeta

// ADVANCE moves C to the next 16 columns and B to the next half (the other half of the same panel, or
// the first half of the next panel: bit 6 of the C offset tells which), and loops while halves are left.
#define ADVANCE \
	ADDQ $64, R13; \
	ADDQ $64, R12; \
	MOVQ R13, CX; \
	SUBQ c+40(FP), CX; \
	TESTQ $64, CX; \
	JNZ samepanel; \
	ADDQ R14, R12; \
	SUBQ $128, R12; \
samepanel: \
	DECQ R8; \
	JNZ half; \
	VZEROUPPER; \
	RET

// func kernelAVX2x6(kc int, a *float32, rs, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)
TEXT ·kernelAVX2x6(SB), NOSPLIT, $0-80
	SETUP

half:
	HALFSTART
	ZERO6

loop4:
	CMPQ CX, $4
	JLT  tail
	STEP6(0)
	STEP6(1)
	STEP6(2)
	STEP6(3)
	ADDQ $512, BX
	SUBQ $4, CX
	JMP  loop4

tail:
	TESTQ CX, CX
	JZ    epilogue
	STEP6(0)
	ADDQ  $128, BX
	DECQ  CX
	JMP   tail

epilogue:
	EPILOGUE
	ROW0(Y0, Y1); NEXTROW; ROW0(Y2, Y3); NEXTROW; ROW0(Y4, Y5); NEXTROW
	ROW0(Y6, Y7); NEXTROW; ROW0(Y8, Y9); NEXTROW; ROW0(Y10, Y11)
	JMP done

withbeta:
	ROWB(Y0, Y1); NEXTROW; ROWB(Y2, Y3); NEXTROW; ROWB(Y4, Y5); NEXTROW
	ROWB(Y6, Y7); NEXTROW; ROWB(Y8, Y9); NEXTROW; ROWB(Y10, Y11)

done:
	ADVANCE

// func kernelAVX2x4(kc int, a *float32, rs, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)
TEXT ·kernelAVX2x4(SB), NOSPLIT, $0-80
	SETUP

half:
	HALFSTART
	ZERO4

loop4:
	CMPQ CX, $4
	JLT  tail
	STEP4(0)
	STEP4(1)
	STEP4(2)
	STEP4(3)
	ADDQ $512, BX
	SUBQ $4, CX
	JMP  loop4

tail:
	TESTQ CX, CX
	JZ    epilogue
	STEP4(0)
	ADDQ  $128, BX
	DECQ  CX
	JMP   tail

epilogue:
	EPILOGUE
	ROW0(Y0, Y1); NEXTROW; ROW0(Y2, Y3); NEXTROW; ROW0(Y4, Y5); NEXTROW; ROW0(Y6, Y7)
	JMP done

withbeta:
	ROWB(Y0, Y1); NEXTROW; ROWB(Y2, Y3); NEXTROW; ROWB(Y4, Y5); NEXTROW; ROWB(Y6, Y7)

done:
	ADVANCE

// func kernelAVX2x2(kc int, a *float32, rs, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)
TEXT ·kernelAVX2x2(SB), NOSPLIT, $0-80
	SETUP

half:
	HALFSTART
	ZERO2

loop4:
	CMPQ CX, $4
	JLT  tail
	STEP2(0)
	STEP2(1)
	STEP2(2)
	STEP2(3)
	ADDQ $512, BX
	SUBQ $4, CX
	JMP  loop4

tail:
	TESTQ CX, CX
	JZ    epilogue
	STEP2(0)
	ADDQ  $128, BX
	DECQ  CX
	JMP   tail

epilogue:
	EPILOGUE
	ROW0(Y0, Y1); NEXTROW; ROW0(Y2, Y3)
	JMP done

withbeta:
	ROWB(Y0, Y1); NEXTROW; ROWB(Y2, Y3)

done:
	ADVANCE
