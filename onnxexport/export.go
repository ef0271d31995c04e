// Package onnxexport writes a trained brainvq VQ-VAE as ONNX graphs that run in any ONNX runtime without
// the project: the encoder, the quantiser, the decoder and the whole model end to end, plus the codebook as a
// NumPy .npy file.
//
// Every graph uses standard operators only, at opset 17 with IR version 8, and carries the preprocessing
// constants, so it takes raw [0,1] pixels and gives [0,1] pixels. The batch dimension is symbolic ("N").
// The protobuf is written with protowire by a small writer of the ONNX messages (proto.go); no generated
// protobuf code is involved. docs/onnx.md describes the files for their users.
package onnxexport

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/brainvq/brainvq/core/model"
)

// Versions of the ONNX format the exporter writes.
const (
	IRVersion = 8  // ONNX IR version 8 (2021-07-30)
	Opset     = 17 // default ("ai.onnx") operator set
)

// File names Export writes into its folder.
const (
	EncoderFile   = "encoder.onnx"
	QuantizerFile = "quantizer.onnx"
	DecoderFile   = "decoder.onnx"
	VQVAEFile     = "vqvae.onnx"
	CodebookFile  = "codebook.npy"
)

// Options tunes an export. The zero value is the default.
type Options struct {
	// Producer is the producer_name of every model; "" means "brainvq".
	Producer string
	// Version is the producer_version and the "brainvq_version" metadata; "" means model.Version.
	Version string
	// NoIndicesOutput drops the second output ("indices") of vqvae.onnx, leaving only "reconstruction".
	NoIndicesOutput bool
	// Quantizer is how quantizer.onnx and vqvae.onnx compute the code distances: QuantizerExact ("", the
	// default) in float64, giving exactly the Go model's indices; QuantizerFloat32 in float32, which runs
	// faster and with half the memory in onnxruntime but may pick another code where two codes are nearly
	// tied (docs/onnx.md gives the measured agreement).
	Quantizer string
}

// The quantiser arithmetics of Options.Quantizer.
const (
	QuantizerExact   = "exact"
	QuantizerFloat32 = "float32"
)

func (o Options) float32Quantizer() (bool, error) {
	switch o.Quantizer {
	case "", QuantizerExact:
		return false, nil
	case QuantizerFloat32:
		return true, nil
	}
	return false, fmt.Errorf("quantizer %q: want %q or %q", o.Quantizer, QuantizerExact, QuantizerFloat32)
}

func (o Options) producer() string {
	if o.Producer == "" {
		return "brainvq"
	}
	return o.Producer
}

func (o Options) version() string {
	if o.Version == "" {
		return model.Version
	}
	return o.Version
}

// check reports why a checkpoint cannot be exported.
func check(ck *model.Checkpoint) error {
	if ck == nil || ck.Model == nil {
		return errors.New("checkpoint has no model")
	}
	m := ck.Model
	if err := m.Config.Validate(); err != nil {
		return fmt.Errorf("checkpoint config: %w", err)
	}
	if err := m.Weights.Check(m.Config); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if mu := m.Pre.Mean; math.IsNaN(float64(mu)) || mu < 0 || mu > 1 {
		return fmt.Errorf("checkpoint: pixel mean %g is not in [0,1]", mu)
	}
	return nil
}

// metadata is the metadata_props of every exported model.
func metadata(ck *model.Checkpoint, opt Options, graph string) []stringPair {
	c, pre := ck.Model.Config, ck.Model.Pre
	f32 := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
	ssim := "unknown"
	if !math.IsNaN(ck.TestSSIM) && ck.TestSSIM != 0 {
		ssim = strconv.FormatFloat(ck.TestSSIM, 'g', -1, 64)
	}
	return []stringPair{
		{"graph", graph},
		{"preset", c.Preset},
		{"num_codes", strconv.Itoa(c.NumCodes)},
		{"code_dim", strconv.Itoa(c.CodeDim)},
		{"image_size", strconv.Itoa(c.ImageSize)},
		{"latent_size", strconv.Itoa(c.LatentSize())},
		{"pixel_mean", f32(pre.Mean)},
		{"pixel_variance", f32(pre.Variance)},
		{"test_ssim", ssim},
		{"epoch", strconv.Itoa(ck.Epoch)},
		{"brainvq_version", opt.version()},
		{"producer", opt.producer()},
		{"quantizer", opt.quantizer()},
	}
}

