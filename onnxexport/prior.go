package onnxexport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/brainvq/brainvq/core/prior"
)

// PriorFile is the file name ExportPrior writes.
const PriorFile = "prior.onnx"

// PriorSampling describes how brainvq draws codes from the prior's logits (core/prior, sample.go); it is
// the "sampling" metadata of prior.onnx. Other runtimes that follow it with the same uniforms draw the same
// codes.
const PriorSampling = "ancestral, raster order (row by row, left to right); at each position with " +
	"logits l (float32 [K]) and one uniform u in [0,1), in float64: z_k = l_k / T; candidates = all K codes " +
	"in index order, or, with top-k or top-p, the codes ranked by z descending (stable: ties to the lower " +
	"index) cut to the first top_k (0: all); w_r = exp(z_r - max z) over the candidates in candidate order, " +
	"W = their running sum; top-p: keep the shortest prefix of candidates whose running sum >= top_p*W, W = " +
	"that sum; the code is the first candidate whose running sum > u*W (the last candidate if none). " +
	"Defaults T=1, top_k=0, top_p=1. Completion keeps the known codes and draws only the others, each from " +
	"the logits given every code before it."

// PriorUniforms describes the uniform numbers brainvq feeds the sampler (prior.Uniforms); it is the
// "uniforms" metadata of prior.onnx.
const PriorUniforms = "sample s of seed (s counts from 0 over the samples of a request) takes one u per " +
	"position in raster order, the successive Float64() values of Go's math/rand/v2 PCG seeded with " +
	"(seed, s): a 128-bit LCG state = hi<<64|lo, starting hi=seed, lo=s, stepped before each output as " +
	"state = state*M + I mod 2^128 with M = 2549297995355413924<<64 | 4865540595714422341 and " +
	"I = 6364136223846793005<<64 | 1442695040888963407; output (DXSM, 64-bit arithmetic) x = hi; " +
	"x ^= x>>32; x *= 0xda942042e4dd58b5; x ^= x>>48; x *= lo|1; u = (x & (2^53-1)) / 2^53."

// checkPrior reports why p cannot be exported.
func checkPrior(p *prior.Prior) error {
	if p == nil {
		return errors.New("no prior")
	}
	if err := p.Config.Validate(); err != nil {
		return err
	}
	return prior.CheckWeights(p.Config, p.Weights)
}

// priorMetadata is the metadata_props of prior.onnx.
func priorMetadata(p *prior.Prior, opt Options) []stringPair {
	c := p.Config
	vq := p.VQ
	if vq == "" {
		vq = "unknown"
	}
	return []stringPair{
		{"graph", "prior"},
		{"num_codes", strconv.Itoa(c.NumCodes)},
		{"code_dim", strconv.Itoa(c.CodeDim)},
		{"grid", strconv.Itoa(c.Grid)},
		{"levels", strconv.Itoa(c.Levels)},
		{"classes", strconv.Itoa(c.Classes())},
		{"null_class", strconv.Itoa(c.NullClass())},
		{"channels", strconv.Itoa(c.Channels)},
		{"layers", strconv.Itoa(c.Layers)},
		{"kernel", strconv.Itoa(c.Kernel)},
		{"dilations", dilationList(c)},
		{"head_channels", strconv.Itoa(c.HeadChannels)},
		{"vqvae_fingerprint", vq},
		{"sampling", PriorSampling},
		{"uniforms", PriorUniforms},
		{"brainvq_version", opt.version()},
		{"producer", opt.producer()},
	}
}

