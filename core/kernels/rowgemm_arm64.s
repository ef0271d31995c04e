#include "textflag.h"
#include "neon_arm64.h"

// The NEON loops of RowGemm (see rowgemm_arm64.go). Registers: the R×16 block of y in V0 … V(4R−1)
// (row o in V(4o) … V(4o+3)), 16 floats of one x row in V24 … V27, and w[o, c] in lane 0 of V28 + o.
// One c step is one 64-byte load of x, R scalar loads of w and 4R FMLAs by element.

// func rowGemmNEONx4(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)
TEXT ·rowGemmNEONx4(SB), NOSPLIT, $0-56
	MOVD y+0(FP), R0
	MOVD ldy+8(FP), R1
	LSL  $2, R1, R1
	MOVD w+16(FP), R2
	MOVD k+24(FP), R3
	LSL  $2, R3, R14     // bytes per row of w
	MOVD x+32(FP), R4
	MOVD ldx+40(FP), R5
	LSL  $2, R5, R5
	MOVD nb+48(FP), R6

block:
	// y's 4×16 block into the accumulators.
	MOVD R0, R13
	VLD1 (R13), [V0.S4, V1.S4, V2.S4, V3.S4]
	ADD  R1, R13
	VLD1 (R13), [V4.S4, V5.S4, V6.S4, V7.S4]
	ADD  R1, R13
	VLD1 (R13), [V8.S4, V9.S4, V10.S4, V11.S4]
	ADD  R1, R13
	VLD1 (R13), [V12.S4, V13.S4, V14.S4, V15.S4]
	MOVD R2, R7
	ADD  R14, R7, R8
	ADD  R14, R8, R9
	ADD  R14, R9, R10
	MOVD R4, R11
	MOVD R3, R12

cloop:
	VLD1    (R11), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD     R5, R11
	FMOVS.P 4(R7), F28
	FMOVS.P 4(R8), F29
	FMOVS.P 4(R9), F30
	FMOVS.P 4(R10), F31
	ROWFMA(0, 28, 0)
	ROWFMA(1, 29, 0)
	ROWFMA(2, 30, 0)
	ROWFMA(3, 31, 0)
	SUBS    $1, R12
	BNE     cloop

	MOVD R0, R13
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R13)
	ADD  R1, R13
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R13)
	ADD  R1, R13
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R13)
	ADD  R1, R13
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R13)
	ADD  $64, R0
	ADD  $64, R4
	SUBS $1, R6
	BNE  block
	RET

// func rowGemmNEONx1(y *float32, ldy int, w *float32, k int, x *float32, ldx int, nb int)
TEXT ·rowGemmNEONx1(SB), NOSPLIT, $0-56
	MOVD y+0(FP), R0
	MOVD w+16(FP), R2
	MOVD k+24(FP), R3
	MOVD x+32(FP), R4
	MOVD ldx+40(FP), R5
	LSL  $2, R5, R5
	MOVD nb+48(FP), R6

block:
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	MOVD R2, R7
	MOVD R4, R11
	MOVD R3, R12

cloop:
	VLD1    (R11), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD     R5, R11
	FMOVS.P 4(R7), F28
	ROWFMA(0, 28, 0)
	SUBS    $1, R12
	BNE     cloop

	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R0)
	ADD  $64, R0
	ADD  $64, R4
	SUBS $1, R6
	BNE  block
	RET
