// Package plot draws training pictures as PNG files: panels of curves side by side (losses, codebook
// perplexity, validation SSIM per epoch) and grids that put reconstructions under their originals.
//
// It takes plain data (slices of float64 points, float32 images [N, H, W] in [0, 1]) so that it does not
// depend on the trainer; the curves are drawn with gonum.org/v1/plot. Files are written atomically.
package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"strconv"

	"github.com/brainvq/brainvq/core/atomicfile"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Curve is one named line: the points (X[i], Y[i]), e.g. epoch numbers and a loss.
type Curve struct {
	Name string
	X, Y []float64
}

// Panel is one chart: its curves share the axes; LogY puts the y axis on a log scale (every y must then
// be positive).
type Panel struct {
	Title  string
	XLabel string // "epoch" when empty
	YLabel string
	Curves []Curve
	LogY   bool
}

// The size of one panel in pixels, and the resolution the text is laid out at.
const (
	PanelWidth  = 480
	PanelHeight = 360
	curvesDPI   = 96
)

// markerLimit is the most points a curve may have and still get a marker at every point.
const markerLimit = 40

// palette holds the colours given to the curves of a panel, in order (Okabe–Ito, readable by
// colour-blind viewers).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{0, 158, 115, 255},   // bluish green
	color.RGBA{204, 121, 167, 255}, // reddish purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{0, 0, 0, 255},       // black
}

// Curves writes one PNG to path with the panels side by side, each PanelWidth×PanelHeight pixels.
// The file is written atomically; errors name path.
func Curves(path string, panels []Panel) error {
	if err := checkPanels(panels); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return WriteCurves(w, panels) })
}

// WriteCurves encodes the panels side by side as one PNG of len(panels)·PanelWidth × PanelHeight pixels.
//
// It fails on no panels, a curve whose X and Y differ in length, a NaN or infinite value, or a
// non-positive y in a LogY panel. A curve with no points is left out.
func WriteCurves(w io.Writer, panels []Panel) error {
	img, err := CurvesImage(panels)
	if err != nil {
		return err
	}
	return encodePNG(w, img)
}

// CurvesImage draws the panels side by side into an RGBA image of len(panels)·PanelWidth × PanelHeight
// pixels; see WriteCurves for the errors.
func CurvesImage(panels []Panel) (*image.RGBA, error) {
	if err := checkPanels(panels); err != nil {
		return nil, err
	}
	row := make([]*gplot.Plot, len(panels))
	for i, pn := range panels {
		p, err := newPanelPlot(pn)
		if err != nil {
			return nil, fmt.Errorf("panel %d (%q): %w", i, pn.Title, err)
		}
		row[i] = p
	}
	// Whole pixels: PanelWidth px = PanelWidth·72/curvesDPI points (exact for the sizes above).
	c := vgimg.NewWith(vgimg.UseDPI(curvesDPI), vgimg.UseWH(
		vg.Length(len(panels)*PanelWidth)*vg.Inch/curvesDPI, vg.Length(PanelHeight)*vg.Inch/curvesDPI))
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(6), PadTop: vg.Points(4), PadBottom: vg.Points(4)}
	canvases := gplot.Align([][]*gplot.Plot{row}, tiles, dc)
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	img, ok := c.Image().(*image.RGBA)
	if !ok || img.Bounds() != image.Rect(0, 0, len(panels)*PanelWidth, PanelHeight) {
		return nil, fmt.Errorf("internal: canvas is a %T of %v", c.Image(), c.Image().Bounds())
	}
	return img, nil
}

func checkPanels(panels []Panel) error {
	if len(panels) == 0 {
		return errors.New("no panels to draw")
	}
	for i, pn := range panels {
		for _, cv := range pn.Curves {
			if len(cv.X) != len(cv.Y) {
				return fmt.Errorf("panel %d (%q), curve %q: %d x values but %d y values",
					i, pn.Title, cv.Name, len(cv.X), len(cv.Y))
			}
			for j := range cv.X {
				x, y := cv.X[j], cv.Y[j]
				if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
					return fmt.Errorf("panel %d (%q), curve %q: point %d is (%g, %g), not finite",
						i, pn.Title, cv.Name, j, x, y)
				}
				if pn.LogY && y <= 0 {
					return fmt.Errorf("panel %d (%q), curve %q: point %d has y = %g, not positive on a log axis",
						i, pn.Title, cv.Name, j, y)
				}
			}
		}
	}
	return nil
}