// PriorModel builds prior.onnx: codes [N,h,w] int64 in [0,K) and level [N] int64 (the conditioning class:
// 0…L−1 a slice level, L = Config.NullClass() "no level") → logits [N,K,h,w] float32, the logits at (i,j)
// scoring the code at (i,j) given the codes before it in raster order, as (*prior.Prior).Logits computes
// them. The graph follows the package comment of core/prior:
//
//   - embedding: Transpose(Gather(embed, codes), perm 0,3,1,2) → [N,D,h,w], then Concat with the coordinate
//     channels (initializer "coords" [1,2,h,w] Expanded to N) → x [N,D+2,h,w];
//   - vertical stack: one k×k Conv dilated by the layer's d (pads d·(k/2) all round) whose weights are stored with the causal mask
//     already applied (initializer "l<l>.v.weight_masked"), plus Unsqueeze(Gather(l<l>.v.cond, level))
//     [N,2C,1,1];
//   - horizontal stack: the shifted 1×1 products Σ_{s∈J} W_h,s · shift_s(h) are one Conv with a
//     1×(k/2+1) kernel dilated by (1, d) and pads (0, d·(k/2)) on the left only: kernel column t reads
//     column j − (k/2 − t)·d, so
//     tap t holds W_h,(k/2−t) ("l<l>.h.weight_taps"; the s = 0 tap is zero in the first layer, whose J
//     starts at 1). Zero padding is the zero fill of the shift. Then + the vertical link Conv(a_v, W_vh)
//     and the class bias;
//   - gates tanh(a[:, :C]) · σ(a[:, C:]) with two Slices on the channel axis;
//   - the output 1×1 Conv, with the residual Add from the second layer on;
//   - head: Conv(relu(Conv(relu(h), head1)), head2).
//
// Every other initializer keeps its parameter name (prior.Config.ParamShapes). Only the order of float32
// sums differs from the Go code, so logits agree to rounding (~1e-6).
func PriorModel(p *prior.Prior, opt Options) ([]byte, error) {
	if err := checkPrior(p); err != nil {
		return nil, err
	}
	c := p.Config
	b := newBuilder("brainvq_prior", p.Weights)
	if err := b.priorBody(p, "codes", "level", "logits"); err != nil {
		return nil, err
	}
	g := int64(c.Grid)
	levels := fmt.Sprintf("level, the conditioning class per grid (0…%d a slice level, %d = no level)", c.Levels-1, c.NullClass())
	if c.Levels == 0 {
		levels = "level, 0 for every grid (the prior was trained without slice levels: 0 = no level)"
	}
	b.g.docString = fmt.Sprintf("Gated PixelCNN prior over the %d×%d grid of the VQ-VAE's codes (K=%d). Inputs: "+
		"codes, one code index in [0,%d) per position; %s. Output logits[n,k,i,j]: the unnormalised "+
		"log-probability that position (i,j) holds code k given the codes before it in raster order (rows above, "+
		"then columns to the left); it never depends on codes[n,i,j] itself or on later codes, so one pass over "+
		"a finished grid scores every position, and sampling runs the graph once per position. The metadata "+
		"'sampling' and 'uniforms' say how brainvq draws codes from the logits.", c.Grid, c.Grid, c.NumCodes, c.NumCodes, levels)
	b.g.inputs = []valueInfo{
		{name: "codes", doc: "code index per latent position, in [0,K)", elemType: dtInt64,
			dims: []dim{{param: "N"}, {value: g}, {value: g}}},
		{name: "level", doc: "conditioning class per grid: a slice level in [0,L), or L for no level", elemType: dtInt64,
			dims: []dim{{param: "N"}}},
	}
	b.g.outputs = []valueInfo{
		{name: "logits", doc: "logits over the K codes at each position, float32 [N,K,h,w]", elemType: dtFloat,
			dims: []dim{{param: "N"}, {value: int64(c.NumCodes)}, {value: g}, {value: g}}},
	}
	m := &modelProto{
		irVersion:       IRVersion,
		opsets:          []opsetID{{domain: "", version: Opset}},
		producerName:    opt.producer(),
		producerVersion: opt.version(),
		domain:          "org.brainvq",
		modelVersion:    1,
		docString:       "brainvq prior: a gated PixelCNN over the VQ-VAE's code grid (logits of each code given the codes before it)",
		graph:           &b.g,
		metadata:        priorMetadata(p, opt),
	}
	return m.marshal(), nil
}

