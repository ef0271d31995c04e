#include "textflag.h"
#include "neon_arm64.h"

// The NEON micro-kernels of Sgemm and of the convolutions' packed products on arm64 (see
// sgemm_arm64.go for what they compute). Each computes one R×16 block of C (R = 6, 4 or 2) per 16-column
// half of a packed kc×32 B panel, keeping the block in R·4 of the 32 128-bit registers:
//
//	V0 … V(4R−1)  the accumulators, row i in V(4i) … V(4i+3) (4 floats each)
//	V24 … V27     one k row of the B half (16 floats)
//	V28, V29      one k column of A (rows 0-3 in V28, rows 4-5 in the low half of V29)
//	V30, V31      alpha and beta in lane 0
//
// A k step is one 64-byte load of B, one or two loads of A and R·4 FMLAs by element
// (acc_i += B · A[i] broadcast from its lane), so the 6-row block does 24 FMLAs (96 multiply-adds) per
// 3 loads.
//
// FMLAE, FMULE and ROWFMA: see neon_arm64.h.

// ZERO4 clears four registers.
#define ZERO4(a, b, c, d) VEOR a, a, a; VEOR b, b, b; VEOR c, c, c; VEOR d, d, d

// STORE0 writes alpha·T for the row whose accumulators are registers n … n+3 (named v0 … v3) to C at
// R13, without reading C.
#define STORE0(v0, v1, v2, v3, n) FMULE(n, n, 30, 0); FMULE((n)+1, (n)+1, 30, 0); FMULE((n)+2, (n)+2, 30, 0); FMULE((n)+3, (n)+3, 30, 0); VST1 [v0, v1, v2, v3], (R13)

// STOREC writes alpha·T + beta·C for the same row.
#define STOREC(v0, v1, v2, v3, n) VLD1 (R13), [V24.S4, V25.S4, V26.S4, V27.S4]; FMULE(n, n, 30, 0); FMULE((n)+1, (n)+1, 30, 0); FMULE((n)+2, (n)+2, 30, 0); FMULE((n)+3, (n)+3, 30, 0); FMLAE(n, 24, 31, 0); FMLAE((n)+1, 25, 31, 0); FMLAE((n)+2, 26, 31, 0); FMLAE((n)+3, 27, 31, 0); VST1 [v0, v1, v2, v3], (R13)

// SETUP loads the arguments: R0 kc, R1 a, R2 ks in bytes, R3 b, R4 c, R5 ldc in bytes, R6 mr, R7 nh,
// R8 the parity of the current half, R9 the step from an odd half to the next panel (kc·128 − 64
// bytes), R15 1 when beta ≠ 0 (C is read), F30 alpha, F31 beta.
#define SETUP \
	MOVD kc+0(FP), R0; \
	MOVD a+8(FP), R1; \
	MOVD ks+16(FP), R2; \
	LSL $2, R2, R2; \
	MOVD b+24(FP), R3; \
	MOVD c+32(FP), R4; \
	MOVD ldc+40(FP), R5; \
	LSL $2, R5, R5; \
	FMOVS alpha+48(FP), F30; \
	FMOVS beta+52(FP), F31; \
	MOVD mr+56(FP), R6; \
	MOVD nh+64(FP), R7; \
	MOVD ZR, R8; \
	LSL $7, R0, R9; \
	SUB $64, R9, R9; \
	FCMPS $(0.0), F31; \
	CSET NE, R15

// func kernelNEONx6(kc int, a *float32, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)
TEXT ·kernelNEONx6(SB), NOSPLIT, $0-72
	SETUP

half:
	ZERO4(V0.B16, V1.B16, V2.B16, V3.B16)
	ZERO4(V4.B16, V5.B16, V6.B16, V7.B16)
	ZERO4(V8.B16, V9.B16, V10.B16, V11.B16)
	ZERO4(V12.B16, V13.B16, V14.B16, V15.B16)
	ZERO4(V16.B16, V17.B16, V18.B16, V19.B16)
	ZERO4(V20.B16, V21.B16, V22.B16, V23.B16)
	MOVD R1, R10
	MOVD R3, R11
	MOVD R0, R12

kloop:
	VLD1  (R11), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1  (R10), [V28.S4]
	FMOVD 16(R10), F29
	ADD   $128, R11
	ADD   R2, R10
	ROWFMA(0, 28, 0)
	ROWFMA(1, 28, 1)
	ROWFMA(2, 28, 2)
	ROWFMA(3, 28, 3)
	ROWFMA(4, 29, 0)
	ROWFMA(5, 29, 1)
	SUBS  $1, R12
	BNE   kloop

	// Rows 0 … mr−1 of the block to C (mr ≤ 6).
	MOVD R4, R13
	MOVD R6, R14
	CBZ  R15, zero0
	STOREC(V0.S4, V1.S4, V2.S4, V3.S4, 0)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V4.S4, V5.S4, V6.S4, V7.S4, 4)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V8.S4, V9.S4, V10.S4, V11.S4, 8)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V12.S4, V13.S4, V14.S4, V15.S4, 12)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V16.S4, V17.S4, V18.S4, V19.S4, 16)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V20.S4, V21.S4, V22.S4, V23.S4, 20)
	B    next

