package plot

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/metrics"
	gplot "gonum.org/v1/plot"
)

// The tests write their pictures to $BRAINVQ_PLOT_OUT when it is set, to look at them.
func keep(t *testing.T, name string, data []byte) {
	if dir := os.Getenv("BRAINVQ_PLOT_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func decodePNGFile(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s: no PNG signature", path)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	keep(t, filepath.Base(path), data)
	return img
}

func trainingPanels(epochs int) []Panel {
	var ep, train, val, vq, perp, ssim []float64
	for e := 1; e <= epochs; e++ {
		x := float64(e)
		ep = append(ep, x)
		train = append(train, 0.02+0.5*math.Exp(-x/3))
		val = append(val, 0.03+0.5*math.Exp(-x/3.5))
		vq = append(vq, 0.01+0.1/x)
		perp = append(perp, 400*(1-math.Exp(-x/4)))
		ssim = append(ssim, 0.95-0.5*math.Exp(-x/3))
	}
	return []Panel{
		{Title: "Reconstruction loss", YLabel: "MSE / σ²", LogY: true, Curves: []Curve{
			{Name: "train", X: ep, Y: train}, {Name: "validation", X: ep, Y: val}}},
		{Title: "VQ loss", YLabel: "loss", Curves: []Curve{{Name: "train", X: ep, Y: vq}}},
		{Title: "Codebook perplexity", YLabel: "perplexity", Curves: []Curve{{Name: "train", X: ep, Y: perp}}},
		{Title: "Validation SSIM", YLabel: "SSIM", Curves: []Curve{{Name: "validation", X: ep, Y: ssim}}},
	}
}

func TestCurvesWritesPNGOfPanelSize(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		panels []Panel
	}{
		{"curves_4.png", trainingPanels(12)},
		{"curves_1.png", trainingPanels(200)[:1]},
	} {
		path := filepath.Join(dir, tc.name)
		if err := Curves(path, tc.panels); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		img := decodePNGFile(t, path)
		if b := img.Bounds(); b.Dx() != len(tc.panels)*PanelWidth || b.Dy() != PanelHeight {
			t.Errorf("%s: %v, want %d×%d", tc.name, b, len(tc.panels)*PanelWidth, PanelHeight)
		}
		// Every panel holds drawn ink and the colour of its first curve.
		for p := range tc.panels {
			dark, blue := 0, 0
			for y := range PanelHeight {
				for x := p * PanelWidth; x < (p+1)*PanelWidth; x++ {
					r, g, b, _ := img.At(x, y).RGBA()
					if r < 0x4000 && g < 0x4000 && b < 0x4000 {
						dark++
					}
					if r < 0x2000 && g > 0x6000 && g < 0x8000 && b > 0xa000 { // palette[0] = (0, 114, 178)
						blue++
					}
				}
			}
			if dark < 200 || blue < 50 {
				t.Errorf("%s panel %d: %d dark pixels, %d curve-coloured pixels", tc.name, p, dark, blue)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files in the output folder, want the 2 PNGs and no temp files", len(entries))
	}
}

func TestCurvesAcceptsEmptyCurvesAndPanels(t *testing.T) {
	panels := []Panel{
		{Title: "nothing yet", LogY: true, Curves: []Curve{{Name: "train"}}},
		{Title: "one point", Curves: []Curve{{Name: "val", X: []float64{1}, Y: []float64{0.5}}}},
	}
	var buf bytes.Buffer
	if err := WriteCurves(&buf, panels); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2*PanelWidth || b.Dy() != PanelHeight {
		t.Errorf("bounds %v", b)
	}
}

func TestCurvesRejectsBadInput(t *testing.T) {
	ok := []float64{1, 2, 3}
	for _, tc := range []struct {
		name   string
		panels []Panel
		want   string
	}{
		{"no panels", nil, "no panels"},
		{"lengths", []Panel{{Curves: []Curve{{Name: "c", X: ok, Y: ok[:2]}}}}, "3 x values but 2 y values"},
		{"NaN", []Panel{{Curves: []Curve{{Name: "c", X: ok, Y: []float64{1, math.NaN(), 2}}}}}, "not finite"},
		{"Inf x", []Panel{{Curves: []Curve{{Name: "c", X: []float64{1, 2, math.Inf(1)}, Y: ok}}}}, "not finite"},
		{"log of 0", []Panel{{LogY: true, Curves: []Curve{{Name: "c", X: ok, Y: []float64{1, 0, 2}}}}}, "not positive"},
	} {
		var buf bytes.Buffer
		err := WriteCurves(&buf, tc.panels)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written despite the error", tc.name, buf.Len())
		}
		path := filepath.Join(t.TempDir(), "bad.png")
		if err := Curves(path, tc.panels); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Curves error %v does not name %s", tc.name, err, path)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: %s exists after a failed plot", tc.name, path)
		}
	}
}

