// AVX2 + FMA loops of RowGemm (see rowgemm_avx2_amd64.go): y[o, s] += Σ_c w[o, c]·x[c, s] for R = 6, 4,
// 2 or 1 rows o of y and nb blocks of 16 columns s, w and x read in place.
//
// Per 16-column block, the R×16 block of y is loaded into 2R ymm accumulators (Y0 … Y11). Each step c
// loads the 16 floats of row c of x into Y12, Y13 and, per row o, broadcasts w[o, c] from memory into Y14
// or Y15 and feeds two VFMADD231PS. Row o of w is at (AX)(R9*o) for o < 3 and (SI)(R9*(o−3)) after, R9
// being the row stride of w (k·4 bytes); both pointers step 4 bytes per c. The block is stored back at
// the end.

#include "textflag.h"

#define FMA2(addr, yt, lo, hi) VBROADCASTSS addr, yt; VFMADD231PS yt, Y12, lo; VFMADD231PS yt, Y13, hi

// SETUP: DX = ldy·4, R9 = k·4, R10 = k, R11 = w, R12 = ldx·4, R13 = x block, DI = y block, R8 = blocks.
#define SETUP \
	MOVQ y+0(FP), DI; \
	MOVQ ldy+8(FP), DX; \
	SHLQ $2, DX; \
	MOVQ w+16(FP), R11; \
	MOVQ k+24(FP), R10; \
	MOVQ R10, R9; \
	SHLQ $2, R9; \
	MOVQ x+32(FP), R13; \
	MOVQ ldx+40(FP), R12; \
	SHLQ $2, R12; \
	MOVQ nb+48(FP), R8

// BLOCKSTART points AX and SI at w and BX at the x block, sets the counter CX to k and the y row
// pointer R14 to the block.
#define BLOCKSTART MOVQ R11, AX; LEAQ (AX)(R9*2), SI; ADDQ R9, SI; MOVQ R13, BX; MOVQ R10, CX; MOVQ DI, R14

#define LOADY(lo, hi) VMOVUPS (R14), lo; VMOVUPS 32(R14), hi; ADDQ DX, R14
#define STOREY(lo, hi) VMOVUPS lo, (R14); VMOVUPS hi, 32(R14); ADDQ DX, R14
#define LOADX VMOVUPS (BX), Y12; VMOVUPS 32(BX), Y13; ADDQ R12, BX

// BLOCKEND moves to the next 16 columns of y and x and loops while blocks are left.
#define BLOCKEND ADDQ $64, DI; ADDQ $64, R13; DECQ R8; JNZ block; VZEROUPPER; RET

// func rowGemmAVX2x6(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)
TEXT ·rowGemmAVX2x6(SB), NOSPLIT, $0-56
	SETUP

block:
	BLOCKSTART
	LOADY(Y0, Y1); LOADY(Y2, Y3); LOADY(Y4, Y5); LOADY(Y6, Y7); LOADY(Y8, Y9); LOADY(Y10, Y11)

loop:
	LOADX
	FMA2((AX), Y14, Y0, Y1); FMA2((AX)(R9*1), Y15, Y2, Y3); FMA2((AX)(R9*2), Y14, Y4, Y5)
	FMA2((SI), Y15, Y6, Y7); FMA2((SI)(R9*1), Y14, Y8, Y9); FMA2((SI)(R9*2), Y15, Y10, Y11)
	ADDQ $4, AX
	ADDQ $4, SI
	DECQ CX
	JNZ  loop

	MOVQ DI, R14
	STOREY(Y0, Y1); STOREY(Y2, Y3); STOREY(Y4, Y5); STOREY(Y6, Y7); STOREY(Y8, Y9); STOREY(Y10, Y11)
	BLOCKEND

// func rowGemmAVX2x4(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)
TEXT ·rowGemmAVX2x4(SB), NOSPLIT, $0-56
	SETUP

block:
	BLOCKSTART
	LOADY(Y0, Y1); LOADY(Y2, Y3); LOADY(Y4, Y5); LOADY(Y6, Y7)

loop:
	LOADX
	FMA2((AX), Y14, Y0, Y1); FMA2((AX)(R9*1), Y15, Y2, Y3); FMA2((AX)(R9*2), Y14, Y4, Y5)
	FMA2((SI), Y15, Y6, Y7)
	ADDQ $4, AX
	ADDQ $4, SI
	DECQ CX
	JNZ  loop

	MOVQ DI, R14
	STOREY(Y0, Y1); STOREY(Y2, Y3); STOREY(Y4, Y5); STOREY(Y6, Y7)
	BLOCKEND

// func rowGemmAVX2x2(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)
TEXT ·rowGemmAVX2x2(SB), NOSPLIT, $0-56
	SETUP

block:
	BLOCKSTART
	LOADY(Y0, Y1); LOADY(Y2, Y3)

loop:
	LOADX
	FMA2((AX), Y14, Y0, Y1); FMA2((AX)(R9*1), Y15, Y2, Y3)
	ADDQ $4, AX
	DECQ CX
	JNZ  loop

	MOVQ DI, R14
	STOREY(Y0, Y1); STOREY(Y2, Y3)
	BLOCKEND

// func rowGemmAVX2x1(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)
// One row: the k steps alternate between two pairs of accumulators (Y0, Y1 and Y2, Y3), added at the end,
// so that two FMA chains per register are in flight.
TEXT ·rowGemmAVX2x1(SB), NOSPLIT, $0-56
	SETUP

block:
	BLOCKSTART
	LOADY(Y0, Y1)
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop2:
	CMPQ CX, $2
	JLT  tail
	LOADX
	FMA2((AX), Y14, Y0, Y1)
	LOADX
	FMA2(4(AX), Y15, Y2, Y3)
	ADDQ $8, AX
	SUBQ $2, CX
	JMP  loop2

tail:
	TESTQ CX, CX
	JZ    store
	LOADX
	FMA2((AX), Y14, Y0, Y1)

store:
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	MOVQ DI, R14
	STOREY(Y0, Y1)
	BLOCKEND
