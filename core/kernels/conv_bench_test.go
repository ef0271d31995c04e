package kernels

import (
	"math/rand/v2"
	"testing"
)

// The residual preset's layers at batch 16 and 256×256 input (docs/model.md).
var benchConvs = []struct {
	name string
	s    ConvShape
}{
	{"enc.conv1_1to64_k4s2_256", ConvShape{N: 16, C: 1, H: 256, W: 256, K: 64, KH: 4, KW: 4, Stride: 2, Pad: 1}},
	{"enc.conv2_64to128_k4s2_128", ConvShape{N: 16, C: 64, H: 128, W: 128, K: 128, KH: 4, KW: 4, Stride: 2, Pad: 1}},
	{"enc.conv3_128to128_k3_64", ConvShape{N: 16, C: 128, H: 64, W: 64, K: 128, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"res.conv1_128to32_k3_64", ConvShape{N: 16, C: 128, H: 64, W: 64, K: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"res.conv2_32to128_k1_64", ConvShape{N: 16, C: 32, H: 64, W: 64, K: 128, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{"pre_vq_128to64_k1_64", ConvShape{N: 16, C: 128, H: 64, W: 64, K: 64, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{"dec.conv1_64to128_k3_64", ConvShape{N: 16, C: 64, H: 64, W: 64, K: 128, KH: 3, KW: 3, Stride: 1, Pad: 1}},
}

var benchConvTs = []struct {
	name string
	s    ConvTShape
}{
	{"dec.deconv1_128to64_k4s2_64", ConvTShape{N: 16, C: 128, H: 64, W: 64, K: 64, KH: 4, KW: 4, Stride: 2, Pad: 1}},
	{"dec.deconv2_64to1_k4s2_128", ConvTShape{N: 16, C: 64, H: 128, W: 128, K: 1, KH: 4, KW: 4, Stride: 2, Pad: 1}},
}

// The machine these run on is shared, so besides the wall-clock rate the benchmarks report the rate per
// CPU-second used by the whole process (all worker threads together): on an otherwise idle machine with
// P cores, GFLOP/s ≈ P × GFLOP/cpu-s when the work splits evenly.

// cpuTimer measures the process CPU time spent in a benchmark loop.
type cpuTimer struct{ start float64 }

func startCPU() cpuTimer { return cpuTimer{processCPUSeconds()} }

// report adds GFLOP/s (wall clock) and GFLOP/cpu-s for b.N operations of flopsPerOp each.
func (c cpuTimer) report(b *testing.B, flopsPerOp float64) {
	total := flopsPerOp * float64(b.N) / 1e9
	b.ReportMetric(total/b.Elapsed().Seconds(), "GFLOP/s")
	if cpu := processCPUSeconds() - c.start; cpu > 0 && c.start > 0 {
		b.ReportMetric(total/cpu, "GFLOP/cpu-s")
	}
}

func BenchmarkConv2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range benchConvs {
		b.Run(c.name, func(b *testing.B) { benchConv(b, rng, c.s) })
	}
}

// benchConv measures the three passes of one convolution layer (data made only when the layer is selected).
func benchConv(b *testing.B, rng *rand.Rand, s ConvShape) {
	x := randSlice(rng, s.N*s.C*s.H*s.W)
	w := randSlice(rng, s.K*s.C*s.KH*s.KW)
	bias := randSlice(rng, s.K)
	dy := randSlice(rng, s.N*s.K*s.OutH()*s.OutW())
	y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
	benchPasses(b, float64(s.N)*s.geom().flops(),
		func() { Conv2D(s, x, w, bias, y) },
		func() { Conv2DBackwardData(s, dy, w, dx) },
		func() { Conv2DBackwardFilter(s, x, dy, dw, db) })
}

// benchPasses times a layer's forward pass and its two backward passes as sub-benchmarks.
func benchPasses(b *testing.B, flops float64, fwd, bwdData, bwdFilter func()) {
	for _, p := range []struct {
		name string
		run  func()
	}{{"fwd", fwd}, {"bwd_data", bwdData}, {"bwd_filter", bwdFilter}} {
		b.Run(p.name, func(b *testing.B) {
			ct := startCPU()
			for b.Loop() {
				p.run()
			}
			ct.report(b, flops)
		})
	}
}

func BenchmarkConvTranspose2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range benchConvTs {
		b.Run(c.name, func(b *testing.B) { benchConvT(b, rng, c.s) })
	}
}

// benchConvT measures the three passes of one transposed-convolution layer.
func benchConvT(b *testing.B, rng *rand.Rand, s ConvTShape) {
	x := randSlice(rng, s.N*s.C*s.H*s.W)
	w := randSlice(rng, s.C*s.K*s.KH*s.KW)
	bias := randSlice(rng, s.K)
	dy := randSlice(rng, s.N*s.K*s.OutH()*s.OutW())
	y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
	benchPasses(b, float64(s.N)*s.geom().flops(),
		func() { ConvTranspose2D(s, x, w, bias, y) },
		func() { ConvTranspose2DBackwardData(s, dy, w, dx) },
		func() { ConvTranspose2DBackwardFilter(s, x, dy, dw, db) })
}

// The residual preset's quantiser: batch 16, 64×64 latent grid, D 64, 512 codes.
const benchQN, benchQD, benchQHW, benchQK = 16, 64, 64 * 64, 512

func BenchmarkNearestCodes(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	z := randSlice(rng, benchQN*benchQD*benchQHW)
	e := randSlice(rng, benchQK*benchQD)
	idx := make([]int32, benchQN*benchQHW)
	ct := startCPU()
	for b.Loop() {
		NearestCodes(z, benchQN, benchQD, benchQHW, e, benchQK, idx)
	}
	ct.report(b, 2*float64(benchQN*benchQHW)*benchQK*benchQD)
}

func BenchmarkGatherScatterCodes(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	idx := make([]int32, benchQN*benchQHW)
	for i := range idx {
		idx[i] = int32(rng.IntN(benchQK))
	}
	e := randSlice(rng, benchQK*benchQD)
	zq := make([]float32, benchQN*benchQD*benchQHW)
	b.Run("gather", func(b *testing.B) {
		for b.Loop() {
			GatherCodes(idx, e, benchQN, benchQD, benchQHW, benchQK, zq)
		}
		b.SetBytes(int64(4 * len(zq)))
	})
	b.Run("scatter", func(b *testing.B) {
		de := make([]float32, len(e))
		for b.Loop() {
			ScatterCodeGrad(idx, zq, benchQN, benchQD, benchQHW, benchQK, de)
		}
		b.SetBytes(int64(4 * len(zq)))
	})
}

func BenchmarkReLU(b *testing.B) {
	// enc.conv2's output: 16×128×64×64.
	rng := rand.New(rand.NewPCG(5, 5))
	x := randSlice(rng, 16*128*64*64)
	y := make([]float32, len(x))
	b.Run("fwd", func(b *testing.B) {
		for b.Loop() {
			ReLU(y, x)
		}
		b.SetBytes(int64(8 * len(x)))
	})
	b.Run("bwd", func(b *testing.B) {
		dx := make([]float32, len(x))
		for b.Loop() {
			ReLUBackward(dx, x, y)
		}
		b.SetBytes(int64(12 * len(x)))
	})
}

// BenchmarkResidualConvStep runs every convolution of one residual-preset training step at batch 16
// (forward, backward data except for the input layer, backward filter) plus the quantiser's nearest-code
// search, in model order, and reports the combined rate and images per second for this part of the step.
func BenchmarkResidualConvStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	type layer struct {
		conv  *ConvShape
		convT *ConvTShape
		reps  int // how many times the layer occurs (residual blocks: 2 in the encoder, 2 in the decoder)
		first bool
	}
	byName := map[string]ConvShape{}
	for _, c := range benchConvs {
		byName[c.name] = c.s
	}
	pick := func(name string) *ConvShape { s := byName[name]; return &s }
	layers := []layer{
		{conv: pick("enc.conv1_1to64_k4s2_256"), reps: 1, first: true},
		{conv: pick("enc.conv2_64to128_k4s2_128"), reps: 1},
		{conv: pick("enc.conv3_128to128_k3_64"), reps: 1},
		{conv: pick("res.conv1_128to32_k3_64"), reps: 4},
		{conv: pick("res.conv2_32to128_k1_64"), reps: 4},
		{conv: pick("pre_vq_128to64_k1_64"), reps: 1},
		{conv: pick("dec.conv1_64to128_k3_64"), reps: 1},
		{convT: &benchConvTs[0].s, reps: 1},
		{convT: &benchConvTs[1].s, reps: 1},
	}
	type bufs struct{ x, w, b, y, dx, dw, db []float32 }
	data := make([]bufs, len(layers))
	var flops float64
	for i, l := range layers {
		var in, wn, k, out int
		var f float64
		if l.conv != nil {
			s := *l.conv
			in, wn, k, out = s.N*s.C*s.H*s.W, s.K*s.C*s.KH*s.KW, s.K, s.N*s.K*s.OutH()*s.OutW()
			f = float64(s.N) * s.geom().flops()
		} else {
			s := *l.convT
			in, wn, k, out = s.N*s.C*s.H*s.W, s.C*s.K*s.KH*s.KW, s.K, s.N*s.K*s.OutH()*s.OutW()
			f = float64(s.N) * s.geom().flops()
		}
		passes := 3.0
		if l.first {
			passes = 2
		}
		flops += f * passes * float64(l.reps)
		data[i] = bufs{randSlice(rng, in), randSlice(rng, wn), randSlice(rng, k), make([]float32, out),
			make([]float32, in), make([]float32, wn), make([]float32, k)}
	}
	z := randSlice(rng, benchQN*benchQD*benchQHW)
	e := randSlice(rng, benchQK*benchQD)
	idx := make([]int32, benchQN*benchQHW)
	flops += 2 * float64(benchQN*benchQHW) * benchQK * benchQD
	ct := startCPU()
	for b.Loop() {
		for i, l := range layers {
			d := data[i]
			for range l.reps {
				if l.conv != nil {
					Conv2D(*l.conv, d.x, d.w, d.b, d.y)
					if !l.first {
						Conv2DBackwardData(*l.conv, d.y, d.w, d.dx)
					}
					Conv2DBackwardFilter(*l.conv, d.x, d.y, d.dw, d.db)
				} else {
					ConvTranspose2D(*l.convT, d.x, d.w, d.b, d.y)
					ConvTranspose2DBackwardData(*l.convT, d.y, d.w, d.dx)
					ConvTranspose2DBackwardFilter(*l.convT, d.x, d.y, d.dw, d.db)
				}
			}
		}
		NearestCodes(z, benchQN, benchQD, benchQHW, e, benchQK, idx)
	}
	ct.report(b, flops)
	b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "img/s")
	b.ReportMetric(flops/16/1e9, "GFLOP/img")
}
