// Macros shared by the NEON kernels of this package (sgemm_arm64.s, rowgemm_arm64.s).

// Go's assembler has FMLA only in its vector-by-vector form (VFMLA) and no vector FMUL, so the
// by-element forms are encoded here (Arm ARM, "FMLA (by element)" and "FMUL (by element)", 4S
// arrangement: 0 Q=1 0 01111 1 sz=0 L M:Rm opcode H 0 Rn Rd with opcode 0001 for FMLA, 1001 for FMUL,
// lane index H:L). d, n, m are register numbers 0-31.
#define FMLAE(d, n, m, i) WORD $(0x4F801000 | (((i)&1)<<21) | (((i)>>1)<<11) | ((m)<<16) | ((n)<<5) | (d))
#define FMULE(d, n, m, i) WORD $(0x4F809000 | (((i)&1)<<21) | (((i)>>1)<<11) | ((m)<<16) | ((n)<<5) | (d))

// ROWFMA adds V24 … V27 (16 floats of a B or x row) times lane i of register m to the accumulators of
// row r, registers 4r … 4r+3.
#define ROWFMA(r, m, i) FMLAE(4*(r), 24, m, i); FMLAE(4*(r)+1, 25, m, i); FMLAE(4*(r)+2, 26, m, i); FMLAE(4*(r)+3, 27, m, i)
