package train

import (
	"math"

	"github.com/brainvq/brainvq/core/parallel"
)

// Adam is the Adam optimiser (Kingma & Ba 2015) over named float32 parameters, with bias correction:
//
//	m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  θ ← θ − lr·m̂/(√v̂ + ε),  m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ).
//
// Its moments are plain data so a checkpoint can hold them.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	T                     int                  // steps taken
	M, V                  map[string][]float32 // first and second moments by parameter name
}

// NewAdam returns an optimiser with the usual constants β1=0.9, β2=0.999, ε=1e-8.
func NewAdam(lr float64) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, M: map[string][]float32{}, V: map[string][]float32{}}
}

// Step applies one update to every parameter given its gradient (same length as the parameter).
func (a *Adam) Step(names []string, params, grads [][]float32) {
	a.T++
	c1 := 1 - math.Pow(a.Beta1, float64(a.T))
	c2 := 1 - math.Pow(a.Beta2, float64(a.T))
	lr := float32(a.LR * math.Sqrt(c2) / c1) // folds both bias corrections into the step size
	eps := float32(a.Eps * math.Sqrt(c2))
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	type chunk struct{ p, g, m, v []float32 }
	var chunks []chunk
	const size = 1 << 15 // split big tensors so every worker (parallel.Tasks) shares the work
	for i, name := range names {
		p, g := params[i], grads[i]
		if _, ok := a.M[name]; !ok {
			a.M[name] = make([]float32, len(p))
			a.V[name] = make([]float32, len(p))
		}
		m, v := a.M[name], a.V[name]
		for lo := 0; lo < len(p); lo += size {
			hi := min(len(p), lo+size)
			chunks = append(chunks, chunk{p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]})
		}
	}
	parallel.Tasks(len(chunks), func(i, _ int) {
		c := chunks[i]
		for j := range c.p {
			gj := c.g[j]
			mj := b1*c.m[j] + (1-b1)*gj
			vj := b2*c.v[j] + (1-b2)*gj*gj
			c.m[j], c.v[j] = mj, vj
			c.p[j] -= lr * mj / (float32(math.Sqrt(float64(vj))) + eps)
		}
	})
}
