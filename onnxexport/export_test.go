package onnxexport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/model"
	"google.golang.org/protobuf/encoding/protowire"
)

// pbMsg is a protobuf message decoded without a schema: field number → the raw values in order (varints as
// uint64, fixed32 as uint32, length-delimited as []byte).
type pbMsg map[protowire.Number][]any

func parsePB(t *testing.T, b []byte) pbMsg {
	t.Helper()
	m := pbMsg{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v any
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			v, n = protowire.ConsumeFixed32(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		m[num] = append(m[num], v)
		b = b[n:]
	}
	return m
}

func (m pbMsg) str(num protowire.Number) string {
	if len(m[num]) == 0 {
		return ""
	}
	return string(m[num][len(m[num])-1].([]byte))
}

func (m pbMsg) strs(num protowire.Number) []string {
	var out []string
	for _, v := range m[num] {
		out = append(out, string(v.([]byte)))
	}
	return out
}

func (m pbMsg) int(num protowire.Number) int64 {
	if len(m[num]) == 0 {
		return 0
	}
	return int64(m[num][len(m[num])-1].(uint64))
}

func (m pbMsg) ints(num protowire.Number) []int64 {
	var out []int64
	for _, v := range m[num] {
		out = append(out, int64(v.(uint64)))
	}
	return out
}

func (m pbMsg) msgs(t *testing.T, num protowire.Number) []pbMsg {
	var out []pbMsg
	for _, v := range m[num] {
		out = append(out, parsePB(t, v.([]byte)))
	}
	return out
}

// ioDesc renders a ValueInfoProto as "name:elemtype[d0,d1,…]" with symbolic dims by name.
func ioDesc(t *testing.T, v pbMsg) string {
	tt := v.msgs(t, 2)[0].msgs(t, 1)[0] // TypeProto.tensor_type
	var ds []string
	for _, d := range tt.msgs(t, 2)[0].msgs(t, 1) {
		if p := d.str(2); p != "" {
			ds = append(ds, p)
		} else {
			ds = append(ds, fmt.Sprint(d.int(1)))
		}
	}
	return fmt.Sprintf("%s:%d[%s]", v.str(1), tt.int(1), strings.Join(ds, ","))
}

var standardOps = []string{"Conv", "ConvTranspose", "Relu", "Add", "Sub", "Mul", "MatMul", "ReduceSum",
	"ArgMin", "Gather", "Transpose", "Cast", "Clip"}

// checkModel decodes an exported model and checks the header, the interface, the metadata, that every
// node is a standard operator whose inputs are defined before it, and that every parameter initializer holds
// exactly the checkpoint's values.
func checkModel(t *testing.T, b []byte, ck *model.Checkpoint, graph string, inputs, outputs []string) {
	t.Helper()
	mp := parsePB(t, b)
	if mp.int(1) != 8 {
		t.Errorf("ir_version %d, want 8", mp.int(1))
	}
	ops := mp.msgs(t, 8)
	if len(ops) != 1 || ops[0].str(1) != "" || ops[0].int(2) != 17 {
		t.Errorf("opset_import: want one entry, default domain, version 17")
	}
	if mp.str(2) != "brainvq" || mp.str(3) != model.Version {
		t.Errorf("producer %q %q", mp.str(2), mp.str(3))
	}
	meta := map[string]string{}
	for _, kv := range mp.msgs(t, 14) {
		meta[kv.str(1)] = kv.str(2)
	}
	c, pre := ck.Model.Config, ck.Model.Pre
	for k, want := range map[string]string{
		"graph": graph, "preset": c.Preset, "num_codes": fmt.Sprint(c.NumCodes), "code_dim": fmt.Sprint(c.CodeDim),
		"image_size": fmt.Sprint(c.ImageSize), "latent_size": fmt.Sprint(c.LatentSize()),
		"brainvq_version": model.Version, "producer": "brainvq", "epoch": fmt.Sprint(ck.Epoch),
	} {
		if meta[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], want)
		}
	}
	var mean, variance float64
	fmt.Sscan(meta["pixel_mean"], &mean)
	fmt.Sscan(meta["pixel_variance"], &variance)
	if float32(mean) != pre.Mean || float32(variance) != pre.Variance {
		t.Errorf("metadata μ=%q σ²=%q, want %g %g", meta["pixel_mean"], meta["pixel_variance"], pre.Mean, pre.Variance)
	}

	g := mp.msgs(t, 7)[0]
	if g.str(10) == "" {
		t.Error("graph has no doc_string")
	}
	var ins, outs []string
	for _, v := range g.msgs(t, 11) {
		ins = append(ins, ioDesc(t, v))
	}
	for _, v := range g.msgs(t, 12) {
		outs = append(outs, ioDesc(t, v))
	}
	if !slices.Equal(ins, inputs) || !slices.Equal(outs, outputs) {
		t.Errorf("interface %v → %v, want %v → %v", ins, outs, inputs, outputs)
	}

	defined := map[string]bool{}
	for _, v := range g.msgs(t, 11) {
		defined[v.str(1)] = true
	}
	for _, init := range g.msgs(t, 5) {
		name := init.str(8)
		defined[name] = true
		w, ok := ck.Model.Weights[name]
		if !ok {
			continue // a derived constant (μ, −2Eᵀ, axes …)
		}
		if init.int(2) != dtFloat || !slices.Equal(init.ints(1), int64s(w.Shape)) {
			t.Errorf("initializer %s: type %d dims %v, want float %v", name, init.int(2), init.ints(1), w.Shape)
			continue
		}
		raw := init.m9()
		for i, v := range w.Data {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != v {
				t.Fatalf("initializer %s[%d] = %g, weight is %g", name, i, got, v)
			}
		}
	}
	for _, n := range g.msgs(t, 1) {
		op := n.str(4)
		if !slices.Contains(standardOps, op) || n.str(7) != "" {
			t.Errorf("node %s: operator %q (domain %q) is not in the standard list", n.str(3), op, n.str(7))
		}
		for _, in := range n.strs(1) {
			if !defined[in] {
				t.Errorf("node %s (%s) reads %q before it is defined", n.str(3), op, in)
			}
		}
		for _, out := range n.strs(2) {
			if defined[out] {
				t.Errorf("value %q is defined twice", out)
			}
			defined[out] = true
		}
		if op == "Conv" || op == "ConvTranspose" {
			attrs := map[string]pbMsg{}
			for _, a := range n.msgs(t, 5) {
				attrs[a.str(1)] = a
			}
			pads := attrs["pads"].ints(8)
			if len(pads) != 4 || pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3] {
				t.Errorf("node %s: pads %v, want explicit symmetric [p,p,p,p]", n.str(3), pads)
			}
			if _, ok := attrs["auto_pad"]; ok {
				t.Errorf("node %s has auto_pad", n.str(3))
			}
		}
	}
	for _, out := range g.msgs(t, 12) {
		if !defined[out.str(1)] {
			t.Errorf("output %q is never computed", out.str(1))
		}
	}
}

