package kernels

import "math"

// Plain direct-loop references, written straight from the defining sums and accumulated in float64. They
// share nothing with the fast kernels but the shape types.

// naiveConv2D is y[n,k,oy,ox] = b[k] + Σ_{c,ky,kx} w[k,c,ky,kx]·x[n,c,oy·S−P+ky,ox·S−P+kx].
func naiveConv2D(s ConvShape, x, w, b []float32) []float64 {
	oh, ow := s.OutH(), s.OutW()
	y := make([]float64, s.N*s.K*oh*ow)
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var acc float64
					if b != nil {
						acc = float64(b[k])
					}
					for c := 0; c < s.C; c++ {
						for ky := 0; ky < s.KH; ky++ {
							iy := oy*s.Stride - s.Pad + ky
							if iy < 0 || iy >= s.H {
								continue
							}
							for kx := 0; kx < s.KW; kx++ {
								ix := ox*s.Stride - s.Pad + kx
								if ix < 0 || ix >= s.W {
									continue
								}
								acc += float64(w[((k*s.C+c)*s.KH+ky)*s.KW+kx]) *
									float64(x[((n*s.C+c)*s.H+iy)*s.W+ix])
							}
						}
					}
					y[((n*s.K+k)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return y
}

// naiveConv2DBackwardData scatters every dy entry back through the weights:
// dx[n,c,oy·S−P+ky,ox·S−P+kx] += w[k,c,ky,kx]·dy[n,k,oy,ox].
func naiveConv2DBackwardData(s ConvShape, dy, w []float32) []float64 {
	oh, ow := s.OutH(), s.OutW()
	dx := make([]float64, s.N*s.C*s.H*s.W)
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					g := float64(dy[((n*s.K+k)*oh+oy)*ow+ox])
					for c := 0; c < s.C; c++ {
						for ky := 0; ky < s.KH; ky++ {
							iy := oy*s.Stride - s.Pad + ky
							if iy < 0 || iy >= s.H {
								continue
							}
							for kx := 0; kx < s.KW; kx++ {
								ix := ox*s.Stride - s.Pad + kx
								if ix < 0 || ix >= s.W {
									continue
								}
								dx[((n*s.C+c)*s.H+iy)*s.W+ix] += float64(w[((k*s.C+c)*s.KH+ky)*s.KW+kx]) * g
							}
						}
					}
				}
			}
		}
	}
	return dx
}

// naiveConv2DBackwardFilter is dw[k,c,ky,kx] = Σ_{n,oy,ox} dy[n,k,oy,ox]·x[n,c,oy·S−P+ky,ox·S−P+kx] and
// db[k] = Σ_{n,oy,ox} dy[n,k,oy,ox].
func naiveConv2DBackwardFilter(s ConvShape, x, dy []float32) (dw, db []float64) {
	oh, ow := s.OutH(), s.OutW()
	dw = make([]float64, s.K*s.C*s.KH*s.KW)
	db = make([]float64, s.K)
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					g := float64(dy[((n*s.K+k)*oh+oy)*ow+ox])
					db[k] += g
					for c := 0; c < s.C; c++ {
						for ky := 0; ky < s.KH; ky++ {
							iy := oy*s.Stride - s.Pad + ky
							if iy < 0 || iy >= s.H {
								continue
							}
							for kx := 0; kx < s.KW; kx++ {
								ix := ox*s.Stride - s.Pad + kx
								if ix < 0 || ix >= s.W {
									continue
								}
								dw[((k*s.C+c)*s.KH+ky)*s.KW+kx] += g * float64(x[((n*s.C+c)*s.H+iy)*s.W+ix])
							}
						}
					}
				}
			}
		}
	}
	return dw, db
}

// naiveConvTranspose2D is the scatter definition: y[n,k,iy·S−P+ky,ix·S−P+kx] += w[c,k,ky,kx]·x[n,c,iy,ix],
// plus b[k].
func naiveConvTranspose2D(s ConvTShape, x, w, b []float32) []float64 {
	oh, ow := s.OutH(), s.OutW()
	y := make([]float64, s.N*s.K*oh*ow)
	for n := 0; n < s.N; n++ {
		if b != nil {
			for k := 0; k < s.K; k++ {
				for p := 0; p < oh*ow; p++ {
					y[(n*s.K+k)*oh*ow+p] = float64(b[k])
				}
			}
		}
		for c := 0; c < s.C; c++ {
			for iy := 0; iy < s.H; iy++ {
				for ix := 0; ix < s.W; ix++ {
					v := float64(x[((n*s.C+c)*s.H+iy)*s.W+ix])
					for k := 0; k < s.K; k++ {
						for ky := 0; ky < s.KH; ky++ {
							oy := iy*s.Stride - s.Pad + ky
							if oy < 0 || oy >= oh {
								continue
							}
							for kx := 0; kx < s.KW; kx++ {
								ox := ix*s.Stride - s.Pad + kx
								if ox < 0 || ox >= ow {
									continue
								}
								y[((n*s.K+k)*oh+oy)*ow+ox] += float64(w[((c*s.K+k)*s.KH+ky)*s.KW+kx]) * v
							}
						}
					}
				}
			}
		}
	}
	return y
}

