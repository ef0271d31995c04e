package pybind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/standin"
)

// Datasets are *data.Split values in the handle registry: [N,H,W] float32 pixels in [0,1], read-only once
// made, so any number of calls may read one at the same time.

// LoadOASISSplit reads one split ("train", "validate" or "test") of the OASIS-layout dataset under root
// (the keras_png_slices_data folder or its parent) and returns a dataset handle. size is the image side
// wanted (0: the width of the split's first image); resize resamples other sizes instead of failing;
// limit > 0 reads only the first limit images in the loader's natural order.
func LoadOASISSplit(root, split string, size int, resize bool, limit int) (h int64, err error) {
	defer guard("LoadOASISSplit", &err)
	if !validSplit(split) {
		return 0, badArgf("split", "unknown split %q (choose one of %s)", split, strings.Join(data.Splits, ", "))
	}
	if err := checkSizeLimit(size, limit); err != nil {
		return 0, err
	}
	if err := checkPath("root", root, true); err != nil {
		return 0, err
	}
	layout, err := data.OpenOASIS(root)
	if err != nil {
		return 0, badFile("root", err)
	}
	if err := checkPath("root", layout.Dir(split), true); err != nil {
		return 0, err
	}
	return loadSplit("root", layout.Dir(split), size, resize, limit)
}

// checkSizeLimit refuses a negative image size or limit (0 means "the first image's" and "all").
func checkSizeLimit(size, limit int) error {
	if size < 0 {
		return badArgf("size", "image size %d must not be negative", size)
	}
	if limit < 0 {
		return badArgf("limit", "limit %d must not be negative", limit)
	}
	return nil
}

// loadSplit loads a folder of PNGs; size 0 takes the width of the first image in load order. Errors about
// the folder or its files name the Python parameter param.
func loadSplit(param, dir string, size int, resize bool, limit int) (int64, error) {
	if size == 0 {
		files, err := data.ListSplit(dir)
		if err != nil {
			return 0, badFile(param, err)
		}
		if size, err = pngWidth(files[0]); err != nil {
			return 0, badFile(param, err)
		}
	}
	s, err := data.LoadSplit(dir, data.LoadOptions{Size: size, Resize: resize, Limit: limit})
	if err != nil {
		// The loader's hint names the command-line flag; name the Python argument instead.
		if k := kindOf(err); k != "" {
			return 0, err
		}
		return 0, badArg(param, errors.New(strings.ReplaceAll(err.Error(), "pass --resize", "pass resize=True")))
	}
	return handles.put(s), nil
}

// pngWidth reads the width of the PNG image at path from its header.
func pngWidth(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return cfg.Width, nil
}

// LoadImageFolder reads every .png image of one folder (for example keras_png_slices_test) as a dataset,
// with the same rules and options as LoadOASISSplit.
func LoadImageFolder(dir string, size int, resize bool, limit int) (h int64, err error) {
	defer guard("LoadImageFolder", &err)
	if err := checkSizeLimit(size, limit); err != nil {
		return 0, err
	}
	if err := checkPath("folder", dir, true); err != nil {
		return 0, err
	}
	return loadSplit("folder", dir, size, resize, limit)
}

func validSplit(s string) bool {
	for _, v := range data.Splits {
		if v == s {
			return true
		}
	}
	return false
}

// NewDataset stores images given as pixels, n·h·w little-endian float32 values in [0,1] ([N,H,W]), as a
// dataset named name and returns its handle.
func NewDataset(pixels []byte, n, height, width int, name string) (h int64, err error) {
	defer guard("NewDataset", &err)
	if n < 1 || height < 1 || width < 1 {
		return 0, badArgf("images", "dataset shape (%d, %d, %d) must be positive", n, height, width)
	}
	px, err := float32s(pixels, n*height*width, "dataset pixels")
	if err != nil {
		return 0, badArg("images", err)
	}
	if err := checkPixels(px, "dataset pixels"); err != nil {
		return 0, badArg("images", err)
	}
	return handles.put(&data.Split{Name: name, N: n, H: height, W: width, Pixels: px}), nil
}

// datasetInfo is what DatasetInfo returns, as JSON.
type datasetInfo struct {
	Name  string   `json:"name"`
	N     int      `json:"n"`
	H     int      `json:"height"`
	W     int      `json:"width"`
	Files []string `json:"files"`
}

// DatasetInfo returns the dataset's name, shape and file paths (empty for in-memory datasets) as JSON:
// {"name": str, "n": N, "height": H, "width": W, "files": [str]}.
func DatasetInfo(h int64) (js string, err error) {
	defer guard("DatasetInfo", &err)
	s, err := getAs[*data.Split](h, "dataset")
	if err != nil {
		return "", err
	}
	files := s.Files
	if files == nil {
		files = []string{}
	}
	return marshal(datasetInfo{Name: s.Name, N: s.N, H: s.H, W: s.W, Files: files})
}

