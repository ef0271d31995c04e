package model

import (
	"sync"

	"github.com/brainvq/brainvq/core/kernels"
)

// Model is a VQ-VAE ready for inference: its configuration, its weights and the preprocessing constants.
// The methods below run the forward pass directly on the kernels, without building a training graph.
// They may be called from several goroutines at once.
type Model struct {
	Config  Config
	Weights Weights
	Pre     Preprocess
}

// inferChunk bounds how many images one forward pass holds in memory at once. Every layer splits its
// chunk into (image, band) tasks for the workers, so a chunk of 8 keeps two workers busy throughout.
const inferChunk = 8

// Encode maps raw pixels x [N,1,S,S] in [0,1] to encoder outputs z_e [N,D,S/4,S/4]; it subtracts Pre.Mean first.
func (m *Model) Encode(x []float32, n int) []float32 {
	s, l, d := m.Config.ImageSize, m.Config.LatentSize(), m.Config.CodeDim
	out := make([]float32, n*d*l*l)
	ws := getWorkspace()
	defer putWorkspace(ws)
	for lo := 0; lo < n; lo += inferChunk {
		hi := min(n, lo+inferChunk)
		ze := m.encodeChunk(x[lo*s*s:hi*s*s], hi-lo, ws)
		copy(out[lo*d*l*l:], ze)
		ws.put(ze)
	}
	return out
}

// encodeChunk is Encode for n ≤ inferChunk images, into a buffer of ws (give it back with ws.put).
func (m *Model) encodeChunk(x []float32, n int, ws *workspace) []float32 {
	s := m.Config.ImageSize
	u := ws.get(n * s * s)
	for i, p := range x[:n*s*s] {
		u[i] = p - m.Pre.Mean
	}
	return m.runStages(m.Config.Encoder(), Activation{N: n, C: 1, H: s, W: s, Data: u}, ws).Data
}

// Quantize maps z_e [N,D,h,w] to code indices [N,h,w]: k* = argmin_k ‖z‖² − 2 z·E_k + ‖E_k‖², ties to the lowest k.
func (m *Model) Quantize(ze []float32, n int) []int32 {
	l := m.Config.LatentSize()
	idx := make([]int32, n*l*l)
	m.quantizeInto(idx, ze, n)
	return idx
}

// quantizeInto is Quantize into idx (at least n·h·w entries).
func (m *Model) quantizeInto(idx []int32, ze []float32, n int) {
	l := m.Config.LatentSize()
	kernels.NearestCodes(ze, n, m.Config.CodeDim, l*l, m.Weights[CodebookName].Data, m.Config.NumCodes, idx)
}

// Decode maps code indices [N,h,w] to reconstructions x̂ = clip(v + μ, 0, 1), [N,1,S,S].
func (m *Model) Decode(idx []int32, n int) []float32 {
	s, l := m.Config.ImageSize, m.Config.LatentSize()
	out := make([]float32, n*s*s)
	ws := getWorkspace()
	defer putWorkspace(ws)
	for lo := 0; lo < n; lo += inferChunk {
		hi := min(n, lo+inferChunk)
		m.decodeChunk(out[lo*s*s:hi*s*s], idx[lo*l*l:hi*l*l], hi-lo, ws)
	}
	return out
}

// decodeChunk is Decode for n ≤ inferChunk images, into dst [n,1,S,S].
func (m *Model) decodeChunk(dst []float32, idx []int32, n int, ws *workspace) {
	l, d, k := m.Config.LatentSize(), m.Config.CodeDim, m.Config.NumCodes
	zq := ws.get(n * d * l * l)
	kernels.GatherCodes(idx[:n*l*l], m.Weights[CodebookName].Data, n, d, l*l, k, zq)
	act := m.runStages(m.Config.Decoder(), Activation{N: n, C: d, H: l, W: l, Data: zq}, ws)
	for i, v := range act.Data {
		dst[i] = clamp01(v + m.Pre.Mean)
	}
	ws.put(act.Data)
}

