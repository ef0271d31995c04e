// The Winograd F(2×2, 3×3) transforms (winograd.go) in AVX-512 and AVX2: each loop iteration transforms
// 16 (AVX-512) or 8 (AVX2) neighbouring tiles of one tile row, one vector per tile position. The input
// transform loads each of a tile row's four padded input rows as two pairs of vectors, P[0…] and P[2…],
// and splits each pair into its even and odd columns: tile t's columns 2t, 2t+1, 2t+2, 2t+3 are the
// evens and odds of the first pair and of the second. Bᵀ d is taken along each row as it is loaded, then
// (Bᵀ d) B across the rows. The output transform reads the 16 planes of M, forms Aᵀ M A, adds the bias
// (then the old output, then max(·, 0), as flags say) and interleaves each output row's even and odd
// columns back together. Strides arrive in elements.

#include "textflag.h"

DATA winoeven<>+0(SB)/4, $0
DATA winoeven<>+4(SB)/4, $2
DATA winoeven<>+8(SB)/4, $4
DATA winoeven<>+12(SB)/4, $6
DATA winoeven<>+16(SB)/4, $8
DATA winoeven<>+20(SB)/4, $10
DATA winoeven<>+24(SB)/4, $12
DATA winoeven<>+28(SB)/4, $14
DATA winoeven<>+32(SB)/4, $16
DATA winoeven<>+36(SB)/4, $18
DATA winoeven<>+40(SB)/4, $20
DATA winoeven<>+44(SB)/4, $22
DATA winoeven<>+48(SB)/4, $24
DATA winoeven<>+52(SB)/4, $26
DATA winoeven<>+56(SB)/4, $28
DATA winoeven<>+60(SB)/4, $30
GLOBL winoeven<>(SB), RODATA|NOPTR, $64

DATA winoodd<>+0(SB)/4, $1
DATA winoodd<>+4(SB)/4, $3
DATA winoodd<>+8(SB)/4, $5
DATA winoodd<>+12(SB)/4, $7
DATA winoodd<>+16(SB)/4, $9
DATA winoodd<>+20(SB)/4, $11
DATA winoodd<>+24(SB)/4, $13
DATA winoodd<>+28(SB)/4, $15
DATA winoodd<>+32(SB)/4, $17
DATA winoodd<>+36(SB)/4, $19
DATA winoodd<>+40(SB)/4, $21
DATA winoodd<>+44(SB)/4, $23
DATA winoodd<>+48(SB)/4, $25
DATA winoodd<>+52(SB)/4, $27
DATA winoodd<>+56(SB)/4, $29
DATA winoodd<>+60(SB)/4, $31
GLOBL winoodd<>(SB), RODATA|NOPTR, $64

DATA winolo<>+0(SB)/4, $0
DATA winolo<>+4(SB)/4, $16
DATA winolo<>+8(SB)/4, $1
DATA winolo<>+12(SB)/4, $17
DATA winolo<>+16(SB)/4, $2
DATA winolo<>+20(SB)/4, $18
DATA winolo<>+24(SB)/4, $3
DATA winolo<>+28(SB)/4, $19
DATA winolo<>+32(SB)/4, $4
DATA winolo<>+36(SB)/4, $20
DATA winolo<>+40(SB)/4, $5
DATA winolo<>+44(SB)/4, $21
DATA winolo<>+48(SB)/4, $6
DATA winolo<>+52(SB)/4, $22
DATA winolo<>+56(SB)/4, $7
DATA winolo<>+60(SB)/4, $23
GLOBL winolo<>(SB), RODATA|NOPTR, $64

DATA winohi<>+0(SB)/4, $8
DATA winohi<>+4(SB)/4, $24
DATA winohi<>+8(SB)/4, $9
DATA winohi<>+12(SB)/4, $25
DATA winohi<>+16(SB)/4, $10
DATA winohi<>+20(SB)/4, $26
DATA winohi<>+24(SB)/4, $11
DATA winohi<>+28(SB)/4, $27
DATA winohi<>+32(SB)/4, $12
DATA winohi<>+36(SB)/4, $28
DATA winohi<>+40(SB)/4, $13
DATA winohi<>+44(SB)/4, $29
DATA winohi<>+48(SB)/4, $14
DATA winohi<>+52(SB)/4, $30
DATA winohi<>+56(SB)/4, $15
DATA winohi<>+60(SB)/4, $31
GLOBL winohi<>(SB), RODATA|NOPTR, $64

// IN512 loads padded row ptr of 16 tiles and leaves Bᵀ-row values t0…t3 (d0−d2, d1+d2, d2−d1, d1−d3 of
// columns 2t…2t+3). Uses Z0–Z5; Z28/Z29 hold the even/odd indices.
#define IN512(ptr, t0, t1, t2, t3) \
	VMOVUPS (ptr), Z0; VMOVUPS 64(ptr), Z1; VMOVUPS 8(ptr), Z2; VMOVUPS 72(ptr), Z3; \
	VMOVAPS Z0, Z4; VPERMT2PS Z1, Z28, Z4; VPERMT2PS Z1, Z29, Z0; \
	VMOVAPS Z2, Z5; VPERMT2PS Z3, Z28, Z5; VPERMT2PS Z3, Z29, Z2; \
	VSUBPS Z5, Z4, t0; VADDPS Z5, Z0, t1; VSUBPS Z0, Z5, t2; VSUBPS Z2, Z0, t3

