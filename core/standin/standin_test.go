package standin

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/data"
)

// synthHead is an ellipsoidal "head" of grey 100, 4 mm voxels, longest front–back (y), with a bright
// sphere (grey 250, radius 14 mm) centred at marker mm from the centre.
func synthHead(marker [3]float64) *Volume {
	v := &Volume{Dim: [3]int{40, 48, 32}, Spacing: [3]float64{4, 4, 4}}
	v.Data = make([]float32, 40*48*32)
	c := [3]float64{20 * 4, 24 * 4, 16 * 4}
	for z := range v.Dim[2] {
		for y := range v.Dim[1] {
			for x := range v.Dim[0] {
				p := [3]float64{float64(x)*4 - c[0], float64(y)*4 - c[1], float64(z)*4 - c[2]}
				if (p[0]/60)*(p[0]/60)+(p[1]/80)*(p[1]/80)+(p[2]/55)*(p[2]/55) > 1 {
					continue
				}
				val := float32(100)
				dx, dy, dz := p[0]-marker[0], p[1]-marker[1], p[2]-marker[2]
				if dx*dx+dy*dy+dz*dz < 14*14 {
					val = 250
				}
				v.Data[x+40*(y+48*z)] = val
			}
		}
	}
	return v
}

// readGreyPNG decodes an 8-bit grey PNG, failing on any other kind.
func readGreyPNG(t *testing.T, path string) *image.Gray {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("%s is %T, want 8-bit grey", path, img)
	}
	return g
}

// readTree returns every file under root (relative path → bytes).
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var caseName = regexp.MustCompile(`^case_(\d{3})_slice_(\d+)\.nii\.png$`)

func TestMakeStandInLayoutDeterminismSubjects(t *testing.T) {
	vol := synthHead([3]float64{0, 50, 0})
	opt := Options{Seed: 5, TrainSubjects: 3, ValidateSubjects: 2, TestSubjects: 2, Slices: 4, Size: 64,
		SkullStripped: true, Notice: "test notice", Source: "synthetic"}
	outA := t.TempDir()
	var calls [][2]int
	if err := Make(vol, outA, opt, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(outA, data.DataDirName)
	entries, _ := os.ReadDir(outA)
	if len(entries) != 1 || entries[0].Name() != data.DataDirName {
		t.Fatalf("out folder holds %v, want only %s (no staging left)", entries, data.DataDirName)
	}
	// Layout: the three image folders and nothing seg-like; the manifest and notice.
	tree := readTree(t, root)
	wantCounts := map[string]int{"train": 3, "validate": 2, "test": 2}
	cases := map[string]map[int][]int{}
	for rel := range tree {
		dir, name := filepath.Split(rel)
		dir = strings.TrimSuffix(dir, string(filepath.Separator))
		if dir == "" {
			if name != ManifestName && name != "NOTICE" {
				t.Errorf("unexpected file %s in the dataset root", name)
			}
			continue
		}
		if strings.Contains(dir, "seg") {
			t.Fatalf("segmentation folder written: %s", dir)
		}
		split := strings.TrimPrefix(dir, data.ImageDirPrefix)
		if _, ok := wantCounts[split]; !ok {
			t.Fatalf("unexpected folder %s", dir)
		}
		m := caseName.FindStringSubmatch(name)
		if m == nil {
			t.Fatalf("file name %s does not look like case_NNN_slice_K.nii.png", rel)
		}
		c, _ := strconv.Atoi(m[1])
		k, _ := strconv.Atoi(m[2])
		if cases[split] == nil {
			cases[split] = map[int][]int{}
		}
		cases[split][c] = append(cases[split][c], k)
	}
	seen := map[int]string{}
	for split, n := range wantCounts {
		if len(cases[split]) != n {
			t.Fatalf("%s has %d subjects, want %d", split, len(cases[split]), n)
		}
		for c, ks := range cases[split] {
			if prev, dup := seen[c]; dup {
				t.Fatalf("case %d is in both %s and %s", c, prev, split)
			}
			seen[c] = split
			slices.Sort(ks)
			if !slices.Equal(ks, []int{0, 1, 2, 3}) {
				t.Fatalf("%s case %d has slices %v, want 0..3", split, c, ks)
			}
		}
	}
	var man Manifest
	if err := json.Unmarshal(tree[ManifestName], &man); err != nil {
		t.Fatal(err)
	}
	if man.Seed != 5 || man.Subjects["train"] != 3 || man.Cases["validate"] != 4 || man.Slices != 4 || man.Size != 64 || !man.Scalp {
		t.Fatalf("manifest %+v", man)
	}
	if !strings.Contains(string(tree["NOTICE"]), "test notice") {
		t.Fatalf("NOTICE = %q", tree["NOTICE"])
	}
	// The loader reads it back: 64×64 8-bit grey.
	l, err := data.OpenOASIS(outA)
	if err != nil {
		t.Fatal(err)
	}
	s, err := data.LoadSplit(l.Dir("train"), data.LoadOptions{Size: 64})
	if err != nil || s.N != 12 {
		t.Fatalf("load train: %v (N=%v)", err, s)
	}
	readGreyPNG(t, s.Files[0])
	// Progress: one call per subject, ending at the total.
	if len(calls) != 7 || calls[6] != [2]int{28, 28} {
		t.Fatalf("progress calls %v", calls)
	}

	// Same seed, other worker count: the same bytes. Another seed: other images.
	outB := t.TempDir()
	opt1 := opt
	opt1.Workers = 1
	if err := Make(vol, outB, opt1, nil); err != nil {
		t.Fatal(err)
	}
	treeB := readTree(t, filepath.Join(outB, data.DataDirName))
	if len(treeB) != len(tree) {
		t.Fatalf("second run wrote %d files, first %d", len(treeB), len(tree))
	}
	for rel, b := range tree {
		if !bytes.Equal(b, treeB[rel]) {
			t.Fatalf("%s differs between runs with the same seed", rel)
		}
	}
	// Overwrite is refused without the option, done with it.
	opt2 := opt
	opt2.Seed = 6
	if err := Make(vol, outB, opt2, nil); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("making over an existing dataset: %v, want an 'already exists' error", err)
	}
	opt2.Overwrite = true
	if err := Make(vol, outB, opt2, nil); err != nil {
		t.Fatal(err)
	}
	treeC := readTree(t, filepath.Join(outB, data.DataDirName))
	same := 0
	for rel, b := range tree {
		if bytes.Equal(b, treeC[rel]) {
			same++
		}
	}
	if same > 2 { // the NOTICE is the same; images must all differ
		t.Fatalf("seed 6 reproduced %d files of seed 5", same)
	}
	if entries, _ := os.ReadDir(outB); len(entries) != 1 {
		t.Fatalf("after overwrite the folder holds %v", entries)
	}
}

