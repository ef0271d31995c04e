package prior

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/brainvq/brainvq/core/model"
)

// InitWeights draws a fresh prior for the VQ-VAE whose codebook [K,D] is given: convolution weights uniform
// in ±1/sqrt(fan_in) over their unmasked taps (masked taps are zero), biases and level tables zero, the
// embedding a copy of the codebook.
func InitWeights(c Config, codebook []float32, seed uint64) (model.Weights, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(codebook) != c.NumCodes*c.CodeDim {
		return nil, fmt.Errorf("prior: codebook has %d values, want K×D = %d×%d", len(codebook), c.NumCodes, c.CodeDim)
	}
	rng := rand.New(rand.NewPCG(seed, 0x7072696f72))
	shapes := c.ParamShapes()
	w := model.Weights{}
	for _, name := range c.ParamNames() { // sorted: the draw order is fixed
		shape := shapes[name]
		t := &model.Tensor{Shape: shape, Data: make([]float32, model.Size(shape))}
		w[name] = t
		if !strings.HasSuffix(name, ".weight") {
			continue
		}
		fanIn := shape[1] * shape[2] * shape[3]
		var mask []float32
		if strings.HasSuffix(name, ".v.weight") {
			var l int
			fmt.Sscanf(name, "l%d.", &l)
			mask = c.VerticalMask(l)
			fanIn = shape[1] * (c.Kernel/2 + boolInt(l > 0)) * c.Kernel
		}
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range t.Data {
			v := float32((rng.Float64()*2 - 1) * bound)
			if mask != nil && mask[i] == 0 {
				v = 0
			}
			t.Data[i] = v
		}
	}
	copy(w[EmbedName].Data, codebook)
	return w, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CheckWeights reports a missing, extra, misshaped or non-finite parameter of a prior of configuration c.
func CheckWeights(c Config, w model.Weights) error {
	if err := w.CheckShapes(c.ParamShapes()); err != nil {
		return fmt.Errorf("prior %w", err)
	}
	return nil
}
