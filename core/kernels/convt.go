package kernels

import "fmt"

// ConvTShape describes a transposed convolution (ONNX ConvTranspose, PyTorch ConvTranspose2d without output
// padding): x [N,C,H,W] with w [C,K,KH,KW] (+ b [K]) → y [N,K,OH,OW],
//
//	y[n,k,iy·Stride−Pad+ky, ix·Stride−Pad+kx] += w[c,k,ky,kx] · x[n,c,iy,ix]   (then + b[k]),
//
// positions that fall outside [0,OH)×[0,OW) being dropped, with OH = (H−1)·Stride − 2·Pad + KH (the same
// for W). It is the adjoint of the convolution ConvShape{N, K, OH, OW, C, KH, KW, Stride, Pad} with the
// same weights, which maps [N,K,OH,OW] back to [N,C,H,W].
type ConvTShape struct{ N, C, H, W, K, KH, KW, Stride, Pad int }

// OutH is the output height (H−1)·Stride − 2·Pad + KH.
func (s ConvTShape) OutH() int { return (s.H-1)*s.Stride - 2*s.Pad + s.KH }

// OutW is the output width (W−1)·Stride − 2·Pad + KW.
func (s ConvTShape) OutW() int { return (s.W-1)*s.Stride - 2*s.Pad + s.KW }

// Validate reports whether every size is positive, the padding is not negative and the output is at least 1×1.
func (s ConvTShape) Validate() error {
	if s.N < 1 || s.C < 1 || s.H < 1 || s.W < 1 || s.K < 1 || s.KH < 1 || s.KW < 1 || s.Stride < 1 || s.Pad < 0 {
		return fmt.Errorf("transposed conv shape %+v: sizes and stride must be positive and pad non-negative", s)
	}
	if s.OutH() < 1 || s.OutW() < 1 {
		return fmt.Errorf("transposed conv shape %+v: padding %d leaves an empty %d×%d output",
			s, s.Pad, s.OutH(), s.OutW())
	}
	return nil
}

// geom is the convolution this transposed convolution is the adjoint of: input [K,OH,OW], weight
// [C,K,KH,KW] read as [Cout=C, Cin=K, KH, KW], output [C,H,W].
func (s ConvTShape) geom() convGeom {
	return convGeom{C: s.K, H: s.OutH(), W: s.OutW(), K: s.C, KH: s.KH, KW: s.KW, S: s.Stride, P: s.Pad,
		OH: s.H, OW: s.W}
}

// ConvTranspose2D computes the transposed convolution y = xᵀ⋆w + b (see ConvTShape), overwriting y
// [N,K,OH,OW]. b may be nil (no bias).
func ConvTranspose2D(s ConvTShape, x, w, b, y []float32) {
	mustConv("ConvTranspose2D", s.Validate())
	g := s.geom()
	mustConvLen("ConvTranspose2D", "x", x, s.N*g.outSize())
	mustConvLen("ConvTranspose2D", "w", w, g.K*g.ckk())
	mustConvLen("ConvTranspose2D", "y", y, s.N*g.inSize())
	if b != nil {
		mustConvLen("ConvTranspose2D", "b", b, s.K)
	}
	g.backwardData(s.N, x, w, b, y, ConvOpts{})
}

// ConvTranspose2DOpts is ConvTranspose2D with the epilogues o: the output is added to y when
// o.Accumulate, and passed through max(·, 0) when o.ReLU.
func ConvTranspose2DOpts(s ConvTShape, x, w, b, y []float32, o ConvOpts) {
	mustConv("ConvTranspose2DOpts", s.Validate())
	g := s.geom()
	mustConvLen("ConvTranspose2DOpts", "x", x, s.N*g.outSize())
	mustConvLen("ConvTranspose2DOpts", "w", w, g.K*g.ckk())
	mustConvLen("ConvTranspose2DOpts", "y", y, s.N*g.inSize())
	if b != nil {
		mustConvLen("ConvTranspose2DOpts", "b", b, s.K)
	}
	if o.ReLUInput {
		panic("kernels.ConvTranspose2DOpts: ReLUInput is not supported")
	}
	g.backwardData(s.N, x, w, b, y, o)
}

// ConvTranspose2DBackwardData overwrites dx [N,C,H,W] with ∂L/∂x given dy [N,K,OH,OW]: a plain convolution
// of dy with the same weights, dx[n,c,iy,ix] = Σ_{k,ky,kx} w[c,k,ky,kx] · dy[n,k,iy·Stride−Pad+ky, ix·Stride−Pad+kx].
func ConvTranspose2DBackwardData(s ConvTShape, dy, w, dx []float32) {
	mustConv("ConvTranspose2DBackwardData", s.Validate())
	g := s.geom()
	mustConvLen("ConvTranspose2DBackwardData", "dy", dy, s.N*g.inSize())
	mustConvLen("ConvTranspose2DBackwardData", "w", w, g.K*g.ckk())
	mustConvLen("ConvTranspose2DBackwardData", "dx", dx, s.N*g.outSize())
	g.forward(s.N, dy, w, nil, dx, ConvOpts{})
}

// ConvTranspose2DBackwardFilter overwrites dw [C,K,KH,KW] with ∂L/∂w,
//
//	dw[c,k,ky,kx] = Σ_{n,iy,ix} x[n,c,iy,ix] · dy[n,k,iy·Stride−Pad+ky, ix·Stride−Pad+kx],
//
// and, when db != nil, db [K] with db[k] = Σ_{n,oy,ox} dy[n,k,oy,ox].
func ConvTranspose2DBackwardFilter(s ConvTShape, x, dy, dw, db []float32) {
	mustConv("ConvTranspose2DBackwardFilter", s.Validate())
	g := s.geom()
	mustConvLen("ConvTranspose2DBackwardFilter", "x", x, s.N*g.outSize())
	mustConvLen("ConvTranspose2DBackwardFilter", "dy", dy, s.N*g.inSize())
	mustConvLen("ConvTranspose2DBackwardFilter", "dw", dw, g.K*g.ckk())
	g.backwardFilter(s.N, dy, x, dw)
	if db != nil {
		mustConvLen("ConvTranspose2DBackwardFilter", "db", db, s.K)
		channelSums(s.N, s.K, g.H*g.W, dy, db)
	}
}
