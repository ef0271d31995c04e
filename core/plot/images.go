package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"

	"github.com/brainvq/brainvq/core/atomicfile"
)

// ImageGrid writes a PNG to path with n greyscale images ([n,h,w] float32 in [0,1]) in rows of cols,
// each captioned with labels[i] (nil: no captions): the picture of a batch of generated slices. Small
// images are enlarged by a whole factor as in ReconstructionGrid; the file is written atomically.
func ImageGrid(path string, images []float32, n, h, w, cols int, labels []string) error {
	img, err := ImageGridImage(images, n, h, w, cols, labels)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return atomicfile.Write(path, func(wr io.Writer) error { return encodePNG(wr, img) })
}

// ImageGridImage draws the grid of ImageGrid.
func ImageGridImage(images []float32, n, h, w, cols int, labels []string) (*image.RGBA, error) {
	switch {
	case n <= 0 || h <= 0 || w <= 0 || cols <= 0:
		return nil, fmt.Errorf("grid of %d images of %d×%d in %d columns: need at least one image and column", n, h, w, cols)
	case len(images) != n*h*w:
		return nil, fmt.Errorf("%d values, want %d×%d×%d = %d", len(images), n, h, w, n*h*w)
	case labels != nil && len(labels) != n:
		return nil, fmt.Errorf("%d labels for %d images", len(labels), n)
	}
	l := newGridLayout(1, h, w)
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	capH := 0
	if labels != nil {
		capH = gridCaptionH
	}
	cellW, cellH := l.tileW+gridPad, l.tileH+capH+gridPad
	img := image.NewRGBA(image.Rect(0, 0, gridPad+cols*cellW, gridPad+rows*cellH))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	frame := image.NewUniform(color.Gray{Y: frameGrey})
	face, err := captionFace()
	if err != nil {
		return nil, err
	}
	defer face.Close()
	for i := range n {
		x, y := gridPad+(i%cols)*cellW, gridPad+(i/cols)*cellH
		t := image.Rect(x, y, x+l.tileW, y+l.tileH)
		draw.Draw(img, t.Inset(-1), frame, image.Point{}, draw.Src)
		drawTile(img, t, images[i*h*w:(i+1)*h*w], h, w, l.scale)
		if labels != nil {
			drawCaption(img, image.Rect(t.Min.X, t.Max.Y, t.Max.X, t.Max.Y+capH), face, labels[i])
		}
	}
	return img, nil
}
