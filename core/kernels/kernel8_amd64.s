// AVX-512 micro-kernel with 8-row tiles for the packed convolution products (conv_packed.go).
//
// Output channel counts are powers of two (32, 64, 128), which 14-row tiles cover only to 76–91 %;
// 8-row tiles cover them exactly. The kernel computes nq ≥ 1 adjacent 8×32 tiles of C from one A panel
// (8 rows, k-major: a[p*8+i]) and nq consecutive B panels (kc×32, b[p*32+j]), keeping a tile in 16
// accumulators (row r in Z(2r), Z(2r+1)); each k step loads one 32-wide B row into Z16, Z17 and
// broadcasts the 8 A elements through Z18/Z19 into two in-place FMAs each. It writes C = acc + beta·C
// for the first mr rows, every column of all but the last tile and the columns set in mask in the last;
// C is not read when beta is 0.

#include "textflag.h"

#define FB8(off, zt, zl, zh) VBROADCASTSS off(AX), zt; VFMADD231PS zt, Z16, zl; VFMADD231PS zt, Z17, zh

#define STEP8(u) VMOVUPS (u*128)(BX), Z16; VMOVUPS (u*128+64)(BX), Z17; \
	FB8(u*32+0, Z18, Z0, Z1); FB8(u*32+4, Z19, Z2, Z3); FB8(u*32+8, Z18, Z4, Z5); FB8(u*32+12, Z19, Z6, Z7); \
	FB8(u*32+16, Z18, Z8, Z9); FB8(u*32+20, Z19, Z10, Z11); FB8(u*32+24, Z18, Z12, Z13); FB8(u*32+28, Z19, Z14, Z15)

#define PFROW8 PREFETCHT0 (R8); PREFETCHT0 64(R8); PREFETCHT0 124(R8)

#define ROW80(zl, zh) VMOVUPS zl, K1, (DI); VMOVUPS zh, K2, 64(DI)

#define ROW8B(zl, zh) VMOVUPS.Z (DI), K1, Z28; VMOVUPS.Z 64(DI), K2, Z29; \
	VFMADD213PS zl, Z31, Z28; VFMADD213PS zh, Z31, Z29; \
	VMOVUPS Z28, K1, (DI); VMOVUPS Z29, K2, 64(DI)

#define NEXT8 DECQ SI; JZ next; ADDQ DX, DI
#define NEXT8I DECQ SI; JZ inext; ADDQ DX, DI

// func kernel8x32K(kc int, a, b, c *float32, ldc int, beta float32, mr, nq int, mask uint32)
TEXT ·kernel8x32K(SB), NOSPLIT, $0-68
	MOVQ b+16(FP), BX
	MOVQ ldc+32(FP), DX
	SHLQ $2, DX

tile:
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ c+24(FP), DI
	MOVQ DI, R8
	PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8
	PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15

loop4:
	CMPQ CX, $4
	JLT  tail
	STEP8(0)
	STEP8(1)
	STEP8(2)
	STEP8(3)
	ADDQ $128, AX
	ADDQ $512, BX
	SUBQ $4, CX
	JMP  loop4

tail:
	TESTQ CX, CX
	JZ    epilogue
	STEP8(0)
	ADDQ  $32, AX
	ADDQ  $128, BX
	DECQ  CX
	JMP   tail

epilogue:
	VBROADCASTSS beta+40(FP), Z31
	MOVQ mr+48(FP), SI
	MOVL $0xffffffff, R8
	MOVL mask+64(FP), R12
	CMPQ nq+56(FP), $1
	CMOVLEQ R12, R8
	KMOVW R8, K1
	SHRL $16, R8
	KMOVW R8, K2
	MOVL beta+40(FP), R8
	ANDL $0x7fffffff, R8
	JNZ  withbeta
	ROW80(Z0, Z1); NEXT8; ROW80(Z2, Z3); NEXT8; ROW80(Z4, Z5); NEXT8; ROW80(Z6, Z7); NEXT8
	ROW80(Z8, Z9); NEXT8; ROW80(Z10, Z11); NEXT8; ROW80(Z12, Z13); NEXT8; ROW80(Z14, Z15)
	JMP  next

