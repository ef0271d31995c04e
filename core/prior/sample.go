package prior

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Sampling draws code grids position by position in raster order, each code from the prior's distribution
// given the codes before it (ancestral sampling). Every draw is a deterministic function of the logits at
// that position and one uniform number u ∈ [0,1), so that any runtime fed the same uniforms (for example
// onnxruntime over prior.onnx, docs/onnx.md) draws the same codes:
//
//  1. z_k = logit_k / T (float64), T the temperature;
//  2. the candidates are all K codes in index order, or — when top-k or top-p is asked for — the codes
//     ranked by z descending (ties: lower index first), cut to the first TopK;
//  3. w_r = exp(z_r − max z) for each candidate r, in candidate order; W = Σ w_r;
//  4. top-p: keep the shortest prefix of the ranked candidates whose Σ w_r ≥ TopP·W; W becomes that sum;
//  5. the code is the first candidate whose running sum Σ_{r' ≤ r} w_r' exceeds u·W (the last one when
//     rounding leaves none).
//
// Uniforms gives the numbers brainvq uses: sample s of a request draws its own stream, so sample s of a seed
// is the same whatever the batch size.

// SampleOptions shape the distribution each code is drawn from.
type SampleOptions struct {
	Temperature float64 // T > 0; 1 samples the model's distribution
	TopK        int     // keep the TopK most likely codes (0: all)
	TopP        float64 // keep the most likely codes whose probabilities add up to TopP (1: all)
}

// DefaultSampleOptions sample the model's own distribution.
func DefaultSampleOptions() SampleOptions { return SampleOptions{Temperature: 1, TopP: 1} }

// OptionError names a sampling option out of range: Option is its snake_case name (temperature, top_k,
// top_p), so that each front end can name its own spelling of it.
type OptionError struct {
	Option  string
	Problem string
}

func (e *OptionError) Error() string { return e.Option + " " + e.Problem }

// Validate reports an option out of range (an *OptionError) for a prior of k codes.
func (o SampleOptions) Validate(k int) error {
	switch {
	case !(o.Temperature > 0) || math.IsInf(o.Temperature, 0):
		return &OptionError{"temperature", fmt.Sprintf("%g must be positive and finite", o.Temperature)}
	case o.TopK < 0 || o.TopK > k:
		return &OptionError{"top_k", fmt.Sprintf("%d outside [0,%d] (0 keeps all codes)", o.TopK, k)}
	case !(o.TopP > 0 && o.TopP <= 1):
		return &OptionError{"top_p", fmt.Sprintf("%g outside (0,1] (1 keeps all codes)", o.TopP)}
	}
	return nil
}

// Uniforms returns the uniform numbers u [n,grid,grid] of samples first…first+n−1 of seed: sample s takes,
// in raster order, the successive Float64() values of math/rand/v2's PCG seeded with (seed, s).
func Uniforms(seed uint64, first, n, grid int) []float64 {
	u := make([]float64, n*grid*grid)
	for s := range n {
		r := rand.New(rand.NewPCG(seed, uint64(first+s)))
		for i := range grid * grid {
			u[s*grid*grid+i] = r.Float64()
		}
	}
	return u
}

// drawer holds the scratch space of Draw.
type drawer struct {
	z     []float64
	w     []float64
	order []int32
}

func newDrawer(k int) *drawer {
	return &drawer{z: make([]float64, k), w: make([]float64, k), order: make([]int32, k)}
}

// Draw picks a code from logits (K values) with uniform u, as the comment at the top of this file says.
func (d *drawer) Draw(logits []float32, u float64, o SampleOptions) int32 {
	k := len(logits)
	z, order := d.z[:k], d.order[:k]
	for i, v := range logits {
		z[i] = float64(v) / o.Temperature
		order[i] = int32(i)
	}
	cand := order
	if o.TopK > 0 || o.TopP < 1 {
		slices.SortStableFunc(order, func(a, b int32) int {
			switch {
			case z[a] > z[b]:
				return -1
			case z[a] < z[b]:
				return 1
			}
			return 0
		})
		if o.TopK > 0 {
			cand = order[:o.TopK]
		}
	}
	m := math.Inf(-1)
	for _, c := range cand {
		m = max(m, z[c])
	}
	w := d.w[:len(cand)]
	var total float64
	for r, c := range cand {
		w[r] = math.Exp(z[c] - m)
		total += w[r]
	}
	if o.TopP < 1 {
		var s float64
		for r := range cand {
			s += w[r]
			if s >= o.TopP*total {
				cand, w = cand[:r+1], w[:r+1]
				break
			}
		}
		total = s
	}
	t := u * total
	var s float64
	for r, c := range cand {
		s += w[r]
		if s > t {
			return c
		}
	}
	return cand[len(cand)-1]
}