// STORE4 writes one row of V (positions 4i … 4i+3) at BX, R8 = vstep bytes, R9 = 3·vstep bytes.
#define STORE4(a, b, c, d) VMOVUPS a, (BX); VMOVUPS b, (BX)(R8*1); VMOVUPS c, (BX)(R8*2); VMOVUPS d, (BX)(R9*1)

// func winoInAVX512(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)
TEXT ·winoInAVX512(SB), NOSPLIT, $0-64
	MOVQ v+0(FP), DI
	MOVQ vstep+8(FP), R8
	MOVQ p+16(FP), SI
	MOVQ pstep+24(FP), R10
	MOVQ cstepP+32(FP), R12
	MOVQ cstepV+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	LEAQ (R10)(R10*2), R11
	SHLQ $6, DX                  // bytes of one V row per tile row
	VMOVUPS winoeven<>(SB), Z28
	VMOVUPS winoodd<>(SB), Z29

i512c:
	XORQ R14, R14

i512g:
	LEAQ (SI)(R14*2), AX         // padded row 0 of this group
	IN512(AX, Z8, Z9, Z10, Z11)
	LEAQ (AX)(R10*1), BX
	IN512(BX, Z12, Z13, Z14, Z15)
	LEAQ (AX)(R10*2), BX
	IN512(BX, Z16, Z17, Z18, Z19)
	LEAQ (AX)(R11*1), BX
	IN512(BX, Z20, Z21, Z22, Z23)
	LEAQ (DI)(R14*1), BX
	VSUBPS Z16, Z8, Z24          // row 0: t0 − t2
	VSUBPS Z17, Z9, Z25
	VSUBPS Z18, Z10, Z26
	VSUBPS Z19, Z11, Z27
	STORE4(Z24, Z25, Z26, Z27)
	LEAQ (BX)(R8*4), BX
	VADDPS Z16, Z12, Z24         // row 1: t1 + t2
	VADDPS Z17, Z13, Z25
	VADDPS Z18, Z14, Z26
	VADDPS Z19, Z15, Z27
	STORE4(Z24, Z25, Z26, Z27)
	LEAQ (BX)(R8*4), BX
	VSUBPS Z12, Z16, Z24         // row 2: t2 − t1
	VSUBPS Z13, Z17, Z25
	VSUBPS Z14, Z18, Z26
	VSUBPS Z15, Z19, Z27
	STORE4(Z24, Z25, Z26, Z27)
	LEAQ (BX)(R8*4), BX
	VSUBPS Z20, Z12, Z24         // row 3: t1 − t3
	VSUBPS Z21, Z13, Z25
	VSUBPS Z22, Z14, Z26
	VSUBPS Z23, Z15, Z27
	STORE4(Z24, Z25, Z26, Z27)
	ADDQ $64, R14
	CMPQ R14, DX
	JLT  i512g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  i512c
	VZEROUPPER
	RET

// LOAD4 reads one row of M (positions 4i … 4i+3) from BX (R8 = mstep bytes, R9 = 3·mstep bytes).
#define LOAD4(a, b, c, d) VMOVUPS (BX), a; VMOVUPS (BX)(R8*1), b; VMOVUPS (BX)(R8*2), c; VMOVUPS (BX)(R9*1), d

