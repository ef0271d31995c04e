package data

import (
	"math"
	"path/filepath"
	"testing"
)

func TestSaveImageRoundTrip(t *testing.T) {
	const size = 4
	x := make([]float32, size*size)
	for i := range x {
		x[i] = float32(i*17%256) / 255
	}
	x[0], x[1], x[2] = -0.2, 1.7, float32(math.NaN()) // clipped to 0 and 1; NaN becomes 0
	path := filepath.Join(t.TempDir(), "slice.png")
	if err := SaveImage(path, x, size, size); err != nil {
		t.Fatal(err)
	}
	got, err := LoadImage(path, size, false)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32{0, 1, 0}, x[3:]...)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Errorf("pixel %d: read %g, want %g", i, got[i], want[i])
		}
	}
	if err := SaveImage(path, x[:4], size, size); err == nil {
		t.Error("too few values: want an error")
	}
}