func TestUnwritablePaths(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "folder", "x.png")
	if err := Curves(missing, trainingPanels(3)); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Curves into a missing folder: %v", err)
	}
	img := make([]float32, 16*16)
	if err := ReconstructionGrid(missing, img, img, 1, 16, 16, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReconstructionGrid into a missing folder: %v", err)
	}
	// A path that is a folder cannot be replaced by the file.
	if err := ReconstructionGrid(dir, img, img, 1, 16, 16, nil); err == nil {
		t.Error("ReconstructionGrid over a folder succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// testImages returns n smooth-ish h×w images in [0, 1] and noisy copies, with some values outside
// [0, 1] in the copies to exercise clipping.
func testImages(rng *rand.Rand, n, h, w int) (orig, recon []float32) {
	orig = make([]float32, n*h*w)
	recon = make([]float32, n*h*w)
	for k := range n {
		for i := range h {
			for j := range w {
				v := 0.5 + 0.45*math.Sin(float64(i+k)/3)*math.Cos(float64(j)/5)
				p := k*h*w + i*w + j
				orig[p] = float32(v)
				recon[p] = float32(v + 0.15*(rng.Float64()-0.5))
			}
		}
	}
	recon[0], recon[1] = -0.3, 1.7
	return orig, recon
}

func checkTilePixels(t *testing.T, img image.Image, l gridLayout, x []float32, i, row int) {
	t.Helper()
	tile := l.tile(i, row)
	for py := tile.Min.Y; py < tile.Max.Y; py++ {
		for px := tile.Min.X; px < tile.Max.X; px++ {
			v := x[i*l.h*l.w+(py-tile.Min.Y)/l.scale*l.w+(px-tile.Min.X)/l.scale]
			want := uint32(math.Round(float64(min(1, max(0, v))) * 255))
			r, g, b, a := img.At(px, py).RGBA()
			if r>>8 != want || g>>8 != want || b>>8 != want || a != 0xffff {
				t.Fatalf("image %d row %d: pixel (%d,%d) is (%d,%d,%d,%d), want grey %d from value %g",
					i, row, px, py, r>>8, g>>8, b>>8, a>>8, want, v)
			}
		}
	}
}

// inkIn counts the pixels of r that are darker than mid grey.
func inkIn(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if g, _, _, _ := img.At(x, y).RGBA(); g < 0x8000 {
				n++
			}
		}
	}
	return n
}

func TestReconstructionGridPixels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		n, h, w int
		labels  bool
	}{
		{"grid_brainsize.png", 3, 256, 256, true},
		{"grid_small_wrapped.png", 11, 32, 40, false}, // enlarged ×3, two bands
		{"grid_tiny.png", 2, 5, 7, false},             // too small for SSIM: no captions
	} {
		orig, recon := testImages(rng, tc.n, tc.h, tc.w)
		var labels []string
		if tc.labels {
			for i := range tc.n {
				labels = append(labels, "label "+strings.Repeat("x", 4*i))
			}
		}
		path := filepath.Join(t.TempDir(), tc.name)
		if err := ReconstructionGrid(path, orig, recon, tc.n, tc.h, tc.w, labels); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		img := decodePNGFile(t, path)
		l := newGridLayout(tc.n, tc.h, tc.w)
		if img.Bounds() != image.Rect(0, 0, l.width, l.height) {
			t.Fatalf("%s: bounds %v, layout %d×%d", tc.name, img.Bounds(), l.width, l.height)
		}
		if l.tileW < gridMinTile && l.tileH < gridMinTile {
			t.Errorf("%s: tiles %d×%d not enlarged", tc.name, l.tileW, l.tileH)
		}
		for i := range tc.n {
			checkTilePixels(t, img, l, orig, i, 0)
			checkTilePixels(t, img, l, recon, i, 1)
			if r := l.tile(i, 1); r.Min.Y < l.caption(i, 0).Max.Y {
				t.Fatalf("%s: reconstruction %d overlaps the caption above it", tc.name, i)
			}
			if inkIn(img, l.caption(i, 0)) < 20 {
				t.Errorf("%s: no caption under original %d", tc.name, i)
			}
			ink := inkIn(img, l.caption(i, 1))
			if captioned := tc.h >= metrics.SSIMWindow; captioned != (ink >= 20) {
				t.Errorf("%s: %d caption pixels under reconstruction %d", tc.name, ink, i)
			}
		}
	}
}

