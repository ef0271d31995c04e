//go:build !amd64

package kernels

// hasAVX512 is false off amd64: there is no assembly path.
const hasAVX512 = false

// useAVX512 is always false off amd64; it is a variable so that code and tests read the same on every
// architecture.
var useAVX512 = false
