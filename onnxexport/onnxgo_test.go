package onnxexport

// These tests run exported graphs in a second, independent ONNX implementation: onnx-go v0.5.0 with its
// gorgonia backend (gorgonnx), and compare with the Go model (core/model). onnx-go covers only part of the
// standard: it lacks ConvTranspose, ArgMin, Gather, ReduceSum, Cast and Clip. encoder.onnx runs as
// exported; the decoder and quantiser run as test-only variants that express the same computation with
// operators onnx-go has (ConvTranspose as a polyphase Conv, the quantiser distances as MatMuls, Gather and
// ArgMin done in Go around the graph). The variants are built with the exporter's own builder and layer
// code, so they check the weights, layouts and stage wiring the real files use.

import (
	"fmt"
	"math"
	"testing"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/onnxexport/internal/testmodel"
	onnx "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"gorgonia.org/tensor"
)

// runOnnxGo decodes an ONNX model with onnx-go, feeds input (shape, data) and returns the first output.
func runOnnxGo(t *testing.T, b []byte, shape []int, input any) tensor.Tensor {
	t.Helper()
	backend := gorgonnx.NewGraph()
	m := onnx.NewModel(backend)
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatalf("onnx-go cannot decode the model: %v", err)
	}
	if err := m.SetInput(0, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(input))); err != nil {
		t.Fatalf("onnx-go SetInput: %v", err)
	}
	if err := backend.Run(); err != nil {
		t.Fatalf("onnx-go Run: %v", err)
	}
	out, err := m.GetOutputTensors()
	if err != nil {
		t.Fatalf("onnx-go outputs: %v", err)
	}
	return out[0]
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// fixture is a small model and batch for one preset.
type fixture struct {
	ck *model.Checkpoint
	x  []float32
	n  int
}

func newFixture(t *testing.T, preset string, size, n int) fixture {
	t.Helper()
	x := testmodel.Images(n, size, 7)
	ck, err := testmodel.Checkpoint(preset, size, x, n, 11)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{ck, x, n}
}

