package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/brainvq/brainvq/core/parallel"
)

// Splits names the three OASIS image splits in their usual order.
var Splits = []string{"train", "validate", "test"}

// Folder names of the OASIS "keras_png_slices_data" layout.
const (
	DataDirName    = "keras_png_slices_data" // the dataset root
	ImageDirPrefix = "keras_png_slices_"     // + split name: an image split folder
	SegDirPrefix   = "keras_png_slices_seg_" // + split name: a segmentation-mask folder (never loaded)
	segFilePrefix  = "seg_"                  // mask files are seg_NNN_slice_K.nii.png
	pngSuffix      = ".png"                  // image files end in .png (any case)
	pngSignature   = "\x89PNG\r\n\x1a\n"     // the 8 bytes every PNG file starts with
)

// DefaultSize is the side of OASIS slices (256×256), the size the loader and the stand-in maker use unless
// told otherwise.
const DefaultSize = 256

// ErrSegMasks is wrapped by every error that refuses a segmentation-mask folder or file passed as images.
var ErrSegMasks = errors.New("segmentation masks are not images")

// SplitDirName is the image folder name of a split: "train" → "keras_png_slices_train".
func SplitDirName(split string) string { return ImageDirPrefix + split }

// Layout is an OASIS dataset found on disk.
type Layout struct {
	Root    string            // the keras_png_slices_data folder
	Dirs    map[string]string // split name ("train", "validate", "test") → its image folder
	SegDirs []string          // segmentation-mask folders beside the image folders; listed, never loaded
}

// Dir is the image folder of a split ("" if the layout has none).
func (l Layout) Dir(split string) string { return l.Dirs[split] }

// OpenOASIS finds the three image split folders under root, which may be the keras_png_slices_data folder
// itself or its parent. It reads no image.
func OpenOASIS(root string) (Layout, error) {
	st, err := os.Stat(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Layout{}, fmt.Errorf("dataset folder %s does not exist", root)
		}
		return Layout{}, fmt.Errorf("dataset folder %s: %w", root, err)
	}
	if !st.IsDir() {
		return Layout{}, fmt.Errorf("dataset folder %s is not a folder", root)
	}
	base := filepath.Base(filepath.Clean(root))
	if strings.HasPrefix(base, ImageDirPrefix) && base != DataDirName {
		return Layout{}, fmt.Errorf("%s is a split folder; pass the folder that holds it (%s)", root, filepath.Dir(filepath.Clean(root)))
	}
	dataRoot := root
	if !isDir(filepath.Join(root, SplitDirName("train"))) && isDir(filepath.Join(root, DataDirName)) {
		dataRoot = filepath.Join(root, DataDirName)
	}
	l := Layout{Root: dataRoot, Dirs: map[string]string{}}
	var missing []string
	for _, s := range Splits {
		d := filepath.Join(dataRoot, SplitDirName(s))
		if isDir(d) {
			l.Dirs[s] = d
		} else {
			missing = append(missing, SplitDirName(s))
		}
		if sd := filepath.Join(dataRoot, SegDirPrefix+s); isDir(sd) {
			l.SegDirs = append(l.SegDirs, sd)
		}
	}
	if len(missing) == len(Splits) {
		return Layout{}, fmt.Errorf("no OASIS image folders (%s, %s, %s) in %s or in %s",
			SplitDirName("train"), SplitDirName("validate"), SplitDirName("test"), root, filepath.Join(root, DataDirName))
	}
	if len(missing) > 0 {
		return Layout{}, fmt.Errorf("OASIS dataset %s lacks %s", dataRoot, strings.Join(missing, " and "))
	}
	return l, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// LoadOptions says how LoadSplit reads a split.
type LoadOptions struct {
	Size    int  // side of the square images wanted; 0 means 256
	Resize  bool // resample images of another size to Size×Size (area filter when shrinking, bilinear when enlarging) instead of failing
	Limit   int  // read only the first Limit files in order (0: all)
	Workers int  // parallel decoders; 0 means parallel.Threads() (the one thread setting)
}

func (o LoadOptions) size() int {
	if o.Size <= 0 {
		return DefaultSize
	}
	return o.Size
}

func (o LoadOptions) workers() int {
	if o.Workers <= 0 {
		return parallel.Threads()
	}
	return o.Workers
}

