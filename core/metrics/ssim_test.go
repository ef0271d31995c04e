package metrics

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// naiveSSIMMap is an independent reference: the full 2-D 11×11 window summed directly at every pixel,
// reading mirrored pixels past the borders, with the window built from its definition.
func naiveSSIMMap(a, b []float32, h, w int) []float64 {
	var g [11][11]float64
	sum := 0.0
	for i := range 11 {
		for j := range 11 {
			di, dj := float64(i-5), float64(j-5)
			g[i][j] = math.Exp(-(di*di + dj*dj) / (2 * 1.5 * 1.5))
			sum += g[i][j]
		}
	}
	mirror := func(i, n int) int {
		if i < 0 {
			return -1 - i
		}
		if i >= n {
			return 2*n - 1 - i
		}
		return i
	}
	out := make([]float64, h*w)
	for pi := range h {
		for pj := range w {
			var ux, uy, uxx, uyy, uxy float64
			for i := range 11 {
				for j := range 11 {
					q := mirror(pi+i-5, h)*w + mirror(pj+j-5, w)
					x, y, wt := float64(a[q]), float64(b[q]), g[i][j]/sum
					ux += wt * x
					uy += wt * y
					uxx += wt * x * x
					uyy += wt * y * y
					uxy += wt * x * y
				}
			}
			c1, c2 := 0.01*0.01, 0.03*0.03
			vx, vy, vxy := uxx-ux*ux, uyy-uy*uy, uxy-ux*uy
			out[pi*w+pj] = (2*ux*uy + c1) * (2*vxy + c2) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
		}
	}
	return out
}

func croppedMean(m []float64, h, w, r int) float64 {
	s := 0.0
	for i := r; i < h-r; i++ {
		for j := r; j < w-r; j++ {
			s += m[i*w+j]
		}
	}
	return s / float64((h-2*r)*(w-2*r))
}

func randomImage(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// noisy returns clip(x + amp·U(−1,1), 0, 1).
func noisy(rng *rand.Rand, x []float32, amp float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = min(1, max(0, v+amp*(2*rng.Float32()-1)))
	}
	return y
}

func TestSSIMMatchesScikitImage(t *testing.T) {
	idx := loadFixtures(t)
	worst := 0.0
	for _, p := range idx.Pairs {
		got := SSIM(p.a, p.b, p.H, p.W)
		d := math.Abs(got - p.SSIM)
		worst = max(worst, d)
		if d > 1e-6 {
			t.Errorf("%s: SSIM %.12f, scikit-image (float64) %.12f, diff %.2g", p.Name, got, p.SSIM, d)
		}
		// scikit-image filters float32 arrays in float32; that path is off by float32 rounding only.
		if d32 := math.Abs(got - p.SSIMF32); d32 > 1e-4 {
			t.Errorf("%s: SSIM %.9f, scikit-image (float32) %.9f, diff %.2g", p.Name, got, p.SSIMF32, d32)
		}
	}
	t.Logf("largest |SSIM − scikit-image| over %d pairs: %.3g", len(idx.Pairs), worst)
}

func TestSSIMMapMatchesScikitImage(t *testing.T) {
	idx := loadFixtures(t)
	maps := 0
	for _, p := range idx.Pairs {
		if p.Map == "" {
			continue
		}
		maps++
		want, err := readRaw[float64](filepath.Join(fixtureDir, p.Map), p.H*p.W)
		if err != nil {
			t.Fatal(err)
		}
		got := SSIMMap(p.a, p.b, p.H, p.W)
		worst, at := 0.0, 0
		for i := range want {
			if d := math.Abs(got[i] - want[i]); d > worst {
				worst, at = d, i
			}
		}
		if worst > 1e-6 {
			t.Errorf("%s: map differs at (%d,%d): %.12f vs scikit-image %.12f", p.Name, at/p.W, at%p.W, got[at], want[at])
		}
		if d := math.Abs(croppedMean(got, p.H, p.W, SSIMRadius) - SSIM(p.a, p.b, p.H, p.W)); d > 1e-12 {
			t.Errorf("%s: cropped map mean differs from SSIM by %.3g", p.Name, d)
		}
	}
	if maps < 5 {
		t.Fatalf("only %d fixtures carry a full map", maps)
	}
}

func TestSSIMMatchesNaiveWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{11, 11}, {12, 19}, {23, 14}, {32, 32}} {
		h, w := sz[0], sz[1]
		a := randomImage(rng, h*w)
		b := noisy(rng, a, 0.3)
		want := naiveSSIMMap(a, b, h, w)
		got := SSIMMap(a, b, h, w)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("%d×%d: map[%d,%d] = %.15f, naive %.15f", h, w, i/w, i%w, got[i], want[i])
			}
		}
		if g, m := SSIM(a, b, h, w), croppedMean(want, h, w, 5); math.Abs(g-m) > 1e-12 {
			t.Errorf("%d×%d: SSIM %.15f, naive cropped mean %.15f", h, w, g, m)
		}
	}
}

func TestSSIMProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h, w := 40, 30
	a := randomImage(rng, h*w)
	b := noisy(rng, a, 0.2)
	if s := SSIM(a, a, h, w); math.Abs(s-1) > 1e-12 {
		t.Errorf("SSIM(a, a) = %.15f, want 1", s)
	}
	if s1, s2 := SSIM(a, b, h, w), SSIM(b, a, h, w); math.Abs(s1-s2) > 1e-14 {
		t.Errorf("SSIM not symmetric: %.15f vs %.15f", s1, s2)
	}
	// More noise, less similarity.
	prev := 1.0
	for _, amp := range []float32{0.05, 0.1, 0.2, 0.4} {
		s := SSIM(a, noisy(rng, a, amp), h, w)
		if s >= prev {
			t.Errorf("noise %.2f: SSIM %.4f not below %.4f", amp, s, prev)
		}
		prev = s
	}
}

func TestSSIMBatchMatchesSingle(t *testing.T) {
	idx := loadFixtures(t)
	// Stack every 64×64 fixture pair, both ways round, into one batch.
	var a, b []float32
	var want []float64
	for _, p := range idx.Pairs {
		if p.H != 64 || p.W != 64 {
			continue
		}
		a = append(append(a, p.a...), p.b...)
		b = append(append(b, p.b...), p.a...)
		want = append(want, p.SSIM, p.SSIM)
	}
	if len(want) < 4 {
		t.Fatalf("only %d 64×64 images", len(want))
	}
	got := SSIMBatch(a, b, len(want), 64, 64)
	for i := range want {
		if single := SSIM(a[i*4096:(i+1)*4096], b[i*4096:(i+1)*4096], 64, 64); got[i] != single {
			t.Errorf("image %d: batch %.15f, single %.15f", i, got[i], single)
		}
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Errorf("image %d: batch %.12f, scikit-image %.12f", i, got[i], want[i])
		}
	}
	if got := SSIMBatch(nil, nil, 0, 64, 64); len(got) != 0 {
		t.Errorf("empty batch gave %v", got)
	}
}

func expectPanic(t *testing.T, name, substr string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: did not panic", name)
			return
		}
		if msg, _ := r.(string); !strings.Contains(msg, substr) {
			t.Errorf("%s: panic %v, want it to mention %q", name, r, substr)
		}
	}()
	f()
}

func TestSSIMRejectsBadShapes(t *testing.T) {
	img := make([]float32, 16*16)
	expectPanic(t, "short b", "values", func() { SSIM(img, img[:255], 16, 16) })
	expectPanic(t, "wrong h", "values", func() { SSIM(img, img, 15, 16) })
	expectPanic(t, "too small", "at least 11", func() { SSIM(img[:100], img[:100], 10, 10) })
	expectPanic(t, "map too small", "at least 11", func() { SSIMMap(img[:160], img[:160], 16, 10) })
	expectPanic(t, "batch length", "values", func() { SSIMBatch(img, img, 2, 16, 16) })
	if err := CheckSSIMSize(11, 10); err == nil || !strings.Contains(err.Error(), "11×10") {
		t.Errorf("CheckSSIMSize(11, 10) = %v", err)
	}
	if err := CheckSSIMSize(11, 11); err != nil {
		t.Errorf("CheckSSIMSize(11, 11) = %v", err)
	}
}

func TestSSIMKernel(t *testing.T) {
	// The window scipy builds for sigma 1.5, truncate 3.5: radius int(3.5·1.5 + 0.5) = 5.
	sigma := SSIMSigma
	if r := int(3.5*sigma + 0.5); r != SSIMRadius || 2*r+1 != SSIMWindow {
		t.Fatalf("radius %d, window %d", SSIMRadius, SSIMWindow)
	}
	sum := 0.0
	for k, v := range ssimKernel {
		sum += v
		if v != ssimKernel[SSIMWindow-1-k] {
			t.Errorf("kernel not symmetric at %d", k)
		}
	}
	if math.Abs(sum-1) > 1e-15 {
		t.Errorf("kernel sums to %.17f", sum)
	}
	if ratio := ssimKernel[5] / ssimKernel[4]; math.Abs(ratio-math.Exp(0.5/(1.5*1.5))) > 1e-14 {
		t.Errorf("g[0]/g[1] = %.15f", ratio)
	}
}

func BenchmarkSSIMBatch16x256(b *testing.B) {
	const n, h, w = 16, 256, 256
	rng := rand.New(rand.NewPCG(5, 6))
	x := randomImage(rng, n*h*w)
	y := noisy(rng, x, 0.1)
	b.SetBytes(int64(2 * 4 * n * h * w))
	b.ReportAllocs()
	for b.Loop() {
		SSIMBatch(x, y, n, h, w)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e6, "ms/image")
}

func BenchmarkSSIM256(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := randomImage(rng, 256*256)
	y := noisy(rng, x, 0.1)
	for b.Loop() {
		SSIM(x, y, 256, 256)
	}
}
