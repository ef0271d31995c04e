package pybind

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/train"
)

// blobs returns n smooth h×w test images in [0,1]: a bright disc at a different place in each.
func blobs(n, h, w int) []float32 {
	px := make([]float32, n*h*w)
	for i := range n {
		cx, cy := float64(3+i%(w-6)), float64(3+(i*5)%(h-6))
		for y := range h {
			for x := range w {
				d := math.Hypot(float64(x)-cx, float64(y)-cy)
				px[(i*h+y)*w+x] = float32(0.1 + 0.8*math.Exp(-d*d/8))
			}
		}
	}
	return px
}

func mustJSON(t *testing.T, js string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(js), v); err != nil {
		t.Fatalf("decode %q: %v", js, err)
	}
}

// TestTrainEncodeDecodeThroughHandles drives a tiny training run and inference the way Python does:
// handles and bytes only.
func TestTrainEncodeDecodeThroughHandles(t *testing.T) {
	before, _ := LiveHandles()
	const n, s = 12, 16
	ds, err := NewDataset(float32Bytes(blobs(n, s, s)), n, s, s, "blobs")
	if err != nil {
		t.Fatal(err)
	}
	defer Release(ds)
	tr, err := NewTrainer("seed", `{"num_codes": 16}`, `{"batch_size": 4, "learning_rate": 0.002, "steps_per_epoch": 3}`, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(tr)
	var info trainerInfo
	js, err := TrainerInfo(tr)
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, js, &info)
	if info.Config.NumCodes != 16 || info.Config.ImageSize != s || !info.Config.EMA || info.Config.DeadCodeMin != 1 || info.Options.BatchSize != 4 {
		t.Fatalf("trainer info %+v: want K 16, size %d, EMA, dead-code min 1, batch 4", info, s)
	}
	if _, err := TrainerEndEpoch(tr, 0); err == nil || !strings.Contains(err.Error(), "no epoch is running") {
		t.Fatalf("EndEpoch before any step: %v", err)
	}

	var st trainerState
	js, err = TrainerSteps(tr, ds, 2)
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, js, &st)
	if st.Ran != 2 || !st.Running || st.EpochDone || st.Step != 2 || st.Steps != 3 || st.Epoch != 1 {
		t.Fatalf("after 2 steps: %+v", st)
	}
	if _, err := TrainerSave(tr, filepath.Join(t.TempDir(), "mid.bvq")); err == nil || !strings.Contains(err.Error(), "middle of epoch 1") {
		t.Fatalf("save mid-epoch: %v", err)
	}
	js, err = TrainerSteps(tr, ds, 5) // only one step is left in the epoch
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, js, &st)
	if st.Ran != 1 || !st.EpochDone || st.Step != 3 {
		t.Fatalf("after the last step: %+v", st)
	}
	js, err = TrainerEndEpoch(tr, ds)
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]float64
	mustJSON(t, js, &row)
	if row["epoch"] != 1 || row["steps"] != 3 || !(row["val_ssim"] > -1 && row["val_ssim"] <= 1) {
		t.Fatalf("epoch stats %v", row)
	}
	js, _ = TrainerHistory(tr)
	var hist []map[string]float64
	mustJSON(t, js, &hist)
	if len(hist) != 1 || hist[0]["train_recon_loss"] != row["train_recon_loss"] {
		t.Fatalf("history %v, want the one epoch %v", hist, row)
	}

	// The model snapshot: reconstruct equals decode(encode) byte for byte, and is unaffected by training.
	m, err := TrainerModel(tr)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(m)
	x := float32Bytes(blobs(3, s, s))
	idx, err := ModelEncodeIndices(m, x, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != 4*3*4*4 {
		t.Fatalf("indices: %d bytes, want %d", len(idx), 4*3*4*4)
	}
	ids, _ := int32s(idx, 3*16, "indices")
	for _, k := range ids {
		if k < 0 || k >= 16 {
			t.Fatalf("index %d outside [0,16)", k)
		}
	}
	ze, err := ModelEncode(m, x, 3)
	if err != nil {
		t.Fatal(err)
	}
	idx2, err := ModelQuantize(m, ze, 3)
	if err != nil || string(idx2) != string(idx) {
		t.Fatalf("quantize(encode(x)) differs from encode-indices (err %v)", err)
	}
	dec, err := ModelDecode(m, idx, 3)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ModelReconstruct(m, x, 3)
	if err != nil {
		t.Fatal(err)
	}
	if string(rec) != string(dec) {
		t.Fatal("reconstruct(x) differs from decode(encode(x))")
	}
	if _, err := TrainerSteps(tr, ds, 3); err != nil {
		t.Fatal(err)
	}
	rec2, _ := ModelReconstruct(m, x, 3)
	if string(rec2) != string(rec) {
		t.Fatal("training changed a model snapshot")
	}
	var mi modelInfo
	js, _ = ModelInfo(m)
	mustJSON(t, js, &mi)
	if mi.Epoch != 1 || mi.Step != 3 || mi.TestSSIM != nil || mi.Resumable {
		t.Fatalf("model info %+v", mi)
	}

	if n, _ := LiveHandles(); n != before+3 {
		t.Fatalf("live handles %d, want %d", n, before+3)
	}
}

