package prior

import (
	"fmt"
	"sync"

	"github.com/brainvq/brainvq/core/kernels"
	"github.com/brainvq/brainvq/core/model"
)

// Prior is a trained (or initialised) prior: its description, its weights, and the identity of the VQ-VAE
// whose codes it models.
type Prior struct {
	Config  Config
	Weights model.Weights
	// VQ identifies the VQ-VAE (Fingerprint): a prior only makes sense over the codes of its own model.
	VQ string

	once   sync.Once
	masked map[int][]float32 // layer → vertical weights with the mask applied
}

// New returns a prior over cfg with weights w (checked).
func New(cfg Config, w model.Weights, vq string) (*Prior, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := CheckWeights(cfg, w); err != nil {
		return nil, err
	}
	return &Prior{Config: cfg, Weights: w, VQ: vq}, nil
}

// maskedVertical returns layer l's vertical weights with the mask applied (computed once; the weights must
// not change afterwards — the trainer reads the weights through its own graph, not through a Prior).
func (p *Prior) maskedVertical(l int) []float32 {
	p.once.Do(func() {
		p.masked = map[int][]float32{}
		for l := range p.Config.Layers {
			w := p.Weights[LayerName(l)+".v.weight"].Data
			m := p.Config.VerticalMask(l)
			mw := make([]float32, len(w))
			for i := range w {
				mw[i] = w[i] * m[i]
			}
			p.masked[l] = mw
		}
	})
	return p.masked[l]
}

// CheckCodes reports a code outside [0,K) or a class outside [0,L] for n grids.
func (p *Prior) CheckCodes(codes, classes []int32, n int) error {
	c := p.Config
	if len(codes) != n*c.Grid*c.Grid || len(classes) != n {
		return fmt.Errorf("prior: %d codes and %d classes for %d grids of %d×%d", len(codes), len(classes), n, c.Grid, c.Grid)
	}
	for i, v := range codes {
		if v < 0 || int(v) >= c.NumCodes {
			return fmt.Errorf("prior: code %d at %d outside [0,%d)", v, i, c.NumCodes)
		}
	}
	for i, v := range classes {
		if v < 0 || int(v) > c.Levels {
			return fmt.Errorf("prior: class %d of grid %d outside [0,%d]", v, i, c.Levels)
		}
	}
	return nil
}

// Embed writes the input x [N,D+2,h,w] of codes [N,h,w]: x[n,d,i,j] = embed[codes[n,i,j], d] for d < D,
// then the row coordinate Coord(i) and the column coordinate Coord(j).
func (p *Prior) Embed(x []float32, codes []int32, n int) {
	c := p.Config
	g, d := c.Grid, c.CodeDim
	hw := g * g
	in := c.In(0)
	for s := range n {
		img := x[s*in*hw : (s+1)*in*hw]
		kernels.GatherCodes(codes[s*hw:(s+1)*hw], p.Weights[EmbedName].Data, 1, d, hw, c.NumCodes, img)
		for i := range g {
			for j := range g {
				img[d*hw+i*g+j] = Coord(i, g)
				img[(d+1)*hw+i*g+j] = Coord(j, g)
			}
		}
	}
}

// Logits runs the prior on n code grids [N,h,w] with conditioning classes [N] (Class gives them) and
// returns the logits [N,K,h,w]: the logits at (i,j) give the distribution of the code at (i,j) given the
// codes before it in raster order.
func (p *Prior) Logits(codes, classes []int32, n int) ([]float32, error) {
	if err := p.CheckCodes(codes, classes, n); err != nil {
		return nil, err
	}
	c := p.Config
	hw := c.Grid * c.Grid
	x := make([]float32, n*c.In(0)*hw)
	p.Embed(x, codes, n)
	h := p.stacks(x, classes, n)
	return p.head(h, n), nil
}

