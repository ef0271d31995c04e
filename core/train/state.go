package train

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/brainvq/brainvq/core/model"
)

// The pieces of a trainer's state that every trainer of this package (the VQ-VAE's and the prior's) saves
// and restores the same way.

// epochOrder is the order in which epoch (0-based) visits n items: it depends only on the seed and the
// epoch, so a resumed run visits what an uninterrupted one would.
func epochOrder(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch)+1)).Perm(n)
}

// adamInfo is Adam's scalar state as a checkpoint's Info holds it; its moments go to state tensors
// "adam.m/<name>" and "adam.v/<name>".
type adamInfo struct {
	LR, Beta1, Beta2, Eps float64
	T                     int
}

// saveAdam returns a's scalars and copies of its moments as state tensors shaped like the weights.
func saveAdam(a *Adam, w model.Weights) (adamInfo, map[string]*model.Tensor) {
	state := map[string]*model.Tensor{}
	for name, m := range a.M {
		shape := w[name].Shape
		state["adam.m/"+name] = &model.Tensor{Shape: shape, Data: append([]float32(nil), m...)}
		state["adam.v/"+name] = &model.Tensor{Shape: shape, Data: append([]float32(nil), a.V[name]...)}
	}
	return adamInfo{LR: a.LR, Beta1: a.Beta1, Beta2: a.Beta2, Eps: a.Eps, T: a.T}, state
}

// loadAdam rebuilds an Adam from saveAdam's output, checking that every moment matches its weight.
func loadAdam(info adamInfo, state map[string]*model.Tensor, w model.Weights) (*Adam, error) {
	a := &Adam{LR: info.LR, Beta1: info.Beta1, Beta2: info.Beta2, Eps: info.Eps, T: info.T,
		M: map[string][]float32{}, V: map[string][]float32{}}
	for name, t := range w {
		m, okm := state["adam.m/"+name]
		v, okv := state["adam.v/"+name]
		if okm != okv || (okm && (len(m.Data) != len(t.Data) || len(v.Data) != len(t.Data))) {
			return nil, fmt.Errorf("checkpoint optimiser state for %s is incomplete", name)
		}
		if okm {
			a.M[name] = append([]float32(nil), m.Data...)
			a.V[name] = append([]float32(nil), v.Data...)
		}
	}
	return a, nil
}

// readInfo decodes a checkpoint's trainer Info into info; what names the kind of checkpoint in errors.
func readInfo(raw json.RawMessage, info any, what string) error {
	if len(raw) == 0 {
		return fmt.Errorf("%s holds no training state (was it written by the trainer?)", what)
	}
	if err := json.Unmarshal(raw, info); err != nil {
		return fmt.Errorf("%s training state: %w", what, err)
	}
	return nil
}

// restoreRNG rebuilds a trainer's random stream from its saved state.
func restoreRNG(state []byte, what string) (*rand.PCG, *rand.Rand, error) {
	pcg := &rand.PCG{}
	if err := pcg.UnmarshalBinary(state); err != nil {
		return nil, nil, fmt.Errorf("%s RNG state: %w", what, err)
	}
	return pcg, rand.New(pcg), nil
}
