package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/parallel"
	"github.com/brainvq/brainvq/core/plot"
	"github.com/brainvq/brainvq/core/prior"
	"github.com/brainvq/brainvq/onnxexport"
)

// samplingFlags are the flags sample and complete share.
type samplingFlags struct {
	priorPath, ckPath, out *string
	temperature, topP      *float64
	topK, threads          *int
	seed                   *uint64
}

func registerSampling(fs *flag.FlagSet) *samplingFlags {
	return &samplingFlags{
		priorPath:   fs.String("prior", "", "prior checkpoint (RUN/"+priorFile+" of `brainvq prior train`; required)"),
		ckPath:      fs.String("checkpoint", "", "the VQ-VAE checkpoint the prior was trained on (required: it decodes the codes)"),
		out:         fs.String("out", "", "folder for the PNGs, codes.npy and uniforms.npy (required)"),
		temperature: fs.Float64("temperature", 1, "divide the logits by this (< 1: safer, > 1: more varied)"),
		topK:        fs.Int("top-k", 0, "draw only among the k most likely codes (0: all)"),
		topP:        fs.Float64("top-p", 1, "draw only among the most likely codes whose probabilities add up to p (1: all)"),
		seed:        fs.Uint64("seed", 1, "random seed: sample i of a seed is the same whatever --n"),
		threads:     fs.Int("threads", 0, "CPU threads brainvq may keep busy (0: all)"),
	}
}

// load checks the flags and loads the prior and the VQ-VAE, refusing a prior of another model.
func (f *samplingFlags) load() (*prior.Prior, *model.Model, prior.SampleOptions, error) {
	opt := prior.SampleOptions{Temperature: *f.temperature, TopK: *f.topK, TopP: *f.topP}
	switch {
	case *f.priorPath == "":
		return nil, nil, opt, errors.New("--prior: which prior? give the prior checkpoint of `brainvq prior train`")
	case *f.ckPath == "":
		return nil, nil, opt, errors.New("--checkpoint: which VQ-VAE? give the checkpoint the prior was trained on")
	case *f.out == "":
		return nil, nil, opt, errors.New("--out: which folder should the images go to?")
	case *f.threads < 0:
		return nil, nil, opt, fmt.Errorf("--threads %d must be ≥ 0", *f.threads)
	}
	parallel.SetThreads(*f.threads)
	pk, err := prior.LoadCheckpoint(*f.priorPath)
	if err != nil {
		return nil, nil, opt, err
	}
	if err := opt.Validate(pk.Prior.Config.NumCodes); err != nil {
		var oe *prior.OptionError
		if errors.As(err, &oe) {
			return nil, nil, opt, fmt.Errorf("--%s %s", strings.ReplaceAll(oe.Option, "_", "-"), oe.Problem)
		}
		return nil, nil, opt, err
	}
	vq, err := model.LoadCheckpoint(*f.ckPath)
	if err != nil {
		return nil, nil, opt, err
	}
	if err := pk.Prior.CheckModel(vq.Model); err != nil {
		return nil, nil, opt, fmt.Errorf("--prior %s with --checkpoint %s: %w", *f.priorPath, *f.ckPath, err)
	}
	for _, in := range []string{*f.priorPath, *f.ckPath} {
		if abs(in) == abs(*f.out) {
			return nil, nil, opt, fmt.Errorf("--out %s is an input file", *f.out)
		}
	}
	return pk.Prior, vq.Model, opt, os.MkdirAll(*f.out, 0o755)
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func cmdSample(args []string) error {
	fs := newFlags("sample", "--prior P --checkpoint C --out DIR [flags]",
		"Generate new slices: draw code grids from the prior (ancestral sampling, raster order) and decode them\n"+
			"with the VQ-VAE. Writes DIR/samples.png (all of them), DIR/sample_NNN.png, DIR/codes.npy (int64 [N,h,w])\n"+
			"and DIR/uniforms.npy (float64 [N,h,w], the random numbers each code was drawn with; docs/onnx.md).")
	sf := registerSampling(fs)
	n := fs.Int("n", 16, "how many slices")
	level := fs.Int("level", -1, "the axial slice level to generate (OASIS file names' slice_K; -1: no level)")
	naive := fs.Bool("naive", false, "use the naive sampler (one full pass of the prior per position: slow, for comparison)")
	compare := fs.String("compare", "", "OASIS-layout dataset: report each sample's SSIM to its nearest training slice and the\n"+
		"mean pairwise MS-SSIM of the samples (are they copies? are they diverse?)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v (see --help)", fs.Args())
	}
	if *n < 1 || *n > prior.MaxSamples {
		return fmt.Errorf("--n %d must lie in [1, %d]", *n, prior.MaxSamples)
	}
	p, m, opt, err := sf.load()
	if err != nil {
		return err
	}
	class, err := p.Config.Class(*level)
	if err != nil {
		return fmt.Errorf("--level: %w", err)
	}
	classes := make([]int32, *n)
	for i := range classes {
		classes[i] = class
	}
	g := p.Config.Grid
	req := prior.Request{N: *n, Classes: classes, Uniforms: prior.Uniforms(*sf.seed, 0, *n, g), Options: opt}
	start := time.Now()
	sample := p.Sample
	if *naive {
		sample = p.SampleNaive
	}
	codes, err := sample(req)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sampled %d code grids of %d×%d in %s\n", *n, g, g, time.Since(start).Round(time.Millisecond))
	images := m.Decode(codes, *n)
	s := m.Config.ImageSize
	labels := make([]string, *n)
	for i := range labels {
		labels[i] = fmt.Sprintf("%s #%d", levelLabel(*level), i)
		if err := data.SaveImage(filepath.Join(*sf.out, fmt.Sprintf("sample_%03d.png", i)), images[i*s*s:(i+1)*s*s], s, s); err != nil {
			return err
		}
	}
	if err := writeCodes(*sf.out, codes, req.Uniforms, *n, g); err != nil {
		return err
	}
	grid := filepath.Join(*sf.out, "samples.png")
	if err := plot.ImageGrid(grid, images, *n, s, s, 8, labels); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %d slices to %s (%s)\n", grid, *n, *sf.out, time.Since(start).Round(time.Millisecond))
	if *compare != "" {
		return compareSamples(images, *n, s, *compare)
	}
	return nil
}

