package train

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/brainvq/brainvq/core/model"
	"github.com/brainvq/brainvq/core/nn"
)

// graph is the training graph of one VQ-VAE for a fixed batch size. Its parameter nodes share their backing
// arrays with model.Weights, so updating the weights in place updates the graph.
//
//	u [B,1,S,S] → encoder → z_e [B,D,h,w] → quantise → z_q → straight-through → decoder → v [B,1,S,S]
//	loss = mean((v−u)²)/σ² + mean((z_q − sg z_e)²) + β·mean((z_e − sg z_q)²)
//
// (the codebook term is absent when the codebook learns by EMA; with ReconClipped the first term is
// nn.ClippedMSE over [−μ, 1−μ]; a positive Options.SSIMWeight adds SSIMWeight·(1 − SSIM), nn.SSIMLoss).
type graph struct {
	g      *G.ExprGraph
	batch  int
	input  *G.Node // u = x − μ
	ze, v  *G.Node
	q      *nn.Quantizer
	recon  *G.Node // reconstruction loss (scaled by 1/σ²)
	vq     *G.Node // codebook + commitment loss
	total  *G.Node
	names  []string // parameter names, in grads order
	grads  G.Nodes
	vm     G.VM
	params map[string]*G.Node
	plan   *nn.MemoryPlan // where the ops' outputs live
}

func buildGraph(cfg model.Config, w model.Weights, pre model.Preprocess, opt Options) (*graph, error) {
	batch := opt.BatchSize
	gr := &graph{g: G.NewGraph(), batch: batch, params: map[string]*G.Node{}}
	s := cfg.ImageSize
	gr.input = G.NewTensor(gr.g, tensor.Float32, 4, G.WithShape(batch, 1, s, s), G.WithName("u"),
		G.WithValue(tensor.New(tensor.WithShape(batch, 1, s, s), tensor.Of(tensor.Float32))))
	for _, name := range cfg.ParamNames() {
		t := w[name]
		val := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(t.Data))
		gr.params[name] = G.NewTensor(gr.g, tensor.Float32, len(t.Shape), G.WithShape(t.Shape...), G.WithName(name), G.WithValue(val))
	}
	ze, err := gr.stages(cfg.Encoder(), gr.input)
	if err != nil {
		return nil, fmt.Errorf("encoder: %w", err)
	}
	zq, q, err := nn.Quantize(ze, gr.params[model.CodebookName])
	if err != nil {
		return nil, err
	}
	st, err := nn.StraightThrough(ze, zq)
	if err != nil {
		return nil, err
	}
	v, err := gr.stages(cfg.Decoder(), st)
	if err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	gr.ze, gr.v, gr.q = ze, v, q
	variance := pre.Variance
	if variance <= 0 {
		return nil, fmt.Errorf("preprocessing variance %g must be positive", variance)
	}
	if opt.ReconLoss == ReconClipped {
		gr.recon, err = nn.ClippedMSE(v, gr.input, -pre.Mean, 1-pre.Mean, 1/variance)
	} else {
		gr.recon, err = nn.MSE(v, gr.input, 1/variance, true, false)
	}
	if err != nil {
		return nil, err
	}
	commit, err := nn.MSE(ze, zq, cfg.Beta, true, false)
	if err != nil {
		return nil, err
	}
	gr.vq = commit
	if !cfg.EMA {
		codebook, err := nn.MSE(zq, ze, 1, true, false)
		if err != nil {
			return nil, err
		}
		if gr.vq, err = G.Add(codebook, commit); err != nil {
			return nil, err
		}
	}
	if gr.total, err = G.Add(gr.recon, gr.vq); err != nil {
		return nil, err
	}
	if opt.SSIMWeight > 0 {
		st, err := nn.SSIMLoss(v, gr.input, pre.Mean, float32(opt.SSIMWeight))
		if err != nil {
			return nil, err
		}
		if gr.total, err = G.Add(gr.total, st); err != nil {
			return nil, err
		}
	}
	var wrt G.Nodes
	for _, name := range cfg.ParamNames() {
		if cfg.EMA && name == model.CodebookName {
			continue
		}
		gr.names = append(gr.names, name)
		wrt = append(wrt, gr.params[name])
	}
	if gr.grads, err = G.Grad(gr.total, wrt...); err != nil {
		return nil, fmt.Errorf("gradients: %w", err)
	}
	// Lay the ops' outputs over shared buffers reused every step; z_e and v are read after a run.
	if gr.plan, err = nn.PlanMemory(gr.g, gr.ze, gr.v); err != nil {
		return nil, err
	}
	gr.vm = G.NewTapeMachine(gr.g)
	return gr, nil
}

// stages walks an encoder or decoder stage list (model.Walk) over gorgonia nodes, starting at x.
func (gr *graph) stages(stages []model.Stage, x *G.Node) (*G.Node, error) {
	return model.Walk[*G.Node](stages, graphOps{gr}, x)
}

// graphOps builds Walk's steps as graph nodes: a ConvStep becomes ReLU (when ReLUInput), the convolution
// (with its own ReLU epilogue when there is no skip addition), Add (when Skip) and ReLU after the addition.
type graphOps struct{ gr *graph }

func (o graphOps) Conv(s model.ConvStep, x, skip *G.Node) (*G.Node, error) {
	var err error
	if s.ReLUInput {
		if x, err = nn.ReLU(x); err != nil {
			return nil, err
		}
	}
	l := s.Layer
	l.ReLU = s.ReLU && !s.Skip
	y, err := o.gr.layer(l, x)
	if err != nil || !s.Skip {
		return y, err
	}
	if y, err = nn.Add(skip, y); err != nil {
		return nil, err
	}
	if s.ReLU {
		return nn.ReLU(y)
	}
	return y, nil
}

func (o graphOps) ReLU(x *G.Node) (*G.Node, error) { return nn.ReLU(x) }

func (gr *graph) layer(l model.Layer, x *G.Node) (*G.Node, error) {
	spec := nn.ConvSpec{Kernel: l.Kernel, Stride: l.Stride, Pad: l.Pad, Transpose: l.Kind == model.ConvTranspose, ReLU: l.ReLU,
		NoInputGrad: x == gr.input}
	y, err := nn.Conv(x, gr.params[l.Name+".weight"], gr.params[l.Name+".bias"], spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Name, err)
	}
	return y, nil
}

// stepResult holds the scalars of one forward/backward pass.
type stepResult struct {
	Recon, VQ, Total float64
}

// run executes one forward and backward pass on u [B,1,S,S] (already shifted by μ). Afterwards the gradient
// nodes, z_e and the quantiser's indices hold this batch's values until the next run.
func (gr *graph) run(u []float32) (stepResult, error) {
	copy(gr.input.Value().Data().([]float32), u)
	gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return stepResult{}, err
	}
	return stepResult{
		Recon: float64(scalar(gr.recon)),
		VQ:    float64(scalar(gr.vq)),
		Total: float64(scalar(gr.total)),
	}, nil
}

func scalar(n *G.Node) float32 {
	v, _ := n.Value().Data().(float32)
	return v
}

// grad returns the gradient array of parameter i of gr.names (valid until the next run).
func (gr *graph) grad(i int) []float32 { return gr.grads[i].Value().Data().([]float32) }