withbeta:
	ROW8B(Z0, Z1); NEXT8; ROW8B(Z2, Z3); NEXT8; ROW8B(Z4, Z5); NEXT8; ROW8B(Z6, Z7); NEXT8
	ROW8B(Z8, Z9); NEXT8; ROW8B(Z10, Z11); NEXT8; ROW8B(Z12, Z13); NEXT8; ROW8B(Z14, Z15)

next:
	ADDQ $128, c+24(FP)
	DECQ nq+56(FP)
	JNZ  tile
	VZEROUPPER
	RET

// The implicit-GEMM variant: the B operand is not packed but read in place, from a zero-padded copy of
// the band's input. Row p of tile t's B panel is the 32 floats at base + 4·(tiles[t] + off[p]): off gives
// each im2col row's offset (channel, kernel tap), tiles each tile's (output row, column) offset.

#define STEPI(u, r) VMOVUPS (SI)(r*4), Z16; VMOVUPS 64(SI)(r*4), Z17; \
	FB8(u*32+0, Z18, Z0, Z1); FB8(u*32+4, Z19, Z2, Z3); FB8(u*32+8, Z18, Z4, Z5); FB8(u*32+12, Z19, Z6, Z7); \
	FB8(u*32+16, Z18, Z8, Z9); FB8(u*32+20, Z19, Z10, Z11); FB8(u*32+24, Z18, Z12, Z13); FB8(u*32+28, Z19, Z14, Z15)

// func kernel8x32I(kc int, a, base *float32, off, tiles *int32, c *float32, ldc int, beta float32, mr, nq int, mask uint32)
TEXT ·kernel8x32I(SB), NOSPLIT, $0-84
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX

itile:
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ off+24(FP), BX
	MOVQ tiles+32(FP), R9
	MOVLQSX (R9), R9
	MOVQ base+16(FP), SI
	LEAQ (SI)(R9*4), SI         // SI = this tile's base
	MOVQ c+40(FP), DI
	MOVQ DI, R8
	PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8
	PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8; ADDQ DX, R8; PFROW8
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15

iloop4:
	CMPQ CX, $4
	JLT  itail
	MOVLQSX (BX), R10
	MOVLQSX 4(BX), R11
	MOVLQSX 8(BX), R12
	MOVLQSX 12(BX), R13
	STEPI(0, R10)
	STEPI(1, R11)
	STEPI(2, R12)
	STEPI(3, R13)
	ADDQ $128, AX
	ADDQ $16, BX
	SUBQ $4, CX
	JMP  iloop4

itail:
	TESTQ CX, CX
	JZ    iepilogue
	MOVLQSX (BX), R10
	STEPI(0, R10)
	ADDQ  $32, AX
	ADDQ  $4, BX
	DECQ  CX
	JMP   itail

iepilogue:
	VBROADCASTSS beta+56(FP), Z31
	MOVQ mr+64(FP), SI
	MOVL $0xffffffff, R8
	MOVL mask+80(FP), R12
	CMPQ nq+72(FP), $1
	CMOVLEQ R12, R8
	KMOVW R8, K1
	SHRL $16, R8
	KMOVW R8, K2
	MOVL beta+56(FP), R8
	ANDL $0x7fffffff, R8
	JNZ  iwithbeta
	ROW80(Z0, Z1); NEXT8I; ROW80(Z2, Z3); NEXT8I; ROW80(Z4, Z5); NEXT8I; ROW80(Z6, Z7); NEXT8I
	ROW80(Z8, Z9); NEXT8I; ROW80(Z10, Z11); NEXT8I; ROW80(Z12, Z13); NEXT8I; ROW80(Z14, Z15)
	JMP  inext

iwithbeta:
	ROW8B(Z0, Z1); NEXT8I; ROW8B(Z2, Z3); NEXT8I; ROW8B(Z4, Z5); NEXT8I; ROW8B(Z6, Z7); NEXT8I
	ROW8B(Z8, Z9); NEXT8I; ROW8B(Z10, Z11); NEXT8I; ROW8B(Z12, Z13); NEXT8I; ROW8B(Z14, Z15)

inext:
	ADDQ $128, c+40(FP)
	ADDQ $4, tiles+32(FP)
	DECQ nq+72(FP)
	JNZ  itile
	VZEROUPPER
	RET
