package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/atomicfile"
)

func smallCheckpoint(t testing.TB, seed uint64) *Checkpoint {
	cfg, err := NewConfig("seed", 16)
	if err != nil {
		t.Fatal(err)
	}
	return &Checkpoint{
		Model:    &Model{Config: cfg, Weights: InitWeights(cfg, seed), Pre: Preprocess{Mean: 0.12, Variance: 0.03}},
		Epoch:    3,
		Step:     42,
		TestSSIM: math.NaN(),
		State:    map[string]*Tensor{"adam.m/x": {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}},
		Info:     []byte(`{"note":"hi"}`),
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	ck := smallCheckpoint(t, 1)
	ck.TestSSIM = 0.931
	var buf bytes.Buffer
	if _, err := ck.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpoint(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 3 || got.Step != 42 || got.TestSSIM != 0.931 || got.Model.Pre != ck.Model.Pre || got.Model.Config != ck.Model.Config {
		t.Errorf("header fields: got %+v", got)
	}
	if string(got.Info) != `{"note":"hi"}` {
		t.Errorf("info %s", got.Info)
	}
	for name, w := range ck.Model.Weights {
		g := got.Model.Weights[name]
		if g == nil || !sameShape(g.Shape, w.Shape) {
			t.Fatalf("%s: missing or misshaped", name)
		}
		for i := range w.Data {
			if math.Float32bits(w.Data[i]) != math.Float32bits(g.Data[i]) {
				t.Fatalf("%s[%d]: %g != %g", name, i, g.Data[i], w.Data[i])
			}
		}
	}
	if s := got.State["adam.m/x"]; s == nil || s.Data[5] != 6 {
		t.Errorf("state tensor lost: %+v", s)
	}
	// A NaN test SSIM (not measured) stays NaN.
	ck2 := smallCheckpoint(t, 1)
	buf.Reset()
	ck2.WriteTo(&buf)
	got2, err := ReadCheckpoint(&buf)
	if err != nil || !math.IsNaN(got2.TestSSIM) {
		t.Errorf("unmeasured SSIM came back as %g (%v)", got2.TestSSIM, err)
	}
}

func TestCheckpointCorruption(t *testing.T) {
	var buf bytes.Buffer
	if _, err := smallCheckpoint(t, 2).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"not a checkpoint", []byte("PNG\x89 something else entirely"), "bad magic"},
		{"truncated header", full[:20], "truncated"},
		{"truncated tensors", full[:len(full)/2], "truncated"},
		{"missing checksum", full[:len(full)-2], "checksum"},
		{"flipped byte", flip(full, len(full)-100), "checksum"},
	} {
		_, err := ReadCheckpoint(bytes.NewReader(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
		var fe *FormatError
		if !errors.As(err, &fe) || fe.What != "checkpoint" {
			t.Errorf("%s: error %v is not a *FormatError about a checkpoint", tc.name, err)
		}
	}
	path := filepath.Join(t.TempDir(), "bad.bvq")
	os.WriteFile(path, full[:100], 0o644)
	if _, err := LoadCheckpoint(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadCheckpoint error %v should name the file", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// TestCrashBeforeRenameKeepsOldCheckpoint kills a child process between writing the temp file and renaming it,
// then checks the old checkpoint is intact and loadable.
func TestCrashBeforeRenameKeepsOldCheckpoint(t *testing.T) {
	if path := os.Getenv("BRAINVQ_CRASH_SAVE"); path != "" {
		atomicfile.BeforeRename = func(string) { os.Exit(3) }
		smallCheckpoint(t, 99).Save(path)
		t.Fatal("unreachable: the save should have crashed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.bvq")
	old := smallCheckpoint(t, 5)
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashBeforeRenameKeepsOldCheckpoint$")
	cmd.Env = append(os.Environ(), "BRAINVQ_CRASH_SAVE="+path)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("child should have crashed with status 3, got %v", err)
	}
	got, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatalf("old checkpoint unreadable after crash: %v", err)
	}
	w0 := old.Model.Weights["enc.conv1.weight"].Data
	if got.Model.Weights["enc.conv1.weight"].Data[0] != w0[0] {
		t.Fatal("checkpoint changed: the crashed save reached it")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("expected the old checkpoint and the crashed save's temp file, found %d entries", len(entries))
	}
}

func TestSaveErrorLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	ck := smallCheckpoint(t, 6)
	delete(ck.Model.Weights, "enc.conv1.bias")
	path := filepath.Join(dir, "x.bvq")
	if err := ck.Save(path); err == nil {
		t.Fatal("incomplete weights: want an error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed save left %d files", len(entries))
	}
}

func TestConfigAndWeights(t *testing.T) {
	for _, p := range Presets() {
		cfg, err := NewConfig(p, 256)
		if err != nil {
			t.Fatal(err)
		}
		if err := InitWeights(cfg, 1).Check(cfg); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	cfg, _ := NewConfig("residual", 256)
	shapes := cfg.ParamShapes()
	for name, want := range map[string][]int{
		"enc.conv1.weight": {64, 1, 4, 4}, "enc.res1.conv2.weight": {128, 32, 1, 1}, "vq.codebook": {512, 64},
		"dec.deconv1.weight": {128, 64, 4, 4}, "dec.deconv2.weight": {64, 1, 4, 4}, "dec.deconv2.bias": {1},
	} {
		if !sameShape(shapes[name], want) {
			t.Errorf("%s: shape %v, want %v (docs/model.md)", name, shapes[name], want)
		}
	}
	if _, err := NewConfig("huge", 256); err == nil {
		t.Error("unknown preset: want an error")
	}
	if _, err := NewConfig("seed", 30); err == nil {
		t.Error("size not a multiple of 4: want an error")
	}
}

// containerBytes writes a checkpoint container by hand: ck's header and tensors after edit changed them.
func containerBytes(t *testing.T, ck *Checkpoint, version uint32, edit func(h *ckHeader, data []*Tensor) []*Tensor) []byte {
	t.Helper()
	h := ckHeader{Project: "brainvq", Version: Version, Config: ck.Model.Config, Pre: ck.Model.Pre, Epoch: ck.Epoch, Step: ck.Step}
	var data []*Tensor
	for _, name := range sortedNames(ck.Model.Weights) {
		h.Tensors = append(h.Tensors, ContainerEntry{name, "weight", ck.Model.Weights[name].Shape})
		data = append(data, ck.Model.Weights[name])
	}
	data = edit(&h, data)
	hdr, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := WriteContainer(&buf, checkpointMagic, version, hdr, data); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCheckpointFormatErrorFields checks, through errors.As, that every kind of damage gives a *FormatError
// naming the field at fault (and the file, from LoadCheckpoint), with the underlying error where there is one.
func TestCheckpointFormatErrorFields(t *testing.T) {
	ck := smallCheckpoint(t, 4)
	var buf bytes.Buffer
	if _, err := ck.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	same := func(h *ckHeader, d []*Tensor) []*Tensor { return d }
	for _, tc := range []struct {
		name, field string
		foreign     bool
		cause       error // the underlying error, or nil
		data        []byte
	}{
		{"empty", "magic", true, io.EOF, nil},
		{"foreign", "magic", true, nil, []byte("\x89PNG\r\n\x1a\n and then some more bytes")},
		{"newer version", "version", false, nil, containerBytes(t, ck, checkpointVersion+1, same)},
		{"truncated header", "header", false, io.ErrUnexpectedEOF, full[:24]},
		{"truncated tensors", "tensors", false, io.ErrUnexpectedEOF, full[:len(full)/2]},
		{"missing checksum", "checksum", false, io.ErrUnexpectedEOF, full[:len(full)-2]},
		{"flipped byte", "checksum", false, nil, flip(full, len(full)-100)},
		{"bad config", "config", false, nil, containerBytes(t, ck, checkpointVersion, func(h *ckHeader, d []*Tensor) []*Tensor {
			h.Config.ImageSize = 30
			return d
		})},
		{"unknown group", "tensors", false, nil, containerBytes(t, ck, checkpointVersion, func(h *ckHeader, d []*Tensor) []*Tensor {
			h.Tensors[0].Group = "bogus"
			return d
		})},
		{"missing weight", "weights", false, nil, containerBytes(t, ck, checkpointVersion, func(h *ckHeader, d []*Tensor) []*Tensor {
			h.Tensors = h.Tensors[1:]
			return d[1:]
		})},
	} {
		_, err := ReadCheckpoint(bytes.NewReader(tc.data))
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v is not a *FormatError", tc.name, err)
			continue
		}
		if fe.What != "checkpoint" || fe.Field != tc.field || fe.Foreign != tc.foreign || fe.File != "" {
			t.Errorf("%s: %+v, want field %q foreign %v and no file", tc.name, fe, tc.field, tc.foreign)
		}
		if tc.cause != nil && !errors.Is(err, tc.cause) {
			t.Errorf("%s: error %v does not wrap %v", tc.name, err, tc.cause)
		}
	}
	path := filepath.Join(t.TempDir(), "cut.bvq")
	if err := os.WriteFile(path, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCheckpoint(path)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.File != path || fe.Field != "tensors" {
		t.Fatalf("LoadCheckpoint of a cut file: %v, want a *FormatError with File %s", err, path)
	}
	if want := "load checkpoint: corrupt checkpoint " + path + ": truncated at tensor"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want it to start %q", err, want)
	}
	var pe *os.PathError
	if _, err := LoadCheckpoint(filepath.Join(t.TempDir(), "absent.bvq")); !errors.As(err, &pe) || errors.As(err, &fe) {
		t.Errorf("missing file: %v, want an *os.PathError and no *FormatError", err)
	}
}

// A checkpoint whose weights hold NaN (a run that diverged) is refused, naming the parameter.
func TestCheckpointWithNaNWeightIsRefused(t *testing.T) {
	ck := smallCheckpoint(t, 2)
	var buf bytes.Buffer
	if _, err := ck.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	name := CodebookName
	ck.Model.Weights[name].Data[3] = float32(math.NaN())
	if _, err := ck.WriteTo(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("writing a NaN weight: error %v, want one naming %s", err, name)
	}
	// A file that holds one anyway (written past WriteTo's check, through the container itself).
	hdr, entries, data, err := ReadContainer(bytes.NewReader(buf.Bytes()), checkpointMagic, checkpointVersion, "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if e.Name == name {
			data[i].Data[3] = float32(math.Inf(1))
		}
	}
	var bad bytes.Buffer
	if _, err := WriteContainer(&bad, checkpointMagic, checkpointVersion, hdr, data); err != nil {
		t.Fatal(err)
	}
	_, err = ReadCheckpoint(&bad)
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "Inf") {
		t.Fatalf("reading a checkpoint with an infinite weight: %v", err)
	}
}