// Split is one split's images in memory.
type Split struct {
	Name    string    // the folder's base name, e.g. "keras_png_slices_train"
	Files   []string  // the image paths, in load order (natural order of the file names)
	N, H, W int       // image count and size
	Pixels  []float32 // [N,H,W], row-major: image i, row r, column c at (i*H+r)*W+c; x = p/255 ∈ [0,1]
}

// Image returns image i as a [H,W] slice of Pixels (not a copy).
func (s *Split) Image(i int) []float32 { return s.Pixels[i*s.H*s.W : (i+1)*s.H*s.W] }

// Batch copies images idx into dst, which holds at least len(idx)·H·W values and becomes [len(idx),H,W].
// It panics if dst is too short or an index is out of range, as a slice copy would.
func (s *Split) Batch(dst []float32, idx []int) {
	hw := s.H * s.W
	if len(dst) < len(idx)*hw {
		panic(fmt.Sprintf("data: Batch dst holds %d values, want %d for %d images", len(dst), len(idx)*hw, len(idx)))
	}
	for b, i := range idx {
		copy(dst[b*hw:(b+1)*hw], s.Pixels[i*hw:(i+1)*hw])
	}
}

// list returns the split's files in load order, the first opt.Limit of them when a limit is set.
func (o LoadOptions) list(dir string) ([]string, error) {
	files, err := ListSplit(dir)
	if err != nil {
		return nil, err
	}
	if o.Limit > 0 && o.Limit < len(files) {
		files = files[:o.Limit]
	}
	return files, nil
}

