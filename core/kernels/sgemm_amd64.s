// AVX-512 micro-kernels and packing routines for Sgemm (see sgemm.go for the blocking that calls them).
//
// The micro-kernel keeps a 14×32 tile of C in 28 zmm accumulators (Z0–Z27: row r in Z(2r), Z(2r+1)).
// Each k step loads one 32-wide row of the packed B panel into Z28, Z29 and, for each of the 14 rows,
// broadcasts one A element straight from memory into two VFMADD231PS (embedded broadcast), which
// accumulate in place. After kc steps the tile is written back as C = alpha·acc + beta·C, through
// masks: only the first mr rows and the columns set in mask are touched, and C is not read when beta is 0.

#include "textflag.h"

// Row stride of the row-layout A buffer, in bytes (aRowStride float32s in sgemm_amd64.go).
#define AST 1600

// FR: row r of the tile += broadcast(A element at off(AX)) · (Z28, Z29).
#define FR(off, zl, zh) VFMADD231PS.BCST off(AX), Z28, zl; VFMADD231PS.BCST off(AX), Z29, zh

// LOADB loads the k step u of the packed B panel.
#define LOADB(u) VMOVUPS (u*128)(BX), Z28; VMOVUPS (u*128+64)(BX), Z29

// STEPK: one k step with A packed k-major (14 floats per k step).
#define STEPK(u) LOADB(u); \
	FR(u*56+0, Z0, Z1); FR(u*56+4, Z2, Z3); FR(u*56+8, Z4, Z5); FR(u*56+12, Z6, Z7); \
	FR(u*56+16, Z8, Z9); FR(u*56+20, Z10, Z11); FR(u*56+24, Z12, Z13); FR(u*56+28, Z14, Z15); \
	FR(u*56+32, Z16, Z17); FR(u*56+36, Z18, Z19); FR(u*56+40, Z20, Z21); FR(u*56+44, Z22, Z23); \
	FR(u*56+48, Z24, Z25); FR(u*56+52, Z26, Z27)

// STEPR: one k step with A in rows of AST bytes (one float per k step in each row).
#define STEPR(u) LOADB(u); \
	FR(u*4, Z0, Z1); FR(u*4+1*AST, Z2, Z3); FR(u*4+2*AST, Z4, Z5); FR(u*4+3*AST, Z6, Z7); \
	FR(u*4+4*AST, Z8, Z9); FR(u*4+5*AST, Z10, Z11); FR(u*4+6*AST, Z12, Z13); FR(u*4+7*AST, Z14, Z15); \
	FR(u*4+8*AST, Z16, Z17); FR(u*4+9*AST, Z18, Z19); FR(u*4+10*AST, Z20, Z21); FR(u*4+11*AST, Z22, Z23); \
	FR(u*4+12*AST, Z24, Z25); FR(u*4+13*AST, Z26, Z27)

// PFROW prefetches the (up to three) cache lines of one 32-float row of C at R8.
#define PFROW PREFETCHT0 (R8); PREFETCHT0 64(R8); PREFETCHT0 124(R8)

// PROLOGUE loads the arguments, zeroes the accumulators and prefetches the 14 rows of the C tile.
#define PROLOGUE \
	MOVQ kc+0(FP), CX; \
	MOVQ a+8(FP), AX; \
	MOVQ b+16(FP), BX; \
	MOVQ c+24(FP), DI; \
	MOVQ ldc+32(FP), DX; \
	SHLQ $2, DX; \
	MOVQ DI, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22; VPXORD Z23, Z23, Z23; \
	VPXORD Z24, Z24, Z24; VPXORD Z25, Z25, Z25; VPXORD Z26, Z26, Z26; VPXORD Z27, Z27, Z27

// Write-back of one row when beta == 0: C = alpha·acc (C is not read).
#define ROW0(zl, zh) VMULPS Z30, zl, zl; VMULPS Z30, zh, zh; VMOVUPS zl, K1, (DI); VMOVUPS zh, K2, 64(DI)

// Write-back of one row when beta != 0: C = alpha·acc + beta·C.
#define ROWB(zl, zh) VMOVUPS.Z (DI), K1, Z28; VMOVUPS.Z 64(DI), K2, Z29; \
	VMULPS Z31, Z28, Z28; VMULPS Z31, Z29, Z29; \
	VFMADD231PS Z30, zl, Z28; VFMADD231PS Z30, zh, Z29; \
	VMOVUPS Z28, K1, (DI); VMOVUPS Z29, K2, 64(DI)

// NEXT moves DI to the next row of C, or jumps to done after the mr-th row.
#define NEXT DECQ SI; JZ done; ADDQ DX, DI

