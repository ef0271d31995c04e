package train

import (
	"fmt"
	"math"
	"slices"
)

// The learning-rate schedules (Options.Schedule).
const (
	// ScheduleConstant keeps the rate at Options.LearningRate after the warm-up.
	ScheduleConstant = "constant"
	// ScheduleCosine lowers it from Options.LearningRate to CosineFloor times that along half a cosine
	// (Loshchilov & Hutter 2017, "SGDR", without restarts), ending at Options.DecaySteps, and holds it there.
	ScheduleCosine = "cosine"
)

// CosineFloor is the fraction of the peak rate a cosine schedule ends at: low enough to settle the weights
// in the last epochs, high enough that training on past the planned end still moves them.
const CosineFloor = 0.05

// Schedules lists the learning-rate schedules in a stable order.
func Schedules() []string { return []string{ScheduleCosine, ScheduleConstant} }

// Rate is the learning rate of optimiser step t (0-based: the number of steps taken before it) under o:
//
//	warm-up (t < W):        lr·(t+1)/W
//	constant:               lr
//	cosine (W ≤ t):         lr·(f + (1−f)·½(1 + cos(π·p))),  p = min(1, (t−W)/(T−W)),  f = CosineFloor
//
// with lr = o.LearningRate, W = o.WarmupSteps and T = o.DecaySteps. A cosine schedule whose T ≤ W decays at
// once to the floor after the warm-up; one whose T is 0 (not planned yet: see withDecay) holds lr.
func (o Options) Rate(t int) float64 {
	lr, w := o.LearningRate, o.WarmupSteps
	if t < w {
		return lr * float64(t+1) / float64(w)
	}
	if o.Schedule != ScheduleCosine || o.DecaySteps == 0 {
		return lr
	}
	p := 1.0
	if span := o.DecaySteps - w; span > 0 {
		p = min(1, float64(t-w)/float64(span))
	}
	return lr * (CosineFloor + (1-CosineFloor)*0.5*(1+math.Cos(math.Pi*p)))
}

// validateSchedule reports a schedule setting out of range.
func (o Options) validateSchedule() error {
	if o.Schedule != "" && !slices.Contains(Schedules(), o.Schedule) {
		return fmt.Errorf("learning-rate schedule %q: choose one of %s or %s", o.Schedule, ScheduleCosine, ScheduleConstant)
	}
	if err := CheckLimit("warmup_steps", "warm-up steps", float64(o.WarmupSteps)); err != nil {
		return err
	}
	return CheckLimit("decay_steps", "decay steps", float64(o.DecaySteps))
}

// withDecay returns o with DecaySteps planned for a cosine schedule that has none: the default number of
// epochs (Defaults.Epochs) of stepsPerEpoch steps. When stepsPerEpoch is unknown (0: a caller-fed source of
// unknown length) o stays as it is: the rate holds at its peak and the trainer plans the decay when the first
// epoch ends, from the steps it took.
func (o Options) withDecay(stepsPerEpoch int) Options {
	if o.Schedule == ScheduleCosine && o.DecaySteps == 0 && stepsPerEpoch > 0 {
		o.DecaySteps = defaults.Epochs * stepsPerEpoch
	}
	return o
}