// compareSamples prints how close n generated slices [n,s,s] come to the training split of root (the mean,
// over samples, of the SSIM to the most similar training slice) and how different they are from each other
// (the mean MS-SSIM over all pairs).
func compareSamples(images []float32, n, s int, root string) error {
	train, err := loadSplit(root, "train", data.LoadOptions{Size: s})
	if err != nil {
		return fmt.Errorf("--compare: %w", err)
	}
	var nearest float64
	for i := range n {
		x := images[i*s*s : (i+1)*s*s]
		best := -1.0
		rep := make([]float32, 0, train.N*s*s)
		for range train.N {
			rep = append(rep, x...)
		}
		for _, v := range metrics.SSIMBatch(rep, train.Pixels, train.N, s, s) {
			best = max(best, v)
		}
		nearest += best
	}
	nearest /= float64(n)
	fmt.Printf("mean SSIM of a sample to its nearest training slice: %.4f (%d samples, %d training slices)\n", nearest, n, train.N)
	if n < 2 || metrics.CheckMSSSIMSize(s, s) != nil {
		return nil
	}
	var pairs, sum float64
	for i := range n {
		for j := i + 1; j < n; j++ {
			sum += metrics.MSSSIM(images[i*s*s:(i+1)*s*s], images[j*s*s:(j+1)*s*s], s, s)
			pairs++
		}
	}
	fmt.Printf("mean pairwise MS-SSIM among the samples: %.4f (%.0f pairs; lower is more diverse)\n", sum/pairs, pairs)
	return nil
}

// writeCodes writes codes.npy and uniforms.npy into dir.
func writeCodes(dir string, codes []int32, uniforms []float64, n, g int) error {
	c64 := make([]int64, len(codes))
	for i, c := range codes {
		c64[i] = int64(c)
	}
	if err := atomicfile.Write(filepath.Join(dir, "codes.npy"), func(w io.Writer) error {
		return onnxexport.WriteNPYInt64(w, []int{n, g, g}, c64)
	}); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "uniforms.npy"), func(w io.Writer) error {
		return onnxexport.WriteNPYFloat64(w, []int{n, g, g}, uniforms)
	})
}

