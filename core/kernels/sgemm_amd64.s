// AVX-512 micro-kernels and packing routines for Sgemm (see sgemm.go for the blocking that calls them).
//
// The micro-kernel computes nq ≥ 1 adjacent 14×32 tiles of C, one after the other, from one A panel
// and nq consecutive B panels. It keeps a 14×32 tile of C in 28 zmm accumulators (Z0–Z27: row r in Z(2r), Z(2r+1)).
// Each k step loads one 32-wide row of the packed B panel into Z28, Z29 and, for each of the 14 rows,
// broadcasts one A element into Z30 or Z31 (VBROADCASTSS from memory) and feeds it to two VFMADD231PS,
// which accumulate in place. After kc steps the tile is written back as C = alpha·acc + beta·C, through
// masks: only the first mr rows and the columns set in mask are touched, and C is not read when beta is 0.
// Every 2 k steps (and 4 times per tile) the kernel also prefetches one cache line of a region the caller names (the source of
// the next block of A), so that fetching it from memory overlaps with the arithmetic.

#include "textflag.h"

// Row stride of the row-layout A buffer, in bytes (4·sgemmARowStride, see sgemm.go).
#define AST 1600

// FB: row r of the tile += broadcast(A element at off(AX)) · (Z28, Z29). The broadcast goes through zt
// (Z30 or Z31, alternating), which halves the loads compared with two embedded-broadcast FMAs.
#define FB(off, zt, zl, zh) VBROADCASTSS off(AX), zt; VFMADD231PS zt, Z28, zl; VFMADD231PS zt, Z29, zh

// LOADB loads the k step u of the packed B panel.
#define LOADB(u) VMOVUPS (u*128)(BX), Z28; VMOVUPS (u*128+64)(BX), Z29

// STEPK: one k step with A packed k-major (14 floats per k step).
#define STEPK(u) LOADB(u); \
	FB(u*56+0, Z30, Z0, Z1); FB(u*56+4, Z31, Z2, Z3); FB(u*56+8, Z30, Z4, Z5); FB(u*56+12, Z31, Z6, Z7); \
	FB(u*56+16, Z30, Z8, Z9); FB(u*56+20, Z31, Z10, Z11); FB(u*56+24, Z30, Z12, Z13); FB(u*56+28, Z31, Z14, Z15); \
	FB(u*56+32, Z30, Z16, Z17); FB(u*56+36, Z31, Z18, Z19); FB(u*56+40, Z30, Z20, Z21); FB(u*56+44, Z31, Z22, Z23); \
	FB(u*56+48, Z30, Z24, Z25); FB(u*56+52, Z31, Z26, Z27)

// STEPR: one k step with A in rows of AST bytes (one float per k step in each row).
#define STEPR(u) LOADB(u); \
	FB(u*4, Z30, Z0, Z1); FB(u*4+1*AST, Z31, Z2, Z3); FB(u*4+2*AST, Z30, Z4, Z5); FB(u*4+3*AST, Z31, Z6, Z7); \
	FB(u*4+4*AST, Z30, Z8, Z9); FB(u*4+5*AST, Z31, Z10, Z11); FB(u*4+6*AST, Z30, Z12, Z13); FB(u*4+7*AST, Z31, Z14, Z15); \
	FB(u*4+8*AST, Z30, Z16, Z17); FB(u*4+9*AST, Z31, Z18, Z19); FB(u*4+10*AST, Z30, Z20, Z21); FB(u*4+11*AST, Z31, Z22, Z23); \
	FB(u*4+12*AST, Z30, Z24, Z25); FB(u*4+13*AST, Z31, Z26, Z27)

// PFROW prefetches the (up to three) cache lines of one 32-float row of C at R8.
#define PFROW PREFETCHT0 (R8); PREFETCHT0 64(R8); PREFETCHT0 124(R8)

// PFA prefetches the next cache line of the region the caller asked for (see sgemm_amd64.go): R13 is
// the address, R11 the lines left in the current row of the region, R10 the lines per row, and R9 the
// bytes from the end of one row's segment to the start of the next.
#define PFA PREFETCHT0 (R13); ADDQ $64, R13; LEAQ (R13)(R9*1), R12; DECQ R11; CMOVQEQ R12, R13; CMOVQEQ R10, R11