// m9 is TensorProto.raw_data.
func (m pbMsg) m9() []byte { return m[9][0].([]byte) }

func TestModelStructure(t *testing.T) {
	for _, preset := range model.Presets() {
		t.Run(preset, func(t *testing.T) {
			f := newFixture(t, preset, 32, 2)
			img := "image:1[N,1,32,32]"
			ze := fmt.Sprintf("z_e:1[N,%d,8,8]", f.ck.Model.Config.CodeDim)
			idx := "indices:7[N,8,8]"
			for _, tc := range []struct {
				graph   string
				build   func(*model.Checkpoint, Options) ([]byte, error)
				in, out []string
			}{
				{"encoder", EncoderModel, []string{img}, []string{ze}},
				{"quantizer", QuantizerModel, []string{ze}, []string{idx}},
				{"decoder", DecoderModel, []string{idx}, []string{img}},
				{"vqvae", VQVAEModel, []string{img}, []string{"reconstruction:1[N,1,32,32]", idx}},
			} {
				b, err := tc.build(f.ck, Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkModel(t, b, f.ck, tc.graph, tc.in, tc.out)
				again, _ := tc.build(f.ck, Options{})
				if !bytes.Equal(b, again) {
					t.Errorf("%s: two exports of the same checkpoint differ", tc.graph)
				}
			}
			b, err := VQVAEModel(f.ck, Options{NoIndicesOutput: true})
			if err != nil {
				t.Fatal(err)
			}
			checkModel(t, b, f.ck, "vqvae", []string{img}, []string{"reconstruction:1[N,1,32,32]"})
		})
	}
}

func TestMetadataTestSSIM(t *testing.T) {
	f := newFixture(t, "seed", 16, 1)
	for _, tc := range []struct {
		ssim float64
		want string
	}{{math.NaN(), "unknown"}, {0, "unknown"}, {0.8125, "0.8125"}} {
		f.ck.TestSSIM = tc.ssim
		b, err := EncoderModel(f.ck, Options{Version: "9.9.9", Producer: "someone"})
		if err != nil {
			t.Fatal(err)
		}
		mp := parsePB(t, b)
		meta := map[string]string{}
		for _, kv := range mp.msgs(t, 14) {
			meta[kv.str(1)] = kv.str(2)
		}
		if meta["test_ssim"] != tc.want || meta["brainvq_version"] != "9.9.9" || mp.str(3) != "9.9.9" ||
			meta["producer"] != "someone" || mp.str(2) != "someone" {
			t.Errorf("TestSSIM %g: metadata %v, producer %q %q", tc.ssim, meta, mp.str(2), mp.str(3))
		}
	}
}

func TestWriteNPY(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		tuple string
	}{{[]int{5}, "(5,)"}, {[]int{2, 3}, "(2, 3)"}, {[]int{}, "()"}, {[]int{1, 0, 4}, "(1, 0, 4)"}} {
		data := make([]float32, model.Size(tc.shape))
		for i := range data {
			data[i] = float32(i) - 1.5
		}
		var buf bytes.Buffer
		if err := WriteNPYFloat32(&buf, tc.shape, data); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if string(b[:8]) != "\x93NUMPY\x01\x00" {
			t.Fatalf("magic/version %q", b[:8])
		}
		hl := int(binary.LittleEndian.Uint16(b[8:10]))
		header := string(b[10 : 10+hl])
		want := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tc.tuple + ", }"
		if (10+hl)%64 != 0 || !strings.HasSuffix(header, "\n") || strings.TrimRight(header, " \n") != want {
			t.Errorf("shape %v: header %q (len %d), want %q padded to 64 and ended by \\n", tc.shape, header, hl, want)
		}
		body := b[10+hl:]
		if len(body) != 4*len(data) {
			t.Fatalf("body %d bytes, want %d", len(body), 4*len(data))
		}
		for i, v := range data {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:])); got != v {
				t.Errorf("value %d = %g, want %g", i, got, v)
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteNPYInt64(&buf, []int{3}, []int64{-1, 0, 1 << 40}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	if !strings.Contains(string(b[10:10+hl]), "'<i8'") || int64(binary.LittleEndian.Uint64(b[10+hl+16:])) != 1<<40 {
		t.Errorf("int64 npy wrong: %q", b)
	}
	if err := WriteNPYFloat32(&buf, []int{2, 2}, make([]float32, 3)); err == nil {
		t.Error("a shape that does not match the data was accepted")
	}
}

// files lists the names in dir, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

var allFiles = []string{CodebookFile, DecoderFile, EncoderFile, QuantizerFile, VQVAEFile}

func TestExport(t *testing.T) {
	f := newFixture(t, "seed", 16, 1)
	dir := filepath.Join(t.TempDir(), "out", "onnx")
	paths, err := Export(f.ck, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{EncoderFile, QuantizerFile, DecoderFile, VQVAEFile, CodebookFile}
	for i := range want {
		want[i] = filepath.Join(dir, want[i])
	}
	if !slices.Equal(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
	if got := files(t, dir); !slices.Equal(got, allFiles) {
		t.Errorf("folder holds %v, want %v", got, allFiles)
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", p, st.Mode().Perm())
		}
	}
	enc, _ := os.ReadFile(filepath.Join(dir, EncoderFile))
	var buf bytes.Buffer
	if err := WriteEncoder(&buf, f.ck, Options{}); err != nil || !bytes.Equal(buf.Bytes(), enc) {
		t.Errorf("WriteEncoder differs from the exported encoder.onnx (err %v)", err)
	}
	if err := WriteDecoder(failWriter{}, f.ck, Options{}); err == nil {
		t.Error("a failing writer gave no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestExportBadCheckpointWritesNothing(t *testing.T) {
	f := newFixture(t, "seed", 16, 1)
	bad := func(edit func(m *model.Model)) *model.Checkpoint {
		m := *f.ck.Model
		m.Weights = m.Weights.Clone()
		edit(&m)
		return &model.Checkpoint{Model: &m}
	}
	cases := map[string]*model.Checkpoint{
		"nil":             nil,
		"no model":        {},
		"missing weight":  bad(func(m *model.Model) { delete(m.Weights, "dec.deconv2.bias") }),
		"misshaped":       bad(func(m *model.Model) { m.Weights[model.CodebookName].Shape = []int{16, 128} }),
		"short data":      bad(func(m *model.Model) { m.Weights["enc.conv1.weight"].Data = m.Weights["enc.conv1.weight"].Data[:3] }),
		"bad config":      bad(func(m *model.Model) { m.Config.ImageSize = 30 }),
		"mean outside 01": bad(func(m *model.Model) { m.Pre.Mean = float32(math.NaN()) }),
	}
	for name, ck := range cases {
		dir := t.TempDir()
		if _, err := Export(ck, dir, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %q does not name the folder", name, err)
		}
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("%s: folder holds %v after a failed export", name, got)
		}
	}

	// A truncated checkpoint file is refused by LoadCheckpoint, before anything is exported.
	dir := t.TempDir()
	ckPath := filepath.Join(dir, "model.bvq")
	if err := f.ck.Save(ckPath); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(ckPath)
	os.WriteFile(ckPath, b[:len(b)/2], 0o644)
	if _, err := model.LoadCheckpoint(ckPath); err == nil {
		t.Error("a truncated checkpoint loaded")
	}
}

func TestExportFailureMidwayLeavesOldFiles(t *testing.T) {
	f := newFixture(t, "seed", 16, 1)
	dir := t.TempDir()
	old := map[string]string{}
	for _, name := range allFiles {
		old[name] = "previous export of " + name
		os.WriteFile(filepath.Join(dir, name), []byte(old[name]), 0o644)
	}
	// The third file fails to write: nothing may change, and no temp file may stay.
	n := 0
	writeHook = func(string) error {
		if n++; n == 3 {
			return errors.New("simulated write failure")
		}
		return nil
	}
	defer func() { writeHook = nil }()
	if _, err := Export(f.ck, dir, Options{}); err == nil || !strings.Contains(err.Error(), "simulated") {
		t.Fatalf("error %v, want the simulated failure", err)
	}
	if got := files(t, dir); !slices.Equal(got, allFiles) {
		t.Errorf("folder holds %v, want only %v", got, allFiles)
	}
	for name, want := range old {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("%s changed after a failed export", name)
		}
	}
}
