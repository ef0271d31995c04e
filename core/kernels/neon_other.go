//go:build !arm64

package kernels

// The NEON paths exist only on arm64 (useNEON is false elsewhere): this stub only lets the portable
// callers compile.

func rowGemmNEON(y []float32, ldy int, w []float32, x []float32, ldx int, m, k, n int) {
	panic("kernels: no NEON path on this architecture")
}
