// AVX-512 helper of the packed convolution gather (conv_packed.go).

#include "textflag.h"

// func scatterRunAVX(dst *float32, j0, width, stride int, src *float32, ax, ow, lo, hi int)
//
// Writes the run of ow elements v[ox] = src[ox+ax] for lo ≤ ox < hi, 0 otherwise, into consecutive
// panels: element ox goes to dst[((j0+ox)/width)·stride + (j0+ox) mod width]. Needs 0 ≤ j0 < width ≤ 32.
// Each panel's piece is two masked 16-float loads and stores; masked-off elements are not read.
TEXT ·scatterRunAVX(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ j0+8(FP), R8
	MOVQ width+16(FP), R9
	MOVQ stride+24(FP), R10
	SHLQ $2, R10                // panel stride in bytes
	MOVQ src+32(FP), SI
	MOVQ ax+40(FP), BX
	LEAQ (SI)(BX*4), SI         // SI = src + ax, dereferenced only at unmasked (in-range) elements
	MOVQ ow+48(FP), CX
	MOVQ lo+56(FP), R11
	MOVQ hi+64(FP), R12
	XORQ AX, AX                 // ox
	LEAQ (DI)(R8*4), DI         // DI = first destination element

loop:
	CMPQ AX, CX
	JGE  done
	// DX = n = min(width - j, ow - ox)
	MOVQ R9, DX
	SUBQ R8, DX
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, DX
	CMOVQLT BX, DX
	// R14 = store mask, the low n bits
	MOVQ $-1, BX
	BZHIQ DX, BX, R14
	// R15 = bits below max(hi - ox, 0)
	MOVQ R12, R15
	SUBQ AX, R15
	XORL BX, BX
	CMPQ R15, $0
	CMOVQLT BX, R15
	MOVQ $-1, BX
	BZHIQ R15, BX, R15
	// R13 = bits below max(lo - ox, 0)
	MOVQ R11, R13
	SUBQ AX, R13
	XORL BX, BX
	CMPQ R13, $0
	CMOVQLT BX, R13
	MOVQ $-1, BX
	BZHIQ R13, BX, R13
	// load mask = R15 &^ R13 & R14
	ANDNQ R15, R13, R15
	ANDQ R14, R15
	// Whole 16-float halves go through plain loads and stores: on this CPU a masked load that misses
	// the cache is several times slower than a plain one.
	CMPL R15, $0xffffffff
	JNE  masked
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS 64(SI)(AX*4), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	JMP  advance

masked:
	KMOVW R15, K1
	SHRQ $16, R15
	KMOVW R15, K2
	KMOVW R14, K3
	SHRQ $16, R14
	KMOVW R14, K4
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMOVUPS.Z 64(SI)(AX*4), K2, Z1
	VMOVUPS Z0, K3, (DI)
	VMOVUPS Z1, K4, 64(DI)

advance:
	ADDQ DX, AX
	// on to the next panel, from its first column
	SHLQ $2, R8
	SUBQ R8, DI
	ADDQ R10, DI
	XORL R8, R8
	JMP  loop

done:
	VZEROUPPER
	RET

// func scatterRowsAVX(dst *float32, j0, width, stride int, base *float32, pw, q0, qlo, qhi, nrows, ax, ow, lo, hi int)
//
// scatterRunAVX for nrows consecutive output rows of one im2col row: row i (< nrows) reads the source line
// base + (q0+i)·pw, its elements v[ox] = line[ox+ax] for lo ≤ ox < hi and qlo ≤ i < qhi, 0 otherwise; the
// rows' runs follow each other in the panels (row i starts ow·i columns after row 0's first, which is
// column j0 of the first panel). Needs 0 ≤ j0 < width ≤ 32.
TEXT ·scatterRowsAVX(SB), NOSPLIT, $8-112
	MOVQ dst+0(FP), DI
	MOVQ j0+8(FP), R8
	LEAQ (DI)(R8*4), DI         // DI = current destination element
	MOVQ width+16(FP), R9
	MOVQ stride+24(FP), R10
	SUBQ R9, R10
	SHLQ $2, R10                // R10 = bytes from a panel's end to the next panel's start, same row
	MOVQ ow+88(FP), CX
	MOVQ $0, i-8(SP)

rows:
	MOVQ i-8(SP), BX
	CMPQ BX, nrows+72(FP)
	JGE  done
	MOVQ lo+96(FP), R11
	MOVQ hi+104(FP), R12
	CMPQ BX, qlo+56(FP)
	JLT  invalid
	CMPQ BX, qhi+64(FP)
	JLT  valid

invalid:
	XORL R11, R11
	XORL R12, R12

valid:
	// SI = base + ((q0+i)·pw + ax)·4, dereferenced only at unmasked elements
	MOVQ q0+48(FP), R13
	ADDQ BX, R13
	IMULQ pw+40(FP), R13
	ADDQ ax+80(FP), R13
	MOVQ base+32(FP), SI
	LEAQ (SI)(R13*4), SI
	XORQ AX, AX                 // ox

pieces:
	CMPQ AX, CX
	JGE  rowdone
	// DX = n = min(width - j, ow - ox)
	MOVQ R9, DX
	SUBQ R8, DX
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, DX
	CMOVQLT BX, DX
	// Fast path: 32 elements, all inside [lo, hi).
	CMPQ DX, $32
	JNE  slow
	CMPQ AX, R11
	JLT  slow
	LEAQ 32(AX), BX
	CMPQ BX, R12
	JGT  slow
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS 64(SI)(AX*4), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	JMP  radvance

slow:
	// R14 = store mask, the low n bits
	MOVQ $-1, BX
	BZHIQ DX, BX, R14
	// R15 = bits below max(hi - ox, 0)
	MOVQ R12, R15
	SUBQ AX, R15
	XORL BX, BX
	CMPQ R15, $0
	CMOVQLT BX, R15
	MOVQ $-1, BX
	BZHIQ R15, BX, R15
	// R13 = bits below max(lo - ox, 0)
	MOVQ R11, R13
	SUBQ AX, R13
	XORL BX, BX
	CMPQ R13, $0
	CMOVQLT BX, R13
	MOVQ $-1, BX
	BZHIQ R13, BX, R13
	// load mask = R15 &^ R13 & R14
	ANDNQ R15, R13, R15
	ANDQ R14, R15
	CMPL R15, $0xffffffff
	JNE  rmasked
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS 64(SI)(AX*4), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	JMP  radvance

rmasked:
	KMOVW R15, K1
	SHRQ $16, R15
	KMOVW R15, K2
	KMOVW R14, K3
	SHRQ $16, R14
	KMOVW R14, K4
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMOVUPS.Z 64(SI)(AX*4), K2, Z1
	VMOVUPS Z0, K3, (DI)
	VMOVUPS Z1, K4, 64(DI)

radvance:
	ADDQ DX, AX
	LEAQ (DI)(DX*4), DI
	ADDQ DX, R8
	CMPQ R8, R9
	JLT  pieces
	// the panel is full: on to the next one
	ADDQ R10, DI
	XORL R8, R8
	JMP  pieces

rowdone:
	INCQ i-8(SP)
	JMP  rows

done:
	VZEROUPPER
	RET