// LoadSplit reads every .png image of a split folder into memory, in natural order of the file names
// (case number, then slice number), decoding in parallel. 8-bit grey images give x = p/255; 16-bit grey,
// colour and paletted images are converted to grey first (see decodeGrey). It refuses segmentation-mask
// folders and files, non-PNG files named .png, truncated or corrupt files, images whose header claims more
// than MaxImageSide pixels a side and, unless opt.Resize, images that are not opt.Size×opt.Size (the last
// two from the header, before any pixel is decoded). Errors name the file; the format problems are
// *FormatError.
//
// Memory: N·H·W·4 bytes (the full OASIS training split is 9664 images, 2.5 GB).
func LoadSplit(dir string, opt LoadOptions) (*Split, error) {
	files, err := opt.list(dir)
	if err != nil {
		return nil, err
	}
	size := opt.size()
	hw := size * size
	s := &Split{Name: filepath.Base(filepath.Clean(dir)), Files: files, N: len(files), H: size, W: size,
		Pixels: make([]float32, len(files)*hw)}
	err = parallelFiles(len(files), opt.workers(), func(i, _ int) error {
		return decodeFile(files[i], s.Pixels[i*hw:(i+1)*hw], size, opt.Resize)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// SplitSummary describes a split without keeping its pixels.
type SplitSummary struct {
	Dir      string
	Files    []string // in load order
	N, H, W  int
	Mean     float64 // mean of x = p/255 over every pixel of every image
	Variance float64 // population variance of x over the same pixels
}

// ScanSplit decodes every image of a split folder, as LoadSplit does, but keeps only the pixel mean and
// variance; memory stays at one image per worker. Per-image sums are accumulated in float64 and combined in
// file order, so the result does not depend on the worker count.
func ScanSplit(dir string, opt LoadOptions) (*SplitSummary, error) {
	files, err := opt.list(dir)
	if err != nil {
		return nil, err
	}
	size := opt.size()
	hw := size * size
	sum := make([]float64, len(files))
	sumSq := make([]float64, len(files))
	workers := opt.workers()
	bufs := make([][]float32, workers) // one image per worker, made on first use
	err = parallelFiles(len(files), workers, func(i, w int) error {
		if bufs[w] == nil {
			bufs[w] = make([]float32, hw)
		}
		if err := decodeFile(files[i], bufs[w], size, opt.Resize); err != nil {
			return err
		}
		var a, b float64
		for _, v := range bufs[w] {
			x := float64(v)
			a += x
			b += x * x
		}
		sum[i], sumSq[i] = a, b
		return nil
	})
	if err != nil {
		return nil, err
	}
	var a, b float64
	for i := range files {
		a += sum[i]
		b += sumSq[i]
	}
	n := float64(len(files) * hw)
	mean := a / n
	return &SplitSummary{Dir: dir, Files: files, N: len(files), H: size, W: size, Mean: mean,
		Variance: max(0, b/n-mean*mean)}, nil
}

// parallelFiles runs do(i, worker) for every file index i in [0, n) through parallel.TasksWorkers: files are
// handed out in order to the first free of at most workers goroutines, worker ∈ [0, workers) naming the one
// that runs it (never two calls at once), for per-worker scratch. It returns the error of the lowest failing index
// among those run; once one fails, the files not yet started are skipped.
func parallelFiles(n, workers int, do func(i, worker int) error) error {
	errs := make([]error, n)
	var failed atomic.Bool
	parallel.TasksWorkers(n, workers, func(i, w int) {
		if failed.Load() {
			return
		}
		if err := do(i, w); err != nil {
			errs[i] = err
			failed.Store(true)
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ListSplit returns the .png files of a split folder in load order: natural order of the base names (runs of
// digits compare as numbers, so case_2 < case_10 and slice_9 < slice_10), ties broken lexically. It refuses
// a missing folder, a folder with no .png file, and segmentation-mask folders or files.
func ListSplit(dir string) ([]string, error) {
	base := filepath.Base(filepath.Clean(dir))
	if isSegDirName(base) {
		return nil, fmt.Errorf("split folder %s holds segmentation masks, not images; pass the image folder %s instead: %w",
			dir, strings.Replace(base, "_seg_", "_", 1), ErrSegMasks)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("split folder %s does not exist", dir)
		}
		return nil, fmt.Errorf("read split folder %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(name), pngSuffix) {
			continue
		}
		if strings.HasPrefix(strings.ToLower(name), segFilePrefix) {
			return nil, fmt.Errorf("split folder %s holds segmentation masks (%s), not images: %w", dir, name, ErrSegMasks)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("split folder %s holds no .png files", dir)
	}
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
	}
	return paths, nil
}

// isSegDirName reports whether a folder's base name marks it as a segmentation-mask folder:
// keras_png_slices_seg_* or any name with a "seg" word (seg_..., ..._seg, ..._seg_...).
func isSegDirName(base string) bool {
	b := strings.ToLower(base)
	if strings.HasPrefix(b, SegDirPrefix) {
		return true
	}
	for _, w := range strings.FieldsFunc(b, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' }) {
		if w == "seg" {
			return true
		}
	}
	return false
}

// naturalLess orders strings with runs of ASCII digits compared by value ("slice_9" < "slice_10"); equal
// strings by that order (e.g. "01" and "1") fall back to plain lexical order.
func naturalLess(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			continue
		}
		if a[i] != b[j] {
			return a[i] < b[j]
		}
		i++
		j++
	}
	if ra, rb := len(a)-i, len(b)-j; ra != rb {
		return ra < rb
	}
	return a < b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Stats returns the mean and the population variance of every pixel of s (x ∈ [0,1]), accumulated in float64
// over two passes. For the training split these are model.Preprocess's Mean μ and Variance σ².
func Stats(s *Split) (mean, variance float32) {
	m, v := stats64(s.Pixels)
	return float32(m), float32(v)
}

func stats64(px []float32) (mean, variance float64) {
	if len(px) == 0 {
		return 0, 0
	}
	// Fixed chunks of 2²⁰ values summed through parallel.Tasks and combined in chunk order: the same result
	// for a given length on any number of threads.
	const chunk = 1 << 20
	nc := (len(px) + chunk - 1) / chunk
	part := make([]float64, nc)
	run := func(f func(lo, hi int) float64) float64 {
		parallel.Tasks(nc, func(c, _ int) { part[c] = f(c*chunk, min(len(px), (c+1)*chunk)) })
		t := 0.0
		for _, p := range part {
			t += p
		}
		return t
	}
	n := float64(len(px))
	mean = run(func(lo, hi int) float64 {
		t := 0.0
		for _, v := range px[lo:hi] {
			t += float64(v)
		}
		return t
	}) / n
	variance = run(func(lo, hi int) float64 {
		t := 0.0
		for _, v := range px[lo:hi] {
			d := float64(v) - mean
			t += d * d
		}
		return t
	}) / n
	return mean, variance
}