zero0:
	STORE0(V0.S4, V1.S4, V2.S4, V3.S4, 0)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V4.S4, V5.S4, V6.S4, V7.S4, 4)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V8.S4, V9.S4, V10.S4, V11.S4, 8)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V12.S4, V13.S4, V14.S4, V15.S4, 12)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V16.S4, V17.S4, V18.S4, V19.S4, 16)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V20.S4, V21.S4, V22.S4, V23.S4, 20)

next:
	// The next half: the right half of this panel, or the left half of the next one.
	CBNZ R8, odd
	ADD  $64, R3
	MOVD $1, R8
	B    adv

odd:
	ADD  R9, R3
	MOVD ZR, R8

adv:
	ADD  $64, R4
	SUBS $1, R7
	BNE  half
	RET

// func kernelNEONx4(kc int, a *float32, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)
TEXT ·kernelNEONx4(SB), NOSPLIT, $0-72
	SETUP

half:
	ZERO4(V0.B16, V1.B16, V2.B16, V3.B16)
	ZERO4(V4.B16, V5.B16, V6.B16, V7.B16)
	ZERO4(V8.B16, V9.B16, V10.B16, V11.B16)
	ZERO4(V12.B16, V13.B16, V14.B16, V15.B16)
	MOVD R1, R10
	MOVD R3, R11
	MOVD R0, R12

kloop:
	VLD1 (R11), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1 (R10), [V28.S4]
	ADD  $128, R11
	ADD  R2, R10
	ROWFMA(0, 28, 0)
	ROWFMA(1, 28, 1)
	ROWFMA(2, 28, 2)
	ROWFMA(3, 28, 3)
	SUBS $1, R12
	BNE  kloop

	// Rows 0 … mr−1 of the block to C (mr ≤ 4).
	MOVD R4, R13
	MOVD R6, R14
	CBZ  R15, zero0
	STOREC(V0.S4, V1.S4, V2.S4, V3.S4, 0)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V4.S4, V5.S4, V6.S4, V7.S4, 4)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V8.S4, V9.S4, V10.S4, V11.S4, 8)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V12.S4, V13.S4, V14.S4, V15.S4, 12)
	B    next

zero0:
	STORE0(V0.S4, V1.S4, V2.S4, V3.S4, 0)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V4.S4, V5.S4, V6.S4, V7.S4, 4)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V8.S4, V9.S4, V10.S4, V11.S4, 8)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V12.S4, V13.S4, V14.S4, V15.S4, 12)

next:
	CBNZ R8, odd
	ADD  $64, R3
	MOVD $1, R8
	B    adv

odd:
	ADD  R9, R3
	MOVD ZR, R8

adv:
	ADD  $64, R4
	SUBS $1, R7
	BNE  half
	RET

// func kernelNEONx2(kc int, a *float32, ks int, b, c *float32, ldc int, alpha, beta float32, mr, nh int)
TEXT ·kernelNEONx2(SB), NOSPLIT, $0-72
	SETUP

half:
	ZERO4(V0.B16, V1.B16, V2.B16, V3.B16)
	ZERO4(V4.B16, V5.B16, V6.B16, V7.B16)
	MOVD R1, R10
	MOVD R3, R11
	MOVD R0, R12

kloop:
	VLD1  (R11), [V24.S4, V25.S4, V26.S4, V27.S4]
	FMOVD (R10), F28
	ADD   $128, R11
	ADD   R2, R10
	ROWFMA(0, 28, 0)
	ROWFMA(1, 28, 1)
	SUBS  $1, R12
	BNE   kloop

	// Rows 0 … mr−1 of the block to C (mr ≤ 2).
	MOVD R4, R13
	MOVD R6, R14
	CBZ  R15, zero0
	STOREC(V0.S4, V1.S4, V2.S4, V3.S4, 0)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STOREC(V4.S4, V5.S4, V6.S4, V7.S4, 4)
	B    next

zero0:
	STORE0(V0.S4, V1.S4, V2.S4, V3.S4, 0)
	SUBS $1, R14
	BEQ  next
	ADD  R5, R13
	STORE0(V4.S4, V5.S4, V6.S4, V7.S4, 4)

next:
	CBNZ R8, odd
	ADD  $64, R3
	MOVD $1, R8
	B    adv

odd:
	ADD  R9, R3
	MOVD ZR, R8

adv:
	ADD  $64, R4
	SUBS $1, R7
	BNE  half
	RET
