package pybind

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/eval"
	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/onnxexport"
)

// modelObj is a model in the handle registry: a checkpoint whose weights never change after it is made
// (a trainer hands out snapshots), so inference calls may run on it concurrently. Only the recorded test
// SSIM may change, under mu.
type modelObj struct {
	mu sync.Mutex
	ck *model.Checkpoint
}

func getModel(h int64) (*modelObj, error) { return getAs[*modelObj](h, "model") }

// model returns the model (its weights never change; only the checkpoint pointer does, under mu).
func (m *modelObj) model() *model.Model {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ck.Model
}

// checkpoint returns a shallow copy of the checkpoint with the current test SSIM, for saving or export.
func (m *modelObj) checkpoint() *model.Checkpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	ck := *m.ck
	return &ck
}

// LoadModel reads a checkpoint file (written by `brainvq train`, Trainer.save or Model.save) and returns a
// model handle.
func LoadModel(path string) (h int64, err error) {
	defer guard("LoadModel", &err)
	if err := checkPath("path", path, false); err != nil {
		return 0, err
	}
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return 0, badFile("path", err)
	}
	return handles.put(&modelObj{ck: ck}), nil
}

// ModelBytes returns the model's checkpoint as bytes, exactly what ModelSave would write (Python pickles
// models this way).
func ModelBytes(h int64) (out []byte, err error) {
	defer guard("ModelBytes", &err)
	m, err := getModel(h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := m.checkpoint().WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ModelFromBytes reads a checkpoint given as bytes (ModelBytes, or a .bvq file's content) and returns a
// model handle.
func ModelFromBytes(b []byte) (h int64, err error) {
	defer guard("ModelFromBytes", &err)
	ck, err := model.ReadCheckpoint(bytes.NewReader(b))
	if err != nil {
		return 0, badArg("data", err)
	}
	return handles.put(&modelObj{ck: ck}), nil
}

// modelInfo is what ModelInfo returns, as JSON.
type modelInfo struct {
	Config     model.Config     `json:"config"`
	Preprocess model.Preprocess `json:"preprocess"`
	Epoch      int              `json:"epoch"`
	Step       int              `json:"step"`
	TestSSIM   *float64         `json:"test_ssim"` // null when not measured
	Params     int              `json:"num_params"`
	Resumable  bool             `json:"resumable"` // the checkpoint holds the trainer's state
	Version    string           `json:"version"`
}

// ModelInfo returns the model's configuration, preprocessing constants, training progress and recorded test
// SSIM as JSON (see modelInfo for the keys).
func ModelInfo(h int64) (js string, err error) {
	defer guard("ModelInfo", &err)
	m, err := getModel(h)
	if err != nil {
		return "", err
	}
	ck := m.checkpoint()
	info := modelInfo{Config: ck.Model.Config, Preprocess: ck.Model.Pre, Epoch: ck.Epoch, Step: ck.Step,
		Resumable: len(ck.Info) > 0, Version: model.Version}
	if !math.IsNaN(ck.TestSSIM) {
		v := ck.TestSSIM
		info.TestSSIM = &v
	}
	for _, t := range ck.Model.Weights {
		info.Params += len(t.Data)
	}
	return marshal(info)
}

// ModelSave writes the model's checkpoint to path atomically. A model that came from LoadModel of a
// trainer's checkpoint keeps its training state; a trainer's snapshot (TrainerModel) has none. The bool
// result is always true on success.
func ModelSave(h int64, path string) (ok bool, err error) {
	defer guard("ModelSave", &err)
	m, err := getModel(h)
	if err != nil {
		return false, err
	}
	if err := m.checkpoint().Save(path); err != nil {
		return false, err
	}
	return true, nil
}

// ModelSetTestSSIM records v as the model's mean test SSIM (saved in its checkpoint and written into the
// ONNX metadata); NaN clears it. It returns v.
func ModelSetTestSSIM(h int64, v float64) (out float64, err error) {
	defer guard("ModelSetTestSSIM", &err)
	m, err := getModel(h)
	if err != nil {
		return 0, err
	}
	if !math.IsNaN(v) && (v < -1 || v > 1) {
		return 0, badArgf("test_ssim", "test SSIM %g is not in [-1, 1]", v)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ck := *m.ck
	ck.TestSSIM = v
	m.ck = &ck
	return v, nil
}

// images checks n raw images x ([N,1,S,S] float32 bytes in [0,1]) against the model's image size.
func (m *modelObj) images(x []byte, n int, what string) ([]float32, error) {
	if err := checkCount(n, what); err != nil {
		return nil, badArg(what, err)
	}
	s := m.model().Config.ImageSize
	px, err := float32s(x, n*s*s, fmt.Sprintf("%s ([%d,1,%d,%d])", what, n, s, s))
	if err != nil {
		return nil, badArg(what, err)
	}
	if err := checkPixels(px, what); err != nil {
		return nil, badArg(what, err)
	}
	return px, nil
}

// ModelEncode runs the encoder: n images x, [N,1,S,S] little-endian float32 raw pixels in [0,1], become
// z_e, [N,D,S/4,S/4] little-endian float32 (the mean μ is subtracted inside).
func ModelEncode(h int64, x []byte, n int) (out []byte, err error) {
	defer guard("ModelEncode", &err)
	m, err := getModel(h)
	if err != nil {
		return nil, err
	}
	px, err := m.images(x, n, "images")
	if err != nil {
		return nil, err
	}
	return float32Bytes(m.model().Encode(px, n)), nil
}

// ModelQuantize maps encoder outputs z_e, [N,D,h,w] little-endian float32, to the index of the nearest
// code at each position, [N,h,w] little-endian int32 (ties go to the lowest index).
func ModelQuantize(h int64, ze []byte, n int) (out []byte, err error) {
	defer guard("ModelQuantize", &err)
	m, err := getModel(h)
	if err != nil {
		return nil, err
	}
	if err := checkCount(n, "z_e"); err != nil {
		return nil, badArg("z_e", err)
	}
	c := m.model().Config
	l := c.LatentSize()
	z, err := float32s(ze, n*c.CodeDim*l*l, fmt.Sprintf("z_e ([%d,%d,%d,%d])", n, c.CodeDim, l, l))
	if err != nil {
		return nil, badArg("z_e", err)
	}
	for i, v := range z {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, badArgf("z_e", "value %g at flat index %d is not finite", v, i)
		}
	}
	return int32Bytes(m.model().Quantize(z, n)), nil
}

// ModelEncodeIndices runs encoder and quantiser: images [N,1,S,S] float32 in [0,1] → code indices
// [N,S/4,S/4] little-endian int32.
func ModelEncodeIndices(h int64, x []byte, n int) (out []byte, err error) {
	defer guard("ModelEncodeIndices", &err)
	m, err := getModel(h)
	if err != nil {
		return nil, err
	}
	px, err := m.images(x, n, "images")
	if err != nil {
		return nil, err
	}
	mm := m.model()
	return int32Bytes(mm.Quantize(mm.Encode(px, n), n)), nil
}

// ModelDecode runs the decoder on code indices, [N,h,w] little-endian int32 in [0,K), and returns the
// reconstructions x̂ = clip(v + μ, 0, 1), [N,1,S,S] little-endian float32.
func ModelDecode(h int64, idx []byte, n int) (out []byte, err error) {
	defer guard("ModelDecode", &err)
	m, err := getModel(h)
	if err != nil {
		return nil, err
	}
	if err := checkCount(n, "indices"); err != nil {
		return nil, badArg("indices", err)
	}
	c := m.model().Config
	l := c.LatentSize()
	ids, err := int32s(idx, n*l*l, fmt.Sprintf("indices ([%d,%d,%d])", n, l, l))
	if err != nil {
		return nil, badArg("indices", err)
	}
	for i, k := range ids {
		if k < 0 || int(k) >= c.NumCodes {
			return nil, badArgf("indices", "code %d at flat index %d is outside [0, %d)", k, i, c.NumCodes)
		}
	}
	return float32Bytes(m.model().Decode(ids, n)), nil
}

// ModelReconstruct runs the whole model: images [N,1,S,S] float32 in [0,1] → reconstructions
// [N,1,S,S] float32 in [0,1].
func ModelReconstruct(h int64, x []byte, n int) (out []byte, err error) {
	defer guard("ModelReconstruct", &err)
	m, err := getModel(h)
	if err != nil {
		return nil, err
	}
	px, err := m.images(x, n, "images")
	if err != nil {
		return nil, err
	}
	return float32Bytes(m.model().Reconstruct(px, n)), nil
}

// ModelCodebook returns a copy of the codebook E, [K,D] little-endian float32 (row k is code k).
func ModelCodebook(h int64) (out []byte, err error) {
	defer guard("ModelCodebook", &err)
	m, err := getModel(h)
	if err != nil {
		return nil, err
	}
	cb, ok := m.model().Weights[model.CodebookName]
	if !ok {
		return nil, errors.New("brainvq: the model has no codebook")
	}
	return float32Bytes(cb.Data), nil
}

// ModelExportONNX writes encoder.onnx, quantizer.onnx, decoder.onnx, vqvae.onnx and codebook.npy into dir
// (see docs/onnx.md) and returns their paths as a JSON list. noIndices drops vqvae.onnx's indices output.
func ModelExportONNX(h int64, dir string, noIndices bool) (js string, err error) {
	defer guard("ModelExportONNX", &err)
	m, err := getModel(h)
	if err != nil {
		return "", err
	}
	paths, err := onnxexport.Export(m.checkpoint(), dir, onnxexport.Options{NoIndicesOutput: noIndices})
	if err != nil {
		return "", err
	}
	return marshal(paths)
}

// evaluation is what ModelEvaluate returns, as JSON.
type evaluation struct {
	Recon      jsonFloat  `json:"recon_loss"`
	VQ         jsonFloat  `json:"vq_loss"`
	MSE        jsonFloat  `json:"mse"`
	PSNR       jsonFloat  `json:"psnr"`
	SSIM       jsonFloat  `json:"ssim"`
	Perplexity jsonFloat  `json:"perplexity"`
	HeadPerp   jsonFloat  `json:"head_perplexity"`
	CodesUsed  jsonFloat  `json:"codes_used"`
	Files      []string   `json:"files"`
	ImageSSIM  jsonFloats `json:"image_ssim"`
	ImagePSNR  jsonFloats `json:"image_psnr"`
	ImageMSE   jsonFloats `json:"image_mse"`
}

// ModelEvaluate reconstructs every image of a dataset and measures the reconstructions (eval.Evaluate):
// losses as in training, mean MSE, PSNR (dB, averaged over the finite per-image values) and SSIM, the code
// perplexity and used fraction over the dataset, and per-image SSIM, PSNR and MSE, as JSON.
func ModelEvaluate(h, dataset int64) (js string, err error) {
	defer guard("ModelEvaluate", &err)
	m, err := getModel(h)
	if err != nil {
		return "", err
	}
	s, err := getAs[*data.Split](dataset, "dataset")
	if err != nil {
		return "", err
	}
	if size := m.model().Config.ImageSize; s.H != size || s.W != size {
		return "", badArgf("x", "dataset %s holds %d×%d images; the model takes %d×%d", s.Name, s.H, s.W, size, size)
	}
	ev, err := eval.Evaluate(m.model(), s, nil)
	if err != nil {
		return "", err
	}
	out := evaluation{Recon: jsonFloat(ev.Recon), VQ: jsonFloat(ev.VQ), MSE: jsonFloat(ev.MSE),
		PSNR: jsonFloat(ev.PSNR), SSIM: jsonFloat(ev.SSIM), Perplexity: jsonFloat(ev.Perplexity),
		HeadPerp: jsonFloat(ev.HeadPerplexity), CodesUsed: jsonFloat(ev.CodesUsed), Files: []string{}}
	for _, p := range ev.PerImage {
		out.Files = append(out.Files, p.File)
		out.ImageSSIM = append(out.ImageSSIM, p.SSIM)
		out.ImagePSNR = append(out.ImagePSNR, p.PSNR)
		out.ImageMSE = append(out.ImageMSE, p.MSE)
	}
	return marshal(out)
}