func (o Options) quantizer() string {
	if o.Quantizer == "" {
		return QuantizerExact
	}
	return o.Quantizer
}

func imageInfo(name string, s int, doc string) valueInfo {
	return valueInfo{name: name, doc: doc, elemType: dtFloat, dims: []dim{{param: "N"}, {value: 1}, {value: int64(s)}, {value: int64(s)}}}
}

func latentInfo(name string, d, l int, doc string) valueInfo {
	return valueInfo{name: name, doc: doc, elemType: dtFloat, dims: []dim{{param: "N"}, {value: int64(d)}, {value: int64(l)}, {value: int64(l)}}}
}

func indicesInfo(name string, l int, doc string) valueInfo {
	return valueInfo{name: name, doc: doc, elemType: dtInt64, dims: []dim{{param: "N"}, {value: int64(l)}, {value: int64(l)}}}
}

const (
	docImageIn  = "raw pixels x = p/255 in [0,1], float32 NCHW"
	docZe       = "encoder output z_e, float32 NCHW"
	docIndices  = "code index per latent position, in [0,K)"
	docImageOut = "reconstruction x̂ = clip(v + μ, 0, 1) in [0,1], float32 NCHW"
)

func newModel(ck *model.Checkpoint, opt Options, name string, g *graphProto) *modelProto {
	return &modelProto{
		irVersion:       IRVersion,
		opsets:          []opsetID{{domain: "", version: Opset}},
		producerName:    opt.producer(),
		producerVersion: opt.version(),
		domain:          "org.brainvq",
		modelVersion:    1,
		docString:       "brainvq VQ-VAE for 2D brain MRI slices: " + name + " (" + ck.Model.Config.Preset + " preset)",
		graph:           g,
		metadata:        metadata(ck, opt, name),
	}
}

// EncoderModel builds encoder.onnx: image [N,1,S,S] float32 raw pixels in [0,1] → z_e [N,D,S/4,S/4].
// The graph subtracts the training pixel mean μ (a Sub node) before the first convolution.
func EncoderModel(ck *model.Checkpoint, opt Options) ([]byte, error) {
	if err := check(ck); err != nil {
		return nil, err
	}
	c, pre := ck.Model.Config, ck.Model.Pre
	b := newBuilder("brainvq_encoder", ck.Model.Weights)
	if err := b.encoderBody("image", "z_e", c, pre); err != nil {
		return nil, err
	}
	b.g.docString = fmt.Sprintf("Encoder. Input image: raw pixels in [0,1]; preprocessing is inside the graph: "+
		"u = image − μ with μ = %s (the training split's mean pixel), then the encoder convolutions. Output z_e: "+
		"the %d-dimensional encoder vector at each of the %d×%d latent positions.",
		strconv.FormatFloat(float64(pre.Mean), 'g', -1, 32), c.CodeDim, c.LatentSize(), c.LatentSize())
	b.g.inputs = []valueInfo{imageInfo("image", c.ImageSize, docImageIn)}
	b.g.outputs = []valueInfo{latentInfo("z_e", c.CodeDim, c.LatentSize(), docZe)}
	return newModel(ck, opt, "encoder", &b.g).marshal(), nil
}

