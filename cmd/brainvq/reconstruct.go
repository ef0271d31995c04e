package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/model"
)

func cmdReconstruct(args []string) error {
	fs := newFlags("reconstruct", "--checkpoint FILE --out DIR IMAGE.png [IMAGE.png ...]",
		"Reconstruct grey PNG slices with a trained model: each input x.png becomes DIR/x.png (8-bit grey).\n"+
			"Prints each image's SSIM against its input.")
	ckPath := fs.String("checkpoint", "runs/latest/checkpoint.bvq", "trained checkpoint")
	out := fs.String("out", "reconstructions", "output folder")
	resize := fs.Bool("resize", false, "resample inputs of other sizes to the model's size instead of failing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("no input images: give one or more PNG files (see --help)")
	}
	ck, err := model.LoadCheckpoint(*ckPath)
	if err != nil {
		return err
	}
	m := ck.Model
	size := m.Config.ImageSize
	x := make([]float32, fs.NArg()*size*size)
	for i, path := range fs.Args() {
		img, err := data.LoadImage(path, size, *resize)
		if err != nil {
			return err
		}
		copy(x[i*size*size:], img)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	dsts, err := outputNames(*out, fs.Args())
	if err != nil {
		return err
	}
	xhat := m.Reconstruct(x, fs.NArg())
	for i, path := range fs.Args() {
		dst := dsts[i]
		if err := data.SaveImage(dst, xhat[i*size*size:(i+1)*size*size], size, size); err != nil {
			return err
		}
		fmt.Printf("%s → %s  SSIM %.4f\n", path, dst, metrics.SSIM(x[i*size*size:(i+1)*size*size], xhat[i*size*size:(i+1)*size*size], size, size))
	}
	return nil
}

// outputNames gives each input its output path in dir: its base name (with .png added when missing), and
// "name_2.png", "name_3.png", … for later inputs with a base name already taken. An output that would be
// one of the inputs themselves (dir is an input's folder) is refused: brainvq never overwrites its input.
func outputNames(dir string, inputs []string) ([]string, error) {
	taken := map[string]bool{}
	out := make([]string, len(inputs))
	for i, in := range inputs {
		base := filepath.Base(in)
		if !strings.HasSuffix(strings.ToLower(base), ".png") {
			base += ".png"
		}
		stem, ext := strings.TrimSuffix(base, filepath.Ext(base)), filepath.Ext(base)
		name := base
		for k := 2; taken[name]; k++ {
			name = fmt.Sprintf("%s_%d%s", stem, k, ext)
		}
		taken[name] = true
		out[i] = filepath.Join(dir, name)
	}
	for _, dst := range out {
		for _, in := range inputs {
			if sameFile(dst, in) {
				return nil, fmt.Errorf("--out %s: the output %s would overwrite the input %s (choose another --out)", dir, dst, in)
			}
		}
	}
	return out, nil
}

// sameFile reports whether two paths name the same file (the same path, or one existing file).
func sameFile(a, b string) bool {
	if abs(a) == abs(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
