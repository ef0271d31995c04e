package onnxexport

import (
	"fmt"

	"github.com/brainvq/brainvq/core/model"
)

// builder accumulates the nodes and initializers of one ONNX graph. Value names are the layer names of
// docs/model.md with a suffix ("enc.conv1/relu"); initializers keep the parameter names ("enc.conv1.weight").
type builder struct {
	g     graphProto
	w     model.Weights
	inits map[string]bool
}

func newBuilder(name string, w model.Weights) *builder {
	return &builder{g: graphProto{name: name}, w: w, inits: map[string]bool{}}
}

// op appends a node with one output and returns the output's name. The node is named after its output.
func (b *builder) op(opType string, inputs []string, output string, attrs ...attribute) string {
	b.g.nodes = append(b.g.nodes, nodeProto{
		inputs: inputs, outputs: []string{output}, name: output, opType: opType, attrs: attrs,
	})
	return output
}

// floatInit adds a float32 initializer once (later calls with the same name are no-ops) and returns its name.
func (b *builder) floatInit(name string, dims []int, data []float32) string {
	if !b.inits[name] {
		b.inits[name] = true
		b.g.initializers = append(b.g.initializers, floatTensor(name, dims, data))
	}
	return name
}

// param adds the named model parameter as an initializer, with its own shape.
func (b *builder) param(name string) (string, error) {
	t, ok := b.w[name]
	if !ok {
		return "", fmt.Errorf("missing parameter %s", name)
	}
	if model.Size(t.Shape) != len(t.Data) {
		return "", fmt.Errorf("parameter %s: shape %v holds %d values, have %d", name, t.Shape, model.Size(t.Shape), len(t.Data))
	}
	return b.floatInit(name, t.Shape, t.Data), nil
}

// scalar adds a rank-0 float32 initializer.
func (b *builder) scalar(name string, v float32) string {
	return b.floatInit(name, nil, []float32{v})
}

// layer emits one Conv or ConvTranspose with its bias, and the ReLU after it when the layer has one.
// Conv: out = (H + 2p − K)/s + 1; ConvTranspose: out = (H−1)·s − 2p + K. Pads are written explicitly and
// symmetrically ([p,p,p,p]); no auto_pad, no output_padding.
func (b *builder) layer(x string, l model.Layer) (string, error) {
	wName, err := b.param(l.Name + ".weight")
	if err != nil {
		return "", err
	}
	bName, err := b.param(l.Name + ".bias")
	if err != nil {
		return "", err
	}
	k, s, p := int64(l.Kernel), int64(l.Stride), int64(l.Pad)
	attrs := []attribute{
		intsAttr("kernel_shape", k, k),
		intsAttr("strides", s, s),
		intsAttr("pads", p, p, p, p),
		intsAttr("dilations", 1, 1),
		intAttr("group", 1),
	}
	opType := "Conv"
	if l.Kind == model.ConvTranspose {
		opType = "ConvTranspose"
	}
	y := b.op(opType, []string{x, wName, bName}, l.Name, attrs...)
	if l.ReLU {
		y = b.op("Relu", []string{y}, l.Name+"/relu")
	}
	return y, nil
}

// stages emits an encoder or decoder stage list (model.Config.Encoder / Decoder) reading x, through
// model.Walk, and returns the name of its last value. prefix names the bare ReLUs ("enc.relu0").
func (b *builder) stages(x string, st []model.Stage, prefix string) (string, error) {
	return model.Walk[string](st, &onnxOps{b: b, prefix: prefix}, x)
}

// onnxOps emits Walk's steps as ONNX nodes. A ConvStep becomes Relu (when ReLUInput, named
// "<block>/relu_in"), Conv or ConvTranspose with its Relu (named after the layer), Add (when Skip, named
// after the block) and, when a ReLU follows the addition, the bare ReLU "<prefix>.relu<n>".
type onnxOps struct {
	b      *builder
	prefix string
	nRelu  int // bare ReLUs emitted so far
}

func (o *onnxOps) Conv(s model.ConvStep, x, skip string) (string, error) {
	if s.ReLUInput {
		x = o.b.op("Relu", []string{x}, s.Block+"/relu_in")
	}
	l := s.Layer
	l.ReLU = s.ReLU && !s.Skip
	y, err := o.b.layer(x, l)
	if err != nil || !s.Skip {
		return y, err
	}
	y = o.b.op("Add", []string{skip, y}, s.Block)
	if s.ReLU {
		return o.ReLU(y)
	}
	return y, nil
}

func (o *onnxOps) ReLU(x string) (string, error) {
	x = o.b.op("Relu", []string{x}, fmt.Sprintf("%s.relu%d", o.prefix, o.nRelu))
	o.nRelu++
	return x, nil
}

// encoderBody emits image [N,1,S,S] → z_e [N,D,S/4,S/4]: u = image − μ, then the encoder stages.
// The last node's output is renamed to out.
func (b *builder) encoderBody(image, out string, cfg model.Config, pre model.Preprocess) error {
	u := b.op("Sub", []string{image, b.scalar("pre.mean", pre.Mean)}, "pre.centered")
	z, err := b.stages(u, cfg.Encoder(), "enc")
	if err != nil {
		return err
	}
	b.rename(z, out)
	return nil
}

