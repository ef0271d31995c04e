//go:build !amd64

package kernels

// The Winograd transforms have no assembly off amd64 (where the Winograd paths are not taken anyway, as
// they need the implicit-GEMM kernels): the Go reference forms run.
var f23Asm, f22Asm *winoAsm