func TestReconstructionGridSSIMCaptions(t *testing.T) {
	// With labels nil the captions are the SSIM values: different values draw different text, and
	// given labels with the same text draw the same pixels.
	rng := rand.New(rand.NewPCG(3, 4))
	orig, recon := testImages(rng, 2, 24, 24)
	copy(recon[24*24:], orig[24*24:]) // image 2 is exact: "SSIM 1.000"
	s := metrics.SSIMBatch(orig, recon, 2, 24, 24)
	auto, err := ReconstructionGridImage(orig, recon, 2, 24, 24, nil)
	if err != nil {
		t.Fatal(err)
	}
	given, err := ReconstructionGridImage(orig, recon, 2, 24, 24, []string{
		fmt.Sprintf("SSIM %.3f", s[0]), fmt.Sprintf("SSIM %.3f", s[1])})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(auto.Pix, given.Pix) {
		t.Error("captions with labels nil differ from explicit SSIM labels")
	}
	other, err := ReconstructionGridImage(orig, recon, 2, 24, 24, []string{"SSIM 0.000", "SSIM 0.000"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(auto.Pix, other.Pix) {
		t.Error("different captions drew the same picture")
	}
}

func TestReconstructionGridRejectsBadInput(t *testing.T) {
	img := make([]float32, 2*16*16)
	for _, tc := range []struct {
		name        string
		orig, recon []float32
		n, h, w     int
		labels      []string
		want        string
	}{
		{"no images", nil, nil, 0, 16, 16, nil, "at least one"},
		{"short originals", img[:500], img, 2, 16, 16, nil, "500 original values"},
		{"short recons", img, img[:511], 2, 16, 16, nil, "511 reconstruction values"},
		{"wrong shape", img, img, 2, 16, 15, nil, "original values"},
		{"labels", img, img, 2, 16, 16, []string{"a"}, "1 labels for 2 images"},
	} {
		var buf bytes.Buffer
		err := WriteReconstructionGrid(&buf, tc.orig, tc.recon, tc.n, tc.h, tc.w, tc.labels)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
		path := filepath.Join(t.TempDir(), "g.png")
		if err := ReconstructionGrid(path, tc.orig, tc.recon, tc.n, tc.h, tc.w, tc.labels); err == nil ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("%s: ReconstructionGrid error %v does not name the path", tc.name, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: file written despite the error", tc.name)
		}
	}
}

func TestLogTicks(t *testing.T) {
	labels := func(ticks []gplot.Tick) []string {
		var out []string
		for _, tk := range ticks {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{0.018, 0.52, "0.02 0.05 0.1 0.2 0.5"},
		{0.3, 40, "0.5 1 2 5 10 20"},
		{1e-4, 10, "0.0001 0.001 0.01 0.1 1 10"},
	} {
		ticks := logTicks{}.Ticks(tc.lo, tc.hi)
		if got := strings.Join(labels(ticks), " "); got != tc.want {
			t.Errorf("ticks on [%g, %g]: %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
		for _, tk := range ticks {
			if tk.Value < tc.lo || tk.Value > tc.hi {
				t.Errorf("tick %g outside [%g, %g]", tk.Value, tc.lo, tc.hi)
			}
		}
	}
	// Too narrow for two labelled decade ticks: linear ticks instead.
	if got := labels(logTicks{}.Ticks(0.031, 0.047)); len(got) < 2 {
		t.Errorf("narrow range labelled %v", got)
	}
}

func TestLegendPlacement(t *testing.T) {
	x := []float64{1, 2, 3}
	falling := Panel{Curves: []Curve{{X: x, Y: []float64{3, 2, 1}}}}
	rising := Panel{LogY: true, Curves: []Curve{{X: x, Y: []float64{1, 10, 100}}}}
	if !legendAtTop(falling) || legendAtTop(rising) {
		t.Errorf("legend at top: falling %v, rising %v", legendAtTop(falling), legendAtTop(rising))
	}
}

// readFixture reads a raw little-endian float32 image written by scripts/make_ssim_fixtures.py.
func readFixture(t *testing.T, name string, n int) []float32 {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "ssim", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 4*n {
		t.Fatalf("%s: %d bytes, want %d", path, len(data), 4*n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out
}

func TestReconstructionGridOfBrainFixture(t *testing.T) {
	// The brain-like fixture pair, with its SSIM as scikit-image computed it (testdata/ssim/index.json).
	index, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ssim", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Pairs []struct {
			Name string  `json:"name"`
			SSIM float64 `json:"ssim"`
		} `json:"pairs"`
	}
	if err := json.Unmarshal(index, &idx); err != nil {
		t.Fatal(err)
	}
	want := math.NaN()
	for _, p := range idx.Pairs {
		if p.Name == "brain_256x256" {
			want = p.SSIM
		}
	}
	if math.IsNaN(want) {
		t.Fatal("no brain_256x256 fixture")
	}
	const hw = 256 * 256
	a := readFixture(t, "brain_256x256_a.f32", hw)
	b := readFixture(t, "brain_256x256_b.f32", hw)
	orig := append(append([]float32{}, a...), b...)
	recon := append(append([]float32{}, b...), a...)
	path := filepath.Join(t.TempDir(), "grid_brain.png")
	if err := ReconstructionGrid(path, orig, recon, 2, 256, 256, nil); err != nil {
		t.Fatal(err)
	}
	got := decodePNGFile(t, path).(*image.RGBA)
	ref, err := ReconstructionGridImage(orig, recon, 2, 256, 256, []string{
		fmt.Sprintf("SSIM %.3f", want), fmt.Sprintf("SSIM %.3f", want)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, ref.Pix) {
		t.Errorf("captions differ from scikit-image's SSIM %.3f", want)
	}
	l := newGridLayout(2, 256, 256)
	checkTilePixels(t, got, l, orig, 1, 0)
	checkTilePixels(t, got, l, recon, 1, 1)
}

func TestImageGridPixelsAndErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	imgs, _ := testImages(rng, 5, 12, 10)
	img, err := ImageGridImage(imgs, 5, 12, 10, 3, []string{"a", "b", "c", "d", "e"})
	if err != nil {
		t.Fatal(err)
	}
	l := newGridLayout(1, 12, 10)
	cellW, cellH := l.tileW+gridPad, l.tileH+gridCaptionH+gridPad
	if b := img.Bounds(); b.Dx() != gridPad+3*cellW || b.Dy() != gridPad+2*cellH {
		t.Fatalf("grid is %v, want %d×%d", b, gridPad+3*cellW, gridPad+2*cellH)
	}
	// Image 4 sits in row 1, column 1; its top-left pixel is the grey of its first value.
	x, y := gridPad+cellW, gridPad+cellH
	want := uint8(math.Round(255 * float64(min(max(imgs[4*120], 0), 1))))
	if got := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y; got != want {
		t.Fatalf("pixel of image 4 is %d, want %d", got, want)
	}
	for _, bad := range []func() error{
		func() error { _, err := ImageGridImage(imgs, 0, 12, 10, 3, nil); return err },
		func() error { _, err := ImageGridImage(imgs[:5], 5, 12, 10, 3, nil); return err },
		func() error { _, err := ImageGridImage(imgs, 5, 12, 10, 3, []string{"x"}); return err },
	} {
		if bad() == nil {
			t.Fatal("bad grid input accepted")
		}
	}
	if err := ImageGrid(filepath.Join(t.TempDir(), "no", "such", "dir.png"), imgs, 5, 12, 10, 3, nil); err == nil {
		t.Fatal("unwritable path accepted")
	}
}