func TestOnnxGoEncoderMatchesGoModel(t *testing.T) {
	for _, preset := range model.Presets() {
		t.Run(preset, func(t *testing.T) {
			f := newFixture(t, preset, 32, 3)
			m := f.ck.Model
			b, err := EncoderModel(f.ck, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := m.Config.ImageSize
			got := runOnnxGo(t, b, []int{f.n, 1, s, s}, append([]float32(nil), f.x...))
			l := m.Config.LatentSize()
			if want := []int{f.n, m.Config.CodeDim, l, l}; fmt.Sprint([]int(got.Shape())) != fmt.Sprint(want) {
				t.Fatalf("onnx-go z_e shape %v, want %v", got.Shape(), want)
			}
			want := m.Encode(f.x, f.n)
			d := maxAbsDiff(got.Data().([]float32), want)
			t.Logf("encoder.onnx in onnx-go vs Go model: max |Δz_e| = %.3g (|z_e| up to %.3g)", d, maxAbs(want))
			if d > 1e-4 {
				t.Errorf("max |Δz_e| = %g > 1e-4", d)
			}
		})
	}
}

func maxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// polyphaseConv emits the transposed convolution l (stride 2 with K − 2·pad = 2, so the output is exactly
// twice the input; or stride 1) with Conv, Reshape and Transpose only.
//
// Stride 2: output row o = 2i + a (a ∈ {0,1}) is Σ_t x[i+t]·W[a + p − 2t] over the taps t where that kernel
// index lies in [0,K). For each of the four phases (a,b) that is a (2T+1)² correlation with symmetric pad T,
// so one Conv with 4·Cout output channels, ordered (a, b, o), computes all phases; Reshape
// [N,2,2,Cout,H,W] → Transpose [N,Cout,H,2,W,2] → Reshape [N,Cout,2H,2W] interleaves them.
// Stride 1: a Conv with the kernel flipped, in/out channels swapped, and pad K−1−p.
func polyphaseConv(t *testing.T, b *builder, x string, l model.Layer, h int) string {
	t.Helper()
	wt := b.w[l.Name+".weight"].Data // [Cin,Cout,K,K]
	bias := b.w[l.Name+".bias"].Data
	cin, cout, k, p := l.In, l.Out, l.Kernel, l.Pad
	var y string
	switch {
	case l.Stride == 1:
		w2 := make([]float32, cout*cin*k*k)
		for o := 0; o < cout; o++ {
			for c := 0; c < cin; c++ {
				for u := 0; u < k; u++ {
					for v := 0; v < k; v++ {
						w2[((o*cin+c)*k+u)*k+v] = wt[((c*cout+o)*k+(k-1-u))*k+(k-1-v)]
					}
				}
			}
		}
		q := int64(k - 1 - p)
		y = b.op("Conv", []string{x, b.floatInit(l.Name+".flipped", []int{cout, cin, k, k}, w2), b.floatInit(l.Name+".bias", []int{cout}, bias)},
			l.Name, intsAttr("kernel_shape", int64(k), int64(k)), intsAttr("pads", q, q, q, q), intsAttr("strides", 1, 1))
	case l.Stride == 2 && k-2*p == 2:
		tmax := 0 // T: the largest |t| with a kernel tap
		for a := 0; a < 2; a++ {
			for tt := -k; tt <= k; tt++ {
				if ki := a + p - 2*tt; ki >= 0 && ki < k {
					tmax = max(tmax, tt, -tt)
				}
			}
		}
		kk := 2*tmax + 1
		w2 := make([]float32, 4*cout*cin*kk*kk)
		b2 := make([]float32, 4*cout)
		for a := 0; a < 2; a++ {
			for bb := 0; bb < 2; bb++ {
				for o := 0; o < cout; o++ {
					ch := (a*2+bb)*cout + o
					b2[ch] = bias[o]
					for c := 0; c < cin; c++ {
						for ty := -tmax; ty <= tmax; ty++ {
							for tx := -tmax; tx <= tmax; tx++ {
								ky, kx := a+p-2*ty, bb+p-2*tx
								if ky < 0 || ky >= k || kx < 0 || kx >= k {
									continue
								}
								w2[((ch*cin+c)*kk+ty+tmax)*kk+tx+tmax] = wt[((c*cout+o)*k+ky)*k+kx]
							}
						}
					}
				}
			}
		}
		tp := int64(tmax)
		phases := b.op("Conv", []string{x, b.floatInit(l.Name+".phase_weight", []int{4 * cout, cin, kk, kk}, w2),
			b.floatInit(l.Name+".phase_bias", []int{4 * cout}, b2)}, l.Name+"/phases",
			intsAttr("kernel_shape", int64(kk), int64(kk)), intsAttr("pads", tp, tp, tp, tp), intsAttr("strides", 1, 1))
		r6 := b.op("Reshape", []string{phases, b.int64Init(l.Name+".shape6", []int{6}, []int64{0, 2, 2, int64(cout), int64(h), int64(h)})}, l.Name+"/split")
		tr := b.op("Transpose", []string{r6}, l.Name+"/interleave", intsAttr("perm", 0, 3, 4, 1, 5, 2))
		y = b.op("Reshape", []string{tr, b.int64Init(l.Name+".shape4", []int{4}, []int64{0, int64(cout), int64(2 * h), int64(2 * h)})}, l.Name)
	default:
		t.Fatalf("polyphaseConv: layer %s (stride %d, kernel %d, pad %d) not supported", l.Name, l.Stride, k, p)
	}
	if l.ReLU {
		y = b.op("Relu", []string{y}, l.Name+"/relu")
	}
	return y
}

// decoderVariant is decoder.onnx without Gather, Clip and the μ shift: z_q [N,D,h,w] → v [N,1,S,S], with
// every ConvTranspose as polyphaseConv. Conv layers and residual blocks come from the exporter's builder.
func decoderVariant(t *testing.T, ck *model.Checkpoint) []byte {
	t.Helper()
	c := ck.Model.Config
	b := newBuilder("decoder_onnxgo_variant", ck.Model.Weights)
	x, h := "z_q", c.LatentSize()
	for _, st := range c.Decoder() {
		if st.Layer != nil && st.Layer.Kind == model.ConvTranspose {
			x = polyphaseConv(t, b, x, *st.Layer, h)
			h = (h-1)*st.Layer.Stride - 2*st.Layer.Pad + st.Layer.Kernel
			continue
		}
		var err error
		if x, err = b.stages(x, []model.Stage{st}, "dec"); err != nil {
			t.Fatal(err)
		}
	}
	b.rename(x, "v")
	b.g.inputs = []valueInfo{latentInfo("z_q", c.CodeDim, c.LatentSize(), "")}
	b.g.outputs = []valueInfo{imageInfo("v", c.ImageSize, "")}
	return newModel(ck, Options{}, "decoder_variant", &b.g).marshal()
}

func TestOnnxGoDecoderVariantMatchesGoModel(t *testing.T) {
	for _, preset := range model.Presets() {
		t.Run(preset, func(t *testing.T) {
			f := newFixture(t, preset, 32, 2)
			m := f.ck.Model
			c := m.Config
			idx := m.Quantize(m.Encode(f.x, f.n), f.n)
			want := m.Decode(idx, f.n)

			// z_q = E[idx] in NCHW: what Gather + Transpose do in decoder.onnx.
			l, d := c.LatentSize(), c.CodeDim
			cb := m.Weights[model.CodebookName].Data
			zq := make([]float32, f.n*d*l*l)
			for img := 0; img < f.n; img++ {
				for p := 0; p < l*l; p++ {
					k := int(idx[img*l*l+p])
					for i := 0; i < d; i++ {
						zq[(img*d+i)*l*l+p] = cb[k*d+i]
					}
				}
			}
			out := runOnnxGo(t, decoderVariant(t, f.ck), []int{f.n, d, l, l}, zq)
			v := out.Data().([]float32)
			if len(v) != len(want) {
				t.Fatalf("onnx-go v has %d values (shape %v), want %d", len(v), out.Shape(), len(want))
			}
			got := make([]float32, len(v))
			for i, x := range v { // Add μ, Clip 0..1 as decoder.onnx does
				got[i] = float32(math.Min(1, math.Max(0, float64(x+m.Pre.Mean))))
			}
			diff := maxAbsDiff(got, want)
			t.Logf("decoder variant in onnx-go vs Go model: max |Δx̂| = %.3g", diff)
			if diff > 1e-4 {
				t.Errorf("max |Δx̂| = %g > 1e-4", diff)
			}
		})
	}
}

// quantizerVariant is the distance part of quantizer.onnx in float64 on positions as rows: z [M,D] →
// dist [M,K] = (‖z‖² + z·(−2Eᵀ)) + ‖E‖², with ‖z‖² as MatMul(z∘z, 1_D) since onnx-go has no ReduceSum.
// The −2Eᵀ and ‖E‖² initializers are the ones quantizer.onnx stores.
func quantizerVariant(ck *model.Checkpoint, rows int) []byte {
	c := ck.Model.Config
	k, d := c.NumCodes, c.CodeDim
	neg2T, sq := quantizerConstants(ck.Model.Weights[model.CodebookName].Data, k, d)
	ones := make([]float64, d)
	for i := range ones {
		ones[i] = 1
	}
	b := newBuilder("quantizer_onnxgo_variant", ck.Model.Weights)
	zc := b.op("Identity", []string{"z"}, "z_copy") // onnx-go merges a node's two edges from the same value
	zz := b.op("Mul", []string{"z", zc}, "z_squared")
	zn := b.op("MatMul", []string{zz, b.doubleInit("ones", []int{d, 1}, ones)}, "z_sqnorm")
	ze := b.op("MatMul", []string{"z", b.doubleInit("vq.codebook_t_neg2", []int{d, k}, neg2T)}, "z_dot_neg2")
	s := b.op("Add", []string{zn, ze}, "partial")
	b.op("Add", []string{s, b.doubleInit("vq.codebook_sqnorm", []int{1, k}, sq)}, "dist")
	b.g.inputs = []valueInfo{{name: "z", elemType: dtDouble, dims: []dim{{value: int64(rows)}, {value: int64(d)}}}}
	b.g.outputs = []valueInfo{{name: "dist", elemType: dtDouble, dims: []dim{{value: int64(rows)}, {value: int64(k)}}}}
	return newModel(ck, Options{}, "quantizer_variant", &b.g).marshal()
}

func TestOnnxGoQuantizerVariantMatchesGoModel(t *testing.T) {
	for _, preset := range model.Presets() {
		t.Run(preset, func(t *testing.T) {
			f := newFixture(t, preset, 32, 2)
			m := f.ck.Model
			c := m.Config
			ze := m.Encode(f.x, f.n)
			want := m.Quantize(ze, f.n)
			l, d, k := c.LatentSize(), c.CodeDim, c.NumCodes
			rows := f.n * l * l
			z := make([]float64, rows*d) // the Transpose to [N,h,w,D] and Cast of quantizer.onnx
			for img := 0; img < f.n; img++ {
				for p := 0; p < l*l; p++ {
					for i := 0; i < d; i++ {
						z[(img*l*l+p)*d+i] = float64(ze[(img*d+i)*l*l+p])
					}
				}
			}
			out := runOnnxGo(t, quantizerVariant(f.ck, rows), []int{rows, d}, z)
			dist := out.Data().([]float64)
			if len(dist) != rows*k {
				t.Fatalf("onnx-go dist has %d values (shape %v), want %d", len(dist), out.Shape(), rows*k)
			}
			cb := m.Weights[model.CodebookName].Data
			hasTwin := func(code int) bool { // an identical code at a higher index
				for j := code + 1; j < k; j++ {
					if fmt.Sprint(cb[j*d:(j+1)*d]) == fmt.Sprint(cb[code*d:(code+1)*d]) {
						return true
					}
				}
				return false
			}
			used := map[int32]bool{}
			mismatch, ties := 0, 0
			for r := 0; r < rows; r++ {
				best := 0 // ArgMin with select_last_index=0: the first minimum
				for j := 1; j < k; j++ {
					if dist[r*k+j] < dist[r*k+best] {
						best = j
					}
				}
				if !used[want[r]] && hasTwin(int(want[r])) {
					ties++
				}
				used[want[r]] = true
				if int32(best) != want[r] {
					mismatch++
					t.Errorf("position %d: onnx-go argmin %d (dist %.17g), Go model %d (dist %.17g)",
						r, best, dist[r*k+best], want[r], dist[r*k+int(want[r])])
				}
				if int(want[r]) >= k-k/4 {
					t.Errorf("position %d: Go picked code %d, a duplicate of a lower code (ties must go to the lowest)", r, want[r])
				}
			}
			t.Logf("%d positions, %d distinct codes used (%d of them with an identical twin), %d mismatches",
				rows, len(used), ties, mismatch)
			if len(used) < 8 || ties == 0 {
				t.Errorf("%d codes used, %d with twins: the fixture does not exercise the quantiser", len(used), ties)
			}
		})
	}
}