// naiveConvTranspose2DBackwardData is dx[n,c,iy,ix] = Σ_{k,ky,kx} w[c,k,ky,kx]·dy[n,k,iy·S−P+ky,ix·S−P+kx].
func naiveConvTranspose2DBackwardData(s ConvTShape, dy, w []float32) []float64 {
	oh, ow := s.OutH(), s.OutW()
	dx := make([]float64, s.N*s.C*s.H*s.W)
	for n := 0; n < s.N; n++ {
		for c := 0; c < s.C; c++ {
			for iy := 0; iy < s.H; iy++ {
				for ix := 0; ix < s.W; ix++ {
					var acc float64
					for k := 0; k < s.K; k++ {
						for ky := 0; ky < s.KH; ky++ {
							oy := iy*s.Stride - s.Pad + ky
							if oy < 0 || oy >= oh {
								continue
							}
							for kx := 0; kx < s.KW; kx++ {
								ox := ix*s.Stride - s.Pad + kx
								if ox < 0 || ox >= ow {
									continue
								}
								acc += float64(w[((c*s.K+k)*s.KH+ky)*s.KW+kx]) * float64(dy[((n*s.K+k)*oh+oy)*ow+ox])
							}
						}
					}
					dx[((n*s.C+c)*s.H+iy)*s.W+ix] = acc
				}
			}
		}
	}
	return dx
}

// naiveConvTranspose2DBackwardFilter is dw[c,k,ky,kx] = Σ_{n,iy,ix} x[n,c,iy,ix]·dy[n,k,iy·S−P+ky,ix·S−P+kx]
// and db[k] = Σ dy[n,k,·,·].
func naiveConvTranspose2DBackwardFilter(s ConvTShape, x, dy []float32) (dw, db []float64) {
	oh, ow := s.OutH(), s.OutW()
	dw = make([]float64, s.C*s.K*s.KH*s.KW)
	db = make([]float64, s.K)
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			for p := 0; p < oh*ow; p++ {
				db[k] += float64(dy[(n*s.K+k)*oh*ow+p])
			}
		}
		for c := 0; c < s.C; c++ {
			for iy := 0; iy < s.H; iy++ {
				for ix := 0; ix < s.W; ix++ {
					v := float64(x[((n*s.C+c)*s.H+iy)*s.W+ix])
					for k := 0; k < s.K; k++ {
						for ky := 0; ky < s.KH; ky++ {
							oy := iy*s.Stride - s.Pad + ky
							if oy < 0 || oy >= oh {
								continue
							}
							for kx := 0; kx < s.KW; kx++ {
								ox := ix*s.Stride - s.Pad + kx
								if ox < 0 || ox >= ow {
									continue
								}
								dw[((c*s.K+k)*s.KH+ky)*s.KW+kx] += v * float64(dy[((n*s.K+k)*oh+oy)*ow+ox])
							}
						}
					}
				}
			}
		}
	}
	return dw, db
}

// naiveNearestCodes evaluates d = (‖z‖² − 2·z·E_k) + ‖E_k‖² in float64 for every code, sums in component
// order, and keeps the first minimum.
func naiveNearestCodes(z []float32, n, d, hw int, codebook []float32, kc int) []int32 {
	idx := make([]int32, n*hw)
	for img := 0; img < n; img++ {
		for p := 0; p < hw; p++ {
			var zz float64
			for i := 0; i < d; i++ {
				v := float64(z[(img*d+i)*hw+p])
				zz += v * v
			}
			best, bestK := math.Inf(1), 0
			for k := 0; k < kc; k++ {
				var ze, ee float64
				for i := 0; i < d; i++ {
					e := float64(codebook[k*d+i])
					ze += float64(z[(img*d+i)*hw+p]) * e
				}
				for i := 0; i < d; i++ {
					e := float64(codebook[k*d+i])
					ee += e * e
				}
				if dist := zz - 2*ze + ee; dist < best {
					best, bestK = dist, k
				}
			}
			idx[img*hw+p] = int32(bestK)
		}
	}
	return idx
}

// naiveGatherCodes is zq[n,i,p] = codebook[idx[n·HW+p], i].
func naiveGatherCodes(idx []int32, codebook []float32, n, d, hw int) []float32 {
	zq := make([]float32, n*d*hw)
	for img := 0; img < n; img++ {
		for p := 0; p < hw; p++ {
			for i := 0; i < d; i++ {
				zq[(img*d+i)*hw+p] = codebook[int(idx[img*hw+p])*d+i]
			}
		}
	}
	return zq
}

// naiveScatterCodeGrad is dE[k,i] = Σ_{n,p : idx = k} dzq[n,i,p], in float64.
func naiveScatterCodeGrad(idx []int32, dzq []float32, n, d, hw, kc int) []float64 {
	de := make([]float64, kc*d)
	for img := 0; img < n; img++ {
		for p := 0; p < hw; p++ {
			k := int(idx[img*hw+p])
			for i := 0; i < d; i++ {
				de[k*d+i] += float64(dzq[(img*d+i)*hw+p])
			}
		}
	}
	return de
}