func hasPoints(pn Panel) bool {
	for _, cv := range pn.Curves {
		if len(cv.X) > 0 {
			return true
		}
	}
	return false
}

func newPanelPlot(pn Panel) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text = pn.Title
	p.X.Label.Text = pn.XLabel
	if p.X.Label.Text == "" {
		p.X.Label.Text = "epoch"
	}
	p.Y.Label.Text = pn.YLabel
	p.Add(plotter.NewGrid())
	if pn.LogY && hasPoints(pn) { // an empty log axis would span [0, 1], which has no logarithm

		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	p.Legend.Top = legendAtTop(pn)
	for i, cv := range pn.Curves {
		if len(cv.X) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(cv.X))
		for j := range cv.X {
			xys[j].X, xys[j].Y = cv.X[j], cv.Y[j]
		}
		col := palette[i%len(palette)]
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("curve %q: %w", cv.Name, err)
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		// Curves past the palette's length are told apart by dashes.
		if k := i / len(palette); k > 0 {
			line.Dashes = []vg.Length{vg.Points(float64(2 + 2*k)), vg.Points(2)}
		}
		p.Add(line)
		thumbs := []gplot.Thumbnailer{line}
		if len(xys) <= markerLimit {
			pts, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("curve %q: %w", cv.Name, err)
			}
			pts.Color = col
			pts.Radius = vg.Points(2)
			pts.Shape = draw.CircleGlyph{}
			p.Add(pts)
			thumbs = append(thumbs, pts)
		}
		if cv.Name != "" {
			p.Legend.Add(cv.Name, thumbs...)
		}
	}
	return p, nil
}

// legendAtTop says whether the legend (at the right) goes to the top: yes when the curves end in the
// lower half of the panel, as falling losses do; rising curves (perplexity, SSIM) get it at the bottom.
func legendAtTop(pn Panel) bool {
	pos := func(y float64) float64 {
		if pn.LogY {
			return math.Log(y)
		}
		return y
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	lastSum, curves := 0.0, 0
	for _, cv := range pn.Curves {
		for _, y := range cv.Y {
			lo, hi = min(lo, pos(y)), max(hi, pos(y))
		}
		if len(cv.Y) > 0 {
			lastSum += pos(cv.Y[len(cv.Y)-1])
			curves++
		}
	}
	if curves == 0 || hi <= lo {
		return true
	}
	return (lastSum/float64(curves)-lo)/(hi-lo) < 0.5
}

// logTicks marks a log axis at 1, 2 and 5 times the powers of ten (labelled) and at the other whole
// multiples (unlabelled); over more than three decades only the powers of ten are labelled. A range
// too narrow to hold two labelled ticks falls back to gonum's linear ticks.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return gplot.DefaultTicks{}.Ticks(lo, hi)
	}
	kLo, kHi := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	wide := kHi-kLo > 3
	var ticks []gplot.Tick
	labelled := 0
	for k := kLo; k <= kHi; k++ {
		for m := 1; m <= 9; m++ {
			v := decade(m, k)
			if v < lo || v > hi {
				continue
			}
			t := gplot.Tick{Value: v}
			if m == 1 || (!wide && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
				labelled++
			}
			ticks = append(ticks, t)
		}
	}
	if labelled < 2 {
		return gplot.DefaultTicks{}.Ticks(lo, hi)
	}
	return ticks
}

// decade returns m·10^k, rounded once (so that 3·10⁻¹ is 0.3, not 0.30000000000000004).
func decade(m, k int) float64 {
	if k < 0 {
		return float64(m) / math.Pow10(-k)
	}
	return float64(m) * math.Pow10(k)
}
