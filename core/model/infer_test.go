package model

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// refConv is a direct float64 convolution (transposed when l.Kind is ConvTranspose) with bias, straight
// from the definitions in docs/model.md; x is [n, l.In, h, w].
func refConv(l Layer, wts Weights, x []float64, n, h, w int) ([]float64, int, int) {
	wt, b := wts[l.Name+".weight"].Data, wts[l.Name+".bias"].Data
	k, s, p := l.Kernel, l.Stride, l.Pad
	if l.Kind == ConvTranspose {
		oh, ow := (h-1)*s-2*p+k, (w-1)*s-2*p+k
		y := make([]float64, n*l.Out*oh*ow)
		for i := range n {
			for c := range l.In {
				for iy := range h {
					for ix := range w {
						v := x[((i*l.In+c)*h+iy)*w+ix]
						for o := range l.Out {
							for ky := range k {
								oy := iy*s - p + ky
								if oy < 0 || oy >= oh {
									continue
								}
								for kx := range k {
									ox := ix*s - p + kx
									if ox < 0 || ox >= ow {
										continue
									}
									y[((i*l.Out+o)*oh+oy)*ow+ox] += float64(wt[((c*l.Out+o)*k+ky)*k+kx]) * v
								}
							}
						}
					}
				}
			}
			for o := range l.Out {
				for j := range oh * ow {
					y[(i*l.Out+o)*oh*ow+j] += float64(b[o])
				}
			}
		}
		return refReLU(l.ReLU, y), oh, ow
	}
	oh, ow := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	y := make([]float64, n*l.Out*oh*ow)
	for i := range n {
		for o := range l.Out {
			for oy := range oh {
				for ox := range ow {
					acc := float64(b[o])
					for c := range l.In {
						for ky := range k {
							iy := oy*s - p + ky
							if iy < 0 || iy >= h {
								continue
							}
							for kx := range k {
								ix := ox*s - p + kx
								if ix < 0 || ix >= w {
									continue
								}
								acc += float64(wt[((o*l.In+c)*k+ky)*k+kx]) * x[((i*l.In+c)*h+iy)*w+ix]
							}
						}
					}
					y[((i*l.Out+o)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return refReLU(l.ReLU, y), oh, ow
}

func refReLU(on bool, y []float64) []float64 {
	if on {
		for i, v := range y {
			y[i] = math.Max(v, 0)
		}
	}
	return y
}

// refStages runs stages the plain way: every layer, ReLU and residual sum on its own.
func refStages(stages []Stage, wts Weights, x []float64, n, h, w int) []float64 {
	for _, st := range stages {
		switch {
		case st.Layer != nil:
			x, h, w = refConv(*st.Layer, wts, x, n, h, w)
		case st.Res != nil:
			r := refReLU(true, append([]float64(nil), x...))
			r, _, _ = refConv(st.Res.Conv1, wts, r, n, h, w)
			r = refReLU(true, r)
			r, _, _ = refConv(st.Res.Conv2, wts, r, n, h, w)
			for i := range x {
				x[i] += r[i]
			}
		case st.ReLU:
			x = refReLU(true, x)
		}
	}
	return x
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*scale) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestInferenceMatchesReference checks Encode and Decode of both presets (16×16 images, three images so
// that the second chunk is partial) against the direct float64 evaluation of docs/model.md, Quantize
// against a brute-force nearest code, and that repeated and concurrent calls agree bit for bit.
func TestInferenceMatchesReference(t *testing.T) {
	for _, preset := range Presets() {
		t.Run(preset, func(t *testing.T) {
			cfg, err := NewConfig(preset, 16)
			if err != nil {
				t.Fatal(err)
			}
			m := &Model{Config: cfg, Weights: InitWeights(cfg, 3), Pre: Preprocess{Mean: 0.3, Variance: 0.05}}
			const n = inferChunk + 3
			s, l, d := cfg.ImageSize, cfg.LatentSize(), cfg.CodeDim
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, n*s*s)
			for i := range x {
				x[i] = rng.Float32()
			}

			ze := m.Encode(x, n)
			u := make([]float64, len(x))
			for i, v := range x {
				u[i] = float64(v - m.Pre.Mean)
			}
			closeTo(t, "z_e", ze, refStages(cfg.Encoder(), m.Weights, u, n, s, s), 1e-5)

			idx := m.Quantize(ze, n)
			e := m.Weights[CodebookName].Data
			for p := range n * l * l {
				img, pos := p/(l*l), p%(l*l)
				dist := func(k int32) float64 {
					var s float64
					for i := range d {
						diff := float64(ze[(img*d+i)*l*l+pos]) - float64(e[int(k)*d+i])
						s += diff * diff
					}
					return s
				}
				for k := range int32(cfg.NumCodes) {
					if dist(k) < dist(idx[p])-1e-9 {
						t.Fatalf("position %d: code %d is nearer than the chosen %d", p, k, idx[p])
					}
				}
			}

			xhat := m.Decode(idx, n)
			zq := make([]float64, n*d*l*l)
			for p := range n * l * l {
				img, pos := p/(l*l), p%(l*l)
				for i := range d {
					zq[(img*d+i)*l*l+pos] = float64(e[int(idx[p])*d+i])
				}
			}
			v := refStages(cfg.Decoder(), m.Weights, zq, n, l, l)
			for i := range v {
				v[i] = math.Min(math.Max(v[i]+float64(m.Pre.Mean), 0), 1)
			}
			closeTo(t, "x̂", xhat, v, 1e-5)

			// Reconstruct, which goes chunk by chunk, is Decode ∘ Quantize ∘ Encode exactly.
			want := m.Reconstruct(x, n)
			for i, v := range xhat {
				if want[i] != v {
					t.Fatalf("Reconstruct differs from Decode(Quantize(Encode)) at %d: %g vs %g", i, want[i], v)
				}
			}

			// Buffers are reused between calls and concurrent calls have their own.
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					got := m.Reconstruct(x, n)
					for i := range want {
						if got[i] != want[i] {
							t.Errorf("concurrent Reconstruct differs at %d: %g vs %g", i, got[i], want[i])
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// BenchmarkReconstruct times encode + quantise + decode of 16 images of 256×256 (the benchmark's batch).
func BenchmarkReconstruct(b *testing.B) {
	for _, preset := range Presets() {
		b.Run(preset, func(b *testing.B) {
			cfg, _ := NewConfig(preset, 256)
			m := &Model{Config: cfg, Weights: InitWeights(cfg, 1), Pre: Preprocess{Mean: 0.12, Variance: 0.03}}
			const n = 16
			rng := rand.New(rand.NewPCG(3, 4))
			x := make([]float32, n*256*256)
			for i := range x {
				x[i] = rng.Float32()
			}
			m.Reconstruct(x, n)
			for b.Loop() {
				m.Reconstruct(x, n)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