// quantizerBody emits z_e [N,D,h,w] → indices [N,h,w] int64. With z the D-vector at one position
// (Transpose to [N,h,w,D]) and E the codebook [K,D], in float64 (Cast after the Transpose):
//
//	dist_k = (‖z‖² + z·(−2E_k)) + ‖E_k‖²,   indices = argmin_k dist_k (ties → lowest k)
//
// This is the arithmetic of the Go quantiser (kernels.NearestCodes ranks codes exactly as the float64
// formula (‖z‖² − 2·z·E_k) + ‖E_k‖² does): products of float32 values are exact in float64, −2 scales
// exactly, and ‖E_k‖² is a float64 initializer [K] summed in the same component order as the Go code. Only
// the summation order of z·E_k and ‖z‖² inside the runtime may differ, a float64 rounding (~1e-16 relative)
// that can flip only codes tied to that precision. −2Eᵀ is a float64 initializer [D,K]. ArgMin has
// keepdims=0 and select_last_index=0.
//
// With f32 the same formula runs in float32 (no Cast; float32 initializers): faster and half the memory in
// onnxruntime, but float32 rounding (~1e-7 relative) can flip codes whose distances tie to that precision.
func (b *builder) quantizerBody(ze, out string, cfg model.Config, f32 bool) error {
	cb, ok := b.w[model.CodebookName]
	if !ok {
		return fmt.Errorf("missing parameter %s", model.CodebookName)
	}
	k, d := cfg.NumCodes, cfg.CodeDim
	if len(cb.Data) != k*d {
		return fmt.Errorf("parameter %s: %d values, want %d×%d", model.CodebookName, len(cb.Data), k, d)
	}
	neg2T, sq := quantizerConstants(cb.Data, k, d)
	zt := b.op("Transpose", []string{ze}, "vq.z_nhwc", intsAttr("perm", 0, 2, 3, 1))
	z, cbT, cbSq := zt, "", ""
	if f32 {
		cbT = b.floatInit("vq.codebook_t_neg2", []int{d, k}, toFloat32(neg2T))
		cbSq = b.floatInit("vq.codebook_sqnorm", []int{k}, toFloat32(sq))
	} else {
		z = b.op("Cast", []string{zt}, "vq.z_f64", intAttr("to", dtDouble))
		cbT = b.doubleInit("vq.codebook_t_neg2", []int{d, k}, neg2T)
		cbSq = b.doubleInit("vq.codebook_sqnorm", []int{k}, sq)
	}
	zz := b.op("Mul", []string{z, z}, "vq.z_squared")
	axes := b.int64Init("vq.axis_last", []int{1}, []int64{-1})
	zn := b.op("ReduceSum", []string{zz, axes}, "vq.z_sqnorm", intAttr("keepdims", 1))
	ze2 := b.op("MatMul", []string{z, cbT}, "vq.z_dot_neg2")
	s := b.op("Add", []string{zn, ze2}, "vq.partial_dist")
	dist := b.op("Add", []string{s, cbSq}, "vq.distance")
	b.op("ArgMin", []string{dist}, out, intAttr("axis", 3), intAttr("keepdims", 0), intAttr("select_last_index", 0))
	return nil
}

// quantizerConstants returns −2Eᵀ [D,K] and ‖E_k‖² [K] in float64 for the codebook E [K,D]; the squared
// norms are summed in component order d = 0..D−1, as the Go quantiser sums them.
func quantizerConstants(e []float32, k, d int) (neg2T, sq []float64) {
	neg2T = make([]float64, d*k)
	sq = make([]float64, k)
	for i := 0; i < k; i++ {
		var s float64
		for j := 0; j < d; j++ {
			v := float64(e[i*d+j])
			neg2T[j*k+i] = -2 * v
			s += v * v
		}
		sq[i] = s
	}
	return neg2T, sq
}

// toFloat32 rounds float64 values to float32.
func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// doubleInit adds a float64 initializer once and returns its name.
func (b *builder) doubleInit(name string, dims []int, data []float64) string {
	if !b.inits[name] {
		b.inits[name] = true
		b.g.initializers = append(b.g.initializers, doubleTensor(name, dims, data))
	}
	return name
}

// decoderBody emits indices [N,h,w] int64 → image [N,1,S,S]: z_q = Transpose(Gather(E, indices)) [N,D,h,w],
// the decoder stages give v, and image = Clip(v + μ, 0, 1).
func (b *builder) decoderBody(indices, out string, cfg model.Config, pre model.Preprocess) error {
	cb, err := b.param(model.CodebookName)
	if err != nil {
		return err
	}
	g := b.op("Gather", []string{cb, indices}, "vq.z_q_nhwc", intAttr("axis", 0))
	zq := b.op("Transpose", []string{g}, "vq.z_q", intsAttr("perm", 0, 3, 1, 2))
	v, err := b.stages(zq, cfg.Decoder(), "dec")
	if err != nil {
		return err
	}
	shifted := b.op("Add", []string{v, b.scalar("pre.mean", pre.Mean)}, "post.shifted")
	b.op("Clip", []string{shifted, b.scalar("post.zero", 0), b.scalar("post.one", 1)}, out)
	return nil
}

// int64Init adds an int64 initializer once and returns its name.
func (b *builder) int64Init(name string, dims []int, data []int64) string {
	if !b.inits[name] {
		b.inits[name] = true
		b.g.initializers = append(b.g.initializers, int64Tensor(name, dims, data))
	}
	return name
}

// rename gives the node that produces value from the new name to, and rewires readers of from.
func (b *builder) rename(from, to string) {
	for i := range b.g.nodes {
		n := &b.g.nodes[i]
		for j := range n.outputs {
			if n.outputs[j] == from {
				n.outputs[j] = to
				n.name = to
			}
		}
		for j := range n.inputs {
			if n.inputs[j] == from {
				n.inputs[j] = to
			}
		}
	}
}
