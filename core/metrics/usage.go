package metrics

import (
	"fmt"
	"math"
)

// Perplexity returns exp(−Σₖ pₖ log pₖ) of a code histogram, pₖ = counts[k] / Σ counts, with
// 0·log 0 = 0. It is 1 when one code takes every vector and K when K codes are used equally often.
// An empty or all-zero histogram gives 0 (no code is used). It panics on a negative count.
func Perplexity(counts []int) float64 {
	total := 0.0
	for k, c := range counts {
		if c < 0 {
			panic(fmt.Sprintf("metrics: negative count %d for code %d", c, k))
		}
		total += float64(c)
	}
	if total == 0 {
		return 0
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / total
			h -= p * math.Log(p)
		}
	}
	return math.Exp(h)
}

// UsedFraction returns the fraction of codes with a non-zero count: |{k : counts[k] > 0}| / len(counts).
// An empty histogram gives 0. It panics on a negative count.
func UsedFraction(counts []int) float64 {
	if len(counts) == 0 {
		return 0
	}
	used := 0
	for k, c := range counts {
		if c < 0 {
			panic(fmt.Sprintf("metrics: negative count %d for code %d", c, k))
		}
		if c > 0 {
			used++
		}
	}
	return float64(used) / float64(len(counts))
}
