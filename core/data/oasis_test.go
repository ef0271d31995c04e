package data

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// greyImage makes a w×h 8-bit grey image whose pixels come from f.
func greyImage(w, h int, f func(x, y int) uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetGray(x, y, color.Gray{f(x, y)})
		}
	}
	return m
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.WriteFile(path, encodePNG(t, img), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tag gives each test image a distinct, recognisable content: pixel (x,y) of image k.
func tag(k int) func(x, y int) uint8 {
	return func(x, y int) uint8 { return uint8((k*37 + x*3 + y*5) % 256) }
}

func mustErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestNaturalLess(t *testing.T) {
	in := []string{"case_10_slice_0.nii.png", "case_2_slice_10.nii.png", "case_2_slice_9.nii.png",
		"case_002_slice_1.nii.png", "case_1_slice_0.nii.png", "b.png", "a.png", "case_2_slice_1.nii.png"}
	want := []string{"a.png", "b.png", "case_1_slice_0.nii.png", "case_002_slice_1.nii.png", "case_2_slice_1.nii.png",
		"case_2_slice_9.nii.png", "case_2_slice_10.nii.png", "case_10_slice_0.nii.png"}
	got := slices.Clone(in)
	slices.SortFunc(got, func(a, b string) int {
		if naturalLess(a, b) {
			return -1
		}
		if naturalLess(b, a) {
			return 1
		}
		return 0
	})
	if !slices.Equal(got, want) {
		t.Fatalf("natural order\n got %q\nwant %q", got, want)
	}
}

func TestLoadSplitOrderValuesAndWorkers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keras_png_slices_train")
	os.Mkdir(dir, 0o755)
	// Files written in a scrambled order; k is the position each must take in natural order.
	names := []string{"case_1_slice_0.nii.png", "case_1_slice_2.nii.png", "case_1_slice_10.nii.png",
		"case_2_slice_0.nii.png", "case_10_slice_1.nii.png"}
	for _, k := range []int{3, 0, 4, 2, 1} {
		writePNG(t, filepath.Join(dir, names[k]), greyImage(8, 8, tag(k)))
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub.png"), 0o755) // a folder named .png is skipped

	var ref *Split
	for _, workers := range []int{1, 2, 5} {
		s, err := LoadSplit(dir, LoadOptions{Size: 8, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if s.N != 5 || s.H != 8 || s.W != 8 || len(s.Pixels) != 5*64 || s.Name != "keras_png_slices_train" {
			t.Fatalf("split %s N=%d H=%d W=%d len=%d", s.Name, s.N, s.H, s.W, len(s.Pixels))
		}
		for k, name := range names {
			if filepath.Base(s.Files[k]) != name {
				t.Fatalf("file %d is %s, want %s", k, s.Files[k], name)
			}
			img := s.Image(k)
			for y := range 8 {
				for x := range 8 {
					if want := float32(tag(k)(x, y)) / 255; img[y*8+x] != want {
						t.Fatalf("image %d pixel (%d,%d) = %v, want %v", k, x, y, img[y*8+x], want)
					}
				}
			}
		}
		if ref != nil && !slices.Equal(ref.Pixels, s.Pixels) {
			t.Fatalf("%d workers gave other pixels than 1", workers)
		}
		ref = s
	}

	s, err := LoadSplit(dir, LoadOptions{Size: 8, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || !slices.Equal(s.Pixels, ref.Pixels[:2*64]) {
		t.Fatalf("Limit 2 gave N=%d or other pixels than the first two", s.N)
	}

	dst := make([]float32, 3*64)
	ref.Batch(dst, []int{4, 0, 4})
	if !slices.Equal(dst[:64], ref.Image(4)) || !slices.Equal(dst[64:128], ref.Image(0)) || !slices.Equal(dst[128:], ref.Image(4)) {
		t.Fatal("Batch did not copy images 4, 0, 4")
	}
}

func TestLoadSplitErrors(t *testing.T) {
	root := t.TempDir()
	mk := func(name string) string {
		d := filepath.Join(root, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	good := encodePNG(t, greyImage(16, 16, tag(1)))
	opt := LoadOptions{Size: 16}

	t.Run("missing folder", func(t *testing.T) {
		p := filepath.Join(root, "nowhere")
		_, err := LoadSplit(p, opt)
		mustErr(t, err, p, "does not exist")
	})
	t.Run("empty split", func(t *testing.T) {
		d := mk("empty")
		os.WriteFile(filepath.Join(d, "readme.txt"), []byte("x"), 0o644)
		_, err := LoadSplit(d, opt)
		mustErr(t, err, d, "no .png files")
	})
	t.Run("not a PNG", func(t *testing.T) {
		d := mk("notpng")
		os.WriteFile(filepath.Join(d, "case_1_slice_0.nii.png"), good, 0o644)
		bad := filepath.Join(d, "case_1_slice_1.nii.png")
		os.WriteFile(bad, []byte("GIF89a this is not a png"), 0o644)
		_, err := LoadSplit(d, opt)
		mustErr(t, err, bad, "not a PNG file")
	})
	t.Run("truncated PNG", func(t *testing.T) {
		d := mk("truncated")
		bad := filepath.Join(d, "case_1_slice_0.nii.png")
		// Cut inside the header, inside the pixel data, and just before the end.
		for _, n := range []int{20, 60, len(good) / 2, len(good) - 5} {
			os.WriteFile(bad, good[:n], 0o644)
			_, err := LoadSplit(d, opt)
			mustErr(t, err, bad, "truncated PNG")
		}
	})
	t.Run("corrupt PNG", func(t *testing.T) {
		d := mk("corrupt")
		b := slices.Clone(good)
		b[len(b)/2] ^= 0xff // breaks a CRC or the zlib stream
		bad := filepath.Join(d, "case_1_slice_0.nii.png")
		os.WriteFile(bad, b, 0o644)
		_, err := LoadSplit(d, opt)
		mustErr(t, err, bad, "PNG")
	})
	t.Run("wrong size", func(t *testing.T) {
		d := mk("small")
		os.WriteFile(filepath.Join(d, "case_1_slice_0.nii.png"), good, 0o644)
		bad := filepath.Join(d, "case_1_slice_1.nii.png")
		writePNG(t, bad, greyImage(8, 8, tag(2)))
		_, err := LoadSplit(d, opt)
		mustErr(t, err, bad, "is 8×8, want 16×16; pass --resize to resample")
	})
	t.Run("seg folder", func(t *testing.T) {
		d := mk("keras_png_slices_seg_train")
		writePNG(t, filepath.Join(d, "seg_001_slice_0.nii.png"), greyImage(16, 16, func(x, y int) uint8 { return uint8(85 * (x % 4)) }))
		_, err := LoadSplit(d, opt)
		mustErr(t, err, d, "segmentation masks", "keras_png_slices_train")
		if !errors.Is(err, ErrSegMasks) {
			t.Errorf("error %v does not wrap ErrSegMasks", err)
		}
		_, err = ScanSplit(d, opt)
		if !errors.Is(err, ErrSegMasks) {
			t.Errorf("ScanSplit: error %v does not wrap ErrSegMasks", err)
		}
	})
	t.Run("seg files in an image folder", func(t *testing.T) {
		d := mk("masks_renamed")
		os.WriteFile(filepath.Join(d, "case_1_slice_0.nii.png"), good, 0o644)
		writePNG(t, filepath.Join(d, "seg_001_slice_0.nii.png"), greyImage(16, 16, func(x, y int) uint8 { return 170 }))
		_, err := LoadSplit(d, opt)
		mustErr(t, err, d, "seg_001_slice_0.nii.png", "segmentation masks")
		if !errors.Is(err, ErrSegMasks) {
			t.Errorf("error %v does not wrap ErrSegMasks", err)
		}
	})
}

// naiveArea resizes one axis of length m to n by the definition of area averaging: replicate every input
// sample L/m times on a grid of L = lcm(m,n) cells, then average runs of L/n cells.
func naiveArea(src []float64, n int) []float64 {
	m := len(src)
	l := m * n / gcd(m, n)
	fine := make([]float64, l)
	for i := range fine {
		fine[i] = src[i/(l/m)]
	}
	out := make([]float64, n)
	for i := range out {
		for _, v := range fine[i*(l/n) : (i+1)*(l/n)] {
			out[i] += v
		}
		out[i] /= float64(l / n)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func TestResampleAreaAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sw, sh, dw, dh := 12, 10, 8, 4 // shrink by 3/2 and 5/2
	src := make([]float32, sw*sh)
	for i := range src {
		src[i] = r.Float32()
	}
	dst := make([]float32, dw*dh)
	Resample(dst, dw, dh, src, sw, sh)
	// Reference: rows, then columns, each axis by naiveArea (the area filter is separable).
	rows := make([][]float64, sh)
	for y := range sh {
		row := make([]float64, sw)
		for x := range sw {
			row[x] = float64(src[y*sw+x])
		}
		rows[y] = naiveArea(row, dw)
	}
	for x := range dw {
		col := make([]float64, sh)
		for y := range sh {
			col[y] = rows[y][x]
		}
		ref := naiveArea(col, dh)
		for y := range dh {
			if d := math.Abs(float64(dst[y*dw+x]) - ref[y]); d > 1e-6 {
				t.Fatalf("pixel (%d,%d) = %v, naive area %v", x, y, dst[y*dw+x], ref[y])
			}
		}
	}
}

func TestResampleBilinear(t *testing.T) {
	// 1-D: [0,1] grown to 4 samples; half-pixel centres give 0, ¼, ¾, 1 (edges clamped).
	dst := make([]float32, 4)
	Resample(dst, 4, 1, []float32{0, 1}, 2, 1)
	if !slices.Equal(dst, []float32{0, 0.25, 0.75, 1}) {
		t.Fatalf("grow [0 1] to 4: %v", dst)
	}
	// 2-D plane f(x,y) = a·x + b·y + c is reproduced exactly away from the clamped border:
	// output pixel (i,j) samples the input at ((i+½)·sw/dw − ½, (j+½)·sh/dh − ½).
	sw, sh, dw, dh := 5, 4, 13, 11
	f := func(x, y float64) float64 { return 0.03*x - 0.05*y + 0.4 }
	src := make([]float32, sw*sh)
	for y := range sh {
		for x := range sw {
			src[y*sw+x] = float32(f(float64(x), float64(y)))
		}
	}
	out := make([]float32, dw*dh)
	Resample(out, dw, dh, src, sw, sh)
	for j := range dh {
		for i := range dw {
			x := (float64(i)+0.5)*float64(sw)/float64(dw) - 0.5
			y := (float64(j)+0.5)*float64(sh)/float64(dh) - 0.5
			if x < 0 || y < 0 || x > float64(sw-1) || y > float64(sh-1) {
				continue
			}
			if d := math.Abs(float64(out[j*dw+i]) - f(x, y)); d > 1e-6 {
				t.Fatalf("pixel (%d,%d) = %v, plane %v", i, j, out[j*dw+i], f(x, y))
			}
		}
	}
}

func TestLoadSplitResize(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "imgs")
	os.Mkdir(dir, 0o755)
	big := greyImage(32, 32, func(x, y int) uint8 { return uint8((x*7 + y*13) % 251) })
	writePNG(t, filepath.Join(dir, "case_1_slice_0.nii.png"), big)
	writePNG(t, filepath.Join(dir, "case_1_slice_1.nii.png"), greyImage(8, 8, func(x, y int) uint8 { return uint8(30 * x) }))
	s, err := LoadSplit(dir, LoadOptions{Size: 16, Resize: true})
	if err != nil {
		t.Fatal(err)
	}
	// 32→16: each output pixel is the mean of a 2×2 block.
	for y := range 16 {
		for x := range 16 {
			var sum float64
			for dy := range 2 {
				for dx := range 2 {
					sum += float64(big.GrayAt(2*x+dx, 2*y+dy).Y) / 255
				}
			}
			if d := math.Abs(float64(s.Image(0)[y*16+x]) - sum/4); d > 1e-6 {
				t.Fatalf("shrunk pixel (%d,%d) = %v, block mean %v", x, y, s.Image(0)[y*16+x], sum/4)
			}
		}
	}
	// 8→16 of a horizontal ramp p = 30x: interior output column i samples x = (i+½)/2 − ½.
	for i := 1; i < 15; i++ {
		want := 30 * ((float64(i)+0.5)/2 - 0.5) / 255
		if d := math.Abs(float64(s.Image(1)[5*16+i]) - want); d > 1e-6 {
			t.Fatalf("grown pixel column %d = %v, want %v", i, s.Image(1)[5*16+i], want)
		}
	}
}

func TestDecodeOtherFormats(t *testing.T) {
	const w, h = 6, 5
	g16 := image.NewGray16(image.Rect(0, 0, w, h))
	rgb := image.NewRGBA(image.Rect(0, 0, w, h))
	pal := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Gray{0}, color.RGBA{200, 100, 50, 255}, color.Gray{255}})
	ga := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			g16.SetGray16(x, y, color.Gray16{uint16(x*10000 + y*999)})
			rgb.SetRGBA(x, y, color.RGBA{uint8(x * 40), uint8(y * 50), uint8(x * y * 7), 255})
			pal.SetColorIndex(x, y, uint8((x+y)%3))
			ga.SetNRGBA(x, y, color.NRGBA{200, 200, 200, uint8(y * 60)})
		}
	}
	check := func(name string, img image.Image, want func(x, y int) float64) {
		t.Helper()
		gw, gh, pix, err := decodeGrey(encodePNG(t, img))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if gw != w || gh != h {
			t.Fatalf("%s: size %d×%d", name, gw, gh)
		}
		for y := range h {
			for x := range w {
				if d := math.Abs(float64(pix[y*w+x]) - want(x, y)); d > 1e-5 { // 16-bit premultiplication rounds
					t.Fatalf("%s pixel (%d,%d) = %v, want %v", name, x, y, pix[y*w+x], want(x, y))
				}
			}
		}
	}
	check("gray16", g16, func(x, y int) float64 { return float64(x*10000+y*999) / 65535 })
	check("rgb", rgb, func(x, y int) float64 {
		return (0.299*float64(x*40) + 0.587*float64(y*50) + 0.114*float64(x*y*7)) / 255
	})
	palGrey := []float64{0, (0.299*200 + 0.587*100 + 0.114*50) / 255, 1}
	check("paletted", pal, func(x, y int) float64 { return palGrey[(x+y)%3] })
	// Grey 200 with alpha a, composited over black: 200·a/255 in 8-bit terms.
	check("grey+alpha", ga, func(x, y int) float64 { return 200.0 / 255 * float64(y*60) / 255 })
	// A grey image stored as RGB reads exactly as the same image stored as grey.
	gr := greyImage(w, h, tag(3))
	as := image.NewRGBA(gr.Bounds())
	for y := range h {
		for x := range w {
			v := gr.GrayAt(x, y).Y
			as.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	_, _, a, _ := decodeGrey(encodePNG(t, gr))
	_, _, b, _ := decodeGrey(encodePNG(t, as))
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-7 {
			t.Fatalf("grey-as-RGB pixel %d = %v, grey %v", i, b[i], a[i])
		}
	}
}

func TestStatsAndScan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "imgs")
	os.Mkdir(dir, 0o755)
	r := rand.New(rand.NewPCG(3, 4))
	for k := range 7 {
		writePNG(t, filepath.Join(dir, "case_"+string(rune('a'+k))+".png"), greyImage(16, 16, func(x, y int) uint8 {
			return uint8(r.IntN(256) * (x % 2))
		}))
	}
	s, err := LoadSplit(dir, LoadOptions{Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	// Reference: straight float64 sums over the decoded pixels.
	var sum, sumSq float64
	for _, v := range s.Pixels {
		sum += float64(v)
	}
	m := sum / float64(len(s.Pixels))
	for _, v := range s.Pixels {
		sumSq += (float64(v) - m) * (float64(v) - m)
	}
	vr := sumSq / float64(len(s.Pixels))
	mean, variance := Stats(s)
	if math.Abs(float64(mean)-m) > 1e-7 || math.Abs(float64(variance)-vr) > 1e-7 {
		t.Fatalf("Stats = %v, %v; want %v, %v", mean, variance, m, vr)
	}
	sum2, err := ScanSplit(dir, LoadOptions{Size: 16, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if sum2.N != 7 || math.Abs(sum2.Mean-m) > 1e-12 || math.Abs(sum2.Variance-vr) > 1e-12 {
		t.Fatalf("ScanSplit N=%d mean %v var %v; want 7, %v, %v", sum2.N, sum2.Mean, sum2.Variance, m, vr)
	}
	// Larger than one parallel chunk, so the chunked sums are exercised.
	big := &Split{Pixels: make([]float32, 3<<20+17)}
	for i := range big.Pixels {
		big.Pixels[i] = float32(i%1000) / 999
	}
	bm, bv := Stats(big)
	// Reference: one-pass float64 sums (fine here: the variance is far from zero).
	var s1, s2 float64
	for _, v := range big.Pixels {
		s1 += float64(v)
		s2 += float64(v) * float64(v)
	}
	em := s1 / float64(len(big.Pixels))
	ev := s2/float64(len(big.Pixels)) - em*em
	if math.Abs(float64(bm)-em) > 1e-6 || math.Abs(float64(bv)-ev) > 1e-6 {
		t.Fatalf("Stats over chunks = %v, %v; want %v, %v", bm, bv, em, ev)
	}
}

func TestOpenOASIS(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, DataDirName)
	for _, s := range Splits {
		os.MkdirAll(filepath.Join(root, SplitDirName(s)), 0o755)
	}
	os.MkdirAll(filepath.Join(root, SegDirPrefix+"train"), 0o755)
	for _, p := range []string{root, parent} {
		l, err := OpenOASIS(p)
		if err != nil {
			t.Fatalf("OpenOASIS(%s): %v", p, err)
		}
		if l.Root != root || l.Dir("validate") != filepath.Join(root, "keras_png_slices_validate") || len(l.Dirs) != 3 {
			t.Fatalf("OpenOASIS(%s) = %+v", p, l)
		}
		if len(l.SegDirs) != 1 || filepath.Base(l.SegDirs[0]) != "keras_png_slices_seg_train" {
			t.Fatalf("seg folders %v", l.SegDirs)
		}
	}
	_, err := OpenOASIS(filepath.Join(root, "keras_png_slices_train"))
	mustErr(t, err, "is a split folder")
	_, err = OpenOASIS(filepath.Join(parent, "missing"))
	mustErr(t, err, "does not exist")
	os.RemoveAll(filepath.Join(root, "keras_png_slices_test"))
	_, err = OpenOASIS(parent)
	mustErr(t, err, "lacks keras_png_slices_test")
	_, err = OpenOASIS(t.TempDir())
	mustErr(t, err, "no OASIS image folders")
}

// BenchmarkLoadSplit256 decodes 256 OASIS-sized (256×256 grey) PNGs with a brain-like content.
func BenchmarkLoadSplit256(b *testing.B) {
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	for k := range 256 {
		img := greyImage(256, 256, func(x, y int) uint8 {
			dx, dy := float64(x-128)/100, float64(y-128)/80
			d := dx*dx + dy*dy
			if d > 1 {
				return 0
			}
			return uint8(40 + 60*math.Cos(float64(x+k)/9)*math.Sin(float64(y)/7)*0.5 + 40*(1-d) + r.Float64()*8)
		})
		writePNG(b, filepath.Join(dir, "case_"+strconv.Itoa(k/32)+"_slice_"+strconv.Itoa(k%32)+".nii.png"), img)
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := LoadSplit(dir, LoadOptions{})
		if err != nil || s.N != 256 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N)/256*1e6, "µs/image")
}
