package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestSpaceToBatchDilatedConv checks the identity SpaceToBatch stands on: a convolution dilated by d
// (computed naively, tap by tap) equals SpaceToBatch → undilated Conv2D → BatchToSpace, and that
// BatchToSpace inverts SpaceToBatch.
func TestSpaceToBatchDilatedConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, c, h, w, k, kk, d int }{
		{1, 1, 4, 4, 1, 3, 2}, {2, 3, 8, 8, 4, 3, 4}, {1, 2, 6, 12, 3, 5, 3}, {2, 2, 8, 8, 2, 3, 8}, {1, 2, 5, 5, 2, 3, 1},
	} {
		x := make([]float32, tc.n*tc.c*tc.h*tc.w)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		wt := make([]float32, tc.k*tc.c*tc.kk*tc.kk)
		for i := range wt {
			wt[i] = rng.Float32()*2 - 1
		}
		half := tc.kk / 2
		want := make([]float32, tc.n*tc.k*tc.h*tc.w)
		for s := range tc.n {
			for o := range tc.k {
				for i := range tc.h {
					for j := range tc.w {
						var sum float64
						for ci := range tc.c {
							for ky := range tc.kk {
								for kx := range tc.kk {
									y, xx := i+(ky-half)*tc.d, j+(kx-half)*tc.d
									if y < 0 || y >= tc.h || xx < 0 || xx >= tc.w {
										continue
									}
									sum += float64(wt[((o*tc.c+ci)*tc.kk+ky)*tc.kk+kx]) * float64(x[((s*tc.c+ci)*tc.h+y)*tc.w+xx])
								}
							}
						}
						want[((s*tc.k+o)*tc.h+i)*tc.w+j] = float32(sum)
					}
				}
			}
		}
		nb, hs, ws := tc.n*tc.d*tc.d, tc.h/tc.d, tc.w/tc.d
		sb := make([]float32, len(x))
		SpaceToBatch(sb, x, tc.n, tc.c, tc.h, tc.w, tc.d)
		back := make([]float32, len(x))
		BatchToSpace(back, sb, tc.n, tc.c, tc.h, tc.w, tc.d)
		for i := range x {
			if back[i] != x[i] {
				t.Fatalf("%+v: BatchToSpace(SpaceToBatch(x))[%d] = %v, want %v", tc, i, back[i], x[i])
			}
		}
		yb := make([]float32, nb*tc.k*hs*ws)
		Conv2D(ConvShape{N: nb, C: tc.c, H: hs, W: ws, K: tc.k, KH: tc.kk, KW: tc.kk, Stride: 1, Pad: half}, sb, wt, nil, yb)
		got := make([]float32, len(want))
		BatchToSpace(got, yb, tc.n, tc.k, tc.h, tc.w, tc.d)
		for i := range want {
			if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("%+v: dilated conv [%d] = %v, want %v", tc, i, got[i], want[i])
			}
		}
	}
}
