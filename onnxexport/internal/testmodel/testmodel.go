// Package testmodel makes small brainvq models and images for the ONNX exporter's tests: synthetic smooth
// head-like images, and checkpoints whose weights and codebook exercise every part of the graphs (non-zero
// biases, a codebook spread over the encoder's outputs so many codes are used, and duplicated codes so
// ties happen); and small priors (core/prior) whose every parameter is random.
package testmodel

import (
	"math"
	"math/rand/v2"

	"github.com/brainvq/brainvq/core/model"
)

// Images returns n synthetic size×size images [n,1,size,size] in [0,1], dark overall like OASIS slices: a
// bright elliptic rim (scalp) around a smoothly textured interior (brain) on a black background. Each image
// has its own centre, radii and texture phases drawn from seed.
func Images(n, size int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 17))
	x := make([]float32, n*size*size)
	for i := 0; i < n; i++ {
		cx := 0.5 + 0.05*(rng.Float64()-0.5)
		cy := 0.5 + 0.05*(rng.Float64()-0.5)
		rx := 0.40 + 0.05*rng.Float64()
		ry := 0.32 + 0.05*rng.Float64()
		p1, p2, p3 := 6*rng.Float64(), 6*rng.Float64(), 6*rng.Float64()
		f1, f2 := 6+6*rng.Float64(), 5+7*rng.Float64()
		img := x[i*size*size : (i+1)*size*size]
		for r := 0; r < size; r++ {
			for c := 0; c < size; c++ {
				u := (float64(c)+0.5)/float64(size) - cx
				v := (float64(r)+0.5)/float64(size) - cy
				q := math.Sqrt((u*u)/(rx*rx) + (v*v)/(ry*ry)) // 1 on the rim
				var val float64
				switch {
				case q > 1.08:
					val = 0
				case q > 0.94: // scalp and skull ring, brightest in its middle
					val = 0.9 * math.Exp(-math.Pow((q-1.01)/0.04, 2))
				default: // tissue: a smooth texture that fades towards the centre
					t := math.Sin(f1*u+p1)*math.Cos(f2*v+p2) + 0.5*math.Sin(9*(u+v)+p3)
					val = 0.28 + 0.12*t - 0.1*q*q
				}
				img[r*size+c] = float32(min(1, max(0, val)))
			}
		}
	}
	return x
}

// Stats returns the mean and population variance of x.
func Stats(x []float32) (mean, variance float32) {
	var s, ss float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(len(x))
	for _, v := range x {
		ss += (float64(v) - m) * (float64(v) - m)
	}
	return float32(m), float32(ss / float64(len(x)))
}

// Checkpoint makes a checkpoint of the preset for size×size images. The weights are model.InitWeights with
// biases redrawn uniform in ±0.1, the preprocessing constants are x's statistics, and the codebook is
// re-made from the model's own encoder outputs on the n images x: each code is a randomly chosen z_e
// vector plus 5 % noise, so that codes sit among the encoder outputs as in a trained model, and the last
// quarter of the codes repeat earlier ones exactly (identical codes tie; the lowest index must win).
func Checkpoint(preset string, size int, x []float32, n int, seed uint64) (*model.Checkpoint, error) {
	cfg, err := model.NewConfig(preset, size)
	if err != nil {
		return nil, err
	}
	w := model.InitWeights(cfg, seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, l := range cfg.Layers() {
		for i := range w[l.Name+".bias"].Data {
			w[l.Name+".bias"].Data[i] = float32(0.2 * (rng.Float64() - 0.5))
		}
	}
	mean, variance := Stats(x)
	m := &model.Model{Config: cfg, Weights: w, Pre: model.Preprocess{Mean: mean, Variance: variance}}
	ze := m.Encode(x, n)
	d, hw, k := cfg.CodeDim, cfg.LatentSize()*cfg.LatentSize(), cfg.NumCodes
	cb := w[model.CodebookName].Data
	fresh := k - k/4
	for c := 0; c < fresh; c++ {
		img, p := rng.IntN(n), rng.IntN(hw)
		var norm float64
		for i := 0; i < d; i++ {
			v := float64(ze[(img*d+i)*hw+p])
			norm += v * v
		}
		scale := 0.05 * math.Sqrt(norm/float64(d))
		for i := 0; i < d; i++ {
			cb[c*d+i] = ze[(img*d+i)*hw+p] + float32(scale*rng.NormFloat64())
		}
	}
	for c := fresh; c < k; c++ {
		src := rng.IntN(fresh)
		copy(cb[c*d:(c+1)*d], cb[src*d:(src+1)*d])
	}
	return &model.Checkpoint{Model: m, Epoch: 1, TestSSIM: math.NaN()}, nil
}