// EPILOGUE writes the first mr rows of the tile back to C under the column mask.
#define EPILOGUE \
	VBROADCASTSS alpha+40(FP), Z30; \
	VBROADCASTSS beta+44(FP), Z31; \
	MOVQ mr+48(FP), SI; \
	MOVL mask+56(FP), R8; \
	KMOVW R8, K1; \
	SHRL $16, R8; \
	KMOVW R8, K2; \
	MOVL beta+44(FP), R8; \
	ANDL $0x7fffffff, R8; \
	JNZ withbeta; \
	ROW0(Z0, Z1); NEXT; ROW0(Z2, Z3); NEXT; ROW0(Z4, Z5); NEXT; ROW0(Z6, Z7); NEXT; \
	ROW0(Z8, Z9); NEXT; ROW0(Z10, Z11); NEXT; ROW0(Z12, Z13); NEXT; ROW0(Z14, Z15); NEXT; \
	ROW0(Z16, Z17); NEXT; ROW0(Z18, Z19); NEXT; ROW0(Z20, Z21); NEXT; ROW0(Z22, Z23); NEXT; \
	ROW0(Z24, Z25); NEXT; ROW0(Z26, Z27); \
	JMP done; \
withbeta: \
	ROWB(Z0, Z1); NEXT; ROWB(Z2, Z3); NEXT; ROWB(Z4, Z5); NEXT; ROWB(Z6, Z7); NEXT; \
	ROWB(Z8, Z9); NEXT; ROWB(Z10, Z11); NEXT; ROWB(Z12, Z13); NEXT; ROWB(Z14, Z15); NEXT; \
	ROWB(Z16, Z17); NEXT; ROWB(Z18, Z19); NEXT; ROWB(Z20, Z21); NEXT; ROWB(Z22, Z23); NEXT; \
	ROWB(Z24, Z25); NEXT; ROWB(Z26, Z27); \
done: \
	VZEROUPPER; \
	RET

// func kernel14x32K(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr int, mask uint32)
TEXT ·kernel14x32K(SB), NOSPLIT, $0-60
	PROLOGUE

loop4:
	CMPQ CX, $4
	JLT  tail
	STEPK(0)
	STEPK(1)
	STEPK(2)
	STEPK(3)
	ADDQ $224, AX
	ADDQ $512, BX
	SUBQ $4, CX
	JMP  loop4

tail:
	TESTQ CX, CX
	JZ    epilogue
	STEPK(0)
	ADDQ  $56, AX
	ADDQ  $128, BX
	DECQ  CX
	JMP   tail

epilogue:
	EPILOGUE

// func kernel14x32R(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr int, mask uint32)
TEXT ·kernel14x32R(SB), NOSPLIT, $0-60
	PROLOGUE

loop4:
	CMPQ CX, $4
	JLT  tail
	STEPR(0)
	STEPR(1)
	STEPR(2)
	STEPR(3)
	ADDQ $16, AX
	ADDQ $512, BX
	SUBQ $4, CX
	JMP  loop4

tail:
	TESTQ CX, CX
	JZ    epilogue
	STEPR(0)
	ADDQ  $4, AX
	ADDQ  $128, BX
	DECQ  CX
	JMP   tail

epilogue:
	EPILOGUE

// func packA14T(dst, src *float32, lda, kc, mr int)
// dst[p*14+i] = src[p*lda+i] for p < kc, i < mr; dst[p*14+i] = 0 for mr ≤ i < 14.
TEXT ·packA14T(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), DX
	SHLQ $2, DX
	MOVQ kc+24(FP), CX
	MOVQ mr+32(FP), R8
	MOVL $1, R9
	SHLXL R8, R9, R9
	DECL R9
	KMOVW R9, K1
	MOVL $0x3fff, R9
	KMOVW R9, K2

pat4:
	CMPQ CX, $4
	JLT  pat1
	VMOVUPS.Z (SI), K1, Z0
	ADDQ DX, SI
	VMOVUPS.Z (SI), K1, Z1
	ADDQ DX, SI
	VMOVUPS.Z (SI), K1, Z2
	ADDQ DX, SI
	VMOVUPS.Z (SI), K1, Z3
	ADDQ DX, SI
	VMOVUPS Z0, K2, (DI)
	VMOVUPS Z1, K2, 56(DI)
	VMOVUPS Z2, K2, 112(DI)
	VMOVUPS Z3, K2, 168(DI)
	ADDQ $224, DI
	SUBQ $4, CX
	JMP  pat4

pat1:
	TESTQ CX, CX
	JZ    patdone
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, K2, (DI)
	ADDQ DX, SI
	ADDQ $56, DI
	DECQ CX
	JMP  pat1

patdone:
	VZEROUPPER
	RET

// func packB32(dst, src *float32, ldb, kc int, mask uint32)
// dst[p*32+j] = src[p*ldb+j] for p < kc and the columns j set in mask; other columns of dst are zeroed.
TEXT ·packB32(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), DX
	SHLQ $2, DX
	MOVQ kc+24(FP), CX
	MOVL mask+32(FP), R8
	KMOVW R8, K1
	SHRL $16, R8
	KMOVW R8, K2

pb2:
	CMPQ CX, $2
	JLT  pb1
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	ADDQ DX, SI
	VMOVUPS.Z (SI), K1, Z2
	VMOVUPS.Z 64(SI), K2, Z3
	ADDQ DX, SI
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, DI
	SUBQ $2, CX
	JMP  pb2

pb1:
	TESTQ CX, CX
	JZ    pbdone
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)

pbdone:
	VZEROUPPER
	RET
