// The AVX2 loop of scatterRun (conv_packed.go): the packing step of the AVX2 convolutions, which copies each
// output row's run of input pixels into the B panels of the products, zero outside the image.

#include "textflag.h"

DATA scatIdx<>+0(SB)/4, $0
DATA scatIdx<>+4(SB)/4, $1
DATA scatIdx<>+8(SB)/4, $2
DATA scatIdx<>+12(SB)/4, $3
DATA scatIdx<>+16(SB)/4, $4
DATA scatIdx<>+20(SB)/4, $5
DATA scatIdx<>+24(SB)/4, $6
DATA scatIdx<>+28(SB)/4, $7
GLOBL scatIdx<>(SB), RODATA|NOPTR, $32

// func scatterRunAVX2(dst *float32, j0, width, stride int, src *float32, ax, ow, lo, hi int)
// For ox < ow: panel element ox of the run (panel (j0+ox)/width, column (j0+ox) mod width; panels stride
// floats apart) = src[ox+ax] for lo ≤ ox < hi, else 0. Groups of 8 inside [lo, hi) and inside the panel
// go through plain loads and stores; the others through VMASKMOVPS, whose masked lanes read nothing and
// load zeros. A group cut by the panel's end is stored lane by lane (masked stores are slow on AMD).
TEXT ·scatterRunAVX2(SB), NOSPLIT, $0-72
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
	VMOVDQU scatIdx<>(SB), Y15  // lane numbers 0…7

chunk:
	CMPQ AX, CX
	JGE  done
	// DX = n = min(width − j, ow − ox): the run's part in this panel
	MOVQ R9, DX
	SUBQ R8, DX
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, DX
	CMOVQLT BX, DX
	// Y13 = lo − ox, Y12 = hi − ox, Y11 = n, lane-wise (all within ±ow: int32)
	MOVQ R11, BX
	SUBQ AX, BX
	VMOVQ BX, X13
	VPBROADCASTD X13, Y13
	MOVQ R12, BX
	SUBQ AX, BX
	VMOVQ BX, X12
	VPBROADCASTD X12, Y12
	VMOVQ DX, X11
	VPBROADCASTD X11, Y11
	XORQ BX, BX                 // k: the group's first element within the chunk
	VMOVDQU Y15, Y10            // its lane numbers k…k+7

group:
	CMPQ BX, DX
	JGE  advance
	LEAQ (AX)(BX*1), R13        // ox + k
	LEAQ 8(BX), R14
	CMPQ R14, DX
	JGT  partial
	CMPQ R13, R11
	JLT  masked
	LEAQ 8(R13), R15
	CMPQ R15, R12
	JGT  masked
	VMOVUPS (SI)(R13*4), Y0
	VMOVUPS Y0, (DI)(BX*4)
	JMP  next

masked:
	// load lanes with lo ≤ ox+k+lane < hi, i.e. lo−ox ≤ idx < hi−ox
	VPCMPGTD Y10, Y13, Y9       // lo−ox > idx
	VPCMPGTD Y10, Y12, Y8       // hi−ox > idx
	VPANDN   Y8, Y9, Y7
	VMASKMOVPS (SI)(R13*4), Y7, Y0
	VMOVUPS Y0, (DI)(BX*4)
	JMP  next

partial:
	VPCMPGTD Y10, Y13, Y9
	VPCMPGTD Y10, Y12, Y8
	VPANDN   Y8, Y9, Y7
	VPCMPGTD Y10, Y11, Y6       // n > idx: the lanes inside this panel
	VPAND    Y6, Y7, Y7
	VMASKMOVPS (SI)(R13*4), Y7, Y0
	// store the first m = n − k (1…7) lanes: four at once, then one by one (a masked store is
	// microcoded on AMD and costs more than the whole copy)
	MOVQ DX, R14
	SUBQ BX, R14
	LEAQ (DI)(BX*4), R15
	CMPQ R14, $4
	JLT  lanes
	VMOVUPS X0, (R15)
	VEXTRACTF128 $1, Y0, X0
	ADDQ $16, R15
	SUBQ $4, R14

lanes:
	TESTQ R14, R14
	JLE  next
	VMOVSS X0, (R15)
	VPSRLDQ $4, X0, X0
	ADDQ $4, R15
	DECQ R14
	JMP  lanes

next:
	ADDQ $8, BX
	VPCMPEQD Y5, Y5, Y5         // −1 in every lane
	VPSLLD   $3, Y5, Y5         // −8
	VPSUBD   Y5, Y10, Y10       // lane numbers += 8
	JMP  group

advance:
	ADDQ DX, AX
	// on to the next panel, from its first column
	SHLQ $2, R8
	SUBQ R8, DI
	ADDQ R10, DI
	XORL R8, R8
	JMP  chunk

done:
	VZEROUPPER
	RET
