// AVX-512 loops of the elementwise kernels (eltwise.go): 64 floats per iteration, then 16, then a masked
// tail, so that no element past n is touched.

#include "textflag.h"

// TAILMASK sets K1 to the low CX bits (CX < 16).
#define TAILMASK MOVL $1, R8; SHLXL CX, R8, R8; DECL R8; KMOVW R8, K1

// func reluAVX(dst, src *float32, n int)
// dst[i] = max(src[i], 0), NaN kept (VMAXPS returns its second operand for NaN), −0 made +0 (by adding +0).
TEXT ·reluAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORD Z31, Z31, Z31

relu64:
	CMPQ CX, $64
	JLT  relu16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMAXPS Z0, Z31, Z0
	VMAXPS Z1, Z31, Z1
	VMAXPS Z2, Z31, Z2
	VMAXPS Z3, Z31, Z3
	VADDPS Z31, Z0, Z0
	VADDPS Z31, Z1, Z1
	VADDPS Z31, Z2, Z2
	VADDPS Z31, Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  relu64

relu16:
	CMPQ CX, $16
	JLT  relutail
	VMOVUPS (SI), Z0
	VMAXPS Z0, Z31, Z0
	VADDPS Z31, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  relu16

relutail:
	TESTQ CX, CX
	JZ    reludone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMAXPS Z0, Z31, Z0
	VADDPS Z31, Z0, Z0
	VMOVUPS Z0, K1, (DI)

reludone:
	VZEROUPPER
	RET

// func reluBackwardAVX(dx, dy, y *float32, n int)
// dx[i] = dy[i] where y[i] > 0 (ordered: NaN is not), else 0.
TEXT ·reluBackwardAVX(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VPXORD Z31, Z31, Z31

rb64:
	CMPQ CX, $64
	JLT  rb16
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VMOVUPS 128(DX), Z2
	VMOVUPS 192(DX), Z3
	VCMPPS $0x1e, Z31, Z0, K1
	VCMPPS $0x1e, Z31, Z1, K2
	VCMPPS $0x1e, Z31, Z2, K3
	VCMPPS $0x1e, Z31, Z3, K4
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z 64(SI), K2, Z5
	VMOVUPS.Z 128(SI), K3, Z6
	VMOVUPS.Z 192(SI), K4, Z7
	VMOVUPS Z4, (DI)
	VMOVUPS Z5, 64(DI)
	VMOVUPS Z6, 128(DI)
	VMOVUPS Z7, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $256, DX
	SUBQ $64, CX
	JMP  rb64

rb16:
	CMPQ CX, $16
	JLT  rbtail
	VMOVUPS (DX), Z0
	VCMPPS $0x1e, Z31, Z0, K1
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS Z4, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  rb16

rbtail:
	TESTQ CX, CX
	JZ    rbdone
	TAILMASK
	VMOVUPS.Z (DX), K1, Z0
	VCMPPS $0x1e, Z31, Z0, K1, K2
	VMOVUPS.Z (SI), K2, Z4
	VMOVUPS Z4, K1, (DI)

rbdone:
	VZEROUPPER
	RET

// func addAVX(dst, a, b *float32, n int)
// dst[i] = a[i] + b[i].
TEXT ·addAVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX

add64:
	CMPQ CX, $64
	JLT  add16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VADDPS (DX), Z0, Z0
	VADDPS 64(DX), Z1, Z1
	VADDPS 128(DX), Z2, Z2
	VADDPS 192(DX), Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $256, DX
	SUBQ $64, CX
	JMP  add64

add16:
	CMPQ CX, $16
	JLT  addtail
	VMOVUPS (SI), Z0
	VADDPS (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  add16

addtail:
	TESTQ CX, CX
	JZ    adddone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)

adddone:
	VZEROUPPER
	RET

// func sumAVX(x *float32, n int) float32
// Σ x[i] with 64 float32 partial sums (four vectors), added pairwise at the end.
TEXT ·sumAVX(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

sum64:
	CMPQ CX, $64
	JLT  sum16
	VADDPS (SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	VADDPS 128(SI), Z2, Z2
	VADDPS 192(SI), Z3, Z3
	ADDQ $256, SI
	SUBQ $64, CX
	JMP  sum64

sum16:
	CMPQ CX, $16
	JLT  sumtail
	VADDPS (SI), Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  sum16

sumtail:
	TESTQ CX, CX
	JZ    sumreduce
	TAILMASK
	VMOVUPS.Z (SI), K1, Z4
	VADDPS Z4, Z1, Z1

sumreduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET
