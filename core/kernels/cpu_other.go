//go:build !amd64

package kernels

// hasAVX512 and hasAVX2 are false off amd64: there is no assembly path.
const (
	hasAVX512 = false
	hasAVX2   = false
)
