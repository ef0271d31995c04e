package model

import (
	"github.com/brainvq/brainvq/core/kernels"
)

// Version is the project version written into checkpoints and exported files.
const Version = "0.1.0"

// Model is a VQ-VAE ready for inference: its configuration, its weights and the preprocessing constants.
// The methods below run the forward pass directly on the kernels, without building a training graph.
type Model struct {
	Config  Config
	Weights Weights
	Pre     Preprocess
}

// inferChunk bounds how many images one forward pass holds in memory at once.
const inferChunk = 8

// Encode maps raw pixels x [N,1,S,S] in [0,1] to encoder outputs z_e [N,D,S/4,S/4]; it subtracts Pre.Mean first.
func (m *Model) Encode(x []float32, n int) []float32 {
	s, l, d := m.Config.ImageSize, m.Config.LatentSize(), m.Config.CodeDim
	out := make([]float32, n*d*l*l)
	for lo := 0; lo < n; lo += inferChunk {
		hi := min(n, lo+inferChunk)
		u := make([]float32, (hi-lo)*s*s)
		for i, p := range x[lo*s*s : hi*s*s] {
			u[i] = p - m.Pre.Mean
		}
		act := Activation{N: hi - lo, C: 1, H: s, W: s, Data: u}
		act = m.runStages(m.Config.Encoder(), act)
		copy(out[lo*d*l*l:], act.Data)
	}
	return out
}

// Quantize maps z_e [N,D,h,w] to code indices [N,h,w]: k* = argmin_k ‖z‖² − 2 z·E_k + ‖E_k‖², ties to the lowest k.
func (m *Model) Quantize(ze []float32, n int) []int32 {
	l := m.Config.LatentSize()
	idx := make([]int32, n*l*l)
	kernels.NearestCodes(ze, n, m.Config.CodeDim, l*l, m.Weights[CodebookName].Data, m.Config.NumCodes, idx)
	return idx
}

// Decode maps code indices [N,h,w] to reconstructions x̂ = clip(v + μ, 0, 1), [N,1,S,S].
func (m *Model) Decode(idx []int32, n int) []float32 {
	s, l, d, k := m.Config.ImageSize, m.Config.LatentSize(), m.Config.CodeDim, m.Config.NumCodes
	out := make([]float32, n*s*s)
	for lo := 0; lo < n; lo += inferChunk {
		hi := min(n, lo+inferChunk)
		zq := make([]float32, (hi-lo)*d*l*l)
		kernels.GatherCodes(idx[lo*l*l:hi*l*l], m.Weights[CodebookName].Data, hi-lo, d, l*l, k, zq)
		act := m.runStages(m.Config.Decoder(), Activation{N: hi - lo, C: d, H: l, W: l, Data: zq})
		dst := out[lo*s*s : hi*s*s]
		for i, v := range act.Data {
			dst[i] = clamp01(v + m.Pre.Mean)
		}
	}
	return out
}

// Reconstruct runs encoder, quantiser and decoder: x [N,1,S,S] in [0,1] → x̂ [N,1,S,S].
func (m *Model) Reconstruct(x []float32, n int) []float32 {
	return m.Decode(m.Quantize(m.Encode(x, n), n), n)
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// Activation is an NCHW tensor.
type Activation struct {
	N, C, H, W int
	Data       []float32
}

func (m *Model) runStages(stages []Stage, a Activation) Activation {
	for _, st := range stages {
		switch {
		case st.Layer != nil:
			a = ApplyLayer(*st.Layer, m.Weights, a)
		case st.Res != nil:
			h := Activation{N: a.N, C: a.C, H: a.H, W: a.W, Data: make([]float32, len(a.Data))}
			kernels.ReLU(h.Data, a.Data)
			h = ApplyLayer(st.Res.Conv1, m.Weights, h)
			kernels.ReLU(h.Data, h.Data)
			h = ApplyLayer(st.Res.Conv2, m.Weights, h)
			for i, v := range h.Data {
				h.Data[i] = v + a.Data[i]
			}
			a = h
		case st.ReLU:
			kernels.ReLU(a.Data, a.Data)
		}
	}
	return a
}

// ApplyLayer runs one convolution or transposed convolution with its bias and optional ReLU.
func ApplyLayer(l Layer, w Weights, a Activation) Activation {
	wt, b := w[l.Name+".weight"].Data, w[l.Name+".bias"].Data
	var out Activation
	if l.Kind == ConvTranspose {
		s := kernels.ConvTShape{N: a.N, C: a.C, H: a.H, W: a.W, K: l.Out, KH: l.Kernel, KW: l.Kernel, Stride: l.Stride, Pad: l.Pad}
		out = Activation{N: a.N, C: l.Out, H: s.OutH(), W: s.OutW()}
		out.Data = make([]float32, out.N*out.C*out.H*out.W)
		kernels.ConvTranspose2D(s, a.Data, wt, b, out.Data)
	} else {
		s := kernels.ConvShape{N: a.N, C: a.C, H: a.H, W: a.W, K: l.Out, KH: l.Kernel, KW: l.Kernel, Stride: l.Stride, Pad: l.Pad}
		out = Activation{N: a.N, C: l.Out, H: s.OutH(), W: s.OutW()}
		out.Data = make([]float32, out.N*out.C*out.H*out.W)
		kernels.Conv2D(s, a.Data, wt, b, out.Data)
	}
	if l.ReLU {
		kernels.ReLU(out.Data, out.Data)
	}
	return out
}