func TestTrainerSaveResumeAndModelFiles(t *testing.T) {
	const n, s = 8, 16
	ds, _ := NewDataset(float32Bytes(blobs(n, s, s)), n, s, s, "blobs")
	defer Release(ds)
	tr, err := NewTrainer("seed", `{"num_codes": 8}`, `{"batch_size": 4, "steps_per_epoch": 2}`, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(tr)
	if _, err := TrainerSteps(tr, ds, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := TrainerEndEpoch(tr, 0); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ckPath := filepath.Join(dir, "run.bvq")
	if _, err := TrainerSave(tr, ckPath); err != nil {
		t.Fatal(err)
	}
	r, err := ResumeTrainer(ckPath)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(r)
	// Both continue identically: the next epoch's losses agree exactly.
	var a, b trainerState
	js, _ := TrainerSteps(tr, ds, 2)
	mustJSON(t, js, &a)
	js, _ = TrainerSteps(r, ds, 2)
	mustJSON(t, js, &b)
	if a.Recon != b.Recon || a.VQ != b.VQ || a.Epoch != 2 || b.Epoch != 2 {
		t.Fatalf("resumed trainer diverged: %+v vs %+v", a, b)
	}

	m, _ := LoadModel(ckPath)
	defer Release(m)
	var mi modelInfo
	js, _ = ModelInfo(m)
	mustJSON(t, js, &mi)
	if !mi.Resumable || mi.Epoch != 1 {
		t.Fatalf("loaded trainer checkpoint: %+v", mi)
	}
	if _, err := ModelSetTestSSIM(m, 0.75); err != nil {
		t.Fatal(err)
	}
	if _, err := ModelSetTestSSIM(m, 3); err == nil {
		t.Fatal("test SSIM 3 accepted")
	}
	saved := filepath.Join(dir, "model.bvq")
	if _, err := ModelSave(m, saved); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadModel(saved)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(m2)
	js, _ = ModelInfo(m2)
	mustJSON(t, js, &mi)
	if mi.TestSSIM == nil || *mi.TestSSIM != 0.75 {
		t.Fatalf("saved test SSIM not kept: %+v", mi)
	}
	js, err = ModelExportONNX(m2, filepath.Join(dir, "onnx"), false)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	mustJSON(t, js, &paths)
	if len(paths) != 5 {
		t.Fatalf("export wrote %v", paths)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Fatalf("exported %s: %v", p, err)
		}
	}
}

func TestArgumentErrors(t *testing.T) {
	const n, s = 4, 16
	ds, _ := NewDataset(float32Bytes(blobs(n, s, s)), n, s, s, "blobs")
	defer Release(ds)
	for _, c := range []struct{ preset, cfg, opt, want string }{
		{"seed", `{"num_kodes": 3}`, "", `unknown field "num_kodes"`},
		{"seed", `{"image_size": 32}`, "", `"image_size" is set by the trainer`},
		{"seed", "", `{"batch_size": 0}`, "batch size 0"},
		{"seed", "", `{"lr": 1}`, `unknown field "lr"`},
		{"tiny", "", "", `unknown preset "tiny"`},
	} {
		if h, err := NewTrainer(c.preset, c.cfg, c.opt, ds); err == nil || !strings.Contains(err.Error(), c.want) {
			Release(h)
			t.Errorf("NewTrainer(%q, %q, %q): err %v, want %q", c.preset, c.cfg, c.opt, err, c.want)
		}
	}
	flat, _ := NewDataset(float32Bytes(make([]float32, n*s*s)), n, s, s, "flat")
	defer Release(flat)
	if _, err := NewTrainer("seed", "", "", flat); err == nil || !strings.Contains(err.Error(), "variance 0") {
		t.Errorf("training on constant images: %v", err)
	}
	if _, err := NewDataset([]byte{0, 0, 0}, 1, 1, 1, "x"); err == nil || !strings.Contains(err.Error(), "got 3 bytes") {
		t.Errorf("short dataset bytes: %v", err)
	}
	if _, err := NewDataset(float32Bytes([]float32{0.5, 2}), 1, 1, 2, "x"); err == nil || !strings.Contains(err.Error(), "outside [0,1]") {
		t.Errorf("pixel 2: %v", err)
	}
	tr, _ := NewTrainer("seed", `{"num_codes": 8}`, `{"batch_size": 2}`, ds)
	defer Release(tr)
	m, _ := TrainerModel(tr)
	defer Release(m)
	if _, err := ModelDecode(m, int32Bytes(make([]int32, 15)), 1); err == nil || !strings.Contains(err.Error(), "expected 16 int32") {
		t.Errorf("decode of 15 indices: %v", err)
	}
	bad := make([]int32, 16)
	bad[5] = 8
	if _, err := ModelDecode(m, int32Bytes(bad), 1); err == nil || !strings.Contains(err.Error(), "code 8 at flat index 5") {
		t.Errorf("decode of code 8 with K 8: %v", err)
	}
	if _, err := ModelReconstruct(m, float32Bytes(make([]float32, s*s)), 0); err == nil {
		t.Error("reconstruct of 0 images accepted")
	}
	if _, err := ModelEncode(ds, float32Bytes(make([]float32, s*s)), 1); err == nil || !strings.Contains(err.Error(), "not a model") {
		t.Errorf("dataset handle used as model: %v", err)
	}
	if _, err := LoadOASISSplit(filepath.Join(t.TempDir(), "missing"), "train", 0, false, 0); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing dataset folder: %v", err)
	}
	if _, err := LoadOASISSplit(t.TempDir(), "training", 0, false, 0); err == nil || !strings.Contains(err.Error(), `unknown split "training"`) {
		t.Errorf("unknown split: %v", err)
	}
	if _, err := MakeStandIn("x.nii", t.TempDir(), `{"slices": -1}`); err == nil || !strings.Contains(err.Error(), "slices = -1") {
		t.Errorf("negative slices: %v", err)
	}
}