// SETUP loads the arguments that stay in registers for the whole call.
#define SETUP \
	MOVQ b+16(FP), BX; \
	MOVQ ldc+32(FP), DX; \
	SHLQ $2, DX; \
	MOVQ pf+72(FP), R13; \
	MOVQ pfskip+80(FP), R9; \
	MOVQ pflines+88(FP), R10; \
	MOVQ pfleft+96(FP), R11

// PANELSTART starts one tile: it points AX at the A panel and DI at the tile of C, prefetches the 14 rows
// of the tile and a few lines of the prefetch region, and zeroes the accumulators.
#define PANELSTART \
	MOVQ kc+0(FP), CX; \
	MOVQ a+8(FP), AX; \
	MOVQ c+24(FP), DI; \
	MOVQ DI, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; ADDQ DX, R8; \
	PFROW; ADDQ DX, R8; PFROW; \
	PFA; PFA; PFA; PFA; \
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

// NEXT moves DI to the next row of C, or jumps to next after the mr-th row.
#define NEXT DECQ SI; JZ next; ADDQ DX, DI

// EPILOGUE writes the first mr rows of the tile back to C, all 32 columns except in the last tile of
// the call, where mask selects the columns.
#define EPILOGUE \
	VBROADCASTSS alpha+40(FP), Z30; \
	VBROADCASTSS beta+44(FP), Z31; \
	MOVQ mr+48(FP), SI; \
	MOVL $0xffffffff, R8; \
	MOVL mask+64(FP), R12; \
	CMPQ nq+56(FP), $1; \
	CMOVLEQ R12, R8; \
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
	JMP next; \
withbeta: \
	ROWB(Z0, Z1); NEXT; ROWB(Z2, Z3); NEXT; ROWB(Z4, Z5); NEXT; ROWB(Z6, Z7); NEXT; \
	ROWB(Z8, Z9); NEXT; ROWB(Z10, Z11); NEXT; ROWB(Z12, Z13); NEXT; ROWB(Z14, Z15); NEXT; \
	ROWB(Z16, Z17); NEXT; ROWB(Z18, Z19); NEXT; ROWB(Z20, Z21); NEXT; ROWB(Z22, Z23); NEXT; \
	ROWB(Z24, Z25); NEXT; ROWB(Z26, Z27); \
next: \
	ADDQ $128, c+24(FP); \
	DECQ nq+56(FP); \
	JNZ  panel; \
	VZEROUPPER; \
	RET

// func kernel14x32K(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr, nq int, mask uint32,
//	pf uintptr, pfskip, pflines, pfleft int)
TEXT ·kernel14x32K(SB), NOSPLIT, $0-104
	SETUP

panel:
	PANELSTART

loop4:
	CMPQ CX, $4
	JLT  tail
	STEPK(0)
	STEPK(1)
	PFA
	STEPK(2)
	STEPK(3)
	PFA
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

// func kernel14x32R(kc int, a, b, c *float32, ldc int, alpha, beta float32, mr, nq int, mask uint32,
//	pf uintptr, pfskip, pflines, pfleft int)
TEXT ·kernel14x32R(SB), NOSPLIT, $0-104
	SETUP

panel:
	PANELSTART

loop4:
	CMPQ CX, $4
	JLT  tail
	STEPR(0)
	STEPR(1)
	PFA
	STEPR(2)
	STEPR(3)
	PFA
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

// func packAR(dst, src *float32, lda, kc, rows int)
// Packs rows of A (not transposed) row by row: dst[i*AST/4+p] = src[i*lda+p] for i < rows, p < kc, then
// writes zero rows up to the next multiple of 14.
TEXT ·packAR(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), DX
	SHLQ $2, DX                 // DX = lda in bytes
	MOVQ kc+24(FP), CX
	MOVQ rows+32(FP), R8
	MOVQ CX, R9
	SHRQ $4, R9                 // R9 = full 16-float vectors per row
	ANDL $15, CX
	MOVL $1, R11
	SHLXL CX, R11, R11
	DECL R11
	KMOVW R11, K1               // K1 = tail mask (kc mod 16 floats)

	// zero rows needed after the copied ones: (14 - rows mod 14) mod 14
	MOVQ R8, AX
	XORL DX, DX
	MOVQ $14, R11
	DIVQ R11
	MOVQ $14, R12
	SUBQ DX, R12
	CMPQ R12, $14
	JNE  arhavepad
	XORL R12, R12

