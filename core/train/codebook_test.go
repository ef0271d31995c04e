package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestEMAUpdateMatchesFormula checks one EMA step against the formula written out directly.
func TestEMAUpdateMatchesFormula(t *testing.T) {
	const k, d, b, hw = 3, 2, 1, 4
	const decay, eps = 0.9, 1e-5
	s := newCodebookState(k, d)
	codebook := []float32{0, 0, 1, 1, 5, 5}
	s.initEMA(codebook)
	ze := make([]float32, b*d*hw) // [1,2,4]: positions (0.1,0.2) (0.9,1.1) (1.1,0.9) (0,0)
	for p, v := range [][2]float32{{0.1, 0.2}, {0.9, 1.1}, {1.1, 0.9}, {0, 0}} {
		ze[0*hw+p], ze[1*hw+p] = v[0], v[1]
	}
	idx := []int32{0, 1, 1, 0}
	s.update(codebook, ze, idx, b, hw, true, decay, eps, 0, nil)
	counts := []float64{0.9 + 0.1*2, 0.9 + 0.1*2, 0.9}
	sums := [][2]float64{{0.1 * 0.1, 0.1 * 0.2}, {0.9 + 0.1*2, 0.9 + 0.1*2}, {0.9 * 5, 0.9 * 5}}
	total := counts[0] + counts[1] + counts[2]
	for c := 0; c < k; c++ {
		nhat := (counts[c] + eps) / (total + k*eps) * total
		for j := 0; j < d; j++ {
			want := sums[c][j] / nhat
			if math.Abs(float64(codebook[c*d+j])-want) > 1e-5 {
				t.Errorf("E[%d][%d] = %g, want %g", c, j, codebook[c*d+j], want)
			}
		}
	}
}

// TestDeadCodesRestartWhereTheErrorIs: dead codes move to badly represented encoder outputs, never to the
// positions the codebook already matches exactly, and no position seeds two codes.
func TestDeadCodesRestartWhereTheErrorIs(t *testing.T) {
	const k, d, b, hw = 4, 2, 1, 6
	s := newCodebookState(k, d)
	codebook := []float32{0, 0, 9, 9, 9, 9, 9, 9}
	ze := make([]float32, d*hw)
	far := map[int][2]float32{2: {3, -1}, 5: {-2, 4}}
	for p, v := range far {
		ze[p], ze[hw+p] = v[0], v[1]
	}
	idx := make([]int32, hw) // all positions chose code 0; positions 2 and 5 are far from it
	s.Usage[0] = 100
	n := s.update(codebook, ze, idx, b, hw, false, 0.99, 1e-5, 1, rand.New(rand.NewPCG(1, 2)))
	if n != 2 {
		t.Fatalf("restarted %d codes, want 2 (only two positions carry any error)", n)
	}
	got := map[[2]float32]bool{}
	for c := 1; c < k; c++ {
		v := [2]float32{codebook[c*d], codebook[c*d+1]}
		if v == [2]float32{0, 0} {
			t.Errorf("code %d restarted at the background vector", c)
		}
		got[v] = true
	}
	if !got[far[2]] || !got[far[5]] {
		t.Errorf("restarted codes %v, want both far vectors %v", codebook, far)
	}
}
