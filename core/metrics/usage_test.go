package metrics

import (
	"math"
	"testing"
)

func TestPerplexityMatchesSciPy(t *testing.T) {
	idx := loadFixtures(t)
	for _, h := range idx.Perplexity {
		if got := Perplexity(h.Counts); math.Abs(got-h.Perplexity) > 1e-9*h.Perplexity {
			t.Errorf("Perplexity(%v) = %.12f, scipy %.12f", h.Counts, got, h.Perplexity)
		}
		if got := UsedFraction(h.Counts); math.Abs(got-h.UsedFraction) > 1e-15 {
			t.Errorf("UsedFraction(%v) = %g, numpy %g", h.Counts, got, h.UsedFraction)
		}
	}
}

func TestPerplexityEdgeCases(t *testing.T) {
	uniform := make([]int, 512)
	for i := range uniform {
		uniform[i] = 7
	}
	if got := Perplexity(uniform); math.Abs(got-512) > 1e-9 {
		t.Errorf("uniform over 512 codes: %g", got)
	}
	if got := Perplexity([]int{0, 0, 42, 0}); got != 1 {
		t.Errorf("one code: %g", got)
	}
	if got := Perplexity(nil); got != 0 {
		t.Errorf("empty: %g", got)
	}
	if got := Perplexity([]int{0, 0}); got != 0 {
		t.Errorf("all zero: %g", got)
	}
	if got := UsedFraction(nil); got != 0 {
		t.Errorf("UsedFraction(nil) = %g", got)
	}
	if got := UsedFraction([]int{0, 3, 0, 1}); got != 0.5 {
		t.Errorf("UsedFraction = %g", got)
	}
	expectPanic(t, "Perplexity", "negative", func() { Perplexity([]int{1, -1}) })
	expectPanic(t, "UsedFraction", "negative", func() { UsedFraction([]int{1, -1}) })
}