arhavepad:
	MOVQ lda+16(FP), DX
	SHLQ $2, DX
	TESTQ R8, R8
	JZ    arzero

arrow:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R9, R11
	TESTQ R11, R11
	JZ    artail

arvec:
	VMOVUPS (AX), Z0
	VMOVUPS Z0, (BX)
	ADDQ $64, AX
	ADDQ $64, BX
	DECQ R11
	JNZ  arvec

artail:
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS Z0, K1, (BX)
	ADDQ DX, SI
	ADDQ $AST, DI
	DECQ R8
	JNZ  arrow

arzero:
	VPXORD Z0, Z0, Z0
	TESTQ R12, R12
	JZ    ardone

arzrow:
	MOVQ DI, BX
	MOVQ R9, R11
	TESTQ R11, R11
	JZ    arztail

arzvec:
	VMOVUPS Z0, (BX)
	ADDQ $64, BX
	DECQ R11
	JNZ  arzvec

arztail:
	VMOVUPS Z0, K1, (BX)
	ADDQ $AST, DI
	DECQ R12
	JNZ  arzrow

ardone:
	VZEROUPPER
	RET

// func packAT(dst, src *float32, lda, kc, m int)
// Packs A stored transposed (k×m, row stride lda) into ⌈m/14⌉ k-major panels of 14 rows:
// dst[(i/14)*kc*14 + p*14 + i%14] = src[p*lda+i] for p < kc, i < m; the last panel is zero-padded.
TEXT ·packAT(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), DX
	SHLQ $2, DX                 // DX = lda in bytes
	MOVQ kc+24(FP), CX
	IMUL3Q $56, CX, R10         // R10 = panel size in bytes (kc·14·4)
	MOVQ m+32(FP), AX
	XORL DX, DX
	MOVQ $14, R11
	DIVQ R11                    // AX = full panels, DX = rows in the last partial panel
	MOVQ AX, R8
	MOVL $1, R11
	SHLXL DX, R11, R11
	DECL R11
	KMOVW R11, K2               // K2 = rows of the partial panel
	MOVQ DX, R12                // R12 = rows of the partial panel (0: none)
	MOVQ lda+16(FP), DX
	SHLQ $2, DX
	MOVL $0x3fff, R11
	KMOVW R11, K1               // K1 = 14 rows

atrow:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R8, R11
	TESTQ R11, R11
	JZ    atpart

atpanel:
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS Z0, K1, (BX)
	ADDQ $56, AX
	ADDQ R10, BX
	DECQ R11
	JNZ  atpanel

atpart:
	TESTQ R12, R12
	JZ    atnext
	VMOVUPS.Z (AX), K2, Z0
	VMOVUPS Z0, K1, (BX)

atnext:
	ADDQ DX, SI
	ADDQ $56, DI
	DECQ CX
	JNZ  atrow
	VZEROUPPER
	RET

// func packBN(dst, src *float32, ldb, kc, nc int)
// Packs B (not transposed, row stride ldb) into ⌈nc/32⌉ panels of kc×32:
// dst[(j/32)*kc*32 + p*32 + j%32] = src[p*ldb+j] for p < kc, j < nc; the last panel is zero-padded.
TEXT ·packBN(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), DX
	SHLQ $2, DX                 // DX = ldb in bytes
	MOVQ kc+24(FP), CX
	MOVQ CX, R10
	SHLQ $7, R10                // R10 = panel size in bytes (kc·32·4)
	MOVQ nc+32(FP), R8
	MOVQ R8, R12
	ANDQ $31, R12               // R12 = columns of the partial panel
	SHRQ $5, R8                 // R8 = full panels
	MOVQ $1, R11
	SHLXQ R12, R11, R11
	DECQ R11
	KMOVW R11, K1               // K1, K2 = columns of the partial panel
	SHRQ $16, R11
	KMOVW R11, K2

bnrow:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R8, R11
	TESTQ R11, R11
	JZ    bnpart

bnpanel:
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VMOVUPS Z0, (BX)
	VMOVUPS Z1, 64(BX)
	ADDQ $128, AX
	ADDQ R10, BX
	DECQ R11
	JNZ  bnpanel

