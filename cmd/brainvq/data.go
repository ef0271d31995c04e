package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/standin"
)

// defaultTemplate is where scripts/fetch_template.sh puts the MNI ICBM152 2009a T1 template.
const defaultTemplate = "data/template/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"

func cmdData(args []string) error {
	subs := []struct {
		name, summary string
		run           func([]string) error
	}{
		{"make", "make the stand-in dataset from the MNI template (scripts/fetch_template.sh fetches it)", dataMake},
		{"from-nifti", "make a stand-in dataset from any T1 volume (.nii or .nii.gz)", dataFromNIfTI},
		{"inspect", "check an OASIS-layout dataset: counts, image size, pixel mean and variance", dataInspect},
	}
	fs := newFlags("data", "<make|from-nifti|inspect> [flags]", "Make or inspect datasets in the OASIS keras_png_slices_data layout.")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: brainvq data <subcommand> [flags]\n\nMake or inspect datasets in the OASIS keras_png_slices_data layout.\n\nSubcommands:\n")
		for _, s := range subs {
			fmt.Fprintf(w, "  %-11s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun 'brainvq data <subcommand> --help' for its flags.\n")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("name a subcommand: make, from-nifti or inspect")
	}
	for _, s := range subs {
		if s.name == fs.Arg(0) {
			return s.run(fs.Args()[1:])
		}
	}
	return fmt.Errorf("unknown subcommand %q (want make, from-nifti or inspect)", fs.Arg(0))
}

// makeFlags are the flags shared by `data make` and `data from-nifti`.
type makeFlags struct {
	out                                     string
	seed                                    uint64
	train, validate, test, slices, size, ws int
	force                                   bool
}

func (m *makeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.out, "out", "data", "folder to write keras_png_slices_data/ into")
	fs.Uint64Var(&m.seed, "seed", 1, "random seed: the same seed makes the same dataset")
	fs.IntVar(&m.train, "train-subjects", 30, "pseudo-subjects in the training split")
	fs.IntVar(&m.validate, "validate-subjects", 4, "pseudo-subjects in the validation split")
	fs.IntVar(&m.test, "test-subjects", 4, "pseudo-subjects in the test split")
	fs.IntVar(&m.slices, "slices", 32, "axial slices per pseudo-subject")
	fs.IntVar(&m.size, "size", 256, "image side in pixels")
	fs.IntVar(&m.ws, "workers", 0, "subjects made in parallel (0: all cores)")
	fs.BoolVar(&m.force, "force", false, "replace an existing keras_png_slices_data folder")
}

func (m *makeFlags) check() error {
	for _, v := range []struct {
		name string
		n    int
	}{{"train-subjects", m.train}, {"validate-subjects", m.validate}, {"test-subjects", m.test}, {"slices", m.slices}} {
		if v.n < 1 {
			return fmt.Errorf("--%s %d: must be at least 1", v.name, v.n)
		}
	}
	if m.size < 8 || m.size%4 != 0 {
		return fmt.Errorf("--size %d: must be a multiple of 4, at least 8", m.size)
	}
	return nil
}

func (m *makeFlags) run(vol *standin.Volume, source, notice string, skullStripped bool, contrast float64) error {
	opt := standin.Options{Seed: m.seed, TrainSubjects: m.train, ValidateSubjects: m.validate,
		TestSubjects: m.test, Slices: m.slices, Size: m.size, SkullStripped: skullStripped, Notice: notice,
		Source: source, Overwrite: m.force, Workers: m.ws, Contrast: contrast}
	fmt.Printf("volume %s: %d×%d×%d voxels of %.3g×%.3g×%.3g mm\n", source, vol.Dim[0], vol.Dim[1], vol.Dim[2],
		vol.Spacing[0], vol.Spacing[1], vol.Spacing[2])
	start := time.Now()
	lastTenth := -1
	err := standin.Make(vol, m.out, opt, func(done, total int) {
		if t := 10 * done / total; t != lastTenth {
			lastTenth = t
			fmt.Printf("  %4d/%d slices (%.1fs)\n", done, total, time.Since(start).Seconds())
		}
	})
	if err != nil {
		return err
	}
	root := filepath.Join(m.out, data.DataDirName)
	fmt.Printf("wrote %s: %d train, %d validate, %d test subjects × %d slices of %d×%d in %.1fs\n", root,
		m.train, m.validate, m.test, m.slices, m.size, m.size, time.Since(start).Seconds())
	fmt.Printf("next: brainvq data inspect %s\n", root)
	return nil
}

