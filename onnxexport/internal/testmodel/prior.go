package testmodel

import (
	"fmt"
	"math/rand/v2"

	"github.com/brainvq/brainvq/core/prior"
)

// Prior returns a prior over cfg whose every parameter is random: prior.InitWeights on a random codebook,
// then Gaussian noise (σ = 0.3) added to every weight, bias and level table — masked vertical taps too, so
// that an export which forgot the mask gives different logits — and the head's last layer scaled up 3×
// so that the code distributions are peaked enough for top-k/top-p to matter. VQ is a made-up fingerprint.
func Prior(cfg prior.Config, seed uint64) (*prior.Prior, error) {
	rng := rand.New(rand.NewPCG(seed, 31))
	cb := make([]float32, cfg.NumCodes*cfg.CodeDim)
	for i := range cb {
		cb[i] = float32(rng.NormFloat64())
	}
	w, err := prior.InitWeights(cfg, cb, seed)
	if err != nil {
		return nil, err
	}
	for _, name := range cfg.ParamNames() { // sorted: the draw order is fixed
		if name == prior.EmbedName {
			continue
		}
		scale := float32(1)
		if name == "head2.weight" {
			scale = 3
		}
		t := w[name]
		for i := range t.Data {
			t.Data[i] = scale * (t.Data[i] + float32(0.3*rng.NormFloat64()))
		}
	}
	return prior.New(cfg, w, fmt.Sprintf("%016x", seed))
}
