package data

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math"

	"github.com/brainvq/brainvq/core/atomicfile"
)

// LoadImage reads one PNG slice as [size,size] grey values in [0,1] (x = p/255 for 8-bit grey), with the same
// rules and errors as the split loader: other sizes are resampled only when resize is set.
func LoadImage(path string, size int, resize bool) ([]float32, error) {
	dst := make([]float32, size*size)
	if err := decodeFile(path, dst, size, resize); err != nil {
		return nil, err
	}
	return dst, nil
}

// Pixel is the inverse of the loader's x = p/255: the 8-bit grey level round(255·clip(x, 0, 1)); NaN becomes 0.
func Pixel(x float32) uint8 {
	if !(x > 0) { // also NaN
		return 0
	}
	if x >= 1 {
		return 255
	}
	return uint8(math.Round(float64(x) * 255))
}

// SaveImage writes x [h,w] (values in [0,1]) as an 8-bit grey PNG at path, atomically; LoadImage reads it back.
func SaveImage(path string, x []float32, w, h int) error {
	if len(x) != w*h {
		return fmt.Errorf("write %s: %d values for a %d×%d image", path, len(x), w, h)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range x {
		img.Pix[i] = Pixel(v)
	}
	return atomicfile.Write(path, func(wr io.Writer) error { return png.Encode(wr, img) })
}