bnpart:
	TESTQ R12, R12
	JZ    bnnext
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z 64(AX), K2, Z1
	VMOVUPS Z0, (BX)
	VMOVUPS Z1, 64(BX)

bnnext:
	ADDQ DX, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  bnrow
	VZEROUPPER
	RET

// TRANSPOSE16 transposes the 16×16 matrix held in rows Z0–Z15 (row i in Zi) into columns: afterwards
// Zj holds column j. Z16–Z31 are clobbered.
#define TRANSPOSE16 \
	VUNPCKLPS Z1, Z0, Z16; VUNPCKHPS Z1, Z0, Z17; VUNPCKLPS Z3, Z2, Z18; VUNPCKHPS Z3, Z2, Z19; \
	VUNPCKLPS Z5, Z4, Z20; VUNPCKHPS Z5, Z4, Z21; VUNPCKLPS Z7, Z6, Z22; VUNPCKHPS Z7, Z6, Z23; \
	VUNPCKLPS Z9, Z8, Z24; VUNPCKHPS Z9, Z8, Z25; VUNPCKLPS Z11, Z10, Z26; VUNPCKHPS Z11, Z10, Z27; \
	VUNPCKLPS Z13, Z12, Z28; VUNPCKHPS Z13, Z12, Z29; VUNPCKLPS Z15, Z14, Z30; VUNPCKHPS Z15, Z14, Z31; \
	VUNPCKLPD Z18, Z16, Z0; VUNPCKHPD Z18, Z16, Z1; VUNPCKLPD Z19, Z17, Z2; VUNPCKHPD Z19, Z17, Z3; \
	VUNPCKLPD Z22, Z20, Z4; VUNPCKHPD Z22, Z20, Z5; VUNPCKLPD Z23, Z21, Z6; VUNPCKHPD Z23, Z21, Z7; \
	VUNPCKLPD Z26, Z24, Z8; VUNPCKHPD Z26, Z24, Z9; VUNPCKLPD Z27, Z25, Z10; VUNPCKHPD Z27, Z25, Z11; \
	VUNPCKLPD Z30, Z28, Z12; VUNPCKHPD Z30, Z28, Z13; VUNPCKLPD Z31, Z29, Z14; VUNPCKHPD Z31, Z29, Z15; \
	VSHUFF32X4 $0x88, Z4, Z0, Z16; VSHUFF32X4 $0xdd, Z4, Z0, Z17; \
	VSHUFF32X4 $0x88, Z12, Z8, Z18; VSHUFF32X4 $0xdd, Z12, Z8, Z19; \
	VSHUFF32X4 $0x88, Z5, Z1, Z20; VSHUFF32X4 $0xdd, Z5, Z1, Z21; \
	VSHUFF32X4 $0x88, Z13, Z9, Z22; VSHUFF32X4 $0xdd, Z13, Z9, Z23; \
	VSHUFF32X4 $0x88, Z6, Z2, Z24; VSHUFF32X4 $0xdd, Z6, Z2, Z25; \
	VSHUFF32X4 $0x88, Z14, Z10, Z26; VSHUFF32X4 $0xdd, Z14, Z10, Z27; \
	VSHUFF32X4 $0x88, Z7, Z3, Z28; VSHUFF32X4 $0xdd, Z7, Z3, Z29; \
	VSHUFF32X4 $0x88, Z15, Z11, Z30; VSHUFF32X4 $0xdd, Z15, Z11, Z31; \
	VSHUFF32X4 $0x88, Z18, Z16, Z0; VSHUFF32X4 $0xdd, Z18, Z16, Z8; \
	VSHUFF32X4 $0x88, Z19, Z17, Z4; VSHUFF32X4 $0xdd, Z19, Z17, Z12; \
	VSHUFF32X4 $0x88, Z22, Z20, Z1; VSHUFF32X4 $0xdd, Z22, Z20, Z9; \
	VSHUFF32X4 $0x88, Z23, Z21, Z5; VSHUFF32X4 $0xdd, Z23, Z21, Z13; \
	VSHUFF32X4 $0x88, Z26, Z24, Z2; VSHUFF32X4 $0xdd, Z26, Z24, Z10; \
	VSHUFF32X4 $0x88, Z27, Z25, Z6; VSHUFF32X4 $0xdd, Z27, Z25, Z14; \
	VSHUFF32X4 $0x88, Z30, Z28, Z3; VSHUFF32X4 $0xdd, Z30, Z28, Z11; \
	VSHUFF32X4 $0x88, Z31, Z29, Z7; VSHUFF32X4 $0xdd, Z31, Z29, Z15

