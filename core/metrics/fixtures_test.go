package metrics

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures in testdata/ssim are written by scripts/make_ssim_fixtures.py with scikit-image.
const fixtureDir = "../../testdata/ssim"

type fixturePair struct {
	Name    string          `json:"name"`
	H       int             `json:"h"`
	W       int             `json:"w"`
	A       string          `json:"a"`
	B       string          `json:"b"`
	Map     string          `json:"map"`
	SSIM    float64         `json:"ssim"`
	SSIMF32 float64         `json:"ssim_f32"`
	MSE     float64         `json:"mse"`
	PSNRRaw json.RawMessage `json:"psnr"`

	a, b []float32
}

// psnr decodes the reference PSNR: a number, or the string "inf".
func (p *fixturePair) psnr(t *testing.T) float64 {
	t.Helper()
	var s string
	if json.Unmarshal(p.PSNRRaw, &s) == nil {
		if s != "inf" {
			t.Fatalf("%s: psnr %q", p.Name, s)
		}
		return math.Inf(1)
	}
	var v float64
	if err := json.Unmarshal(p.PSNRRaw, &v); err != nil {
		t.Fatalf("%s: psnr: %v", p.Name, err)
	}
	return v
}

type fixtureHistogram struct {
	Counts       []int   `json:"counts"`
	Perplexity   float64 `json:"perplexity"`
	UsedFraction float64 `json:"used_fraction"`
}

type fixtureIndex struct {
	Pairs      []*fixturePair     `json:"pairs"`
	Perplexity []fixtureHistogram `json:"perplexity"`
}

func readRaw[T float32 | float64](path string, n int) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make([]T, n)
	if err := binary.Read(f, binary.LittleEndian, out); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() != int64(n*binary.Size(out[0])) {
		return nil, fmt.Errorf("read %s: %d bytes, want %d values", path, fi.Size(), n)
	}
	return out, nil
}

func loadFixtures(t testing.TB) *fixtureIndex {
	t.Helper()
	path := filepath.Join(fixtureDir, "index.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var idx fixtureIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(idx.Pairs) < 5 || len(idx.Perplexity) == 0 {
		t.Fatalf("%s: only %d pairs, %d histograms", path, len(idx.Pairs), len(idx.Perplexity))
	}
	for _, p := range idx.Pairs {
		if p.a, err = readRaw[float32](filepath.Join(fixtureDir, p.A), p.H*p.W); err != nil {
			t.Fatal(err)
		}
		if p.b, err = readRaw[float32](filepath.Join(fixtureDir, p.B), p.H*p.W); err != nil {
			t.Fatal(err)
		}
	}
	return &idx
}
