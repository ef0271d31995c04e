package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/prior"
	"github.com/brainvq/brainvq/onnxexport"
)

// cmdExport writes a checkpoint's model as ONNX graphs (encoder, quantizer, decoder, end to end) and the
// codebook as .npy into a folder.
func cmdExport(args []string) error {
	fs := newFlags("export", "--checkpoint FILE [--out DIR] [flags]",
		"Export a trained model as ONNX (opset 17, IR 8): encoder.onnx, quantizer.onnx, decoder.onnx,\n"+
			"vqvae.onnx (end to end) and codebook.npy; with --prior also prior.onnx. See docs/onnx.md.")
	ckPath := fs.String("checkpoint", "", "checkpoint file to export (required)")
	out := fs.String("out", "onnx", "folder to write the files into (created if missing)")
	noIdx := fs.Bool("no-indices-output", false, "give vqvae.onnx only the reconstruction output, not the code indices")
	producer := fs.String("producer", "brainvq", "producer_name written into every model")
	priorPath := fs.String("prior", "", "also export this prior checkpoint (of the same VQ-VAE) as prior.onnx")
	quantizer := fs.String("quantizer", onnxexport.QuantizerExact, "distance arithmetic of the quantiser: exact (float64, Go's indices) or float32 (faster; near-ties may differ)")
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
	var pk *prior.Checkpoint
	if *priorPath != "" {
		if pk, err = prior.LoadCheckpoint(*priorPath); err != nil {
			return fmt.Errorf("--prior: %w (nothing was exported)", err)
		}
		if err := pk.Prior.CheckModel(ck.Model); err != nil {
			return fmt.Errorf("--prior %s with --checkpoint %s: %w (nothing was exported)", *priorPath, *ckPath, err)
		}
	}
	opt := onnxexport.Options{Producer: *producer, NoIndicesOutput: *noIdx, Quantizer: *quantizer}
	if *quantizer != onnxexport.QuantizerExact && *quantizer != onnxexport.QuantizerFloat32 {
		return fmt.Errorf("--quantizer %q: want exact or float32", *quantizer)
	}
	paths, err := onnxexport.Export(ck, *out, opt)
	if err != nil {
		return err
	}
	if pk != nil {
		p, err := onnxexport.ExportPrior(pk.Prior, *out, opt)
		if err != nil {
			return err
		}
		paths = append(paths, p)
	}
	c := ck.Model.Config
	fmt.Fprintf(os.Stdout, "exported %s (preset %s, %d×%d images, K=%d, D=%d, opset %d, IR %d):\n",
		*ckPath, c.Preset, c.ImageSize, c.ImageSize, c.NumCodes, c.CodeDim, onnxexport.Opset, onnxexport.IRVersion)
	for _, p := range paths {
		fmt.Fprintf(os.Stdout, "  %s\n", p)
	}
	return nil
}