func dataMake(args []string) error {
	fs := newFlags("data make", "[flags]",
		"Make an OASIS-like stand-in dataset from the MNI ICBM152 2009a T1 template (skull-stripped: a synthetic\n"+
			"skull and scalp are painted around it). Pseudo-subjects are random warps, bias fields and contrasts of\n"+
			"the template; the splits hold disjoint subjects. Fetch the template first: scripts/fetch_template.sh")
	var m makeFlags
	m.register(fs)
	template := fs.String("template", defaultTemplate, "the template volume (.nii.gz)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := m.check(); err != nil {
		return err
	}
	if _, err := os.Stat(*template); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("template %s not found; run scripts/fetch_template.sh first (or pass --template)", *template)
	}
	// The template is an average of 152 brains: its CSF is washed out, so a contrast of 1.8 restores
	// OASIS-like levels (CSF ≈ 20–40, grey matter ≈ 60–80, white matter ≈ 110 of 255).
	vol, err := standin.LoadNIfTI(*template)
	if err != nil {
		return err
	}
	notice := ""
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(*template), "NOTICE")); err == nil {
		notice = string(b)
	} else {
		fmt.Fprintf(os.Stderr, "warning: no NOTICE beside %s; the dataset will carry no copyright notice\n", *template)
	}
	return m.run(vol, *template, notice, true, 1.8)
}

func dataFromNIfTI(args []string) error {
	fs := newFlags("data from-nifti", "--in VOL.nii[.gz] [flags]",
		"Make an OASIS-like stand-in dataset from any 3-D T1 volume, reoriented to RAS. Pass --skull-stripped\n"+
			"when the volume holds the brain only, to paint a synthetic skull and scalp around it.")
	var m makeFlags
	m.register(fs)
	in := fs.String("in", "", "the T1 volume (.nii or .nii.gz; required)")
	stripped := fs.Bool("skull-stripped", false, "the volume is brain only: add a synthetic skull and scalp")
	contrast := fs.Float64("contrast", 1, "grey = 0.45·(v/r)^contrast, r the 95th percentile of the head; >1 darkens CSF and grey matter")
	noticeFile := fs.String("notice", "", "a text file with the volume's copyright notice, copied into the dataset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *in == "" {
		fs.Usage()
		return errors.New("--in is required")
	}
	if err := m.check(); err != nil {
		return err
	}
	vol, err := standin.LoadNIfTI(*in)
	if err != nil {
		return err
	}
	notice := ""
	if *noticeFile != "" {
		b, err := os.ReadFile(*noticeFile)
		if err != nil {
			return fmt.Errorf("read notice %s: %w", *noticeFile, err)
		}
		notice = string(b)
	}
	return m.run(vol, *in, notice, *stripped, *contrast)
}

func dataInspect(args []string) error {
	fs := newFlags("data inspect", "DIR [flags]",
		"Check an OASIS-layout dataset (DIR is keras_png_slices_data or its parent): decode every image of the\n"+
			"train, validate and test folders, print counts, image size and pixel statistics. The train split's\n"+
			"mean μ and variance σ² are the preprocessing constants a model trained on it uses.")
	size := fs.Int("size", 256, "image side every PNG must have")
	resize := fs.Bool("resize", false, "resample images of another size instead of failing")
	limit := fs.Int("limit", 0, "decode only the first N images of each split (0: all)")
	// Accept DIR before or after the flags.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if dir == "" {
		fs.Usage()
		return errors.New("name the dataset folder")
	}
	layout, err := data.OpenOASIS(dir)
	if err != nil {
		return err
	}
	fmt.Printf("dataset %s\n", layout.Root)
	opt := data.LoadOptions{Size: *size, Resize: *resize, Limit: *limit}
	var train *data.SplitSummary
	for _, split := range data.Splits {
		start := time.Now()
		s, err := data.ScanSplit(layout.Dir(split), opt)
		if err != nil {
			return err
		}
		fmt.Printf("  %-9s %5d images %d×%d  mean %.4f (%.1f/255)  variance %.4f  (%.1fs)\n", split, s.N, s.W, s.H,
			s.Mean, 255*s.Mean, s.Variance, time.Since(start).Seconds())
		if split == "train" {
			train = s
		}
	}
	fmt.Printf("preprocessing from train: μ = %.6f, σ² = %.6f\n", train.Mean, train.Variance)
	if b, err := os.ReadFile(filepath.Join(layout.Root, standin.ManifestName)); err == nil {
		fmt.Printf("stand-in dataset (%s):\n%s", standin.ManifestName, b)
	}
	if len(layout.SegDirs) > 0 {
		var names []string
		for _, d := range layout.SegDirs {
			names = append(names, filepath.Base(d))
		}
		fmt.Fprintf(os.Stderr, "warning: segmentation-mask folders present (%s): they are masks, never read as images\n",
			strings.Join(names, ", "))
	}
	return nil
}