// func winoOutAVX512(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)
TEXT ·winoOutAVX512(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI
	MOVQ ystep+8(FP), R10
	MOVQ cstepY+16(FP), R12
	MOVQ m+24(FP), SI
	MOVQ mstep+32(FP), R8
	MOVQ cstepM+40(FP), R13
	MOVQ bias+48(FP), R11
	MOVQ nc+56(FP), CX
	MOVQ groups+64(FP), DX
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R8
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $6, DX
	VMOVUPS winolo<>(SB), Z28
	VMOVUPS winohi<>(SB), Z29
	VPXORD  Z31, Z31, Z31

o512c:
	VBROADCASTSS (R11), Z30
	XORQ R14, R14

o512g:
	LEAQ (SI)(R14*1), BX
	LOAD4(Z0, Z1, Z2, Z3)
	LEAQ (BX)(R8*4), BX
	LOAD4(Z4, Z5, Z6, Z7)
	LEAQ (BX)(R8*4), BX
	LOAD4(Z8, Z9, Z10, Z11)
	LEAQ (BX)(R8*4), BX
	LOAD4(Z12, Z13, Z14, Z15)
	VADDPS Z4, Z0, Z16           // s0j = (m0j + m1j) + m2j
	VADDPS Z8, Z16, Z16
	VADDPS Z5, Z1, Z17
	VADDPS Z9, Z17, Z17
	VADDPS Z6, Z2, Z18
	VADDPS Z10, Z18, Z18
	VADDPS Z7, Z3, Z19
	VADDPS Z11, Z19, Z19
	VSUBPS Z8, Z4, Z20           // s1j = (m1j − m2j) − m3j
	VSUBPS Z12, Z20, Z20
	VSUBPS Z9, Z5, Z21
	VSUBPS Z13, Z21, Z21
	VSUBPS Z10, Z6, Z22
	VSUBPS Z14, Z22, Z22
	VSUBPS Z11, Z7, Z23
	VSUBPS Z15, Z23, Z23
	VADDPS Z17, Z16, Z24         // yi0 = (si0 + si1) + si2, yi1 = (si1 − si2) − si3
	VADDPS Z18, Z24, Z24
	VSUBPS Z18, Z17, Z25
	VSUBPS Z19, Z25, Z25
	VADDPS Z21, Z20, Z26
	VADDPS Z22, Z26, Z26
	VSUBPS Z22, Z21, Z27
	VSUBPS Z23, Z27, Z27
	VADDPS Z30, Z24, Z24
	VADDPS Z30, Z25, Z25
	VADDPS Z30, Z26, Z26
	VADDPS Z30, Z27, Z27
	VMOVAPS Z24, Z0              // interleave even and odd columns
	VPERMT2PS Z25, Z28, Z0
	VPERMT2PS Z25, Z29, Z24
	VMOVAPS Z26, Z1
	VPERMT2PS Z27, Z28, Z1
	VPERMT2PS Z27, Z29, Z26
	LEAQ (DI)(R14*2), AX
	TESTQ $2, flags+72(FP)
	JZ    o512noacc
	VADDPS (AX), Z0, Z0
	VADDPS 64(AX), Z24, Z24
	VADDPS (AX)(R10*1), Z1, Z1
	VADDPS 64(AX)(R10*1), Z26, Z26

o512noacc:
	TESTQ $1, flags+72(FP)
	JZ    o512norelu
	VMAXPS Z0, Z31, Z0
	VMAXPS Z24, Z31, Z24
	VMAXPS Z1, Z31, Z1
	VMAXPS Z26, Z31, Z26

o512norelu:
	VMOVUPS Z0, (AX)
	VMOVUPS Z24, 64(AX)
	VMOVUPS Z1, (AX)(R10*1)
	VMOVUPS Z26, 64(AX)(R10*1)
	ADDQ $64, R14
	CMPQ R14, DX
	JLT  o512g
	ADDQ $4, R11
	ADDQ R12, DI
	ADDQ R13, SI
	DECQ CX
	JNZ  o512c
	VZEROUPPER
	RET

// IN2 is IN512 for 8 tiles in ymm registers: the lane-wise shuffles take evens (0x88) and odds (0xDD)
// of each 128-bit lane, and VPERMPD puts the lanes' halves in order. Uses Y12–Y15.
#define IN2(ptr, t0, t1, t2, t3) \
	VMOVUPS (ptr), Y12; VMOVUPS 32(ptr), Y13; VMOVUPS 8(ptr), Y14; VMOVUPS 40(ptr), Y15; \
	VSHUFPS $0x88, Y13, Y12, t0; VSHUFPS $0xDD, Y13, Y12, t1; \
	VSHUFPS $0x88, Y15, Y14, t2; VSHUFPS $0xDD, Y15, Y14, t3; \
	VPERMPD $0xD8, t0, t0; VPERMPD $0xD8, t1, t1; VPERMPD $0xD8, t2, t2; VPERMPD $0xD8, t3, t3; \
	VSUBPS t2, t0, t0; VSUBPS t3, t1, t3; VADDPS t2, t1, Y12; VSUBPS t1, t2, t2; VMOVAPS Y12, t1

// func winoInAVX2(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)
// Sixteen ymm registers do not hold the four rows' t values at once: rows 1 and 2 give V rows 1 and 2,
// then row 0 gives V row 0 and row 3 V row 3.
TEXT ·winoInAVX2(SB), NOSPLIT, $0-64
	MOVQ v+0(FP), DI
	MOVQ vstep+8(FP), R8
	MOVQ p+16(FP), SI
	MOVQ pstep+24(FP), R10
	MOVQ cstepP+32(FP), R12
	MOVQ cstepV+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	LEAQ (R10)(R10*2), R11
	SHLQ $5, DX

i2c:
	XORQ R14, R14

i2g:
	LEAQ (SI)(R14*2), AX
	LEAQ (AX)(R10*1), BX
	IN2(BX, Y0, Y1, Y2, Y3)      // t row 1
	LEAQ (AX)(R10*2), BX
	IN2(BX, Y4, Y5, Y6, Y7)      // t row 2
	LEAQ (DI)(R14*1), BX
	LEAQ (BX)(R8*4), BX
	VADDPS Y4, Y0, Y8            // V row 1: t1 + t2
	VADDPS Y5, Y1, Y9
	VADDPS Y6, Y2, Y10
	VADDPS Y7, Y3, Y11
	STORE4(Y8, Y9, Y10, Y11)
	LEAQ (BX)(R8*4), BX
	VSUBPS Y0, Y4, Y12           // V row 2: t2 − t1
	VSUBPS Y1, Y5, Y13
	VSUBPS Y2, Y6, Y14
	VSUBPS Y3, Y7, Y15
	STORE4(Y12, Y13, Y14, Y15)
	IN2(AX, Y8, Y9, Y10, Y11)    // t row 0
	LEAQ (DI)(R14*1), BX
	VSUBPS Y4, Y8, Y8            // V row 0: t0 − t2
	VSUBPS Y5, Y9, Y9
	VSUBPS Y6, Y10, Y10
	VSUBPS Y7, Y11, Y11
	STORE4(Y8, Y9, Y10, Y11)
	LEAQ (AX)(R11*1), BX
	IN2(BX, Y8, Y9, Y10, Y11)    // t row 3
	LEAQ (DI)(R14*1), BX
	LEAQ (BX)(R8*8), BX
	LEAQ (BX)(R8*4), BX
	VSUBPS Y8, Y0, Y8            // V row 3: t1 − t3
	VSUBPS Y9, Y1, Y9
	VSUBPS Y10, Y2, Y10
	VSUBPS Y11, Y3, Y11
	STORE4(Y8, Y9, Y10, Y11)
	ADDQ $32, R14
	CMPQ R14, DX
	JLT  i2g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  i2c
	VZEROUPPER
	RET

// COL2 forms s0j = (m0j + m1j) + m2j and s1j = (m1j − m2j) − m3j for the column at BX (R8 = mstep bytes,
// R11 = 12·mstep bytes), then steps BX to the next column. Uses Y12–Y15.
#define COL2(s0, s1) \
	VMOVUPS (BX), Y12; VMOVUPS (BX)(R8*4), Y13; VMOVUPS (BX)(R8*8), Y14; VMOVUPS (BX)(R11*1), Y15; \
	VADDPS Y13, Y12, s0; VADDPS Y14, s0, s0; VSUBPS Y14, Y13, s1; VSUBPS Y15, s1, s1; \
	ADDQ R8, BX

// ZIP2 interleaves a (even columns) and b (odd columns) into a, b (the first and last 8 of 16). Uses Y12, Y13.
#define ZIP2(a, b) \
	VUNPCKLPS b, a, Y12; VUNPCKHPS b, a, Y13; VPERM2F128 $0x20, Y13, Y12, a; VPERM2F128 $0x31, Y13, Y12, b

// func winoOutAVX2(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)
TEXT ·winoOutAVX2(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI
	MOVQ ystep+8(FP), R10
	MOVQ cstepY+16(FP), R12
	MOVQ m+24(FP), SI
	MOVQ mstep+32(FP), R8
	MOVQ cstepM+40(FP), R13
	MOVQ bias+48(FP), R9
	MOVQ nc+56(FP), CX
	MOVQ groups+64(FP), DX
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R8
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R11
	SHLQ $2, R11                 // 12·mstep bytes: row 3 of a column
	SHLQ $5, DX

o2c:
	XORQ R14, R14

o2g:
	LEAQ (SI)(R14*1), BX
	COL2(Y0, Y4)
	COL2(Y1, Y5)
	COL2(Y2, Y6)
	COL2(Y3, Y7)
	VADDPS Y1, Y0, Y8            // yi0 = (si0 + si1) + si2, yi1 = (si1 − si2) − si3
	VADDPS Y2, Y8, Y8
	VSUBPS Y2, Y1, Y9
	VSUBPS Y3, Y9, Y9
	VADDPS Y5, Y4, Y10
	VADDPS Y6, Y10, Y10
	VSUBPS Y6, Y5, Y11
	VSUBPS Y7, Y11, Y11
	VBROADCASTSS (R9), Y14
	VADDPS Y14, Y8, Y8
	VADDPS Y14, Y9, Y9
	VADDPS Y14, Y10, Y10
	VADDPS Y14, Y11, Y11
	ZIP2(Y8, Y9)
	ZIP2(Y10, Y11)
	LEAQ (DI)(R14*2), AX
	TESTQ $2, flags+72(FP)
	JZ    o2noacc
	VADDPS (AX), Y8, Y8
	VADDPS 32(AX), Y9, Y9
	VADDPS (AX)(R10*1), Y10, Y10
	VADDPS 32(AX)(R10*1), Y11, Y11

o2noacc:
	TESTQ $1, flags+72(FP)
	JZ    o2norelu
	VXORPS Y15, Y15, Y15
	VMAXPS Y8, Y15, Y8
	VMAXPS Y9, Y15, Y9
	VMAXPS Y10, Y15, Y10
	VMAXPS Y11, Y15, Y11

o2norelu:
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	VMOVUPS Y10, (AX)(R10*1)
	VMOVUPS Y11, 32(AX)(R10*1)
	ADDQ $32, R14
	CMPQ R14, DX
	JLT  o2g
	ADDQ $4, R9
	ADDQ R12, DI
	ADDQ R13, SI
	DECQ CX
	JNZ  o2c
	VZEROUPPER
	RET

DATA winosign<>+0(SB)/4, $0x80000000
GLOBL winosign<>(SB), RODATA|NOPTR, $4

// func winoGradAVX512(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)
// Each output-gradient row pair is split into even (e) and odd (o) columns; a = (e, e+o, e−o, −o) per
// row, then rows a0, a0+a1, a0−a1, −a1 of M. Negation flips the sign bit, as Go's unary minus does.
TEXT ·winoGradAVX512(SB), NOSPLIT, $0-64
	MOVQ m+0(FP), DI
	MOVQ mstep+8(FP), R8
	MOVQ dy+16(FP), SI
	MOVQ dstep+24(FP), R10
	MOVQ cstepD+32(FP), R12
	MOVQ cstepM+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $6, DX
	VMOVUPS winoeven<>(SB), Z28
	VMOVUPS winoodd<>(SB), Z29
	VPBROADCASTD winosign<>(SB), Z30

g512c:
	XORQ R14, R14

g512g:
	LEAQ (SI)(R14*2), AX
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VMOVAPS Z0, Z2
	VPERMT2PS Z1, Z28, Z2        // e0
	VPERMT2PS Z1, Z29, Z0        // o0
	VMOVUPS (AX)(R10*1), Z3
	VMOVUPS 64(AX)(R10*1), Z4
	VMOVAPS Z3, Z5
	VPERMT2PS Z4, Z28, Z5        // e1
	VPERMT2PS Z4, Z29, Z3        // o1
	VMOVAPS Z2, Z8               // a0
	VADDPS  Z0, Z2, Z9
	VSUBPS  Z0, Z2, Z10
	VPXORD  Z30, Z0, Z11
	VMOVAPS Z5, Z12              // a1
	VADDPS  Z3, Z5, Z13
	VSUBPS  Z3, Z5, Z14
	VPXORD  Z30, Z3, Z15
	LEAQ (DI)(R14*1), BX
	STORE4(Z8, Z9, Z10, Z11)     // row 0: a0
	LEAQ (BX)(R8*4), BX
	VADDPS Z12, Z8, Z16          // row 1: a0 + a1
	VADDPS Z13, Z9, Z17
	VADDPS Z14, Z10, Z18
	VADDPS Z15, Z11, Z19
	STORE4(Z16, Z17, Z18, Z19)
	LEAQ (BX)(R8*4), BX
	VSUBPS Z12, Z8, Z16          // row 2: a0 − a1
	VSUBPS Z13, Z9, Z17
	VSUBPS Z14, Z10, Z18
	VSUBPS Z15, Z11, Z19
	STORE4(Z16, Z17, Z18, Z19)
	LEAQ (BX)(R8*4), BX
	VPXORD Z30, Z12, Z16         // row 3: −a1
	VPXORD Z30, Z13, Z17
	VPXORD Z30, Z14, Z18
	VPXORD Z30, Z15, Z19
	STORE4(Z16, Z17, Z18, Z19)
	ADDQ $64, R14
	CMPQ R14, DX
	JLT  g512g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  g512c
	VZEROUPPER
	RET

// EO2 splits the 16 floats in lo, hi into their evens (e) and odds (o), in order, 8 each.
#define EO2(lo, hi, e, o) \
	VSHUFPS $0x88, hi, lo, e; VSHUFPS $0xDD, hi, lo, o; VPERMPD $0xD8, e, e; VPERMPD $0xD8, o, o

// func winoGradAVX2(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)
TEXT ·winoGradAVX2(SB), NOSPLIT, $0-64
	MOVQ m+0(FP), DI
	MOVQ mstep+8(FP), R8
	MOVQ dy+16(FP), SI
	MOVQ dstep+24(FP), R10
	MOVQ cstepD+32(FP), R12
	MOVQ cstepM+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $5, DX
	VBROADCASTSS winosign<>(SB), Y6

g2c:
	XORQ R14, R14

g2g:
	LEAQ (SI)(R14*2), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	EO2(Y0, Y1, Y2, Y3)          // e0, o0
	VMOVUPS (AX)(R10*1), Y0
	VMOVUPS 32(AX)(R10*1), Y1
	EO2(Y0, Y1, Y4, Y5)          // e1, o1
	VMOVAPS Y2, Y8               // a0
	VADDPS  Y3, Y2, Y9
	VSUBPS  Y3, Y2, Y10
	VXORPS  Y6, Y3, Y11
	VMOVAPS Y4, Y12              // a1
	VADDPS  Y5, Y4, Y13
	VSUBPS  Y5, Y4, Y14
	VXORPS  Y6, Y5, Y15
	LEAQ (DI)(R14*1), BX
	STORE4(Y8, Y9, Y10, Y11)
	LEAQ (BX)(R8*4), BX
	VADDPS Y12, Y8, Y0
	VADDPS Y13, Y9, Y1
	VADDPS Y14, Y10, Y2
	VADDPS Y15, Y11, Y3
	STORE4(Y0, Y1, Y2, Y3)
	LEAQ (BX)(R8*4), BX
	VSUBPS Y12, Y8, Y0
	VSUBPS Y13, Y9, Y1
	VSUBPS Y14, Y10, Y2
	VSUBPS Y15, Y11, Y3
	STORE4(Y0, Y1, Y2, Y3)
	LEAQ (BX)(R8*4), BX
	VXORPS Y6, Y12, Y0
	VXORPS Y6, Y13, Y1
	VXORPS Y6, Y14, Y2
	VXORPS Y6, Y15, Y3
	STORE4(Y0, Y1, Y2, Y3)
	ADDQ $32, R14
	CMPQ R14, DX
	JLT  g2g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  g2c
	VZEROUPPER
	RET

// F(2×2, 2×2) (winograd22.go): 3×3 tiles, 9 positions. A tile row's padded rows are split as for
// F(2×2, 3×3), using three of the four column vectors: d0, d1 = evens, odds of P[0…]; d2 = evens of P[2…].

// IN22_512 leaves d0−d1, d1, d2−d1 of padded row ptr (16 tiles). Uses Z0–Z4.
#define IN22_512(ptr, t0, t1, t2) \
	VMOVUPS (ptr), Z0; VMOVUPS 64(ptr), Z1; VMOVUPS 8(ptr), Z2; VMOVUPS 72(ptr), Z3; \
	VMOVAPS Z0, Z4; VPERMT2PS Z1, Z28, Z4; VPERMT2PS Z1, Z29, Z0; VPERMT2PS Z3, Z28, Z2; \
	VSUBPS Z0, Z4, t0; VMOVAPS Z0, t1; VSUBPS Z0, Z2, t2

// STORE3 writes one row of V (positions 3i … 3i+2) at BX, R8 = vstep bytes.
#define STORE3(a, b, c) VMOVUPS a, (BX); VMOVUPS b, (BX)(R8*1); VMOVUPS c, (BX)(R8*2)

// func wino22InAVX512(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)
TEXT ·wino22InAVX512(SB), NOSPLIT, $0-64
	MOVQ v+0(FP), DI
	MOVQ vstep+8(FP), R8
	MOVQ p+16(FP), SI
	MOVQ pstep+24(FP), R10
	MOVQ cstepP+32(FP), R12
	MOVQ cstepV+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9          // 3·vstep: the next row of V positions
	SHLQ $6, DX
	VMOVUPS winoeven<>(SB), Z28
	VMOVUPS winoodd<>(SB), Z29

j512c:
	XORQ R14, R14

j512g:
	LEAQ (SI)(R14*2), AX
	IN22_512(AX, Z8, Z9, Z10)
	LEAQ (AX)(R10*1), BX
	IN22_512(BX, Z11, Z12, Z13)
	LEAQ (AX)(R10*2), BX
	IN22_512(BX, Z14, Z15, Z16)
	LEAQ (DI)(R14*1), BX
	VSUBPS Z11, Z8, Z20          // row 0: t0 − t1
	VSUBPS Z12, Z9, Z21
	VSUBPS Z13, Z10, Z22
	STORE3(Z20, Z21, Z22)
	ADDQ R9, BX
	STORE3(Z11, Z12, Z13)        // row 1: t1
	ADDQ R9, BX
	VSUBPS Z11, Z14, Z20         // row 2: t2 − t1
	VSUBPS Z12, Z15, Z21
	VSUBPS Z13, Z16, Z22
	STORE3(Z20, Z21, Z22)
	ADDQ $64, R14
	CMPQ R14, DX
	JLT  j512g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  j512c
	VZEROUPPER
	RET

// LOAD3 reads one row of M (positions 3i … 3i+2) from BX (R8 = mstep bytes).
#define LOAD3(a, b, c) VMOVUPS (BX), a; VMOVUPS (BX)(R8*1), b; VMOVUPS (BX)(R8*2), c

// func wino22OutAVX512(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)
TEXT ·wino22OutAVX512(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI
	MOVQ ystep+8(FP), R10
	MOVQ cstepY+16(FP), R12
	MOVQ m+24(FP), SI
	MOVQ mstep+32(FP), R8
	MOVQ cstepM+40(FP), R13
	MOVQ bias+48(FP), R11
	MOVQ nc+56(FP), CX
	MOVQ groups+64(FP), DX
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R8
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $6, DX
	VMOVUPS winolo<>(SB), Z28
	VMOVUPS winohi<>(SB), Z29
	VPXORD  Z31, Z31, Z31

p512c:
	VBROADCASTSS (R11), Z30
	XORQ R14, R14

p512g:
	LEAQ (SI)(R14*1), BX
	LOAD3(Z0, Z1, Z2)
	ADDQ R9, BX
	LOAD3(Z3, Z4, Z5)
	ADDQ R9, BX
	LOAD3(Z6, Z7, Z8)
	VADDPS Z3, Z0, Z10           // s0j = m0j + m1j
	VADDPS Z4, Z1, Z11
	VADDPS Z5, Z2, Z12
	VADDPS Z6, Z3, Z13           // s1j = m1j + m2j
	VADDPS Z7, Z4, Z14
	VADDPS Z8, Z5, Z15
	VADDPS Z11, Z10, Z24         // yi0 = si0 + si1, yi1 = si1 + si2
	VADDPS Z12, Z11, Z25
	VADDPS Z14, Z13, Z26
	VADDPS Z15, Z14, Z27
	VADDPS Z30, Z24, Z24
	VADDPS Z30, Z25, Z25
	VADDPS Z30, Z26, Z26
	VADDPS Z30, Z27, Z27
	VMOVAPS Z24, Z0
	VPERMT2PS Z25, Z28, Z0
	VPERMT2PS Z25, Z29, Z24
	VMOVAPS Z26, Z1
	VPERMT2PS Z27, Z28, Z1
	VPERMT2PS Z27, Z29, Z26
	LEAQ (DI)(R14*2), AX
	TESTQ $2, flags+72(FP)
	JZ    p512noacc
	VADDPS (AX), Z0, Z0
	VADDPS 64(AX), Z24, Z24
	VADDPS (AX)(R10*1), Z1, Z1
	VADDPS 64(AX)(R10*1), Z26, Z26

p512noacc:
	TESTQ $1, flags+72(FP)
	JZ    p512norelu
	VMAXPS Z0, Z31, Z0
	VMAXPS Z24, Z31, Z24
	VMAXPS Z1, Z31, Z1
	VMAXPS Z26, Z31, Z26

p512norelu:
	VMOVUPS Z0, (AX)
	VMOVUPS Z24, 64(AX)
	VMOVUPS Z1, (AX)(R10*1)
	VMOVUPS Z26, 64(AX)(R10*1)
	ADDQ $64, R14
	CMPQ R14, DX
	JLT  p512g
	ADDQ $4, R11
	ADDQ R12, DI
	ADDQ R13, SI
	DECQ CX
	JNZ  p512c
	VZEROUPPER
	RET

// IN22_2 is IN22_512 for 8 tiles in ymm registers. Uses Y12–Y15.
#define IN22_2(ptr, t0, t1, t2) \
	VMOVUPS (ptr), Y12; VMOVUPS 32(ptr), Y13; VMOVUPS 8(ptr), Y14; VMOVUPS 40(ptr), Y15; \
	VSHUFPS $0x88, Y13, Y12, t0; VSHUFPS $0xDD, Y13, Y12, t1; VSHUFPS $0x88, Y15, Y14, t2; \
	VPERMPD $0xD8, t0, t0; VPERMPD $0xD8, t1, t1; VPERMPD $0xD8, t2, t2; \
	VSUBPS t1, t0, t0; VSUBPS t1, t2, t2

// func wino22InAVX2(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)
TEXT ·wino22InAVX2(SB), NOSPLIT, $0-64
	MOVQ v+0(FP), DI
	MOVQ vstep+8(FP), R8
	MOVQ p+16(FP), SI
	MOVQ pstep+24(FP), R10
	MOVQ cstepP+32(FP), R12
	MOVQ cstepV+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $5, DX

j2c:
	XORQ R14, R14

j2g:
	LEAQ (SI)(R14*2), AX
	IN22_2(AX, Y0, Y1, Y2)
	LEAQ (AX)(R10*1), BX
	IN22_2(BX, Y3, Y4, Y5)
	LEAQ (AX)(R10*2), BX
	IN22_2(BX, Y6, Y7, Y8)
	LEAQ (DI)(R14*1), BX
	VSUBPS Y3, Y0, Y9
	VSUBPS Y4, Y1, Y10
	VSUBPS Y5, Y2, Y11
	STORE3(Y9, Y10, Y11)
	ADDQ R9, BX
	STORE3(Y3, Y4, Y5)
	ADDQ R9, BX
	VSUBPS Y3, Y6, Y9
	VSUBPS Y4, Y7, Y10
	VSUBPS Y5, Y8, Y11
	STORE3(Y9, Y10, Y11)
	ADDQ $32, R14
	CMPQ R14, DX
	JLT  j2g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  j2c
	VZEROUPPER
	RET

// func wino22OutAVX2(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)
TEXT ·wino22OutAVX2(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI
	MOVQ ystep+8(FP), R10
	MOVQ cstepY+16(FP), R12
	MOVQ m+24(FP), SI
	MOVQ mstep+32(FP), R8
	MOVQ cstepM+40(FP), R13
	MOVQ bias+48(FP), R11
	MOVQ nc+56(FP), CX
	MOVQ groups+64(FP), DX
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R8
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $5, DX

p2c:
	XORQ R14, R14

p2g:
	LEAQ (SI)(R14*1), BX
	LOAD3(Y0, Y1, Y2)
	ADDQ R9, BX
	LOAD3(Y3, Y4, Y5)
	ADDQ R9, BX
	LOAD3(Y6, Y7, Y8)
	VADDPS Y3, Y0, Y0            // s0j = m0j + m1j
	VADDPS Y4, Y1, Y1
	VADDPS Y5, Y2, Y2
	VADDPS Y6, Y3, Y3            // s1j = m1j + m2j
	VADDPS Y7, Y4, Y4
	VADDPS Y8, Y5, Y5
	VADDPS Y1, Y0, Y8            // yi0 = si0 + si1, yi1 = si1 + si2
	VADDPS Y2, Y1, Y9
	VADDPS Y4, Y3, Y10
	VADDPS Y5, Y4, Y11
	VBROADCASTSS (R11), Y14
	VADDPS Y14, Y8, Y8
	VADDPS Y14, Y9, Y9
	VADDPS Y14, Y10, Y10
	VADDPS Y14, Y11, Y11
	ZIP2(Y8, Y9)
	ZIP2(Y10, Y11)
	LEAQ (DI)(R14*2), AX
	TESTQ $2, flags+72(FP)
	JZ    p2noacc
	VADDPS (AX), Y8, Y8
	VADDPS 32(AX), Y9, Y9
	VADDPS (AX)(R10*1), Y10, Y10
	VADDPS 32(AX)(R10*1), Y11, Y11

p2noacc:
	TESTQ $1, flags+72(FP)
	JZ    p2norelu
	VXORPS Y15, Y15, Y15
	VMAXPS Y8, Y15, Y8
	VMAXPS Y9, Y15, Y9
	VMAXPS Y10, Y15, Y10
	VMAXPS Y11, Y15, Y11

p2norelu:
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	VMOVUPS Y10, (AX)(R10*1)
	VMOVUPS Y11, 32(AX)(R10*1)
	ADDQ $32, R14
	CMPQ R14, DX
	JLT  p2g
	ADDQ $4, R11
	ADDQ R12, DI
	ADDQ R13, SI
	DECQ CX
	JNZ  p2c
	VZEROUPPER
	RET

// func wino22GradAVX512(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)
// a = (e, e+o, o) per output-gradient row, then rows a0, a0+a1, a1 of M.
TEXT ·wino22GradAVX512(SB), NOSPLIT, $0-64
	MOVQ m+0(FP), DI
	MOVQ mstep+8(FP), R8
	MOVQ dy+16(FP), SI
	MOVQ dstep+24(FP), R10
	MOVQ cstepD+32(FP), R12
	MOVQ cstepM+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $6, DX
	VMOVUPS winoeven<>(SB), Z28
	VMOVUPS winoodd<>(SB), Z29

h512c:
	XORQ R14, R14

h512g:
	LEAQ (SI)(R14*2), AX
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VMOVAPS Z0, Z2
	VPERMT2PS Z1, Z28, Z2        // e0
	VPERMT2PS Z1, Z29, Z0        // o0
	VMOVUPS (AX)(R10*1), Z3
	VMOVUPS 64(AX)(R10*1), Z4
	VMOVAPS Z3, Z5
	VPERMT2PS Z4, Z28, Z5        // e1
	VPERMT2PS Z4, Z29, Z3        // o1
	VADDPS  Z0, Z2, Z9           // a0 = (Z2, Z9, Z0)
	VADDPS  Z3, Z5, Z12          // a1 = (Z5, Z12, Z3)
	LEAQ (DI)(R14*1), BX
	STORE3(Z2, Z9, Z0)
	ADDQ R9, BX
	VADDPS Z5, Z2, Z16           // a0 + a1
	VADDPS Z12, Z9, Z17
	VADDPS Z3, Z0, Z18
	STORE3(Z16, Z17, Z18)
	ADDQ R9, BX
	STORE3(Z5, Z12, Z3)
	ADDQ $64, R14
	CMPQ R14, DX
	JLT  h512g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  h512c
	VZEROUPPER
	RET

// func wino22GradAVX2(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)
TEXT ·wino22GradAVX2(SB), NOSPLIT, $0-64
	MOVQ m+0(FP), DI
	MOVQ mstep+8(FP), R8
	MOVQ dy+16(FP), SI
	MOVQ dstep+24(FP), R10
	MOVQ cstepD+32(FP), R12
	MOVQ cstepM+40(FP), R13
	MOVQ nc+48(FP), CX
	MOVQ groups+56(FP), DX
	SHLQ $2, R8
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	SHLQ $5, DX

h2c:
	XORQ R14, R14

h2g:
	LEAQ (SI)(R14*2), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	EO2(Y0, Y1, Y2, Y3)          // e0, o0
	VMOVUPS (AX)(R10*1), Y0
	VMOVUPS 32(AX)(R10*1), Y1
	EO2(Y0, Y1, Y4, Y5)          // e1, o1
	VADDPS Y3, Y2, Y6            // a0 = (Y2, Y6, Y3)
	VADDPS Y5, Y4, Y7            // a1 = (Y4, Y7, Y5)
	LEAQ (DI)(R14*1), BX
	STORE3(Y2, Y6, Y3)
	ADDQ R9, BX
	VADDPS Y4, Y2, Y8
	VADDPS Y7, Y6, Y9
	VADDPS Y5, Y3, Y10
	STORE3(Y8, Y9, Y10)
	ADDQ R9, BX
	STORE3(Y4, Y7, Y5)
	ADDQ $32, R14
	CMPQ R14, DX
	JLT  h2g
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  h2c
	VZEROUPPER
	RET
