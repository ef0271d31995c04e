package prior

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// testPrior returns a small prior with random weights everywhere (biases and level tables too), so that no
// path is silently zero.
func testPrior(t testing.TB, layers, kernel int, dilations ...int) *Prior {
	t.Helper()
	cfg := Config{NumCodes: 6, CodeDim: 3, Grid: 5, Channels: 4, Layers: layers, Kernel: kernel, HeadChannels: 6, Levels: 3}
	if len(dilations) > 0 {
		cfg.Grid, cfg.Dilations = 8, dilations // a grid the dilations divide
	}
	rng := rand.New(rand.NewPCG(3, uint64(layers*10+kernel)))
	cb := make([]float32, cfg.NumCodes*cfg.CodeDim)
	for i := range cb {
		cb[i] = float32(rng.NormFloat64())
	}
	w, err := InitWeights(cfg, cb, 7)
	if err != nil {
		t.Fatal(err)
	}
	for name, tn := range w {
		if name == EmbedName {
			continue
		}
		for i := range tn.Data {
			tn.Data[i] += float32(rng.NormFloat64() * 0.3) // masked taps too: the mask must hide them
		}
	}
	p, err := New(cfg, w, "test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randomCodes(rng *rand.Rand, p *Prior, n int) ([]int32, []int32) {
	codes := make([]int32, n*p.Config.Grid*p.Config.Grid)
	for i := range codes {
		codes[i] = int32(rng.IntN(p.Config.NumCodes))
	}
	classes := make([]int32, n)
	for i := range classes {
		classes[i] = int32(rng.IntN(p.Config.Classes()))
	}
	return codes, classes
}

// Changing the code at position q must leave the logits of every position up to q (raster order) exactly
// as they were, and change some later ones.
func TestLogitsAreCausal(t *testing.T) {
	for _, tc := range []struct {
		layers, kernel int
		dilations      []int
	}{{1, 3, nil}, {3, 3, nil}, {2, 5, nil}, {3, 3, []int{1, 2, 4}}, {2, 5, []int{2, 4}}, {4, 3, []int{1, 8, 2, 1}}} {
		p := testPrior(t, tc.layers, tc.kernel, tc.dilations...)
		rng := rand.New(rand.NewPCG(1, 1))
		codes, classes := randomCodes(rng, p, 2)
		base, err := p.Logits(codes, classes, 2)
		if err != nil {
			t.Fatal(err)
		}
		c := p.Config
		hw := c.Grid * c.Grid
		laterChanged := 0
		for q := range hw {
			changed := append([]int32(nil), codes...)
			changed[hw+q] = (changed[hw+q] + 1 + int32(rng.IntN(c.NumCodes-1))) % int32(c.NumCodes) // image 1
			got, err := p.Logits(changed, classes, 2)
			if err != nil {
				t.Fatal(err)
			}
			for k := range c.NumCodes {
				for pos := range hw {
					before, after := base[(c.NumCodes+k)*hw+pos], got[(c.NumCodes+k)*hw+pos]
					if pos <= q && before != after {
						t.Fatalf("layers %d kernel %d: changing the code at %d changed the logit of code %d at %d (%g → %g)",
							tc.layers, tc.kernel, q, k, pos, before, after)
					}
					if pos > q && before != after {
						laterChanged++
					}
					if o := base[k*hw+pos]; o != got[k*hw+pos] {
						t.Fatalf("changing image 1 changed image 0's logits")
					}
				}
			}
		}
		if laterChanged == 0 {
			t.Fatalf("layers %d kernel %d: no code ever influenced a later position", tc.layers, tc.kernel)
		}
	}
}

func TestFastSamplerEqualsNaive(t *testing.T) {
	for _, tc := range []struct {
		layers, kernel int
		dilations      []int
	}{{1, 3, nil}, {3, 3, nil}, {2, 5, nil}, {3, 3, []int{1, 2, 4}}, {2, 5, []int{2, 4}}, {4, 3, []int{1, 8, 2, 1}}} {
		p := testPrior(t, tc.layers, tc.kernel, tc.dilations...)
		c := p.Config
		hw := c.Grid * c.Grid
		for _, opt := range []SampleOptions{DefaultSampleOptions(), {Temperature: 0.7, TopK: 3, TopP: 1}, {Temperature: 1.3, TopP: 0.8}} {
			n := 3
			r := Request{N: n, Classes: []int32{0, 2, int32(c.NullClass())}, Uniforms: Uniforms(9, 0, n, c.Grid), Options: opt}
			fast, err := p.Sample(r)
			if err != nil {
				t.Fatal(err)
			}
			naive, err := p.SampleNaive(r)
			if err != nil {
				t.Fatal(err)
			}
			for i := range fast {
				if fast[i] != naive[i] {
					t.Fatalf("layers %d kernel %d %+v: fast sampler drew %d at %d, naive %d", tc.layers, tc.kernel, opt, fast[i], i, naive[i])
				}
			}
			// Completion: keep the top two rows of a known grid, sample the rest.
			rng := rand.New(rand.NewPCG(5, 5))
			known, _ := randomCodes(rng, p, n)
			keep := make([]bool, n*hw)
			for s := range n {
				for q := range 2 * c.Grid {
					keep[s*hw+q] = true
				}
			}
			r.Known, r.Keep = known, keep
			fast, err = p.Sample(r)
			if err != nil {
				t.Fatal(err)
			}
			naive, err = p.SampleNaive(r)
			if err != nil {
				t.Fatal(err)
			}
			for i := range fast {
				if fast[i] != naive[i] || (keep[i] && fast[i] != known[i]) {
					t.Fatalf("completion: fast %d naive %d known %d (kept %v) at %d", fast[i], naive[i], known[i], keep[i], i)
				}
			}
		}
	}
}

// The sampler must follow the distribution: with many draws of one position, the frequencies approach the
// softmax of the logits (and top-k never draws outside the top k).
func TestDrawFollowsTheDistribution(t *testing.T) {
	logits := []float32{0.5, 2, -1, 1, 1}
	d := newDrawer(len(logits))
	rng := rand.New(rand.NewPCG(1, 2))
	const draws = 200000
	counts := make([]int, len(logits))
	for range draws {
		counts[d.Draw(logits, rng.Float64(), DefaultSampleOptions())]++
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v))
	}
	for k, v := range logits {
		want := math.Exp(float64(v)) / z
		if got := float64(counts[k]) / draws; math.Abs(got-want) > 0.005 {
			t.Errorf("code %d drawn %.4f of the time, want %.4f", k, got, want)
		}
	}
	for range 1000 {
		if c := d.Draw(logits, rng.Float64(), SampleOptions{Temperature: 1, TopK: 2, TopP: 1}); c != 1 && c != 3 {
			t.Fatalf("top-2 drew code %d (the top two are 1 and 3)", c)
		}
		if c := d.Draw(logits, rng.Float64(), SampleOptions{Temperature: 1, TopP: 0.3}); c != 1 {
			t.Fatalf("top-p 0.3 drew code %d; code 1 alone holds more than 0.3", c)
		}
	}
}

