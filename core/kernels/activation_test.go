package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpfAgainstMathExp(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88.3; x += 0.00137 {
		got, want := float64(Expf(float32(x))), math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 4e-7 {
		t.Fatalf("Expf relative error up to %g, want < 4e-7", worst)
	}
	if !math.IsInf(float64(Expf(89)), 1) || Expf(-88) != 0 || Expf(0) != 1 {
		t.Fatalf("Expf limits: e^89=%g e^-88=%g e^0=%g", Expf(89), Expf(-88), Expf(0))
	}
	if v := Expf(float32(math.NaN())); v == v {
		t.Fatalf("Expf(NaN) = %g", v)
	}
	for _, x := range []float32{-100, -20, -1, -1e-4, 0, 1e-4, 1, 20, 100} {
		s, want := float64(Sigmoid(x)), 1/(1+math.Exp(-float64(x)))
		if math.Abs(s-want) > 2e-7 {
			t.Errorf("Sigmoid(%g) = %g, want %g", x, s, want)
		}
		if d := math.Abs(float64(Tanh(x)) - math.Tanh(float64(x))); d > 3e-7 {
			t.Errorf("Tanh(%g) off by %g", x, d)
		}
	}
}

func TestGateAndGradAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n, c, hw := 3, 5, 7
	a := make([]float32, n*2*c*hw)
	dy := make([]float32, n*c*hw)
	for i := range a {
		a[i] = float32(rng.NormFloat64() * 2)
	}
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, n*c*hw)
	da := make([]float32, len(a))
	Gate(y, a, n, c, hw)
	GateGrad(da, a, dy, n, c, hw)
	for i := range n {
		for ch := range c {
			for p := range hw {
				a1, a2 := float64(a[(i*2*c+ch)*hw+p]), float64(a[(i*2*c+c+ch)*hw+p])
				th, s := math.Tanh(a1), 1/(1+math.Exp(-a2))
				g := float64(dy[(i*c+ch)*hw+p])
				checks := [][2]float64{
					{float64(y[(i*c+ch)*hw+p]), th * s},
					{float64(da[(i*2*c+ch)*hw+p]), g * (1 - th*th) * s},
					{float64(da[(i*2*c+c+ch)*hw+p]), g * th * s * (1 - s)},
				}
				for j, v := range checks {
					if math.Abs(v[0]-v[1]) > 1e-6*(1+math.Abs(g)) {
						t.Fatalf("image %d channel %d pos %d, value %d: got %g, want %g", i, ch, p, j, v[0], v[1])
					}
				}
			}
		}
	}
}

func TestSoftmaxXentAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n, k, hw := 2, 11, 13
	logits := make([]float32, n*k*hw)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	targets := make([]int32, n*hw)
	for i := range targets {
		targets[i] = int32(rng.IntN(k))
	}
	probs := make([]float32, len(logits))
	nll, correct := SoftmaxXent(probs, logits, targets, n, k, hw)
	var want float64
	wantCorrect := 0
	for i := range n {
		for p := range hw {
			var z float64
			arg := 0
			for c := range k {
				v := float64(logits[(i*k+c)*hw+p])
				z += math.Exp(v)
				if v > float64(logits[(i*k+arg)*hw+p]) {
					arg = c
				}
			}
			tgt := int(targets[i*hw+p])
			want += math.Log(z) - float64(logits[(i*k+tgt)*hw+p])
			if arg == tgt {
				wantCorrect++
			}
			for c := range k {
				pr := math.Exp(float64(logits[(i*k+c)*hw+p])) / z
				if d := math.Abs(float64(probs[(i*k+c)*hw+p]) - pr); d > 1e-6 {
					t.Fatalf("prob image %d class %d pos %d: %g, want %g", i, c, p, probs[(i*k+c)*hw+p], pr)
				}
			}
		}
	}
	if math.Abs(nll-want) > 1e-5*want || correct != wantCorrect {
		t.Fatalf("nll %g correct %d, want %g and %d", nll, correct, want, wantCorrect)
	}
}

func BenchmarkExpf(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	b.SetBytes(4 * int64(len(x)))
	var s float32
	for b.Loop() {
		for _, v := range x {
			s += Expf(v)
		}
	}
	_ = s
}

func BenchmarkMathExp(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	b.SetBytes(4 * int64(len(x)))
	var s float64
	for b.Loop() {
		for _, v := range x {
			s += math.Exp(float64(v))
		}
	}
	_ = s
}
