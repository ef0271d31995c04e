//go:build !amd64

package kernels

// The Winograd transforms have no assembly off amd64 (where the Winograd path is not taken anyway, as it
// needs the implicit-GEMM kernels): the Go reference forms run.
func winoInputAsm(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) bool {
	return false
}

func winoOutputAsm(y []float32, ystep, cstepY int, m []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) bool {
	return false
}

func winoGradAsm(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) bool {
	return false
}

func wino22InputAsm(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) bool {
	return false
}

func wino22OutputAsm(y []float32, ystep, cstepY int, m []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) bool {
	return false
}

func wino22GradAsm(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) bool {
	return false
}
