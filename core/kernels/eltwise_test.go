package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{0, 1, 17, 3*eltwiseGrain + 5} {
		src := randSlice(rng, n)
		if n > 5 {
			src[3] = float32(math.NaN())
			src[4] = float32(math.Inf(-1))
			src[5] = float32(math.Copysign(0, -1))
		}
		dst := filled(n, 7)
		ReLU(dst, src)
		for i, v := range src {
			want := v
			if v <= 0 {
				want = 0
			}
			if dst[i] != want && !(math.IsNaN(float64(v)) && math.IsNaN(float64(dst[i]))) || math.Signbit(float64(dst[i])) {
				t.Fatalf("n=%d: ReLU(%g) = %g", n, v, dst[i])
			}
		}
		// In place.
		ReLU(src, src)
		for i := range src {
			if src[i] != dst[i] && !math.IsNaN(float64(src[i])) {
				t.Fatalf("n=%d: in-place ReLU differs at %d", n, i)
			}
		}
	}
	mustPanic(t, "short src", func() { ReLU(make([]float32, 3), make([]float32, 2)) })
}

func TestReLUBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{0, 5, 3*eltwiseGrain + 1} {
		y := randSlice(rng, n)
		for i := range y {
			if y[i] < 0 && i%2 == 0 {
				y[i] = 0 // ReLU outputs: zero or positive
			}
		}
		dy := randSlice(rng, n)
		dx := filled(n, 7)
		ReLUBackward(dx, dy, y)
		for i := range y {
			want := float32(0)
			if y[i] > 0 {
				want = dy[i]
			}
			if dx[i] != want {
				t.Fatalf("n=%d: dx[%d] = %g, want %g (y %g, dy %g)", n, i, dx[i], want, y[i], dy[i])
			}
		}
	}
	// Special values of y: only y > 0 passes the gradient.
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	ys := []float32{0, float32(math.Copysign(0, -1)), nan, -nan, inf, -inf, 1e-45, -1e-45, math.MaxFloat32, -1, 1}
	dx := make([]float32, len(ys))
	dy := filled(len(ys), 3)
	ReLUBackward(dx, dy, ys)
	for i, y := range ys {
		want := float32(0)
		if y > 0 {
			want = 3
		}
		if dx[i] != want {
			t.Errorf("y = %g: dx = %g, want %g", y, dx[i], want)
		}
	}
	mustPanic(t, "short y", func() { ReLUBackward(make([]float32, 3), make([]float32, 3), make([]float32, 2)) })
}

func TestAddBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, c := range []struct{ n, c, hw int }{{1, 1, 1}, {2, 3, 5}, {3, 8, 4096}} {
		y := randSlice(rng, c.n*c.c*c.hw)
		b := randSlice(rng, c.c)
		orig := append([]float32(nil), y...)
		AddBias(y, b, c.n, c.c, c.hw)
		for i := range y {
			ch := (i / c.hw) % c.c
			if y[i] != orig[i]+b[ch] {
				t.Fatalf("%+v: y[%d] = %g, want %g", c, i, y[i], orig[i]+b[ch])
			}
		}
	}
	mustPanic(t, "short b", func() { AddBias(make([]float32, 6), make([]float32, 1), 1, 2, 3) })
}

func TestAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, n := range []int{0, 1, 33, 3*eltwiseGrain + 7} {
		a, b := randSlice(rng, n), randSlice(rng, n)
		dst := filled(n, 9)
		Add(dst, a, b)
		for i := range dst {
			if dst[i] != a[i]+b[i] {
				t.Fatalf("n=%d: dst[%d] = %g, want %g", n, i, dst[i], a[i]+b[i])
			}
		}
		Add(a, a, b) // in place over a
		for i := range a {
			if a[i] != dst[i] {
				t.Fatalf("n=%d: in-place Add differs at %d", n, i)
			}
		}
	}
	mustPanic(t, "short b", func() { Add(make([]float32, 3), make([]float32, 3), make([]float32, 2)) })
}

func TestChannelSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for _, c := range []struct{ n, c, hw int }{{1, 1, 1}, {2, 3, 7}, {4, 16, 1000}} {
		v := randSlice(rng, c.n*c.c*c.hw)
		out := filled(c.c, 5)
		ChannelSums(v, c.n, c.c, c.hw, out)
		for ch := range c.c {
			var want float64
			for i := range c.n {
				for p := range c.hw {
					want += float64(v[(i*c.c+ch)*c.hw+p])
				}
			}
			if math.Abs(float64(out[ch])-want) > 1e-5*float64(c.n*c.hw) {
				t.Fatalf("%+v: out[%d] = %g, want %g", c, ch, out[ch], want)
			}
		}
	}
	mustPanic(t, "short out", func() { ChannelSums(make([]float32, 6), 1, 2, 3, make([]float32, 1)) })
}

// TestEltwiseEveryPath reruns the elementwise tests on every instruction-set path this CPU runs.
func TestEltwiseEveryPath(t *testing.T) {
	saved := currentISA()
	defer setISA(saved)
	for _, k := range availableISAs() {
		setISA(k)
		t.Run(k.String(), func(t *testing.T) {
			TestReLU(t)
			TestReLUBackward(t)
			TestAdd(t)
			TestAddBias(t)
			TestChannelSums(t)
		})
	}
}
