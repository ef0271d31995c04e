package plot

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"sync"

	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/metrics"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/font/liberation"
)

// The layout of a reconstruction grid, in output pixels.
const (
	GridMaxCols   = 8   // image pairs per band; more pairs wrap into further bands below
	gridPad       = 8   // space around and between tiles
	gridBandGap   = 16  // extra space between bands
	gridCaptionH  = 20  // caption strip under every tile
	gridMinTile   = 96  // smaller images are enlarged by a whole factor to at least this side
	captionSizePx = 13  // caption font size
	frameGrey     = 200 // grey level of the 1-pixel frame around each tile
)

// gridLayout places tile i of the originals (row 0) or reconstructions (row 1).
type gridLayout struct {
	n, h, w       int
	scale         int // each image pixel becomes a scale×scale block
	tileW, tileH  int
	cols, bands   int
	width, height int
}

func newGridLayout(n, h, w int) gridLayout {
	l := gridLayout{n: n, h: h, w: w}
	l.scale = max(1, (gridMinTile+max(h, w)-1)/max(h, w))
	l.tileW, l.tileH = l.scale*w, l.scale*h
	l.cols = min(n, GridMaxCols)
	l.bands = (n + l.cols - 1) / l.cols
	l.width = gridPad + l.cols*(l.tileW+gridPad)
	l.height = 2*gridPad + l.bands*l.bandHeight() + (l.bands-1)*gridBandGap
	return l
}

func (l gridLayout) bandHeight() int { return 2*(l.tileH+gridCaptionH) + gridPad }

// tile returns the rectangle image i of the given row (0: original, 1: reconstruction) is drawn in.
func (l gridLayout) tile(i, row int) image.Rectangle {
	band, col := i/l.cols, i%l.cols
	x := gridPad + col*(l.tileW+gridPad)
	y := gridPad + band*(l.bandHeight()+gridBandGap) + row*(l.tileH+gridCaptionH+gridPad)
	return image.Rect(x, y, x+l.tileW, y+l.tileH)
}

// caption returns the strip under tile i of the row, as wide as the tile.
func (l gridLayout) caption(i, row int) image.Rectangle {
	t := l.tile(i, row)
	return image.Rect(t.Min.X, t.Max.Y, t.Max.X, t.Max.Y+gridCaptionH)
}

// ReconstructionGrid writes a PNG to path that shows the n originals (a batch [n, h, w] of float32
// in [0, 1]) with each reconstruction (same shape) right under its original: at most GridMaxCols pairs
// per band, bands stacked downwards. Each original is captioned "original i" and each reconstruction
// labels[i] (for instance its SSIM); with labels nil the caption is its SSIM against the original
// ("SSIM 0.912", metrics.SSIM, for images of at least 11×11 pixels). Images smaller than 96 pixels are
// enlarged by a whole factor without smoothing; values are clipped to [0, 1] and shown as grey
// round(255·v). The file is written atomically; errors name path.
func ReconstructionGrid(path string, originals, recons []float32, n, h, w int, labels []string) error {
	if err := checkGrid(originals, recons, n, h, w, labels); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return atomicfile.Write(path, func(wr io.Writer) error {
		return WriteReconstructionGrid(wr, originals, recons, n, h, w, labels)
	})
}

// WriteReconstructionGrid encodes the grid of ReconstructionGrid as PNG to wr.
func WriteReconstructionGrid(wr io.Writer, originals, recons []float32, n, h, w int, labels []string) error {
	img, err := ReconstructionGridImage(originals, recons, n, h, w, labels)
	if err != nil {
		return err
	}
	return encodePNG(wr, img)
}