func TestBadRequests(t *testing.T) {
	p := testPrior(t, 2, 3)
	c := p.Config
	good := Request{N: 1, Classes: []int32{0}, Uniforms: Uniforms(1, 0, 1, c.Grid), Options: DefaultSampleOptions()}
	for name, r := range map[string]Request{
		"n=0":          {N: 0, Options: DefaultSampleOptions()},
		"class":        {N: 1, Classes: []int32{9}, Uniforms: good.Uniforms, Options: good.Options},
		"uniform":      {N: 1, Classes: []int32{0}, Uniforms: make([]float64, 3), Options: good.Options},
		"temperature":  {N: 1, Classes: []int32{0}, Uniforms: good.Uniforms, Options: SampleOptions{Temperature: 0, TopP: 1}},
		"top-k":        {N: 1, Classes: []int32{0}, Uniforms: good.Uniforms, Options: SampleOptions{Temperature: 1, TopK: 99, TopP: 1}},
		"top-p":        {N: 1, Classes: []int32{0}, Uniforms: good.Uniforms, Options: SampleOptions{Temperature: 1, TopP: 1.5}},
		"keep no code": {N: 1, Classes: []int32{0}, Uniforms: good.Uniforms, Options: good.Options, Keep: make([]bool, 25)},
	} {
		if _, err := p.Sample(r); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: got %v, want ErrBadRequest", name, err)
		}
	}
	if _, err := c.Class(c.Levels); !errors.Is(err, ErrLevel) {
		t.Errorf("level %d of %d levels: got %v", c.Levels, c.Levels, err)
	}
	if cl, err := c.Class(-1); err != nil || int(cl) != c.NullClass() {
		t.Errorf("no level: class %d, %v", cl, err)
	}
	if _, err := p.Sample(good); err != nil {
		t.Fatalf("good request: %v", err)
	}
}

func TestUniformsPerSampleStreams(t *testing.T) {
	a := Uniforms(4, 0, 3, 4)
	b := Uniforms(4, 2, 1, 4)
	for i := range b {
		if a[2*16+i] != b[i] {
			t.Fatal("sample 2 of a batch differs from sample 2 drawn alone")
		}
	}
	if a[0] == a[16] {
		t.Fatal("samples 0 and 1 share their stream")
	}
}

// The logits see exactly ReceptiveRows rows up: a code in row 0 changes some logit in row ReceptiveRows
// and none below it — 3 rows for three undilated 3×3 layers, 7 with dilations 1, 2, 4.
func TestDilationWidensTheView(t *testing.T) {
	for _, p := range []*Prior{testPrior(t, 3, 3, 1, 1, 1), testPrior(t, 3, 3, 1, 2, 4)} {
		c := p.Config
		hw := c.Grid * c.Grid
		reach := c.ReceptiveRows()
		rng := rand.New(rand.NewPCG(2, 2))
		codes, classes := randomCodes(rng, p, 1)
		base, err := p.Logits(codes, classes, 1)
		if err != nil {
			t.Fatal(err)
		}
		lastRow := -1
		for j := range c.Grid {
			changed := append([]int32(nil), codes...)
			changed[j] = (changed[j] + 1) % int32(c.NumCodes)
			got, err := p.Logits(changed, classes, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != base[i] {
					lastRow = max(lastRow, (i%hw)/c.Grid)
				}
			}
		}
		if lastRow != reach {
			t.Fatalf("dilations %v: codes of row 0 reach row %d, want ReceptiveRows = %d", c.Dilations, lastRow, reach)
		}
	}
	if got := (Config{Layers: 8, Kernel: 3, Dilations: DefaultDilations(8, 64)}).ReceptiveRows(); got != 38 {
		t.Fatalf("default prior over a 64×64 grid sees %d rows up, want 38", got)
	}
}

// Sized with a layer count below 1 leaves the dilations empty, so that Validate names the layer count.
func TestSizedBadLayers(t *testing.T) {
	for _, layers := range []int{0, -3} {
		c := Config{NumCodes: 8, CodeDim: 2, Grid: 8}.Sized(4, layers, 3, 4, nil)
		if len(c.Dilations) != 0 {
			t.Fatalf("layers %d: dilations %v, want none", layers, c.Dilations)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("layers %d", layers)) {
			t.Fatalf("layers %d: Validate = %v, want an error naming the layer count", layers, err)
		}
	}
}
