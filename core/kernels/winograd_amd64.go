package kernels

// winoInAVX512 and winoInAVX2 are the input transform (winoInputRef) over groups of 16 or 8 tiles: groups
// counts them in one tile row; strides are in elements.
//
//go:noescape
func winoInAVX512(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

//go:noescape
func winoInAVX2(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

// winoOutAVX512 and winoOutAVX2 are the output transform (winoOutputRef) over groups of 16 or 8 tiles.
//
//go:noescape
func winoOutAVX512(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

//go:noescape
func winoOutAVX2(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

// winoInputAsm runs the input transform in assembly and reports true, or reports false where the path
// has none for this tile count. The caller has checked the bounds.
func winoInputAsm(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) bool {
	switch {
	case useAVX512 && tiles%16 == 0:
		winoInAVX512(&v[0], vstep, &p[0], pstep, cstepP, cstepV, nc, tiles/16)
	case useAVX2 && tiles%8 == 0:
		winoInAVX2(&v[0], vstep, &p[0], pstep, cstepP, cstepV, nc, tiles/8)
	default:
		return false
	}
	return true
}

// winoOutputAsm is winoInputAsm for the output transform.
func winoOutputAsm(y []float32, ystep, cstepY int, m []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) bool {
	switch {
	case useAVX512 && tiles%16 == 0:
		winoOutAVX512(&y[0], ystep, cstepY, &m[0], mstep, cstepM, &bias[0], nc, tiles/16, flags)
	case useAVX2 && tiles%8 == 0:
		winoOutAVX2(&y[0], ystep, cstepY, &m[0], mstep, cstepM, &bias[0], nc, tiles/8, flags)
	default:
		return false
	}
	return true
}

// winoGradAVX512 and winoGradAVX2 are the output-gradient transform (winoGradRef) over groups of 16 or 8
// tiles.
//
//go:noescape
func winoGradAVX512(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)

//go:noescape
func winoGradAVX2(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)

// winoGradAsm is winoInputAsm for the output-gradient transform.
func winoGradAsm(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) bool {
	switch {
	case useAVX512 && tiles%16 == 0:
		winoGradAVX512(&m[0], mstep, &dy[0], dstep, cstepD, cstepM, nc, tiles/16)
	case useAVX2 && tiles%8 == 0:
		winoGradAVX2(&m[0], mstep, &dy[0], dstep, cstepD, cstepM, nc, tiles/8)
	default:
		return false
	}
	return true
}

// wino22InAVX512, wino22InAVX2, wino22OutAVX512 and wino22OutAVX2 are the F(2×2, 2×2) transforms
// (wino22InputRef, wino22OutputRef) over groups of 16 or 8 tiles.
//
//go:noescape
func wino22InAVX512(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

//go:noescape
func wino22InAVX2(v *float32, vstep int, p *float32, pstep, cstepP, cstepV, nc, groups int)

//go:noescape
func wino22OutAVX512(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

//go:noescape
func wino22OutAVX2(y *float32, ystep, cstepY int, m *float32, mstep, cstepM int, bias *float32, nc, groups, flags int)

// wino22InputAsm is winoInputAsm for the F(2×2, 2×2) input transform.
func wino22InputAsm(v []float32, vstep int, p []float32, pstep, cstepP, cstepV, nc, tiles int) bool {
	switch {
	case useAVX512 && tiles%16 == 0:
		wino22InAVX512(&v[0], vstep, &p[0], pstep, cstepP, cstepV, nc, tiles/16)
	case useAVX2 && tiles%8 == 0:
		wino22InAVX2(&v[0], vstep, &p[0], pstep, cstepP, cstepV, nc, tiles/8)
	default:
		return false
	}
	return true
}

// wino22OutputAsm is winoOutputAsm for the F(2×2, 2×2) output transform.
func wino22OutputAsm(y []float32, ystep, cstepY int, m []float32, mstep, cstepM int, bias []float32, nc, tiles, flags int) bool {
	switch {
	case useAVX512 && tiles%16 == 0:
		wino22OutAVX512(&y[0], ystep, cstepY, &m[0], mstep, cstepM, &bias[0], nc, tiles/16, flags)
	case useAVX2 && tiles%8 == 0:
		wino22OutAVX2(&y[0], ystep, cstepY, &m[0], mstep, cstepM, &bias[0], nc, tiles/8, flags)
	default:
		return false
	}
	return true
}

// wino22GradAVX512 and wino22GradAVX2 are the F(2×2, 2×2) output-gradient transform (wino22GradRef) over
// groups of 16 or 8 tiles.
//
//go:noescape
func wino22GradAVX512(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)

//go:noescape
func wino22GradAVX2(m *float32, mstep int, dy *float32, dstep, cstepD, cstepM, nc, groups int)

// wino22GradAsm is winoInputAsm for the F(2×2, 2×2) output-gradient transform.
func wino22GradAsm(m []float32, mstep int, dy []float32, dstep, cstepD, cstepM, nc, tiles int) bool {
	switch {
	case useAVX512 && tiles%16 == 0:
		wino22GradAVX512(&m[0], mstep, &dy[0], dstep, cstepD, cstepM, nc, tiles/16)
	case useAVX2 && tiles%8 == 0:
		wino22GradAVX2(&m[0], mstep, &dy[0], dstep, cstepD, cstepM, nc, tiles/8)
	default:
		return false
	}
	return true
}
