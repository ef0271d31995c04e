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
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/prior"
	"github.com/brainvq/brainvq/onnxexport/internal/testmodel"
)

// The numerical checks of prior.onnx (logits against (*prior.Prior).Logits in onnxruntime, the Python
// sampler against Go's) are in tests/onnx/test_prior.py; these tests check the file itself.

// testPriors are a 3×3 prior with levels and a 5×5 one without (two horizontal shifts, one class).
func testPriors(t *testing.T) []*prior.Prior {
	t.Helper()
	var ps []*prior.Prior
	for i, cfg := range []prior.Config{
		{NumCodes: 10, CodeDim: 3, Grid: 5, Channels: 4, Layers: 3, Kernel: 3, HeadChannels: 6, Levels: 4},
		{NumCodes: 7, CodeDim: 2, Grid: 6, Channels: 3, Layers: 2, Kernel: 5, HeadChannels: 5, Levels: 0},
		{NumCodes: 9, CodeDim: 3, Grid: 8, Channels: 4, Layers: 4, Kernel: 3, HeadChannels: 6, Levels: 2, Dilations: []int{1, 2, 4, 1}},
	} {
		p, err := testmodel.Prior(cfg, uint64(40+i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

var priorOps = []string{"Gather", "Transpose", "Conv", "Unsqueeze", "Add", "Slice", "Tanh", "Sigmoid", "Mul", "Relu",
	"Shape", "Concat", "Expand"}

func floats(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// checkPriorModel decodes prior.onnx and checks the header, interface, metadata, operators, that every
// value is defined before it is read, the Conv padding, and that every initializer holds the prior's
// weights: parameters bit for bit, the vertical kernels masked, the horizontal taps in place.
func checkPriorModel(t *testing.T, b []byte, p *prior.Prior) {
	t.Helper()
	c := p.Config
	mp := parsePB(t, b)
	if mp.int(1) != IRVersion {
		t.Errorf("ir_version %d, want %d", mp.int(1), IRVersion)
	}
	ops := mp.msgs(t, 8)
	if len(ops) != 1 || ops[0].str(1) != "" || ops[0].int(2) != Opset {
		t.Errorf("opset_import: want one entry, default domain, version %d", Opset)
	}
	if mp.str(2) != "brainvq" || mp.str(3) != model.Version {
		t.Errorf("producer %q %q", mp.str(2), mp.str(3))
	}
	meta := map[string]string{}
	for _, kv := range mp.msgs(t, 14) {
		meta[kv.str(1)] = kv.str(2)
	}
	for k, want := range map[string]string{
		"graph": "prior", "num_codes": fmt.Sprint(c.NumCodes), "code_dim": fmt.Sprint(c.CodeDim),
		"grid": fmt.Sprint(c.Grid), "levels": fmt.Sprint(c.Levels), "classes": fmt.Sprint(c.Levels + 1),
		"null_class": fmt.Sprint(c.Levels), "channels": fmt.Sprint(c.Channels), "layers": fmt.Sprint(c.Layers),
		"kernel": fmt.Sprint(c.Kernel), "dilations": dilationList(c), "head_channels": fmt.Sprint(c.HeadChannels), "vqvae_fingerprint": p.VQ,
		"sampling": PriorSampling, "uniforms": PriorUniforms, "brainvq_version": model.Version, "producer": "brainvq",
	} {
		if meta[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], want)
		}
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
	wantIns := []string{fmt.Sprintf("codes:7[N,%d,%d]", c.Grid, c.Grid), "level:7[N]"}
	wantOuts := []string{fmt.Sprintf("logits:1[N,%d,%d,%d]", c.NumCodes, c.Grid, c.Grid)}
	if !slices.Equal(ins, wantIns) || !slices.Equal(outs, wantOuts) {
		t.Errorf("interface %v → %v, want %v → %v", ins, outs, wantIns, wantOuts)
	}

	defined := map[string]bool{"codes": true, "level": true}
	k, half := c.Kernel, c.Kernel/2
	seen := map[string]bool{}
	for _, init := range g.msgs(t, 5) {
		name := init.str(8)
		defined[name] = true
		seen[name] = true
		if init.int(2) != dtFloat {
			continue // axes and slice bounds
		}
		got := floats(init.m9())
		var want []float32
		var shape []int
		var l int
		switch {
		case strings.HasSuffix(name, ".v.weight_masked"):
			fmt.Sscanf(name, "l%d.", &l)
			raw := p.Weights[prior.LayerName(l)+".v.weight"]
			mask := c.VerticalMask(l)
			shape, want = raw.Shape, make([]float32, len(raw.Data))
			hidden := 0
			for i := range raw.Data {
				want[i] = raw.Data[i] * mask[i]
				if mask[i] == 0 && raw.Data[i] != 0 {
					hidden++
				}
			}
			if hidden == 0 {
				t.Fatalf("%s: the fixture's masked taps are all zero: the mask is not tested", name)
			}
		case strings.HasSuffix(name, ".h.weight_taps"):
			fmt.Sscanf(name, "l%d.", &l)
			in := c.In(l)
			shape = []int{2 * c.Channels, in, 1, half + 1}
			want = make([]float32, model.Size(shape))
			for _, s := range c.Shifts(l) {
				w := p.Weights[fmt.Sprintf("%s.h%d.weight", prior.LayerName(l), s)].Data
				for o := range 2 * c.Channels {
					for i := range in {
						want[(o*in+i)*(half+1)+half-s] = w[o*in+i]
					}
				}
			}
		case name == "coords":
			g := c.Grid
			shape, want = []int{1, prior.PosChannels, g, g}, make([]float32, prior.PosChannels*g*g)
			for i := range g {
				for j := range g {
					want[i*g+j], want[g*g+i*g+j] = prior.Coord(i, g), prior.Coord(j, g)
				}
			}
		default:
			w, ok := p.Weights[name]
			if !ok {
				t.Errorf("initializer %s is neither a parameter nor a derived kernel", name)
				continue
			}
			shape, want = w.Shape, w.Data
		}
		if !slices.Equal(init.ints(1), int64s(shape)) || !slices.Equal(got, want) {
			t.Errorf("initializer %s: dims %v, want %v, or values differ", name, init.ints(1), shape)
		}
	}
	for _, name := range c.ParamNames() {
		used := seen[name]
		if strings.HasSuffix(name, ".v.weight") {
			used = seen[name+"_masked"] && !seen[name]
		} else if strings.Contains(name, ".h") && strings.HasSuffix(name, ".weight") && !strings.Contains(name, ".head") {
			var l, s int
			if n, _ := fmt.Sscanf(name, "l%d.h%d.weight", &l, &s); n == 2 {
				used = seen[prior.LayerName(l)+".h.weight_taps"]
			}
		}
		if !used {
			t.Errorf("parameter %s is not in the graph", name)
		}
	}

	for _, n := range g.msgs(t, 1) {
		op := n.str(4)
		if !slices.Contains(priorOps, op) || n.str(7) != "" {
			t.Errorf("node %s: operator %q (domain %q) is not in the list", n.str(3), op, n.str(7))
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
		if op != "Conv" {
			continue
		}
		attrs := map[string]pbMsg{}
		for _, a := range n.msgs(t, 5) {
			attrs[a.str(1)] = a
		}
		ks, pads, dil := attrs["kernel_shape"].ints(8), attrs["pads"].ints(8), attrs["dilations"].ints(8)
		var l int
		fmt.Sscanf(n.str(3), "l%d.", &l)
		d := int64(c.Dilation(l))
		var want []int64
		switch {
		case strings.HasSuffix(n.str(3), ".v.conv"):
			want = []int64{int64(k), int64(k), d * int64(half), d * int64(half), d * int64(half), d * int64(half), d, d}
		case strings.HasSuffix(n.str(3), ".h.conv"): // left padding only: the shifts move columns right
			want = []int64{1, int64(half + 1), 0, d * int64(half), 0, 0, 1, d}
		default:
			want = []int64{1, 1, 0, 0, 0, 0, 1, 1}
		}
		if got := append(append(ks, pads...), dil...); !slices.Equal(got, want) {
			t.Errorf("Conv %s: kernel+pads+dilations %v, want %v", n.str(3), got, want)
		}
		if _, ok := attrs["auto_pad"]; ok {
			t.Errorf("Conv %s has auto_pad", n.str(3))
		}
	}
	if !defined["logits"] {
		t.Error("output logits is never computed")
	}
}

func TestPriorModelStructure(t *testing.T) {
	for _, p := range testPriors(t) {
		t.Run(fmt.Sprintf("kernel%d", p.Config.Kernel), func(t *testing.T) {
			b, err := PriorModel(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkPriorModel(t, b, p)
			again, _ := PriorModel(p, Options{})
			if !bytes.Equal(b, again) {
				t.Error("two exports of the same prior differ")
			}
			var buf bytes.Buffer
			if err := WritePrior(&buf, p, Options{}); err != nil || !bytes.Equal(buf.Bytes(), b) {
				t.Errorf("WritePrior differs from PriorModel (err %v)", err)
			}
			if err := WritePrior(failWriter{}, p, Options{}); err == nil {
				t.Error("a failing writer gave no error")
			}
		})
	}
}

func TestExportPrior(t *testing.T) {
	p := testPriors(t)[0]
	dir := filepath.Join(t.TempDir(), "out", "onnx")
	path, err := ExportPrior(p, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, PriorFile) {
		t.Errorf("path %s, want %s", path, filepath.Join(dir, PriorFile))
	}
	if got := files(t, dir); !slices.Equal(got, []string{PriorFile}) {
		t.Errorf("folder holds %v", got)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	want, _ := PriorModel(p, Options{Producer: "x"})
	if bytes.Equal(b, want) {
		t.Error("the producer option changed nothing")
	}
	want, _ = PriorModel(p, Options{})
	if !bytes.Equal(b, want) {
		t.Error("prior.onnx differs from PriorModel")
	}
	// A second export replaces the file whole, beside the VQ-VAE files it leaves alone.
	os.WriteFile(filepath.Join(dir, EncoderFile), []byte("encoder"), 0o644)
	p2 := testPriors(t)[1]
	if _, err := ExportPrior(p2, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	want, _ = PriorModel(p2, Options{})
	if !bytes.Equal(b, want) {
		t.Error("the second export did not replace prior.onnx")
	}
	if got := files(t, dir); !slices.Equal(got, []string{EncoderFile, PriorFile}) {
		t.Errorf("folder holds %v", got)
	}
}

func TestExportPriorBadPriorWritesNothing(t *testing.T) {
	good := testPriors(t)[0]
	bad := func(edit func(p *prior.Prior)) *prior.Prior {
		p := &prior.Prior{Config: good.Config, Weights: good.Weights.Clone(), VQ: good.VQ}
		edit(p)
		return p
	}
	cases := map[string]*prior.Prior{
		"nil":            nil,
		"missing weight": bad(func(p *prior.Prior) { delete(p.Weights, "l1.h0.weight") }),
		"extra weight":   bad(func(p *prior.Prior) { p.Weights["l9.v.weight"] = p.Weights["l0.v.weight"] }),
		"misshaped":      bad(func(p *prior.Prior) { p.Weights[prior.EmbedName].Shape = []int{5, 6} }),
		"not finite":     bad(func(p *prior.Prior) { p.Weights["head2.bias"].Data[1] = float32(math.Inf(1)) }),
		"bad config":     bad(func(p *prior.Prior) { p.Config.Kernel = 4 }),
	}
	for name, p := range cases {
		dir := t.TempDir()
		if _, err := ExportPrior(p, dir, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %q does not name the folder", name, err)
		}
		if _, err := PriorModel(p, Options{}); err == nil {
			t.Errorf("%s: PriorModel gave no error", name)
		}
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("%s: folder holds %v after a failed export", name, got)
		}
	}
}

func TestExportPriorFailureLeavesOldFile(t *testing.T) {
	p := testPriors(t)[0]
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, PriorFile), []byte("previous"), 0o644)
	writeHook = func(string) error { return errors.New("simulated write failure") }
	defer func() { writeHook = nil }()
	if _, err := ExportPrior(p, dir, Options{}); err == nil || !strings.Contains(err.Error(), "simulated") {
		t.Fatalf("error %v, want the simulated failure", err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{PriorFile}) {
		t.Errorf("folder holds %v, want only %s", got, PriorFile)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, PriorFile)); string(b) != "previous" {
		t.Error("prior.onnx changed after a failed export")
	}
}