// QuantizerModel builds quantizer.onnx: z_e [N,D,h,w] float32 → indices [N,h,w] int64, the nearest codeword
// by (‖z‖² − 2 z·E_k) + ‖E_k‖² evaluated in float64, with ties to the lowest index (ArgMin,
// select_last_index=0).
func QuantizerModel(ck *model.Checkpoint, opt Options) ([]byte, error) {
	if err := check(ck); err != nil {
		return nil, err
	}
	c := ck.Model.Config
	b := newBuilder("brainvq_quantizer", ck.Model.Weights)
	f32, err := opt.float32Quantizer()
	if err != nil {
		return nil, err
	}
	if err := b.quantizerBody("z_e", "indices", c, f32); err != nil {
		return nil, err
	}
	b.g.docString = fmt.Sprintf("Vector quantiser. For each latent position's D-vector z (D=%d), indices = "+
		"argmin_k (‖z‖² + z·(−2E_k)) + ‖E_k‖² over the K=%d codewords E_k, computed in %s (the codebook is an "+
		"initializer, stored as −2Eᵀ and ‖E_k‖²); ties go to the lowest index.", c.CodeDim, c.NumCodes, map[bool]string{false: "float64 like the Go quantiser", true: "float32"}[f32])
	b.g.inputs = []valueInfo{latentInfo("z_e", c.CodeDim, c.LatentSize(), docZe)}
	b.g.outputs = []valueInfo{indicesInfo("indices", c.LatentSize(), docIndices)}
	return newModel(ck, opt, "quantizer", &b.g).marshal(), nil
}

// DecoderModel builds decoder.onnx: indices [N,h,w] int64 → image [N,1,S,S] float32 in [0,1]. It gathers
// the codewords, transposes them to NCHW, runs the decoder and applies Clip(v + μ, 0, 1).
func DecoderModel(ck *model.Checkpoint, opt Options) ([]byte, error) {
	if err := check(ck); err != nil {
		return nil, err
	}
	c, pre := ck.Model.Config, ck.Model.Pre
	b := newBuilder("brainvq_decoder", ck.Model.Weights)
	if err := b.decoderBody("indices", "image", c, pre); err != nil {
		return nil, err
	}
	b.g.docString = fmt.Sprintf("Decoder. Input indices: one code index in [0,%d) per latent position. The graph "+
		"gathers the codewords (z_q), runs the decoder to v and returns image = clip(v + μ, 0, 1) with μ = %s.",
		c.NumCodes, strconv.FormatFloat(float64(pre.Mean), 'g', -1, 32))
	b.g.inputs = []valueInfo{indicesInfo("indices", c.LatentSize(), docIndices)}
	b.g.outputs = []valueInfo{imageInfo("image", c.ImageSize, docImageOut)}
	return newModel(ck, opt, "decoder", &b.g).marshal(), nil
}

// VQVAEModel builds vqvae.onnx: image [N,1,S,S] → reconstruction [N,1,S,S] (encoder, quantiser, decoder
// in one graph) and, unless opt.NoIndicesOutput, indices [N,h,w] int64 as a second output.
func VQVAEModel(ck *model.Checkpoint, opt Options) ([]byte, error) {
	if err := check(ck); err != nil {
		return nil, err
	}
	c, pre := ck.Model.Config, ck.Model.Pre
	b := newBuilder("brainvq_vqvae", ck.Model.Weights)
	if err := b.encoderBody("image", "z_e", c, pre); err != nil {
		return nil, err
	}
	f32, err := opt.float32Quantizer()
	if err != nil {
		return nil, err
	}
	if err := b.quantizerBody("z_e", "indices", c, f32); err != nil {
		return nil, err
	}
	if err := b.decoderBody("indices", "reconstruction", c, pre); err != nil {
		return nil, err
	}
	b.g.docString = fmt.Sprintf("VQ-VAE end to end. Input image: raw pixels in [0,1] (the graph subtracts "+
		"μ = %s itself). Output reconstruction: clip(decoder(E[indices]) + μ, 0, 1); output indices: the "+
		"nearest-codeword index at each latent position (ties to the lowest index).",
		strconv.FormatFloat(float64(pre.Mean), 'g', -1, 32))
	b.g.inputs = []valueInfo{imageInfo("image", c.ImageSize, docImageIn)}
	b.g.outputs = []valueInfo{imageInfo("reconstruction", c.ImageSize, docImageOut)}
	if !opt.NoIndicesOutput {
		b.g.outputs = append(b.g.outputs, indicesInfo("indices", c.LatentSize(), docIndices))
	}
	return newModel(ck, opt, "vqvae", &b.g).marshal(), nil
}

