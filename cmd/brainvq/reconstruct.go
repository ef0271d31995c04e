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
	xhat := m.Reconstruct(x, fs.NArg())
	for i, path := range fs.Args() {
		dst := filepath.Join(*out, filepath.Base(path))
		if !strings.HasSuffix(strings.ToLower(dst), ".png") {
			dst += ".png"
		}
		if err := data.SaveImage(dst, xhat[i*size*size:(i+1)*size*size], size, size); err != nil {
			return err
		}
		fmt.Printf("%s → %s  SSIM %.4f\n", path, dst, metrics.SSIM(x[i*size*size:(i+1)*size*size], xhat[i*size*size:(i+1)*size*size], size, size))
	}
	return nil
}