func cmdComplete(args []string) error {
	fs := newFlags("complete", "--prior P --checkpoint C --out DIR [flags] a.png [b.png …]",
		"Complete real slices: encode each PNG, keep its codes above --keep-rows (or outside the white pixels of\n"+
			"--mask) and sample the rest from the prior, --n times; decode. Writes DIR/<name>_completions.png\n"+
			"(original, reconstruction, completions) and DIR/<name>_completion_K.png. The level comes from the file\n"+
			"name (slice_K) unless --level is given.")
	sf := registerSampling(fs)
	n := fs.Int("n", 4, "completions per image")
	keepRows := fs.Int("keep-rows", -1, "keep the image rows above this one (default: the top half)")
	maskPath := fs.String("mask", "", "PNG as large as the images: white pixels mark the region to resample (instead of --keep-rows)")
	level := fs.Int("level", -2, "slice level to condition on (-1: none; default: from the file name)")
	resize := fs.Bool("resize", false, "resample images of other sizes to the model's size instead of failing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("which slices? give one or more PNG files after the flags")
	}
	if *n < 1 || *n > 256 {
		return fmt.Errorf("--n %d must lie in [1, 256]", *n)
	}
	p, m, opt, err := sf.load()
	if err != nil {
		return err
	}
	s, g := m.Config.ImageSize, p.Config.Grid
	if *keepRows < -1 || *keepRows > s {
		return fmt.Errorf("--keep-rows %d outside [0, %d]", *keepRows, s)
	}
	keepGrid, err := completionMask(*maskPath, *keepRows, s, g)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for k, path := range fs.Args() {
		x, err := data.LoadImage(path, s, *resize)
		if err != nil {
			return err
		}
		lv, class := *level, int32(0)
		if lv == -2 { // from the file name; a level the prior does not know becomes "no level"
			class = p.ClassOf(prior.LevelOf(path))
			if lv = int(class); int(class) == p.Config.NullClass() {
				lv = -1
			}
		} else if class, err = p.Config.Class(lv); err != nil {
			return fmt.Errorf("%s: --level: %w", path, err)
		}
		codes := m.Quantize(m.Encode(x, 1), 1)
		req := prior.Request{N: *n, Classes: make([]int32, *n), Uniforms: prior.Uniforms(*sf.seed, k**n, *n, g), Options: opt,
			Known: make([]int32, *n*g*g), Keep: make([]bool, *n*g*g)}
		for i := range *n {
			req.Classes[i] = class
			copy(req.Known[i*g*g:], codes)
			copy(req.Keep[i*g*g:], keepGrid)
		}
		done, err := p.Sample(req)
		if err != nil {
			return err
		}
		images := m.Decode(done, *n)
		base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), ".nii")
		for names[base] {
			base += "_"
		}
		names[base] = true
		all := append(append(append([]float32{}, x...), m.Decode(codes, 1)...), images...)
		labels := []string{"original", "reconstruction"}
		for i := range *n {
			labels = append(labels, fmt.Sprintf("completion %d", i+1))
			if err := data.SaveImage(filepath.Join(*sf.out, fmt.Sprintf("%s_completion_%d.png", base, i+1)), images[i*s*s:(i+1)*s*s], s, s); err != nil {
				return err
			}
		}
		grid := filepath.Join(*sf.out, base+"_completions.png")
		if err := plot.ImageGrid(grid, all, *n+2, s, s, *n+2, labels); err != nil {
			return err
		}
		fmt.Printf("%s (%s): wrote %s\n", path, levelLabel(lv), grid)
	}
	return nil
}

// completionMask returns which latent cells [g,g] keep their codes: those whose image rows lie above
// keepRows (−1: half the image), or, with a mask PNG, the cells none of whose pixels is white (> 127).
func completionMask(maskPath string, keepRows, s, g int) ([]bool, error) {
	keep := make([]bool, g*g)
	f := s / g
	if maskPath == "" {
		if keepRows < 0 {
			keepRows = s / 2
		}
		for i := range g {
			for j := range g {
				keep[i*g+j] = (i+1)*f <= keepRows
			}
		}
		return keep, nil
	}
	mask, err := data.LoadImage(maskPath, s, false)
	if err != nil {
		return nil, fmt.Errorf("--mask: %w", err)
	}
	any := false
	for i := range g {
		for j := range g {
			keep[i*g+j] = true
			for y := i * f; y < (i+1)*f; y++ {
				for x := j * f; x < (j+1)*f; x++ {
					if mask[y*s+x] > 0.5 {
						keep[i*g+j] = false
						any = true
					}
				}
			}
		}
	}
	if !any {
		return nil, fmt.Errorf("--mask %s has no white pixel: nothing to complete", maskPath)
	}
	return keep, nil
}