// ReconstructionGridImage draws the grid of ReconstructionGrid into an RGBA image.
func ReconstructionGridImage(originals, recons []float32, n, h, w int, labels []string) (*image.RGBA, error) {
	if err := checkGrid(originals, recons, n, h, w, labels); err != nil {
		return nil, err
	}
	if labels == nil {
		labels = make([]string, n)
		if metrics.CheckSSIMSize(h, w) == nil {
			for i, s := range metrics.SSIMBatch(originals, recons, n, h, w) {
				labels[i] = fmt.Sprintf("SSIM %.3f", s)
			}
		}
	}
	face, err := captionFace()
	if err != nil {
		return nil, err
	}
	defer face.Close()

	l := newGridLayout(n, h, w)
	img := image.NewRGBA(image.Rect(0, 0, l.width, l.height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	frame := image.NewUniform(color.Gray{Y: frameGrey})
	size := h * w
	for i := range n {
		for row, src := range [][]float32{originals, recons} {
			t := l.tile(i, row)
			draw.Draw(img, t.Inset(-1), frame, image.Point{}, draw.Src)
			drawTile(img, t, src[i*size:(i+1)*size], h, w, l.scale)
		}
		drawCaption(img, l.caption(i, 0), face, fmt.Sprintf("original %d", i+1))
		drawCaption(img, l.caption(i, 1), face, labels[i])
	}
	return img, nil
}

func checkGrid(originals, recons []float32, n, h, w int, labels []string) error {
	switch {
	case n <= 0 || h <= 0 || w <= 0:
		return fmt.Errorf("grid of %d images of %d×%d pixels: need at least one non-empty image", n, h, w)
	case len(originals) != n*h*w:
		return fmt.Errorf("%d original values, want %d×%d×%d = %d", len(originals), n, h, w, n*h*w)
	case len(recons) != n*h*w:
		return fmt.Errorf("%d reconstruction values, want %d×%d×%d = %d", len(recons), n, h, w, n*h*w)
	case labels != nil && len(labels) != n:
		return fmt.Errorf("%d labels for %d images", len(labels), n)
	}
	return nil
}

// drawTile paints the h×w image x into the rectangle t of dst, each pixel a scale×scale block.
func drawTile(dst *image.RGBA, t image.Rectangle, x []float32, h, w, scale int) {
	for i := range h {
		for j := range w {
			g := data.Pixel(x[i*w+j])
			for di := range scale {
				off := dst.PixOffset(t.Min.X+j*scale, t.Min.Y+i*scale+di)
				for range scale {
					p := dst.Pix[off : off+4 : off+4]
					p[0], p[1], p[2], p[3] = g, g, g, 255
					off += 4
				}
			}
		}
	}
}

// drawCaption writes s in black, centred in the strip r when it fits and else cut off at its right edge.
func drawCaption(dst *image.RGBA, r image.Rectangle, face font.Face, s string) {
	if s == "" {
		return
	}
	clip := dst.SubImage(r).(*image.RGBA)
	width := font.MeasureString(face, s).Ceil()
	x := r.Min.X + max(2, (r.Dx()-width)/2)
	m := face.Metrics()
	// Centre the line box (ascent + descent) vertically in the strip.
	base := r.Min.Y + (r.Dy()-(m.Ascent+m.Descent).Ceil())/2 + m.Ascent.Ceil()
	d := font.Drawer{Dst: clip, Src: image.Black, Face: face, Dot: fixed.P(x, base)}
	d.DrawString(s)
}

var sansFont = sync.OnceValues(func() (*opentype.Font, error) {
	for _, f := range liberation.Collection() {
		if f.Font.Variant == "Sans" && f.Font.Style == font.StyleNormal && f.Font.Weight == font.WeightNormal {
			return f.Face, nil
		}
	}
	return nil, errors.New("no Liberation Sans regular font in gonum's collection")
})

// captionFace returns a new Liberation Sans face for captions; faces are not safe for concurrent use,
// so every grid gets its own.
func captionFace() (font.Face, error) {
	f, err := sansFont()
	if err != nil {
		return nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: captionSizePx, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("caption font: %w", err)
	}
	return face, nil
}

// encodePNG writes img as PNG through a buffer.
func encodePNG(w io.Writer, img image.Image) error {
	bw := bufio.NewWriter(w)
	if err := png.Encode(bw, img); err != nil {
		return fmt.Errorf("encode PNG: %w", err)
	}
	return bw.Flush()
}