func writeModel(w io.Writer, build func(*model.Checkpoint, Options) ([]byte, error), ck *model.Checkpoint, opt Options) error {
	b, err := build(ck, opt)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// WriteEncoder writes encoder.onnx (see EncoderModel) to w.
func WriteEncoder(w io.Writer, ck *model.Checkpoint, opt Options) error {
	return writeModel(w, EncoderModel, ck, opt)
}

// WriteQuantizer writes quantizer.onnx (see QuantizerModel) to w.
func WriteQuantizer(w io.Writer, ck *model.Checkpoint, opt Options) error {
	return writeModel(w, QuantizerModel, ck, opt)
}

// WriteDecoder writes decoder.onnx (see DecoderModel) to w.
func WriteDecoder(w io.Writer, ck *model.Checkpoint, opt Options) error {
	return writeModel(w, DecoderModel, ck, opt)
}

// WriteVQVAE writes vqvae.onnx (see VQVAEModel) to w.
func WriteVQVAE(w io.Writer, ck *model.Checkpoint, opt Options) error {
	return writeModel(w, VQVAEModel, ck, opt)
}

// WriteCodebook writes the codebook E as a NumPy .npy file, float32 [K,D]: row k is code k.
func WriteCodebook(w io.Writer, ck *model.Checkpoint) error {
	if err := check(ck); err != nil {
		return err
	}
	cb := ck.Model.Weights[model.CodebookName]
	return WriteNPYFloat32(w, cb.Shape, cb.Data)
}

// Export writes encoder.onnx, quantizer.onnx, decoder.onnx, vqvae.onnx and codebook.npy into dir (created
// if missing) and returns their paths. Every file is first written completely to a temp file in dir; only
// when all five are written are they renamed into place, so a failure leaves no partial file behind (files
// of an earlier export stay as they were).
func Export(ck *model.Checkpoint, dir string, opt Options) ([]string, error) {
	if err := check(ck); err != nil {
		return nil, fmt.Errorf("export to %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{EncoderFile, func(w io.Writer) error { return WriteEncoder(w, ck, opt) }},
		{QuantizerFile, func(w io.Writer) error { return WriteQuantizer(w, ck, opt) }},
		{DecoderFile, func(w io.Writer) error { return WriteDecoder(w, ck, opt) }},
		{VQVAEFile, func(w io.Writer) error { return WriteVQVAE(w, ck, opt) }},
		{CodebookFile, func(w io.Writer) error { return WriteCodebook(w, ck) }},
	}
	var temps []string
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		tmp, err := writeTemp(path, f.write)
		if err != nil {
			cleanup()
			return nil, err
		}
		temps = append(temps, tmp)
	}
	var paths []string
	for i, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.Rename(temps[i], path); err != nil {
			cleanup()
			return paths, fmt.Errorf("write %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the renames durable; best effort
		d.Close()
	}
	return paths, nil
}

// writeHook, when set, runs after each temp file of Export is written and can fail it. Tests use it to
// simulate a failure midway; it is nil in normal use.
var writeHook func(path string) error

// writeTemp writes a complete, synced temp file beside path and returns its name; on error nothing is left.
func writeTemp(path string, write func(io.Writer) error) (tmp string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
		return "", err
	}
	if writeHook != nil {
		if err = writeHook(path); err != nil {
			return "", err
		}
	}
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes 0600; these files are meant to be shared
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}