// LOAD16 loads 16 consecutive floats (masked by K1, zeroing) of the 16 rows at SI, R11, R12, R13
// (4 rows each, stride DX, R9 = 3·DX) into Z0–Z15.
#define LOAD16 \
	VMOVUPS.Z (SI), K1, Z0; VMOVUPS.Z (SI)(DX*1), K1, Z1; VMOVUPS.Z (SI)(DX*2), K1, Z2; VMOVUPS.Z (SI)(R9*1), K1, Z3; \
	VMOVUPS.Z (R11), K1, Z4; VMOVUPS.Z (R11)(DX*1), K1, Z5; VMOVUPS.Z (R11)(DX*2), K1, Z6; VMOVUPS.Z (R11)(R9*1), K1, Z7; \
	VMOVUPS.Z (R12), K1, Z8; VMOVUPS.Z (R12)(DX*1), K1, Z9; VMOVUPS.Z (R12)(DX*2), K1, Z10; VMOVUPS.Z (R12)(R9*1), K1, Z11; \
	VMOVUPS.Z (R13), K1, Z12; VMOVUPS.Z (R13)(DX*1), K1, Z13; VMOVUPS.Z (R13)(DX*2), K1, Z14; VMOVUPS.Z (R13)(R9*1), K1, Z15

// STORE1 stores column vector zj at BX and advances BX by one packed row (128 bytes); after the last
// of n (R14) vectors it jumps to the end of the chunk.
#define STORE1(zj) VMOVUPS zj, (BX); ADDQ $128, BX; DECQ R14; JZ btchunkdone

// func packBT(dst, src *float32, ldb, kc, panels int)
// Packs B stored transposed (n×k, row stride ldb) into full panels of kc×32:
// dst[q*kc*32 + p*32 + j] = src[(32q+j)*ldb + p] for q < panels, j < 32, p < kc. Each 16×16 block is
// transposed in registers.
TEXT ·packBT(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), R8          // R8 = first source row of the current half panel
	MOVQ ldb+16(FP), DX
	SHLQ $2, DX                 // DX = ldb in bytes
	LEAQ (DX)(DX*2), R9         // R9 = 3·ldb bytes
	SHLQ $1, panels+32(FP)      // from here on: half panels left
	XORL R10, R10               // R10 = 0 for the first half of a panel, 64 for the second

bthalf:
	MOVQ R8, SI
	LEAQ (SI)(DX*4), R11
	LEAQ (R11)(DX*4), R12
	LEAQ (R12)(DX*4), R13
	LEAQ (DI)(R10*1), BX        // BX = destination of the current packed row
	MOVQ kc+24(FP), CX

btchunk:
	MOVL $16, R14
	CMPQ CX, $16
	JGE  btfull
	MOVQ CX, R14

btfull:
	MOVL $1, AX
	SHLXL R14, AX, AX
	DECL AX
	KMOVW AX, K1
	LOAD16
	TRANSPOSE16
	STORE1(Z0); STORE1(Z1); STORE1(Z2); STORE1(Z3); STORE1(Z4); STORE1(Z5); STORE1(Z6); STORE1(Z7)
	STORE1(Z8); STORE1(Z9); STORE1(Z10); STORE1(Z11); STORE1(Z12); STORE1(Z13); STORE1(Z14); STORE1(Z15)

btchunkdone:
	ADDQ $64, SI
	ADDQ $64, R11
	ADDQ $64, R12
	ADDQ $64, R13
	SUBQ $16, CX
	JG   btchunk

	// next half panel: 16 source rows further; the destination moves to the next panel after both halves
	LEAQ (R8)(DX*8), R8
	LEAQ (R8)(DX*8), R8
	XORQ $64, R10
	JNZ  btsame
	MOVQ kc+24(FP), AX
	SHLQ $7, AX
	ADDQ AX, DI

btsame:
	DECQ panels+32(FP)
	JNZ  bthalf
	VZEROUPPER
	RET