// stacks runs the gated layers on the embedding x [N,D,h,w] and returns the last horizontal stack
// [N,C,h,w].
func (p *Prior) stacks(x []float32, classes []int32, n int) []float32 {
	c, w := p.Config, p.Weights
	g := c.Grid
	hw := g * g
	c2 := 2 * c.Channels
	v, h := x, x
	av := make([]float32, n*c2*hw)
	ah := make([]float32, n*c2*hw)
	shifted := make([]float32, n*max(c.In(0), c.Channels)*hw)
	gated := make([]float32, n*c.Channels*hw)
	for l := range c.Layers {
		pre, in := LayerName(l), c.In(l)
		// Vertical stack: masked k×k convolution, level bias, gate.
		d := c.Dilation(l)
		if d == 1 {
			kernels.Conv2D(kernels.ConvShape{N: n, C: in, H: g, W: g, K: c2, KH: c.Kernel, KW: c.Kernel, Stride: 1, Pad: c.Kernel / 2},
				v, p.maskedVertical(l), w[pre+".v.bias"].Data, av)
		} else {
			// Dilated: an ordinary convolution of the d² sub-grids (see the package comment), staged in
			// shifted and ah, which the horizontal stack fills only afterwards.
			sub, out := shifted[:n*in*hw], ah
			kernels.SpaceToBatch(sub, v, n, in, g, g, d)
			kernels.Conv2D(kernels.ConvShape{N: n * d * d, C: in, H: g / d, W: g / d, K: c2, KH: c.Kernel, KW: c.Kernel, Stride: 1, Pad: c.Kernel / 2},
				sub, p.maskedVertical(l), w[pre+".v.bias"].Data, out)
			kernels.BatchToSpace(av, out, n, c2, g, g, d)
		}
		addClassBias(av, w[pre+".v.cond"].Data, classes, n, c2, hw)
		// Horizontal stack: the vertical link, the shifted 1×1 products, level bias, gate.
		one := kernels.ConvShape{N: n, C: c2, H: g, W: g, K: c2, KH: 1, KW: 1, Stride: 1}
		kernels.Conv2D(one, av, w[pre+".vh.weight"].Data, w[pre+".vh.bias"].Data, ah)
		one.C = in
		for i, s := range c.Shifts(l) {
			var b []float32
			if i == 0 {
				b = w[pre+".h.bias"].Data
			}
			kernels.ShiftRows(shifted[:n*in*hw], h, n*in*g, g, s*d)
			kernels.Conv2DOpts(one, shifted, w[fmt.Sprintf("%s.h%d.weight", pre, s)].Data, b, ah, kernels.ConvOpts{Accumulate: true})
		}
		addClassBias(ah, w[pre+".h.cond"].Data, classes, n, c2, hw)
		nv := make([]float32, n*c.Channels*hw)
		kernels.Gate(nv, av, n, c.Channels, hw)
		kernels.Gate(gated, ah, n, c.Channels, hw)
		// Output 1×1 with the residual connection (from the second layer on).
		nh := make([]float32, n*c.Channels*hw)
		out := kernels.ConvShape{N: n, C: c.Channels, H: g, W: g, K: c.Channels, KH: 1, KW: 1, Stride: 1}
		if l > 0 {
			copy(nh, h)
		}
		kernels.Conv2DOpts(out, gated, w[pre+".out.weight"].Data, w[pre+".out.bias"].Data, nh, kernels.ConvOpts{Accumulate: l > 0})
		v, h = nv, nh
	}
	return h
}

// head turns the last horizontal stack h [N,C,h,w] into logits [N,K,h,w].
func (p *Prior) head(h []float32, n int) []float32 {
	c, w := p.Config, p.Weights
	g := c.Grid
	hidden := make([]float32, n*c.HeadChannels*g*g)
	kernels.Conv2DOpts(kernels.ConvShape{N: n, C: c.Channels, H: g, W: g, K: c.HeadChannels, KH: 1, KW: 1, Stride: 1},
		h, w["head1.weight"].Data, w["head1.bias"].Data, hidden, kernels.ConvOpts{ReLUInput: true, ReLU: true})
	logits := make([]float32, n*c.NumCodes*g*g)
	kernels.Conv2D(kernels.ConvShape{N: n, C: c.HeadChannels, H: g, W: g, K: c.NumCodes, KH: 1, KW: 1, Stride: 1},
		hidden, w["head2.weight"].Data, w["head2.bias"].Data, logits)
	return logits
}

// addClassBias adds table[classes[n], ch] to channel ch of image n of y [N,C,HW].
func addClassBias(y, table []float32, classes []int32, n, c, hw int) {
	for i := range n {
		row := table[int(classes[i])*c : (int(classes[i])+1)*c]
		for ch, b := range row {
			seg := y[(i*c+ch)*hw : (i*c+ch+1)*hw]
			for j := range seg {
				seg[j] += b
			}
		}
	}
}

// Score is the prior's fit to a set of code grids.
type Score struct {
	NLL       float64 // summed negative log-likelihood, nats
	Correct   int     // positions whose most likely code is the true one
	Positions int
}

// BitsPerCode is the mean negative log-likelihood in bits per code.
func (s Score) BitsPerCode() float64 { return s.NLL / float64(s.Positions) / ln2 }

// Accuracy is the next-code accuracy: the fraction of positions whose most likely code is the true one.
func (s Score) Accuracy() float64 { return float64(s.Correct) / float64(s.Positions) }

const ln2 = 0.6931471805599453

// Add accumulates another score.
func (s *Score) Add(o Score) { s.NLL += o.NLL; s.Correct += o.Correct; s.Positions += o.Positions }

// Score scores n code grids under the prior.
func (p *Prior) Score(codes, classes []int32, n int) (Score, error) {
	logits, err := p.Logits(codes, classes, n)
	if err != nil {
		return Score{}, err
	}
	c := p.Config
	nll, correct := kernels.SoftmaxXent(nil, logits, codes, n, c.NumCodes, c.Grid*c.Grid)
	return Score{NLL: nll, Correct: correct, Positions: n * c.Grid * c.Grid}, nil
}
