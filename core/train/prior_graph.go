package train

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/nn"
	"github.com/brainvq/brainvq/core/prior"
)

// priorGraph is the training graph of a PixelCNN prior for a fixed batch size: the forward pass of
// prior.Config (the package comment of core/prior gives the equations) and the cross-entropy of the batch's
// codes. Its parameter nodes share their backing arrays with the weights, as the VQ-VAE graph's do.
//
//	x = embed[codes] [B,D,h,w] → gated layers → head → logits [B,K,h,w] → CE(logits, codes)
type priorGraph struct {
	g       *G.ExprGraph
	batch   int
	input   *G.Node // the embedding and coordinates of the batch's codes (prior.Embed), set before each run
	classes []int32 // [B], set before each run
	targets []int32 // [B·h·w], set before each run
	loss    *G.Node
	stats   *nn.XentStats
	names   []string // trained parameters, in grads order
	grads   G.Nodes
	vm      G.VM
	params  map[string]*G.Node
}

func buildPriorGraph(cfg prior.Config, w model.Weights, batch int) (*priorGraph, error) {
	gr := &priorGraph{g: G.NewGraph(), batch: batch, params: map[string]*G.Node{},
		classes: make([]int32, batch), targets: make([]int32, batch*cfg.Grid*cfg.Grid)}
	for _, name := range cfg.ParamNames() {
		if !prior.Trainable(name) {
			continue
		}
		t := w[name]
		val := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(t.Data))
		gr.params[name] = G.NewTensor(gr.g, tensor.Float32, len(t.Shape), G.WithShape(t.Shape...), G.WithName(name), G.WithValue(val))
	}
	g := cfg.Grid
	gr.input = G.NewTensor(gr.g, tensor.Float32, 4, G.WithShape(batch, cfg.In(0), g, g), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(batch, cfg.In(0), g, g), tensor.Of(tensor.Float32))))
	zero := G.NewTensor(gr.g, tensor.Float32, 1, G.WithShape(2*cfg.Channels), G.WithName("zero_bias"),
		G.WithValue(tensor.New(tensor.WithShape(2*cfg.Channels), tensor.Of(tensor.Float32))))
	v, h := gr.input, gr.input
	for l := range cfg.Layers {
		var err error
		if v, h, err = gr.layer(cfg, l, v, h, zero); err != nil {
			return nil, fmt.Errorf("prior layer %d: %w", l, err)
		}
	}
	logits, err := gr.head(h)
	if err != nil {
		return nil, err
	}
	if gr.loss, gr.stats, err = nn.CrossEntropy(logits, gr.targets); err != nil {
		return nil, err
	}
	var wrt G.Nodes
	for _, name := range cfg.ParamNames() {
		if prior.Trainable(name) {
			gr.names = append(gr.names, name)
			wrt = append(wrt, gr.params[name])
		}
	}
	if gr.grads, err = G.Grad(gr.loss, wrt...); err != nil {
		return nil, fmt.Errorf("prior gradients: %w", err)
	}
	if _, err = nn.PlanMemory(gr.g); err != nil {
		return nil, err
	}
	gr.vm = G.NewTapeMachine(gr.g)
	return gr, nil
}

// layer adds gated layer l: vertical stack v and horizontal stack h in, the next ones out.
func (gr *priorGraph) layer(cfg prior.Config, l int, v, h, zero *G.Node) (*G.Node, *G.Node, error) {
	p := gr.params
	pre := prior.LayerName(l)
	k := cfg.Kernel
	vw, err := nn.Mask(p[pre+".v.weight"], cfg.VerticalMask(l))
	if err != nil {
		return nil, nil, err
	}
	av, err := dilatedConv(v, vw, p[pre+".v.bias"], k, cfg.Dilation(l), v == gr.input)
	if err != nil {
		return nil, nil, err
	}
	if av, err = nn.ClassBias(av, p[pre+".v.cond"], gr.classes); err != nil {
		return nil, nil, err
	}
	ah, err := nn.Conv(av, p[pre+".vh.weight"], p[pre+".vh.bias"], nn.ConvSpec{Kernel: 1, Stride: 1})
	if err != nil {
		return nil, nil, err
	}
	for i, s := range cfg.Shifts(l) {
		hs := h
		if s != 0 {
			if hs, err = nn.ShiftRight(h, s*cfg.Dilation(l)); err != nil {
				return nil, nil, err
			}
		}
		bias := zero
		if i == 0 {
			bias = p[pre+".h.bias"]
		}
		t, err := nn.Conv(hs, p[fmt.Sprintf("%s.h%d.weight", pre, s)], bias, nn.ConvSpec{Kernel: 1, Stride: 1, NoInputGrad: h == gr.input})
		if err != nil {
			return nil, nil, err
		}
		if ah, err = nn.Add(ah, t); err != nil {
			return nil, nil, err
		}
	}
	if ah, err = nn.ClassBias(ah, p[pre+".h.cond"], gr.classes); err != nil {
		return nil, nil, err
	}
	nv, err := nn.Gate(av)
	if err != nil {
		return nil, nil, err
	}
	gh, err := nn.Gate(ah)
	if err != nil {
		return nil, nil, err
	}
	o, err := nn.Conv(gh, p[pre+".out.weight"], p[pre+".out.bias"], nn.ConvSpec{Kernel: 1, Stride: 1})
	if err != nil {
		return nil, nil, err
	}
	if l > 0 {
		if o, err = nn.Add(h, o); err != nil {
			return nil, nil, err
		}
	}
	return nv, o, nil
}

// dilatedConv is the k×k convolution of x by w dilated by d, zero-padded to keep the size: an ordinary
// convolution of x's d² sub-grids (nn.SpaceToBatch).
func dilatedConv(x, w, b *G.Node, k, d int, noInputGrad bool) (*G.Node, error) {
	spec := nn.ConvSpec{Kernel: k, Stride: 1, Pad: k / 2, NoInputGrad: noInputGrad}
	if d == 1 {
		return nn.Conv(x, w, b, spec)
	}
	xs, err := nn.SpaceToBatch(x, d)
	if err != nil {
		return nil, err
	}
	y, err := nn.Conv(xs, w, b, spec)
	if err != nil {
		return nil, err
	}
	return nn.BatchToSpace(y, d)
}

// head adds z = W_2·relu(W_1·relu(h) + b_1) + b_2.
func (gr *priorGraph) head(h *G.Node) (*G.Node, error) {
	r, err := nn.ReLU(h)
	if err != nil {
		return nil, err
	}
	hid, err := nn.Conv(r, gr.params["head1.weight"], gr.params["head1.bias"], nn.ConvSpec{Kernel: 1, Stride: 1, ReLU: true})
	if err != nil {
		return nil, err
	}
	return nn.Conv(hid, gr.params["head2.weight"], gr.params["head2.bias"], nn.ConvSpec{Kernel: 1, Stride: 1})
}

// run executes one forward and backward pass; the caller has set input, classes and targets.
func (gr *priorGraph) run() (float64, error) {
	gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return 0, err
	}
	return float64(scalar(gr.loss)), nil
}

func (gr *priorGraph) grad(i int) []float32 { return gr.grads[i].Value().Data().([]float32) }
