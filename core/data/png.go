package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
)

// lut8 maps an 8-bit grey level p to x = p/255 (float32 division, so every reader of the project agrees).
var lut8 = func() (t [256]float32) {
	for p := range t {
		t[p] = float32(p) / 255
	}
	return t
}()

// decodeFile decodes the PNG at path into dst ([size,size] grey in [0,1]), resampling other sizes when
// resize is set. Errors name the file and the problem.
func decodeFile(path string, dst []float32, size int, resize bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	w, h, pix, err := decodeGrey(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if w == size && h == size {
		copy(dst, pix)
		return nil
	}
	if !resize {
		return fmt.Errorf("%s is %d×%d, want %d×%d; pass --resize to resample", path, w, h, size, size)
	}
	Resample(dst, size, size, pix, w, h)
	return nil
}

// pngEnd is the IEND chunk (length 0, type, CRC) that ends every complete PNG file.
var pngEnd = []byte("\x00\x00\x00\x00IEND\xaeB`\x82")

// decodeGrey decodes a PNG file's bytes into a [h,w] grey image with values in [0,1].
// 8-bit grey: p/255. 16-bit grey: p/65535. Paletted, colour (8- or 16-bit, with or without alpha) and
// grey+alpha: luma 0.299·R + 0.587·G + 0.114·B of the colour composited over black (alpha-premultiplied),
// so a grey image stored as RGB gives the same values as stored as grey.
func decodeGrey(b []byte) (w, h int, pix []float32, err error) {
	if len(b) == 0 {
		return 0, 0, nil, errors.New("empty file, not a PNG")
	}
	if len(b) < len(pngSignature) || string(b[:len(pngSignature)]) != pngSignature {
		n := min(len(b), 8)
		return 0, 0, nil, fmt.Errorf("not a PNG file (starts with %q)", b[:n])
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		// A whole PNG ends with its IEND chunk; a file cut short does not (and then the decoder reports
		// either an unexpected EOF or missing pixel data, depending on where the cut fell).
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || !bytes.HasSuffix(b, pngEnd) {
			return 0, 0, nil, fmt.Errorf("truncated PNG (%d bytes, no IEND chunk at the end): %w", len(b), err)
		}
		return 0, 0, nil, fmt.Errorf("corrupt PNG: %w", err)
	}
	r := img.Bounds()
	w, h = r.Dx(), r.Dy()
	pix = make([]float32, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			out := pix[y*w : (y+1)*w]
			for x, p := range row {
				out[x] = lut8[p]
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := range w {
				pix[y*w+x] = float32(uint16(row[2*x])<<8|uint16(row[2*x+1])) / 65535
			}
		}
	case *image.Paletted:
		lut := make([]float32, 256)
		for i, c := range m.Palette {
			lut[i] = luma(c.RGBA())
		}
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, p := range row {
				pix[y*w+x] = lut[p]
			}
		}
	default:
		for y := range h {
			for x := range w {
				pix[y*w+x] = luma(img.At(r.Min.X+x, r.Min.Y+y).RGBA())
			}
		}
	}
	return w, h, pix, nil
}

// luma is the Rec. 601 luma of an alpha-premultiplied 16-bit colour, in [0,1].
func luma(r, g, b, _ uint32) float32 {
	return float32((0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 65535)
}

// Resample resizes src [sh,sw] into dst [dh,dw], each axis on its own: an axis that shrinks averages the
// source pixels over each output pixel's footprint, weighted by overlap (an area filter, which keeps the
// image mean); an axis that grows interpolates linearly between pixel centres (bilinear, edges clamped).
func Resample(dst []float32, dw, dh int, src []float32, sw, sh int) {
	wx := resampleWeights(dw, sw)
	wy := resampleWeights(dh, sh)
	tmp := make([]float32, sh*dw) // rows resampled along x: [sh,dw]
	for y := range sh {
		srow := src[y*sw : (y+1)*sw]
		trow := tmp[y*dw : (y+1)*dw]
		for x, taps := range wx {
			var acc float64
			for _, t := range taps {
				acc += t.w * float64(srow[t.i])
			}
			trow[x] = float32(acc)
		}
	}
	for y, taps := range wy {
		drow := dst[y*dw : (y+1)*dw]
		for x := range dw {
			var acc float64
			for _, t := range taps {
				acc += t.w * float64(tmp[t.i*dw+x])
			}
			drow[x] = float32(acc)
		}
	}
}

type tap struct {
	i int
	w float64
}

// resampleWeights gives, for each of n output samples, the input samples (of m) and weights that make it.
func resampleWeights(n, m int) [][]tap {
	out := make([][]tap, n)
	s := float64(m) / float64(n) // input pixels per output pixel
	switch {
	case n == m:
		for i := range out {
			out[i] = []tap{{i, 1}}
		}
	case s > 1: // shrink: exact overlap of [i·s, (i+1)·s) with each input pixel [j, j+1)
		for i := range out {
			lo, hi := float64(i)*s, float64(i+1)*s
			for j := int(math.Floor(lo)); j < m && float64(j) < hi; j++ {
				ov := math.Min(hi, float64(j+1)) - math.Max(lo, float64(j))
				if ov > 1e-12 {
					out[i] = append(out[i], tap{j, ov / s})
				}
			}
		}
	default: // grow: linear between input pixel centres, output centre i+½ ↦ input (i+½)·s − ½
		for i := range out {
			c := (float64(i)+0.5)*s - 0.5
			j := int(math.Floor(c))
			t := c - float64(j)
			j0, j1 := clampInt(j, 0, m-1), clampInt(j+1, 0, m-1)
			if j0 == j1 {
				out[i] = []tap{{j0, 1}}
			} else {
				out[i] = []tap{{j0, 1 - t}, {j1, t}}
			}
		}
	}
	return out
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }
