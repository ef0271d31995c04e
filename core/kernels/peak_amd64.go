package kernels

// FMA loops for measuring the CPU's peak (peak_amd64.s, BenchmarkFMAPeak).

//go:noescape
func fmaLoop512(n int)

//go:noescape
func fmaLoop256(n int)

//go:noescape
func fmaLoopScalar(n int)
