// Package benchdata reads the benchmark's synthetic data file, the one that bench/run.sh makes and every
// system in the benchmark (brainvq, PyTorch, onnxruntime) trains and infers on, and derives from it what
// brainvq needs: the preprocessing constants and batches of pixels.
//
// The file is raw uint8 pixels, row-major [N,S,S] (S = 256 in the benchmark), with no header: N is its size
// divided by S². bench/torch_vqvae.py writes it (`make-data`).
package benchdata

import (
	"fmt"
	"os"
	"syscall"

	"github.com/brainvq/brainvq/core/model"
)

// Images is the data file's content: N images of S×S uint8 pixels, row-major.
type Images struct {
	N, Size int
	Pixels  []uint8 // len N*Size*Size
}

// Read loads the raw file at path as images of side size.
func Read(path string, size int) (*Images, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read benchmark data: %w", err)
	}
	im, err := FromBytes(raw, size)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return im, nil
}

// FromBytes interprets raw as whole size×size images.
func FromBytes(raw []uint8, size int) (*Images, error) {
	if size <= 0 || len(raw) == 0 || len(raw)%(size*size) != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %d×%d images", len(raw), size, size)
	}
	return &Images{N: len(raw) / (size * size), Size: size, Pixels: raw}, nil
}

// Preprocess returns μ and σ² of x = p/255 over every pixel of the file: the mean and the population
// variance, computed in float64 (from the pixel histogram, so exactly) and rounded to float32.
func (im *Images) Preprocess() model.Preprocess {
	var hist [256]float64
	for _, p := range im.Pixels {
		hist[p]++
	}
	n := float64(len(im.Pixels))
	var mean float64
	for p, c := range hist {
		mean += c * float64(p) / 255
	}
	mean /= n
	var variance float64
	for p, c := range hist {
		d := float64(p)/255 - mean
		variance += c * d * d
	}
	return model.Preprocess{Mean: float32(mean), Variance: float32(variance / n)}
}

// Batch fills dst (len ≥ batch·S²) with batch number i as raw pixels x = p/255, [batch,1,S,S]: images
// (i·batch + j) mod N for j = 0..batch−1, so that batches cycle through the file in order. It returns
// dst[:batch·S²].
func (im *Images) Batch(dst []float32, i, batch int) []float32 {
	s2 := im.Size * im.Size
	dst = dst[:batch*s2]
	for j := 0; j < batch; j++ {
		k := (i*batch + j) % im.N
		src := im.Pixels[k*s2 : (k+1)*s2]
		out := dst[j*s2 : (j+1)*s2]
		for t, p := range src {
			out[t] = float32(p) / 255
		}
	}
	return dst
}

// PeakRSSMiB is the process's peak resident set size so far (getrusage ru_maxrss, KiB on Linux) in MiB:
// the peak_rss_mib of the benchmark's JSON contract.
func PeakRSSMiB() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return float64(ru.Maxrss) / 1024, nil
}

// CPUSeconds is the CPU time the process has used so far, user and system, all threads (getrusage).
func CPUSeconds() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime), nil
}