// priorBody emits codes [N,h,w] int64, level [N] int64 → out [N,K,h,w] (see PriorModel).
func (b *builder) priorBody(p *prior.Prior, codes, level, out string) error {
	c := p.Config
	emb, err := b.param(prior.EmbedName)
	if err != nil {
		return err
	}
	x := b.op("Gather", []string{emb, codes}, "embed/nhwc", intAttr("axis", 0))
	x = b.op("Transpose", []string{x}, "embed/nchw", intsAttr("perm", 0, 3, 1, 2))
	// The coordinate channels (prior.Coord of the row, then of the column), a constant [1,2,h,w] expanded
	// to the batch and appended to the embedding.
	g := c.Grid
	coords := make([]float32, prior.PosChannels*g*g)
	for i := range g {
		for j := range g {
			coords[i*g+j], coords[g*g+i*g+j] = prior.Coord(i, g), prior.Coord(j, g)
		}
	}
	shape := b.op("Shape", []string{x}, "embed/shape")
	batch := b.op("Slice", []string{shape, b.int64Init("coords.n0", []int{1}, []int64{0}), b.int64Init("coords.n1", []int{1}, []int64{1})}, "coords/batch")
	target := b.op("Concat", []string{batch, b.int64Init("coords.chw", []int{3}, []int64{prior.PosChannels, int64(g), int64(g)})}, "coords/shape", intAttr("axis", 0))
	xy := b.op("Expand", []string{b.floatInit("coords", []int{1, prior.PosChannels, g, g}, coords), target}, "coords/batched")
	x = b.op("Concat", []string{x, xy}, "input", intAttr("axis", 1))
	spatial := b.int64Init("axes.spatial", []int{2}, []int64{2, 3})
	channel := b.int64Init("axes.channel", []int{1}, []int64{1})
	zero := b.int64Init("gate.c0", []int{1}, []int64{0})
	ch := b.int64Init("gate.c1", []int{1}, []int64{int64(c.Channels)})
	ch2 := b.int64Init("gate.c2", []int{1}, []int64{int64(2 * c.Channels)})
	k, half := c.Kernel, c.Kernel/2

	// classBias adds table[level] [N,2C] → [N,2C,1,1] to a.
	classBias := func(a, table, name string) (string, error) {
		t, err := b.param(table)
		if err != nil {
			return "", err
		}
		row := b.op("Gather", []string{t, level}, name+"/class", intAttr("axis", 0))
		row = b.op("Unsqueeze", []string{row, spatial}, name+"/class4d")
		return b.op("Add", []string{a, row}, name), nil
	}
	// gate is tanh(a[:, :C]) ⊙ σ(a[:, C:]).
	gate := func(a, name string) string {
		lo := b.op("Slice", []string{a, zero, ch, channel}, name+"/a1")
		hi := b.op("Slice", []string{a, ch, ch2, channel}, name+"/a2")
		t := b.op("Tanh", []string{lo}, name+"/tanh")
		s := b.op("Sigmoid", []string{hi}, name+"/sigmoid")
		return b.op("Mul", []string{t, s}, name)
	}
	// dconv is a Conv dilated by (dh, dw); conv an undilated one.
	dconv := func(x, w, bias, name string, kh, kw, dh, dw int64, pads ...int64) string {
		return b.op("Conv", []string{x, w, bias}, name,
			intsAttr("kernel_shape", kh, kw), intsAttr("strides", 1, 1), intsAttr("pads", pads...),
			intsAttr("dilations", dh, dw), intAttr("group", 1))
	}
	conv := func(x, w, bias, name string, kh, kw int64, pads ...int64) string {
		return dconv(x, w, bias, name, kh, kw, 1, 1, pads...)
	}

	v, h := x, x
	for l := range c.Layers {
		pre, in := prior.LayerName(l), c.In(l)
		c2 := 2 * c.Channels
		// Vertical stack.
		vwm := b.floatInit(pre+".v.weight_masked", []int{c2, in, k, k}, maskedVertical(p, l))
		vb, err := b.param(pre + ".v.bias")
		if err != nil {
			return err
		}
		d := int64(c.Dilation(l))
		pv := d * int64(half)
		av := dconv(v, vwm, vb, pre+".v.conv", int64(k), int64(k), d, d, pv, pv, pv, pv)
		if av, err = classBias(av, pre+".v.cond", pre+".v"); err != nil {
			return err
		}
		// Horizontal stack: the vertical link, the shifted products as one left-padded Conv, the class bias.
		vhw, err := b.param(pre + ".vh.weight")
		if err != nil {
			return err
		}
		vhb, err := b.param(pre + ".vh.bias")
		if err != nil {
			return err
		}
		link := conv(av, vhw, vhb, pre+".vh", 1, 1, 0, 0, 0, 0)
		taps, err := horizontalTaps(p, l)
		if err != nil {
			return err
		}
		hw := b.floatInit(pre+".h.weight_taps", []int{c2, in, 1, half + 1}, taps)
		hb, err := b.param(pre + ".h.bias")
		if err != nil {
			return err
		}
		hc := dconv(h, hw, hb, pre+".h.conv", 1, int64(half+1), 1, d, 0, pv, 0, 0)
		ah := b.op("Add", []string{hc, link}, pre+".h.sum")
		if ah, err = classBias(ah, pre+".h.cond", pre+".h"); err != nil {
			return err
		}
		nv := gate(av, pre+".v.gate")
		gh := gate(ah, pre+".h.gate")
		ow, err := b.param(pre + ".out.weight")
		if err != nil {
			return err
		}
		ob, err := b.param(pre + ".out.bias")
		if err != nil {
			return err
		}
		nh := conv(gh, ow, ob, pre+".out", 1, 1, 0, 0, 0, 0)
		if l > 0 {
			nh = b.op("Add", []string{h, nh}, pre+".res")
		}
		v, h = nv, nh
	}
	// Head.
	r := b.op("Relu", []string{h}, "head/relu_in")
	w1, err := b.param("head1.weight")
	if err != nil {
		return err
	}
	b1, err := b.param("head1.bias")
	if err != nil {
		return err
	}
	hid := conv(r, w1, b1, "head1", 1, 1, 0, 0, 0, 0)
	hid = b.op("Relu", []string{hid}, "head1/relu")
	w2, err := b.param("head2.weight")
	if err != nil {
		return err
	}
	b2, err := b.param("head2.bias")
	if err != nil {
		return err
	}
	conv(hid, w2, b2, out, 1, 1, 0, 0, 0, 0)
	return nil
}