// writeGrey writes a w×w 8-bit grey PNG whose pixel (x,y) is (x+y+v) mod 256.
func writeGrey(t *testing.T, path string, w int, v int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, w))
	for y := range w {
		for x := range w {
			img.SetGray(x, y, color.Gray{Y: uint8((x + y + v) % 256)})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSplitTakesTheImagesOwnSize(t *testing.T) {
	root := t.TempDir()
	for _, split := range data.Splits {
		dir := filepath.Join(root, data.DataDirName, data.SplitDirName(split))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			writeGrey(t, filepath.Join(dir, "case_00"+string(rune('1'+i))+"_slice_0.nii.png"), 20, 7*i)
		}
	}
	h, err := LoadOASISSplit(root, "validate", 0, false, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(h)
	var info datasetInfo
	js, _ := DatasetInfo(h)
	mustJSON(t, js, &info)
	if info.N != 2 || info.H != 20 || info.W != 20 || len(info.Files) != 2 || !strings.HasSuffix(info.Files[1], "case_002_slice_0.nii.png") {
		t.Fatalf("dataset info %+v", info)
	}
	raw, err := DatasetImages(h, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	px, _ := float32s(raw, 400, "pixels")
	if want := float32((3+4+7)%256) / 255; px[3*20+4] != want {
		t.Fatalf("pixel (4,3) of image 1 = %g, want %g", px[3*20+4], want)
	}
	if _, err := DatasetImages(h, 1, 2); err == nil {
		t.Fatal("images 1..2 of 2 accepted")
	}
	if _, err := LoadOASISSplit(root, "test", 16, false, 0); err == nil || !strings.Contains(err.Error(), "resize=True") {
		t.Fatalf("wrong size without resize: %v", err)
	}
	r, err := LoadImageFolder(filepath.Join(root, data.DataDirName, data.SplitDirName("test")), 16, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(r)
	js, _ = DatasetInfo(r)
	mustJSON(t, js, &info)
	if info.N != 3 || info.H != 16 {
		t.Fatalf("resized folder %+v", info)
	}
}

func TestMetricsMatchCore(t *testing.T) {
	const n, s = 3, 16
	a, b := blobs(n, s, s), blobs(n, s, s)
	for i := range b {
		b[i] *= 0.9
	}
	out, err := SSIMBatch(float32Bytes(a), float32Bytes(b), n, s, s)
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.SSIMBatch(a, b, n, s, s)
	if string(out) != string(float64Bytes(want)) {
		t.Fatal("SSIMBatch bytes differ from core/metrics")
	}
	if _, err := SSIMBatch(float32Bytes(a[:n*8*8]), float32Bytes(b[:n*8*8]), n, 8, 8); err == nil || !strings.Contains(err.Error(), "at least 11×11") {
		t.Fatalf("SSIM of 8×8: %v", err)
	}
	ps, _ := PSNRBatch(float32Bytes(a), float32Bytes(a), n, s, s, 1)
	if string(ps[:8]) != string(float64Bytes([]float64{math.Inf(1)})) {
		t.Fatal("PSNR of identical images is not +Inf")
	}
	counts := []byte{}
	for _, c := range []int64{3, 0, 1} {
		counts = append(counts, byte(c), 0, 0, 0, 0, 0, 0, 0)
	}
	p, _ := Perplexity(counts)
	if want := metrics.Perplexity([]int{3, 0, 1}); p != want {
		t.Fatalf("perplexity %g, want %g", p, want)
	}
	u, _ := UsedFraction(counts)
	if u != 2.0/3 {
		t.Fatalf("used fraction %g, want 2/3", u)
	}
	neg := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if _, err := Perplexity(neg); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("negative count: %v", err)
	}
}

func TestJSONFloatEncodesNonFinite(t *testing.T) {
	st := train.EpochStats{Epoch: 2, TrainRecon: math.NaN(), ValSSIM: 0.5, ImagesPerSecond: math.Inf(1)}
	js, err := marshal(jsonObject(st))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	mustJSON(t, js, &m)
	if m["train_recon_loss"] != "nan" || m["images_per_second"] != "inf" || m["val_ssim"] != 0.5 || m["epoch"] != 2.0 {
		t.Fatalf("encoded %s", js)
	}
	b, _ := jsonFloats{1.5, math.Inf(-1)}.MarshalJSON()
	if string(b) != `[1.5,"-inf"]` {
		t.Fatalf("jsonFloats = %s", b)
	}
}