// Request is what to sample: N grids with their classes and uniforms [N,h,w]; for completion, Known codes
// [N,h,w] are kept wherever Keep [N,h,w] is true (both nil to sample every position).
type Request struct {
	N        int
	Classes  []int32
	Uniforms []float64
	Options  SampleOptions
	Known    []int32
	Keep     []bool
}

// ErrBadRequest wraps every problem with a sampling request.
var ErrBadRequest = errors.New("bad sampling request")

func (p *Prior) check(r Request) error {
	c := p.Config
	cells := r.N * c.Grid * c.Grid
	switch {
	case r.N < 1:
		return fmt.Errorf("%w: %d samples (need ≥ 1)", ErrBadRequest, r.N)
	case len(r.Classes) != r.N:
		return fmt.Errorf("%w: %d classes for %d samples", ErrBadRequest, len(r.Classes), r.N)
	case len(r.Uniforms) != cells:
		return fmt.Errorf("%w: %d uniforms for %d samples of %d×%d", ErrBadRequest, len(r.Uniforms), r.N, c.Grid, c.Grid)
	case (r.Known == nil) != (r.Keep == nil):
		return fmt.Errorf("%w: known codes and keep mask come together", ErrBadRequest)
	case r.Known != nil && (len(r.Known) != cells || len(r.Keep) != cells):
		return fmt.Errorf("%w: %d known codes and %d mask cells, want %d", ErrBadRequest, len(r.Known), len(r.Keep), cells)
	}
	if err := r.Options.Validate(c.NumCodes); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	for i, cl := range r.Classes {
		if cl < 0 || int(cl) > c.Levels {
			return fmt.Errorf("%w: class %d of sample %d outside [0,%d]", ErrBadRequest, cl, i, c.Levels)
		}
	}
	for i, u := range r.Uniforms {
		if !(u >= 0 && u < 1) {
			return fmt.Errorf("%w: uniform %g at %d outside [0,1)", ErrBadRequest, u, i)
		}
	}
	for i, v := range r.Known {
		if r.Keep[i] && (v < 0 || int(v) >= c.NumCodes) {
			return fmt.Errorf("%w: known code %d at %d outside [0,%d)", ErrBadRequest, v, i, c.NumCodes)
		}
	}
	return nil
}

// SampleNaive draws the codes by running the whole prior once per position (h·w full passes): the
// reference the fast sampler is tested against, and the baseline of its benchmark.
func (p *Prior) SampleNaive(r Request) ([]int32, error) {
	if err := p.check(r); err != nil {
		return nil, err
	}
	c := p.Config
	hw := c.Grid * c.Grid
	codes := make([]int32, r.N*hw)
	if r.Known != nil {
		for i := range codes {
			if r.Keep[i] {
				codes[i] = r.Known[i]
			}
		}
	}
	d := newDrawer(c.NumCodes)
	col := make([]float32, c.NumCodes)
	for pos := range hw {
		needed := false
		for s := range r.N {
			needed = needed || r.Keep == nil || !r.Keep[s*hw+pos]
		}
		if !needed {
			continue
		}
		logits, err := p.Logits(codes, r.Classes, r.N)
		if err != nil {
			return nil, err
		}
		for s := range r.N {
			if r.Keep != nil && r.Keep[s*hw+pos] {
				continue
			}
			for k := range c.NumCodes {
				col[k] = logits[(s*c.NumCodes+k)*hw+pos]
			}
			codes[s*hw+pos] = d.Draw(col, r.Uniforms[s*hw+pos], r.Options)
		}
	}
	return codes, nil
}