// brightCentroid is the mean (row, col) of the pixels above 0.8 of the image's maximum.
func brightCentroid(g *image.Gray) (row, col float64) {
	mx := slices.Max(g.Pix)
	n := 0.0
	for y := range g.Rect.Dy() {
		for x := range g.Rect.Dx() {
			if float64(g.Pix[y*g.Stride+x]) > 0.8*float64(mx) {
				row += float64(y)
				col += float64(x)
				n++
			}
		}
	}
	return row / n, col / n
}

func TestMakeStandInOrientation(t *testing.T) {
	const size = 64
	opt := Options{Seed: 3, TrainSubjects: 2, ValidateSubjects: 1, TestSubjects: 1, Slices: 6, Size: size}
	render := func(marker [3]float64) []*image.Gray {
		out := t.TempDir()
		if err := Make(synthHead(marker), out, opt, nil); err != nil {
			t.Fatal(err)
		}
		var imgs []*image.Gray
		for _, split := range data.Splits {
			files, err := data.ListSplit(filepath.Join(out, data.DataDirName, data.SplitDirName(split)))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				imgs = append(imgs, readGreyPNG(t, f))
			}
		}
		return imgs
	}
	mid := float64(size-1) / 2
	// Front (+y) marker: on the right of every image that shows it; the head is wider than tall.
	for i, g := range render([3]float64{0, 55, 0}) {
		if slices.Max(g.Pix) < 200 {
			continue // a slice above or below the marker
		}
		r, c := brightCentroid(g)
		if c < mid+8 || math.Abs(r-mid) > 8 {
			t.Fatalf("image %d: front marker at row %.1f col %.1f, want right of centre", i, r, c)
		}
		// Head extent: columns and rows holding any non-zero pixel.
		var rows, cols int
		for y := range size {
			if slices.Max(g.Pix[y*size:(y+1)*size]) > 0 {
				rows++
			}
		}
		for x := range size {
			for y := range size {
				if g.Pix[y*size+x] > 0 {
					cols++
					break
				}
			}
		}
		if cols <= rows {
			t.Fatalf("image %d: head spans %d columns and %d rows; the front–back axis must run across", i, cols, rows)
		}
	}
	// Right (+x) marker: at the bottom.
	found := 0
	for i, g := range render([3]float64{40, 0, 0}) {
		if slices.Max(g.Pix) < 200 {
			continue
		}
		found++
		if r, c := brightCentroid(g); r < mid+8 || math.Abs(c-mid) > 8 {
			t.Fatalf("image %d: right marker at row %.1f col %.1f, want below centre", i, r, c)
		}
	}
	// Top (+z) marker: only in the upper slices (slice numbers grow upwards).
	imgs := render([3]float64{0, 0, 38})
	for i, g := range imgs {
		k := i % opt.Slices
		if slices.Max(g.Pix) >= 200 && k < opt.Slices/2 {
			t.Fatalf("image %d (slice %d of a subject): top marker in a lower slice", i, k)
		}
	}
	if found == 0 {
		t.Fatal("no image showed the right marker")
	}
}

