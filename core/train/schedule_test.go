package train

import (
	"math"
	"testing"
)

// TestRate checks the schedules against their formula written out point by point.
func TestRate(t *testing.T) {
	const lr = 1e-3
	o := Options{LearningRate: lr, Schedule: ScheduleCosine, WarmupSteps: 10, DecaySteps: 110}
	for _, c := range []struct {
		t    int
		want float64
	}{
		{0, lr / 10}, {4, lr * 5 / 10}, {9, lr}, // linear warm-up ending at the peak
		{10, lr},                                          // the cosine starts at the peak
		{60, lr * (1 + CosineFloor) / 2},                  // halfway down
		{110, lr * CosineFloor}, {1000, lr * CosineFloor}, // the floor, and staying there
	} {
		if got := o.Rate(c.t); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("cosine rate at step %d: %g, want %g", c.t, got, c.want)
		}
	}
	for step := 10; step < 110; step++ {
		if o.Rate(step+1) > o.Rate(step) {
			t.Fatalf("cosine rate rises from step %d to %d", step, step+1)
		}
	}
	c := Options{LearningRate: lr, Schedule: ScheduleConstant, WarmupSteps: 4}
	if c.Rate(1) != lr/2 || c.Rate(3) != lr || c.Rate(500) != lr {
		t.Errorf("constant with warm-up: %g %g %g", c.Rate(1), c.Rate(3), c.Rate(500))
	}
	if (Options{LearningRate: lr}).Rate(7) != lr {
		t.Error(`schedule "" is not constant`)
	}
}

func TestScheduleOptions(t *testing.T) {
	base := Options{BatchSize: 2, LearningRate: 1e-3}
	for _, o := range []Options{
		{BatchSize: 2, LearningRate: 1e-3, Schedule: "linear"},
		{BatchSize: 2, LearningRate: 1e-3, WarmupSteps: -1},
		{BatchSize: 2, LearningRate: 1e-3, DecaySteps: -5},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	cos := base
	cos.Schedule = ScheduleCosine
	if got := cos.withDecay(30); got.DecaySteps != DefaultSettings().Epochs*30 {
		t.Errorf("withDecay(30): %d steps, want %d", got.DecaySteps, DefaultSettings().Epochs*30)
	}
	if got := cos.withDecay(0); got.DecaySteps != 0 || got.Rate(50) != cos.LearningRate {
		t.Errorf("unknown epoch length: decay %d steps, rate %g; want none yet and the peak rate", got.DecaySteps, got.Rate(50))
	}
	cos.DecaySteps = 7
	if got := cos.withDecay(30); got.DecaySteps != 7 {
		t.Errorf("withDecay replaced the given decay steps: %d", got.DecaySteps)
	}
}
