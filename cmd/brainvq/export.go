package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/onnxexport"
)

// cmdExport writes a checkpoint's model as ONNX graphs (encoder, quantizer, decoder, end to end) and the
// codebook as .npy into a folder.
func cmdExport(args []string) error {
	fs := newFlags("export", "--checkpoint FILE [--out DIR] [flags]",
		"Export a trained model as ONNX (opset 17, IR 8): encoder.onnx, quantizer.onnx, decoder.onnx,\n"+
			"vqvae.onnx (end to end) and codebook.npy. See docs/onnx.md.")
	ckPath := fs.String("checkpoint", "", "checkpoint file to export (required)")
	out := fs.String("out", "onnx", "folder to write the files into (created if missing)")
	noIdx := fs.Bool("no-indices-output", false, "give vqvae.onnx only the reconstruction output, not the code indices")
	producer := fs.String("producer", "brainvq", "producer_name written into every model")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	if *ckPath == "" {
		return errors.New("--checkpoint is required (see brainvq export --help)")
	}
	ck, err := model.LoadCheckpoint(*ckPath)
	if err != nil {
		return fmt.Errorf("%w (nothing was exported; is the file a complete brainvq checkpoint?)", err)
	}
	paths, err := onnxexport.Export(ck, *out, onnxexport.Options{Producer: *producer, NoIndicesOutput: *noIdx})
	if err != nil {
		return err
	}
	c := ck.Model.Config
	fmt.Fprintf(os.Stdout, "exported %s (preset %s, %d×%d images, K=%d, D=%d, opset %d, IR %d):\n",
		*ckPath, c.Preset, c.ImageSize, c.ImageSize, c.NumCodes, c.CodeDim, onnxexport.Opset, onnxexport.IRVersion)
	for _, p := range paths {
		fmt.Fprintf(os.Stdout, "  %s\n", p)
	}
	return nil
}
