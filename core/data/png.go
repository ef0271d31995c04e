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

// MaxImageSide is the largest width or height, in pixels, the loader decodes: 16 times the OASIS side. The
// header is checked first (image.DecodeConfig), so a small file that claims a huge image costs nothing; one
// within the limit costs at most 4096² pixels × 8 bytes (16-bit RGBA) = 128 MiB while it decodes.
const MaxImageSide = 4096

// decodeFile decodes the PNG at path into dst ([size,size] grey in [0,1]), resampling other sizes when
// resize is set. Errors name the file; format problems are *FormatError.
func decodeFile(path string, dst []float32, size int, resize bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := decodeInto(b, dst, size, resize); err != nil {
		if fe, ok := err.(*FormatError); ok {
			fe.File = path
		}
		return err
	}
	return nil
}

// decodeInto decodes a PNG file's bytes into dst ([size,size] grey in [0,1]) as decodeFile does; its
// errors are *FormatError without a file name.
func decodeInto(b []byte, dst []float32, size int, resize bool) error {
	w, h, err := checkHeader(b)
	if err != nil {
		return err
	}
	if (w != size || h != size) && !resize {
		return &FormatError{Field: "size", Msg: fmt.Sprintf("image is %d×%d, want %d×%d; pass --resize to resample", w, h, size, size)}
	}
	pix, err := decodePixels(b, w, h)
	if err != nil {
		return err
	}
	if w == size && h == size {
		copy(dst, pix)
		return nil
	}
	Resample(dst, size, size, pix, w, h)
	return nil
}

// pngEnd is the IEND chunk (length 0, type, CRC) that ends every complete PNG file.
var pngEnd = []byte("\x00\x00\x00\x00IEND\xaeB`\x82")

// checkHeader reads a PNG file's signature and header chunk (no pixels) and returns the image's width and
// height, refusing files that are not PNG, are cut short, or claim more than MaxImageSide pixels a side.
func checkHeader(b []byte) (w, h int, err error) {
	if len(b) == 0 {
		return 0, 0, &FormatError{Field: "signature", Msg: "empty file, not a PNG"}
	}
	if len(b) < len(pngSignature) || string(b[:len(pngSignature)]) != pngSignature {
		n := min(len(b), 8)
		return 0, 0, &FormatError{Field: "signature", Msg: fmt.Sprintf("not a PNG file (starts with %q)", b[:n])}
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return 0, 0, decodeError(b, err)
	}
	if cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return 0, 0, &FormatError{Field: "size", Msg: fmt.Sprintf("PNG header claims %d×%d pixels, more than the limit of %d a side",
			cfg.Width, cfg.Height, MaxImageSide)}
	}
	return cfg.Width, cfg.Height, nil
}

// decodeError classifies an error of the PNG decoder as a truncated or a corrupt file.
func decodeError(b []byte, err error) *FormatError {
	// A whole PNG ends with its IEND chunk; a file cut short does not (and then the decoder reports
	// either an unexpected EOF or missing pixel data, depending on where the cut fell).
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || !bytes.HasSuffix(b, pngEnd) {
		return &FormatError{Field: "data", Msg: fmt.Sprintf("truncated PNG (%d bytes, no IEND chunk at the end)", len(b)), Err: err}
	}
	return &FormatError{Field: "data", Msg: "corrupt PNG", Err: err}
}

// decodeGrey decodes a PNG file's bytes into a [h,w] grey image with values in [0,1], after checkHeader.
// 8-bit grey: p/255. 16-bit grey: p/65535. Paletted, colour (8- or 16-bit, with or without alpha) and
// grey+alpha: luma 0.299·R + 0.587·G + 0.114·B of the colour composited over black (alpha-premultiplied),
// so a grey image stored as RGB gives the same values as stored as grey.
func decodeGrey(b []byte) (w, h int, pix []float32, err error) {
	if w, h, err = checkHeader(b); err != nil {
		return 0, 0, nil, err
	}
	pix, err = decodePixels(b, w, h)
	return w, h, pix, err
}

// decodePixels decodes the pixels of a PNG whose header checkHeader accepted as w×h (see decodeGrey).
func decodePixels(b []byte, w, h int) ([]float32, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, decodeError(b, err)
	}
	r := img.Bounds()
	if r.Dx() != w || r.Dy() != h {
		return nil, &FormatError{Field: "size", Msg: fmt.Sprintf("PNG header says %d×%d, pixels are %d×%d", w, h, r.Dx(), r.Dy())}
	}
	pix := make([]float32, w*h)
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
	return pix, nil
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
