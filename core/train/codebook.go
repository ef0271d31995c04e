package train

import (
	"math/rand/v2"
	"sort"
)

// codebookState keeps the running statistics of the codebook between steps:
// the EMA cluster sizes N_k and sums m_k (used when the codebook learns by EMA) and a usage average u_k that
// decides when a code is dead (used in both modes).
type codebookState struct {
	K, D      int
	Count     []float32 // N_k, EMA of how many positions chose code k per batch
	Sum       []float32 // m_k [K,D], EMA of the sum of those positions' z_e
	Usage     []float32 // u_k, EMA (same decay) of positions per batch, for dead-code restarts
	Restarted int       // codes restarted so far
}

func newCodebookState(k, d int) *codebookState {
	return &codebookState{K: k, D: d, Count: make([]float32, k), Sum: make([]float32, k*d), Usage: make([]float32, k)}
}

// initEMA seeds m_k from the current codebook with unit counts, so the first EMA step starts from it.
func (s *codebookState) initEMA(codebook []float32) {
	for k := 0; k < s.K; k++ {
		s.Count[k] = 1
		copy(s.Sum[k*s.D:(k+1)*s.D], codebook[k*s.D:(k+1)*s.D])
	}
}

// histogram counts how often each code occurs in idx.
func histogram(idx []int32, k int) []int {
	h := make([]int, k)
	for _, i := range idx {
		h[i]++
	}
	return h
}

// update runs after a step on z_e [B,D,HW] whose positions chose idx [B,HW]. With ema it moves the codebook:
//
//	N_k ← γN_k + (1−γ)n_k,  m_k ← γm_k + (1−γ)Σ_{i: idx_i=k} z_i,
//	N̂_k = (N_k + ε)/(ΣN + Kε)·ΣN,  E_k = m_k/N̂_k
//
// Then every code whose usage average fell below minUsage restarts at a z_e of this batch, so no code
// stays dead. It returns the number of codes restarted.
func (s *codebookState) update(codebook, ze []float32, idx []int32, b, hw int, ema bool, decay, eps, minUsage float32, rng *rand.Rand) int {
	k, d := s.K, s.D
	counts := histogram(idx, k)
	for c := 0; c < k; c++ {
		s.Usage[c] = decay*s.Usage[c] + (1-decay)*float32(counts[c])
	}
	if ema {
		sums := make([]float32, k*d)
		for n := 0; n < b; n++ {
			for p := 0; p < hw; p++ {
				c := int(idx[n*hw+p])
				row := sums[c*d : (c+1)*d]
				for j := 0; j < d; j++ {
					row[j] += ze[(n*d+j)*hw+p]
				}
			}
		}
		var total float64
		for c := 0; c < k; c++ {
			s.Count[c] = decay*s.Count[c] + (1-decay)*float32(counts[c])
			total += float64(s.Count[c])
			for j := 0; j < d; j++ {
				s.Sum[c*d+j] = decay*s.Sum[c*d+j] + (1-decay)*sums[c*d+j]
			}
		}
		for c := 0; c < k; c++ {
			nhat := (float64(s.Count[c]) + float64(eps)) / (total + float64(k)*float64(eps)) * total
			for j := 0; j < d; j++ {
				codebook[c*d+j] = float32(float64(s.Sum[c*d+j]) / nhat)
			}
		}
	}
	if minUsage <= 0 {
		return 0
	}
	// Restart candidates are drawn with probability proportional to their quantisation error ‖z − E[idx]‖²
	// (as k-means++ seeds): positions the codebook already represents well (the uniform background, most of
	// all) are rarely picked, and each position is picked at most once.
	var dead []int
	for c := 0; c < k; c++ {
		if s.Usage[c] < minUsage {
			dead = append(dead, c)
		}
	}
	if len(dead) == 0 {
		return 0
	}
	// Weighted sampling without replacement: position p gets the key Exp(1)/err_p; the smallest keys win.
	type cand struct {
		pos int
		key float64
	}
	var cands []cand
	for pos := 0; pos < b*hw; pos++ {
		n, p := pos/hw, pos%hw
		c := int(idx[pos])
		var e float64
		for j := 0; j < d; j++ {
			diff := float64(ze[(n*d+j)*hw+p] - codebook[c*d+j])
			e += diff * diff
		}
		if e > 0 {
			cands = append(cands, cand{pos, rng.ExpFloat64() / e})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].key < cands[j].key })
	restarted := 0
	for i, c := range dead {
		if i >= len(cands) {
			break
		}
		n, p := cands[i].pos/hw, cands[i].pos%hw
		for j := 0; j < d; j++ {
			v := ze[(n*d+j)*hw+p]
			codebook[c*d+j] = v
			if ema {
				s.Sum[c*d+j] = v
			}
		}
		if ema {
			s.Count[c] = 1
		}
		s.Usage[c] = minUsage // it must win about one position per batch from now on to stay
		restarted++
	}
	s.Restarted += restarted
	return restarted
}