// dilationList is the metadata value of the layers' dilations: "1,2,4,…".
func dilationList(c prior.Config) string {
	d := make([]string, c.Layers)
	for l := range d {
		d[l] = strconv.Itoa(c.Dilation(l))
	}
	return strings.Join(d, ",")
}

// maskedVertical returns layer l's vertical weights [2C,In,k,k] times prior.Config.VerticalMask(l).
func maskedVertical(p *prior.Prior, l int) []float32 {
	w := p.Weights[prior.LayerName(l)+".v.weight"].Data
	m := p.Config.VerticalMask(l)
	out := make([]float32, len(w))
	for i := range w {
		out[i] = w[i] * m[i]
	}
	return out
}

// horizontalTaps returns layer l's horizontal weights as one [2C,In,1,k/2+1] kernel: tap t is the 1×1
// weight of shift k/2 − t (zero for a shift the layer does not have).
func horizontalTaps(p *prior.Prior, l int) ([]float32, error) {
	c := p.Config
	c2, in, half := 2*c.Channels, c.In(l), c.Kernel/2
	taps := make([]float32, c2*in*(half+1))
	for _, s := range c.Shifts(l) {
		name := fmt.Sprintf("%s.h%d.weight", prior.LayerName(l), s)
		w, ok := p.Weights[name]
		if !ok || len(w.Data) != c2*in {
			return nil, fmt.Errorf("parameter %s: missing or not [%d,%d,1,1]", name, c2, in)
		}
		t := half - s
		for o := range c2 {
			for i := range in {
				taps[(o*in+i)*(half+1)+t] = w.Data[o*in+i]
			}
		}
	}
	return taps, nil
}

// WritePrior writes prior.onnx (see PriorModel) to w.
func WritePrior(w io.Writer, p *prior.Prior, opt Options) error {
	b, err := PriorModel(p, opt)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ExportPrior writes prior.onnx for p into dir (created if missing) and returns its path. The file is
// written completely to a temp file in dir and then renamed into place, so a failure leaves any earlier
// prior.onnx as it was. It does not check p against a VQ-VAE (prior.(*Prior).CheckModel does); the file
// records p.VQ as its vqvae_fingerprint metadata.
func ExportPrior(p *prior.Prior, dir string, opt Options) (string, error) {
	if err := checkPrior(p); err != nil {
		return "", fmt.Errorf("export prior to %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("export prior: %w", err)
	}
	path := filepath.Join(dir, PriorFile)
	tmp, err := writeTemp(path, func(w io.Writer) error { return WritePrior(w, p, opt) })
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return path, nil
}