// DatasetImages returns images first..first+count−1 of the dataset as [count,H,W] little-endian float32.
func DatasetImages(h int64, first, count int) (out []byte, err error) {
	defer guard("DatasetImages", &err)
	s, err := getAs[*data.Split](h, "dataset")
	if err != nil {
		return nil, err
	}
	if first < 0 || count < 0 || first+count > s.N {
		return nil, badArgf("index", "brainvq: images %d..%d requested from a dataset of %d", first, first+count-1, s.N)
	}
	hw := s.H * s.W
	return float32Bytes(s.Pixels[first*hw : (first+count)*hw]), nil
}

// DatasetStats returns the mean μ and population variance σ² of every pixel of the dataset as JSON
// {"mean": μ, "variance": σ²} (of a training split, these are the model's preprocessing constants).
func DatasetStats(h int64) (js string, err error) {
	defer guard("DatasetStats", &err)
	s, err := getAs[*data.Split](h, "dataset")
	if err != nil {
		return "", err
	}
	mean, variance := data.Stats(s)
	return marshal(map[string]float64{"mean": float64(mean), "variance": float64(variance)})
}

// standInOptions are MakeStandIn's options as Python sends them (JSON; absent keys take data's defaults).
type standInOptions struct {
	Seed             uint64  `json:"seed"`
	TrainSubjects    int     `json:"train_subjects"`
	ValidateSubjects int     `json:"validate_subjects"`
	TestSubjects     int     `json:"test_subjects"`
	Slices           int     `json:"slices"`
	Size             int     `json:"size"`
	SkullStripped    bool    `json:"skull_stripped"`
	Contrast         float64 `json:"contrast"`
	WhiteLevel       float64 `json:"white_level"`
	MinBrain         float64 `json:"min_brain"`
	Notice           string  `json:"notice"`
	Overwrite        bool    `json:"overwrite"`
	Workers          int     `json:"workers"`
}

// MakeStandIn writes an OASIS-layout stand-in dataset made from the T1 volume at template (.nii or
// .nii.gz) into out/keras_png_slices_data and returns that folder. optionsJSON holds the options (see
// standin.Options) with the keys seed, train_subjects, validate_subjects, test_subjects, slices, size,
// skull_stripped, contrast, white_level, min_brain, notice, overwrite and workers; unknown keys are errors.
func MakeStandIn(template, out, optionsJSON string) (root string, err error) {
	defer guard("MakeStandIn", &err)
	var o standInOptions
	if err := decodeStrict(optionsJSON, &o, "stand-in options"); err != nil {
		return "", badType("", err)
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"train_subjects", o.TrainSubjects}, {"validate_subjects", o.ValidateSubjects}, {"test_subjects", o.TestSubjects},
		{"slices", o.Slices}, {"workers", o.Workers}} {
		if v.n < 0 {
			return "", badArgf(v.name, "stand-in option %s = %d must not be negative", v.name, v.n)
		}
	}
	if o.Size != 0 && (o.Size < 12 || o.Size%4 != 0) {
		return "", badArgf("size", "stand-in option size = %d must be a multiple of 4, at least 12", o.Size)
	}
	for _, v := range []struct {
		name string
		x    float64
	}{{"contrast", o.Contrast}, {"white_level", o.WhiteLevel}, {"min_brain", o.MinBrain}} {
		if v.x < 0 || math.IsNaN(v.x) || math.IsInf(v.x, 0) {
			return "", badArgf(v.name, "stand-in option %s = %g must be finite and not negative", v.name, v.x)
		}
	}
	if err := checkPath("template", template, false); err != nil {
		return "", err
	}
	if target := filepath.Join(out, data.DataDirName); !o.Overwrite {
		if _, err := os.Stat(target); err == nil {
			return "", &CallError{Kind: kindExists, Param: "out", Err: fmt.Errorf("%s already exists; remove it or pass overwrite=True", target)}
		}
	}
	vol, err := standin.LoadNIfTI(template)
	if err != nil {
		return "", badFile("template", err)
	}
	opt := standin.Options{Seed: o.Seed, TrainSubjects: o.TrainSubjects, ValidateSubjects: o.ValidateSubjects,
		TestSubjects: o.TestSubjects, Slices: o.Slices, Size: o.Size, MinBrain: o.MinBrain,
		SkullStripped: o.SkullStripped, WhiteLevel: o.WhiteLevel, Contrast: o.Contrast, Notice: o.Notice,
		Source: template, Overwrite: o.Overwrite, Workers: o.Workers}
	if err := standin.Make(vol, out, opt, nil); err != nil {
		return "", err
	}
	return filepath.Join(out, data.DataDirName), nil
}

// marshal returns v as JSON text.
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("brainvq: encode result: %w", err)
	}
	return string(b), nil
}

// decodeStrict decodes the JSON object js into v, refusing unknown keys and trailing data; "" means {}.
func decodeStrict(js string, v any, what string) error {
	if strings.TrimSpace(js) == "" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(js)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("brainvq: %s: %w", what, err)
	}
	if dec.More() {
		return fmt.Errorf("brainvq: %s: trailing data after the JSON object", what)
	}
	return nil
}
