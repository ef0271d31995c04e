// AVX-512 loop of the quantiser's best-two scan (quant.go).

#include "textflag.h"

// SCANROW(g): v = ee − 2·s for the 16 columns of group g (Z12+g) and the best-two update of group g's
// best (Z0+g), second (Z4+g) and index (Z8+g) registers.
#define SCANROW(g, zv, zb, zs, za) \
	VMOVAPS Z16, zv; VFNMADD231PS (g*64)(DX), Z18, zv; \
	VCMPPS $0x11, zs, zv, K1; VCMPPS $0x11, zb, zv, K2; \
	VMOVAPS zv, K1, zs; VMOVAPS zb, K2, zs; VMOVAPS zv, K2, zb; VMOVDQA32 Z17, K2, za

// func scanBestTwoAVX(s *float32, cols, kc int, ee *float32, best, second *float32, arg *int32)
//
// For every column j < cols (a multiple of 16) of the score tile s [kc, cols]: the smallest and second
// smallest v = ee[k] − 2·s[k,j] over k in order, and the first k of the smallest (ordered compares: NaN
// never wins), exactly as the scalar scan keeps them.
TEXT ·scanBestTwoAVX(SB), NOSPLIT, $0-56
	MOVQ s+0(FP), SI
	MOVQ cols+8(FP), R8
	MOVQ R8, R9
	SHLQ $2, R9                 // row stride in bytes
	MOVQ kc+16(FP), R10
	MOVQ ee+24(FP), R11
	MOVQ best+32(FP), R12
	MOVQ second+40(FP), R13
	MOVQ arg+48(FP), R14
	MOVL $0x40000000, AX        // 2.0
	VPBROADCASTD AX, Z18
	MOVL $0x7f800000, AX        // +Inf
	VPBROADCASTD AX, Z19
	XORQ CX, CX                 // column

group4:
	MOVQ R8, AX
	SUBQ CX, AX
	CMPQ AX, $64
	JLT  group1
	VMOVAPS Z19, Z0; VMOVAPS Z19, Z1; VMOVAPS Z19, Z2; VMOVAPS Z19, Z3
	VMOVAPS Z19, Z4; VMOVAPS Z19, Z5; VMOVAPS Z19, Z6; VMOVAPS Z19, Z7
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11
	LEAQ (SI)(CX*4), DX
	XORQ BX, BX

rows4:
	VBROADCASTSS (R11)(BX*4), Z16
	VPBROADCASTD BX, Z17
	SCANROW(0, Z12, Z0, Z4, Z8)
	SCANROW(1, Z13, Z1, Z5, Z9)
	SCANROW(2, Z14, Z2, Z6, Z10)
	SCANROW(3, Z15, Z3, Z7, Z11)
	ADDQ R9, DX
	INCQ BX
	CMPQ BX, R10
	JLT  rows4
	VMOVUPS Z0, (R12)(CX*4); VMOVUPS Z1, 64(R12)(CX*4); VMOVUPS Z2, 128(R12)(CX*4); VMOVUPS Z3, 192(R12)(CX*4)
	VMOVUPS Z4, (R13)(CX*4); VMOVUPS Z5, 64(R13)(CX*4); VMOVUPS Z6, 128(R13)(CX*4); VMOVUPS Z7, 192(R13)(CX*4)
	VMOVDQU32 Z8, (R14)(CX*4); VMOVDQU32 Z9, 64(R14)(CX*4); VMOVDQU32 Z10, 128(R14)(CX*4); VMOVDQU32 Z11, 192(R14)(CX*4)
	ADDQ $64, CX
	JMP  group4

group1:
	CMPQ CX, R8
	JGE  done
	VMOVAPS Z19, Z0
	VMOVAPS Z19, Z4
	VPXORD Z8, Z8, Z8
	LEAQ (SI)(CX*4), DX
	XORQ BX, BX

rows1:
	VBROADCASTSS (R11)(BX*4), Z16
	VPBROADCASTD BX, Z17
	SCANROW(0, Z12, Z0, Z4, Z8)
	ADDQ R9, DX
	INCQ BX
	CMPQ BX, R10
	JLT  rows1
	VMOVUPS Z0, (R12)(CX*4)
	VMOVUPS Z4, (R13)(CX*4)
	VMOVDQU32 Z8, (R14)(CX*4)
	ADDQ $16, CX
	JMP  group1

done:
	VZEROUPPER
	RET