// Reconstruct runs encoder, quantiser and decoder: x [N,1,S,S] in [0,1] → x̂ [N,1,S,S]. It is
// Decode(Quantize(Encode(x))) one chunk of images at a time, so that z_e and the code indices of the
// whole batch are never held at once (for 16 images z_e alone is 16 MiB, freshly faulted in each call).
func (m *Model) Reconstruct(x []float32, n int) []float32 {
	s, l := m.Config.ImageSize, m.Config.LatentSize()
	out := make([]float32, n*s*s)
	idx := make([]int32, inferChunk*l*l)
	ws := getWorkspace()
	defer putWorkspace(ws)
	for lo := 0; lo < n; lo += inferChunk {
		hi := min(n, lo+inferChunk)
		ze := m.encodeChunk(x[lo*s*s:hi*s*s], hi-lo, ws)
		m.quantizeInto(idx, ze, hi-lo)
		ws.put(ze)
		m.decodeChunk(out[lo*s*s:hi*s*s], idx, hi-lo, ws)
	}
	return out
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

// runStages applies stages to a through Walk; a's Data came from ws (and goes back to it once read), and
// the result's Data is from ws too.
func (m *Model) runStages(stages []Stage, a Activation, ws *workspace) Activation {
	out, _ := Walk[Activation](stages, inferOps{w: m.Weights, ws: ws}, a) // inferOps never fails
	return out
}

// inferOps runs Walk's steps on the kernels. A ConvStep's ReLUInput, ReLU and Skip map onto the
// convolution's epilogues (kernels.ConvOpts ReLUInput, ReLU, Accumulate into the skip buffer), so a
// residual block is two kernel calls and no elementwise pass: conv1 applies relu(x) while it copies its
// input bands, conv2 adds into the block's input in place and applies the following bare ReLU, if any.
type inferOps struct {
	w  Weights
	ws *workspace
}

// Conv runs s on x into a new buffer, or into skip's buffer when s.Skip; x goes back to the workspace
// unless s.KeepInput.
func (o inferOps) Conv(s ConvStep, x, skip Activation) (Activation, error) {
	out := skip
	if !s.Skip {
		out = layerOutput(s.Layer, x, o.ws)
	}
	applyLayer(s.Layer, o.w, x, out, kernels.ConvOpts{ReLUInput: s.ReLUInput, ReLU: s.ReLU, Accumulate: s.Skip})
	if !s.KeepInput {
		o.ws.put(x.Data)
	}
	return out, nil
}

// ReLU applies max(x, 0) in place.
func (o inferOps) ReLU(x Activation) (Activation, error) {
	kernels.ReLU(x.Data, x.Data)
	return x, nil
}

// layerOutput returns the activation layer l produces from a, its Data drawn from ws.
func layerOutput(l Layer, a Activation, ws *workspace) Activation {
	var oh, ow int
	if l.Kind == ConvTranspose {
		s := kernels.ConvTShape{N: a.N, C: a.C, H: a.H, W: a.W, K: l.Out, KH: l.Kernel, KW: l.Kernel, Stride: l.Stride, Pad: l.Pad}
		oh, ow = s.OutH(), s.OutW()
	} else {
		s := kernels.ConvShape{N: a.N, C: a.C, H: a.H, W: a.W, K: l.Out, KH: l.Kernel, KW: l.Kernel, Stride: l.Stride, Pad: l.Pad}
		oh, ow = s.OutH(), s.OutW()
	}
	return Activation{N: a.N, C: l.Out, H: oh, W: ow, Data: ws.get(a.N * l.Out * oh * ow)}
}

// applyLayer runs layer l on a into out (whose shape layerOutput gave), with the epilogues o.
func applyLayer(l Layer, w Weights, a, out Activation, o kernels.ConvOpts) {
	wt, b := w[l.Name+".weight"].Data, w[l.Name+".bias"].Data
	if l.Kind == ConvTranspose {
		s := kernels.ConvTShape{N: a.N, C: a.C, H: a.H, W: a.W, K: l.Out, KH: l.Kernel, KW: l.Kernel, Stride: l.Stride, Pad: l.Pad}
		kernels.ConvTranspose2DOpts(s, a.Data, wt, b, out.Data, o)
		return
	}
	s := kernels.ConvShape{N: a.N, C: a.C, H: a.H, W: a.W, K: l.Out, KH: l.Kernel, KW: l.Kernel, Stride: l.Stride, Pad: l.Pad}
	kernels.Conv2DOpts(s, a.Data, wt, b, out.Data, o)
}

// ApplyLayer runs one convolution or transposed convolution with its bias and optional ReLU, into a new
// activation.
func ApplyLayer(l Layer, w Weights, a Activation) Activation {
	out := layerOutput(l, a, &workspace{})
	applyLayer(l, w, a, out, kernels.ConvOpts{ReLU: l.ReLU})
	return out
}

// workspace recycles the activation buffers of the inference path, so that after the first chunk a
// forward pass allocates nothing. A buffer handed out may be longer than asked for; its contents are
// undefined.
type workspace struct{ free [][]float32 }

// workspaces keeps workspaces between calls (and lets concurrent calls each have their own).
var workspaces sync.Pool

func getWorkspace() *workspace {
	if ws, ok := workspaces.Get().(*workspace); ok {
		return ws
	}
	return &workspace{}
}

func putWorkspace(ws *workspace) { workspaces.Put(ws) }

// get returns a buffer of n floats: the smallest free one that is large enough, else a new one.
func (ws *workspace) get(n int) []float32 {
	best := -1
	for i, b := range ws.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(ws.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return make([]float32, n)
	}
	b := ws.free[best]
	ws.free[best] = ws.free[len(ws.free)-1]
	ws.free = ws.free[:len(ws.free)-1]
	return b[:n]
}

// put gives a buffer back for reuse.
func (ws *workspace) put(b []float32) { ws.free = append(ws.free, b) }
