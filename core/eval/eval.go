// Package eval measures a model on a data split: it reconstructs every image with the inference path
// (model.Model's Encode, Quantize, Decode on the kernels) and scores the reconstructions with core/metrics
// (SSIM, PSNR, MSE, the losses of training, codebook perplexity and usage). It builds no training graph and
// does not import gorgonia, so the command's eval, the Python bindings and the trainer's validation share it
// without pulling in the training code.
package eval

import (
	"errors"
	"fmt"
	"math"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/model"
)

// Evaluation summarises a model on a split, computed with the inference path (no training graph).
type Evaluation struct {
	Recon      float64 // mean((v−u)²)/σ², as in training
	VQ         float64 // (codebook +) β·commitment loss, as in training
	MSE, PSNR  float64 // of x̂ against x in [0,1]; PSNR averages the finite per-image values
	SSIM       float64 // mean SSIM (Wang et al. 2004)
	Perplexity float64 // of the code histogram over the split
	// HeadPerplexity is the perplexity over the latent positions whose image patch is not all black: where the
	// head is. On MRI slices about half the positions are background, which a good model gives one code, so
	// the overall perplexity is bounded near e^(H(b) + (1−b)·ln K) for a background fraction b (≈ 24 for
	// b = 0.6, K = 512) however many codes the head uses.
	HeadPerplexity float64
	CodesUsed      float64      // fraction of the K codes that occur
	PerImage       []ImageScore // one per image, in split order (when requested)
}

// ImageScore is one image's reconstruction quality.
type ImageScore struct {
	File            string
	SSIM, PSNR, MSE float64
}

// evalChunk is how many images one pass of Evaluate holds.
const evalChunk = 32

// Evaluate reconstructs every image of s with m and measures it. keep, when not nil, receives each chunk's
// originals and reconstructions [n,S,S] with their first index, so callers can pick images without a second pass.
func Evaluate(m *model.Model, s *data.Split, keep func(first int, x, xhat []float32, n int)) (*Evaluation, error) {
	cfg := m.Config
	if s == nil || s.N == 0 {
		return nil, errors.New("empty split")
	}
	size := cfg.ImageSize
	if s.H != size || s.W != size {
		return nil, fmt.Errorf("split %s holds %d×%d images; the model takes %d×%d", s.Name, s.H, s.W, size, size)
	}
	l := cfg.LatentSize()
	ev := &Evaluation{PerImage: make([]ImageScore, 0, s.N)}
	counts, headCounts := make([]int, cfg.NumCodes), make([]int, cfg.NumCodes)
	f := size / l // pixels per latent cell side
	var reconSum, zqzeSum float64
	var psnrSum float64
	psnrN := 0
	codebook := m.Weights[model.CodebookName].Data
	for lo := 0; lo < s.N; lo += evalChunk {
		n := min(evalChunk, s.N-lo)
		x := make([]float32, n*size*size)
		ids := make([]int, n)
		for i := range ids {
			ids[i] = lo + i
		}
		s.Batch(x, ids)
		ze := m.Encode(x, n)
		idx := m.Quantize(ze, n)
		for p, k := range idx {
			counts[k]++
			if !blackPatch(x[p/(l*l)*size*size:], size, p%(l*l)/l*f, p%l*f, f) {
				headCounts[k]++
			}
		}
		d := cfg.CodeDim
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				for p := 0; p < l*l; p++ {
					diff := float64(ze[(i*d+j)*l*l+p] - codebook[int(idx[i*l*l+p])*d+j])
					zqzeSum += diff * diff
				}
			}
		}
		xhat := m.Decode(idx, n)
		for i, v := range xhat { // v + μ clipped; the loss uses the unclipped v, approximated here by x̂ − μ
			d := float64(v - x[i])
			reconSum += d * d
		}
		ssim := metrics.SSIMBatch(x, xhat, n, size, size)
		for i := 0; i < n; i++ {
			a, b := x[i*size*size:(i+1)*size*size], xhat[i*size*size:(i+1)*size*size]
			mse := metrics.MSE(a, b)
			psnr := metrics.PSNR(a, b, 1)
			if !math.IsInf(psnr, 0) {
				psnrSum += psnr
				psnrN++
			}
			ev.SSIM += ssim[i]
			ev.MSE += mse
			ev.PerImage = append(ev.PerImage, ImageScore{File: fileName(s, lo+i), SSIM: ssim[i], PSNR: psnr, MSE: mse})
		}
		if keep != nil {
			keep(lo, x, xhat, n)
		}
	}
	nf := float64(s.N)
	ev.SSIM /= nf
	ev.MSE /= nf
	if psnrN > 0 {
		ev.PSNR = psnrSum / float64(psnrN)
	} else {
		ev.PSNR = math.Inf(1)
	}
	ev.Recon = reconSum / (nf * float64(size*size)) / float64(m.Pre.Variance)
	mq := zqzeSum / (nf * float64(cfg.CodeDim*l*l))
	ev.VQ = float64(cfg.Beta) * mq
	if !cfg.EMA {
		ev.VQ += mq
	}
	ev.Perplexity = metrics.Perplexity(counts)
	ev.HeadPerplexity = metrics.Perplexity(headCounts)
	ev.CodesUsed = metrics.UsedFraction(counts)
	if math.IsNaN(ev.SSIM) || math.IsNaN(ev.MSE) || math.IsInf(ev.MSE, 0) || math.IsNaN(ev.Recon) || math.IsInf(ev.Recon, 0) {
		return nil, fmt.Errorf("%w: evaluating %s gave SSIM %g, MSE %g (the model's outputs are not finite: it diverged)", ErrNonFinite, s.Name, ev.SSIM, ev.MSE)
	}
	return ev, nil
}

// blackPatch reports whether the f×f patch at row r, column c of the size×size image img is all 0.
func blackPatch(img []float32, size, r, c, f int) bool {
	for i := r; i < r+f; i++ {
		for _, v := range img[i*size+c : i*size+c+f] {
			if v != 0 {
				return false
			}
		}
	}
	return true
}

// ErrNonFinite reports an evaluation whose scores are NaN or infinite.
var ErrNonFinite = errors.New("non-finite evaluation")

func fileName(s *data.Split, i int) string {
	if i < len(s.Files) {
		return s.Files[i]
	}
	return fmt.Sprintf("%s[%d]", s.Name, i)
}