// TestStandInFromTemplateLooksLikeOASIS makes a few subjects from the MNI template (block-averaged to 3 mm,
// testdata/data) as `brainvq data make` does and checks the OASIS look described in the data notes.
func TestStandInFromTemplateLooksLikeOASIS(t *testing.T) {
	vol, err := LoadNIfTI(filepath.Join("..", "..", "testdata", "data", "mni_icbm152_t1_3mm.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	opt := Options{Seed: 1, TrainSubjects: 4, ValidateSubjects: 1, TestSubjects: 1, Slices: 16,
		SkullStripped: true, Contrast: 1.8}
	if err := Make(vol, out, opt, nil); err != nil {
		t.Fatal(err)
	}
	var px []uint8
	var wider, images int
	for _, split := range data.Splits {
		files, err := data.ListSplit(filepath.Join(out, data.DataDirName, data.SplitDirName(split)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			g := readGreyPNG(t, f)
			if g.Rect.Dx() != 256 || g.Rect.Dy() != 256 {
				t.Fatalf("%s is %v, want 256×256", f, g.Rect)
			}
			px = append(px, g.Pix...)
			// Bounding box of the head.
			r0, r1, c0, c1 := 256, -1, 256, -1
			for y := range 256 {
				for x := range 256 {
					if g.Pix[y*256+x] > 0 {
						r0, r1, c0, c1 = min(r0, y), max(r1, y), min(c0, x), max(c1, x)
					}
				}
			}
			if c1-c0 > r1-r0 {
				wider++
			}
			images++
		}
	}
	var sum float64
	var nonzero, bright int
	var tissue []int
	for _, p := range px {
		sum += float64(p)
		if p > 0 {
			nonzero++
			tissue = append(tissue, int(p))
		}
		if p >= 240 {
			bright++
		}
	}
	mean := sum / float64(len(px))
	fnz := float64(nonzero) / float64(len(px))
	slices.Sort(tissue)
	q := func(f float64) int { return tissue[int(f*float64(len(tissue)-1))] }
	t.Logf("mean %.1f, non-zero %.1f%%, non-zero grey quartiles %d/%d/%d, ≥240: %d, wider than tall %d/%d",
		mean, 100*fnz, q(0.25), q(0.5), q(0.75), bright, wider, images)
	if mean < 26 || mean > 34 {
		t.Errorf("mean grey %.1f, want 26–34 as in OASIS", mean)
	}
	if fnz < 0.33 || fnz > 0.55 {
		t.Errorf("%.1f%% of pixels non-zero, want about 45%%", 100*fnz)
	}
	if q(0.25) < 20 || q(0.75) > 130 {
		t.Errorf("middle half of the head's grey levels %d–%d, want within 20–130", q(0.25), q(0.75))
	}
	if bright == 0 {
		t.Error("no pixel reaches 240: the scalp should be bright")
	}
	if wider < images*9/10 {
		t.Errorf("only %d of %d heads are wider than tall: the front–back axis must run across", wider, images)
	}
}
