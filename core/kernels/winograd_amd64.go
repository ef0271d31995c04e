package kernels

// The Winograd transforms in assembly (winograd_amd64.s), over groups of 16 (AVX-512) or 8 (AVX2) tiles
// of one tile row; strides in elements. Each computes its Go reference form (winoInputRef, winoOutputRef,
// winoGradRef and the F(2×2, 2×2) three in winograd22.go) in the same order of operations, so the
// results are identical.
var (
	f23Asm = &winoAsm{in512: winoInAVX512, in2: winoInAVX2, out512: winoOutAVX512, out2: winoOutAVX2,
		grad512: winoGradAVX512, grad2: winoGradAVX2}
	f22Asm = &winoAsm{in512: wino22InAVX512, in2: wino22InAVX2, out512: wino22OutAVX512, out2: wino22OutAVX2,
		grad512: wino22GradAVX512, grad2: wino22GradAVX2}
)

//go:noescape
func winoInAVX512(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

//go:noescape
func winoInAVX2(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

//go:noescape
func winoOutAVX512(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

//go:noescape
func winoOutAVX2(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

//go:noescape
func winoGradAVX512(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)

//go:noescape
func winoGradAVX2(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)

//go:noescape
func wino22InAVX512(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

//go:noescape
func wino22InAVX2(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

//go:noescape
func wino22OutAVX512(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

//go:noescape
func wino22OutAVX2(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

//go:noescape
func wino22GradAVX512(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)

//go:noescape
func wino22GradAVX2(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)
