package benchdata

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestFromBytesRejectsPartialImages(t *testing.T) {
	if _, err := FromBytes(make([]uint8, 4*4*2+1), 4); err == nil {
		t.Fatal("a partial image was accepted")
	}
	if _, err := FromBytes(nil, 4); err == nil {
		t.Fatal("an empty file was accepted")
	}
	im, err := FromBytes(make([]uint8, 4*4*3), 4)
	if err != nil || im.N != 3 {
		t.Fatalf("got %+v, %v; want 3 images", im, err)
	}
}

// TestPreprocessMatchesTwoPassReference compares the histogram route with a naive two-pass float64 sum.
func TestPreprocessMatchesTwoPassReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]uint8, 3*16*16)
	for i := range raw {
		raw[i] = uint8(rng.IntN(256))
	}
	im, err := FromBytes(raw, 16)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, p := range raw {
		sum += float64(p) / 255
	}
	mean := sum / float64(len(raw))
	var ss float64
	for _, p := range raw {
		d := float64(p)/255 - mean
		ss += d * d
	}
	want := ss / float64(len(raw))
	got := im.Preprocess()
	if math.Abs(float64(got.Mean)-mean) > 1e-7 || math.Abs(float64(got.Variance)-want) > 1e-7 {
		t.Fatalf("got μ=%g σ²=%g, want %g %g", got.Mean, got.Variance, mean, want)
	}
	// Half black, half white: μ = 1/2, σ² = 1/4 exactly.
	bw, _ := FromBytes([]uint8{0, 255, 0, 255}, 2)
	if p := bw.Preprocess(); p.Mean != 0.5 || p.Variance != 0.25 {
		t.Fatalf("black/white: got %+v, want μ 0.5 σ² 0.25", p)
	}
}

func TestBatchCyclesInOrder(t *testing.T) {
	raw := make([]uint8, 3*2*2) // image k is filled with the value 10k+1
	for k := 0; k < 3; k++ {
		for t := 0; t < 4; t++ {
			raw[k*4+t] = uint8(10*k + 1)
		}
	}
	path := filepath.Join(t.TempDir(), "d.u8")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	im, err := Read(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 2*4)
	got := im.Batch(buf, 1, 2) // images 2 and 0
	for t2, v := range got {
		want := float32(21) / 255
		if t2 >= 4 {
			want = float32(1) / 255
		}
		if v != want {
			t.Fatalf("pixel %d: got %g, want %g", t2, v, want)
		}
	}
}

func TestPeakRSSIsPositive(t *testing.T) {
	mib, err := PeakRSSMiB()
	if err != nil || mib <= 1 || mib > 1<<20 {
		t.Fatalf("peak RSS %g MiB, %v", mib, err)
	}
}
