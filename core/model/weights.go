package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a named float32 array with a shape; Data is row-major and len(Data) is the product of Shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Size is the number of elements a shape holds.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Weights maps parameter names to tensors. It is plain data: the trainer, the inference path, the checkpoint and
// the ONNX exporter all read it the same way.
type Weights map[string]*Tensor

// Check reports a missing, extra, misshaped or non-finite parameter of a VQ-VAE of configuration c.
func (w Weights) Check(c Config) error { return w.CheckShapes(c.ParamShapes()) }

// CheckShapes reports a parameter missing from w or extra in it, one whose shape differs from shapes, and
// one holding NaN or ±Inf (a model that diverged and was saved anyway). Every model kind checks its
// weights through it.
func (w Weights) CheckShapes(shapes map[string][]int) error {
	for name, shape := range shapes {
		t, ok := w[name]
		if !ok {
			return fmt.Errorf("weights: missing parameter %s", name)
		}
		if !sameShape(t.Shape, shape) || len(t.Data) != Size(shape) {
			return fmt.Errorf("weights: %s has shape %v (%d values), want %v", name, t.Shape, len(t.Data), shape)
		}
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("weights: %s holds %g at index %d (the model diverged: retrain, or resume from an earlier checkpoint)", name, v, i)
			}
		}
	}
	for name := range w {
		if _, ok := shapes[name]; !ok {
			return fmt.Errorf("weights: unexpected parameter %s", name)
		}
	}
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Clone returns a deep copy.
func (w Weights) Clone() Weights {
	out := make(Weights, len(w))
	for n, t := range w {
		out[n] = &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
	}
	return out
}

// InitWeights draws fresh weights: conv weights uniform in ±1/sqrt(fan_in) (PyTorch's default bound for
// convolutions), biases zero, the codebook uniform in ±1/K (as the VQ-VAE paper's reference code).
func InitWeights(c Config, seed uint64) Weights {
	rng := rand.New(rand.NewPCG(seed, 0x627261696e7671))
	w := Weights{}
	for _, name := range c.ParamNames() { // sorted: the draw order is fixed
		shape := c.ParamShapes()[name]
		t := &Tensor{Shape: shape, Data: make([]float32, Size(shape))}
		w[name] = t
	}
	for _, l := range c.Layers() {
		fanIn := l.In * l.Kernel * l.Kernel
		if l.Kind == ConvTranspose {
			fanIn = l.Out * l.Kernel * l.Kernel
		}
		bound := 1 / math.Sqrt(float64(fanIn))
		t := w[l.Name+".weight"]
		for i := range t.Data {
			t.Data[i] = float32((rng.Float64()*2 - 1) * bound)
		}
	}
	cb := w[CodebookName]
	for i := range cb.Data {
		cb.Data[i] = float32((rng.Float64()*2 - 1) / float64(c.NumCodes))
	}
	return w
}
