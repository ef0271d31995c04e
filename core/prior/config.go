// Package prior holds the generative half of brainvq: a gated PixelCNN (van den Oord et al. 2016,
// "Conditional Image Generation with PixelCNN Decoders") over the h×w grid of code indices that a trained
// VQ-VAE's quantiser produces. Together with the VQ-VAE's decoder it generates new slices: sample a code
// grid from the prior, decode it.
//
// One Config describes a prior; from it come the parameter names and shapes, the masks, the training graph
// (core/train), the Go inference and sampling paths here, and the ONNX graph (onnxexport), so the four never
// disagree. The weights are plain named tensors (model.Weights), as the VQ-VAE's are.
//
// # Architecture
//
// The input is the grid of codes c [N,h,w]; each position is embedded as its codebook vector e[c] ∈ R^D
// (the VQ-VAE's own codebook, copied into the prior and frozen) followed by its row and column coordinates
// (PosChannels), giving x [N,D+2,h,w]. Two stacks of Layers
// gated layers follow (C channels each). Writing ⊛_A / ⊛_B for a convolution whose k×k kernel is masked to
// the rows strictly above the centre (A, first layer) or the rows up to and including the centre (B), and
// s_j for a shift of the row by j columns to the right:
//
//	vertical:   a_v = W_v ⊛_d v + b_v + T_v[ℓ]                      [N,2C,h,w]
//	            v'  = tanh(a_v[:C]) ⊙ σ(a_v[C:])
//	horizontal: a_h = Σ_{j∈J} W_h,j · s_{j·d}(h) + b_h + W_vh · a_v + b_vh + T_h[ℓ]
//	            h'  = h + W_o · (tanh(a_h[:C]) ⊙ σ(a_h[C:])) + b_o   (no "h +" in the first layer)
//
// with J = {1 … k/2} in the first layer and {0 … k/2} after it, 1×1 convolutions written as products, and
// ℓ the slice level of the image (class Levels is "no level": the prior is trained with that class on
// a fraction of the batches, so it samples unconditionally too). By induction the vertical stack at row i
// sees only rows < i and the horizontal stack at (i,j) sees row i only up to column j−1: the logits at a
// position never depend on its own code or on later ones (the tests change codes and check).
//
// Layer l is dilated by d = d_l (Dilations; Yu & Koltun 2016): its kernel taps lie d rows and d columns
// apart (⊛_d) and its horizontal shifts are j·d. Masks and causality are unchanged — a tap above stays
// above — but the receptive field grows by d·(k/2) rows per layer instead of k/2, so a few layers span the
// grid. A dilated convolution is computed as an ordinary one on the d² interleaved sub-grids
// (kernels.SpaceToBatch), which is exact with zero padding because d divides the grid side.
//
// The head turns the last horizontal stack into logits over the K codes:
// z = W_2 · relu(W_1 · relu(h) + b_1) + b_2, [N,K,h,w]; training minimises the cross-entropy of the true
// codes under softmax(z).
package prior

import (
	"errors"
	"fmt"
	"sort"

	"github.com/brainvq/brainvq/core/model"
)

// Config describes one prior.
type Config struct {
	NumCodes     int `json:"num_codes"`     // K, the VQ-VAE's codebook size
	CodeDim      int `json:"code_dim"`      // D, the VQ-VAE's code dimension (the input embedding)
	Grid         int `json:"grid"`          // h = w, the VQ-VAE's latent grid side
	Channels     int `json:"channels"`      // C, per stack
	Layers       int `json:"layers"`        // gated layers; the first is the masked type-A layer
	Kernel       int `json:"kernel"`        // k (odd): vertical k×k kernels, horizontal taps k/2+1 (k/2 in layer 0)
	HeadChannels int `json:"head_channels"` // channels of the head's hidden 1×1 layer
	Levels       int `json:"levels"`        // L slice levels 0…L−1; class L means "no level"
	// Dilations holds each layer's dilation d_l (see the package comment); empty means 1 everywhere (the
	// priors written before dilation existed). Every d_l divides Grid.
	Dilations []int `json:"dilations,omitempty"`
}

// Defaults of a new prior, beside the VQ-VAE's facts (K, D, grid) and the data's levels: sized to train in
// minutes per epoch on a laptop CPU (2.2 GFLOP per 64×64 grid forward); --channels, --layers and --kernel
// scale it up.
const (
	DefaultChannels     = 32
	DefaultLayers       = 8
	DefaultKernel       = 3
	DefaultHeadChannels = 64
	// MaxLevels bounds the conditioning classes: OASIS slices are numbered 0…31.
	MaxLevels = 1024
)

// DefaultDilations returns the dilations of a new prior with layers layers over a grid×grid code grid:
// 1, 2, 4, 8, 16, 1, 2, … (the first layer always 1), each capped at the largest power of two that divides
// grid. Eight layers of 3×3 kernels so dilated see 38 rows up and 38 columns to each side — most of a
// 64×64 grid — where undilated ones see 8: enough to place a head outline, which the undilated prior
// could not (its samples were background with fragments).
//
// A layer count below 1 gets no dilations, so that Validate reports the layer count itself.
func DefaultDilations(layers, grid int) []int {
	if layers < 1 {
		return nil
	}
	top := 1
	for grid%(2*top) == 0 && 2*top <= 16 {
		top *= 2
	}
	d := make([]int, layers)
	for l := range d {
		d[l] = min(1<<(l%5), top)
	}
	return d
}

// Sized returns c with the given sizes, and dilations (nil: DefaultDilations for the new layer count).
func (c Config) Sized(channels, layers, kernel, head int, dilations []int) Config {
	c.Channels, c.Layers, c.Kernel, c.HeadChannels = channels, layers, kernel, head
	c.Dilations = dilations
	if dilations == nil {
		c.Dilations = DefaultDilations(layers, c.Grid)
	}
	return c
}

// Dilation is layer l's dilation d_l.
func (c Config) Dilation(l int) int {
	if len(c.Dilations) == 0 {
		return 1
	}
	return c.Dilations[l]
}

// ReceptiveRows is how many rows above a position its logits can see: Σ_l d_l·(k/2).
func (c Config) ReceptiveRows() int {
	r := 0
	for l := range c.Layers {
		r += c.Dilation(l) * (c.Kernel / 2)
	}
	return r
}

// MaxSamples bounds the grids of one sampling request from the command or Python.
const MaxSamples = 4096

// ConfigFor returns the default prior over the codes of VQ-VAE m (its K, D and latent grid) with levels
// slice levels; callers then change the sizes they are asked to.
func ConfigFor(m *model.Model, levels int) Config {
	c := m.Config
	return Config{NumCodes: c.NumCodes, CodeDim: c.CodeDim, Grid: c.LatentSize(), Levels: levels}.
		Sized(DefaultChannels, DefaultLayers, DefaultKernel, DefaultHeadChannels, nil)
}

// NewConfig returns the default prior for a VQ-VAE with k codes of dimension d on a grid×grid latent
// grid, conditioned on levels slice levels (0: unconditional only).
func NewConfig(k, d, grid, levels int) (Config, error) {
	c := Config{NumCodes: k, CodeDim: d, Grid: grid, Levels: levels}.
		Sized(DefaultChannels, DefaultLayers, DefaultKernel, DefaultHeadChannels, nil)
	return c, c.Validate()
}

// Validate reports the first inconsistency in c.
func (c Config) Validate() error {
	switch {
	case c.NumCodes < 2 || c.CodeDim < 1 || c.Grid < 1:
		return fmt.Errorf("prior: codes %d of dimension %d on a %d×%d grid: need K ≥ 2, D ≥ 1, grid ≥ 1", c.NumCodes, c.CodeDim, c.Grid, c.Grid)
	case c.Channels < 1 || c.Layers < 1 || c.HeadChannels < 1:
		return fmt.Errorf("prior: channels %d, layers %d, head channels %d must all be ≥ 1", c.Channels, c.Layers, c.HeadChannels)
	case c.Kernel < 3 || c.Kernel%2 == 0:
		return fmt.Errorf("prior: kernel %d must be odd and ≥ 3", c.Kernel)
	case c.Levels < 0 || c.Levels > MaxLevels:
		return fmt.Errorf("prior: %d levels outside [0,%d]", c.Levels, MaxLevels)
	case len(c.Dilations) != 0 && len(c.Dilations) != c.Layers:
		return fmt.Errorf("prior: %d dilations for %d layers", len(c.Dilations), c.Layers)
	}
	for l, d := range c.Dilations {
		if d < 1 || c.Grid%d != 0 {
			return fmt.Errorf("prior: layer %d's dilation %d must be ≥ 1 and divide the grid side %d", l, d, c.Grid)
		}
	}
	return nil
}

// Classes is the number of conditioning classes: the Levels slice levels plus "no level".
func (c Config) Classes() int { return c.Levels + 1 }

// NullClass is the class of an image sampled or scored without a level.
func (c Config) NullClass() int { return c.Levels }

// ErrLevel reports a slice level outside the prior's range.
var ErrLevel = errors.New("slice level out of range")

// Class maps a slice level to its conditioning class: level < 0 means "no level".
func (c Config) Class(level int) (int32, error) {
	switch {
	case level < 0:
		return int32(c.Levels), nil
	case level >= c.Levels:
		if c.Levels == 0 {
			return 0, fmt.Errorf("%w: level %d asked of a prior trained without levels", ErrLevel, level)
		}
		return 0, fmt.Errorf("%w: level %d, the prior knows levels 0…%d", ErrLevel, level, c.Levels-1)
	}
	return int32(level), nil
}

// Shifts lists the column shifts J of layer l's horizontal stack (see the package comment).
func (c Config) Shifts(l int) []int {
	var j []int
	first := 0
	if l == 0 {
		first = 1
	}
	for s := first; s <= c.Kernel/2; s++ {
		j = append(j, s)
	}
	return j
}

// PosChannels is the number of coordinate channels appended to the code embedding (see Embed): the row
// and the column of each position, so that the prior knows where on the grid it is. They are causal for
// free: the first layer's masks show a position only the coordinates of positions before it, which are
// known in advance anyway.
const PosChannels = 2

// In is the number of input channels of layer l's stacks: D + PosChannels for the first, C after it.
func (c Config) In(l int) int {
	if l == 0 {
		return c.CodeDim + PosChannels
	}
	return c.Channels
}

// Coord is the value of the coordinate channels at grid index i of a side of g positions: (2i+1)/g − 1,
// the centre of cell i on [−1, 1].
func Coord(i, g int) float32 { return float32(2*i+1)/float32(g) - 1 }

// Parameter names. Layer l's are prefixed "l<l>.".
const EmbedName = "embed" // [K,D], the VQ-VAE's codebook, frozen

// LayerName is the prefix of layer l's parameters.
func LayerName(l int) string { return fmt.Sprintf("l%d", l) }

// ParamShapes lists every parameter with its shape.
func (c Config) ParamShapes() map[string][]int {
	c2 := 2 * c.Channels
	s := map[string][]int{EmbedName: {c.NumCodes, c.CodeDim}}
	for l := range c.Layers {
		p, in := LayerName(l), c.In(l)
		s[p+".v.weight"] = []int{c2, in, c.Kernel, c.Kernel}
		s[p+".v.bias"] = []int{c2}
		s[p+".v.cond"] = []int{c.Classes(), c2}
		s[p+".vh.weight"] = []int{c2, c2, 1, 1}
		s[p+".vh.bias"] = []int{c2}
		for _, j := range c.Shifts(l) {
			s[fmt.Sprintf("%s.h%d.weight", p, j)] = []int{c2, in, 1, 1}
		}
		s[p+".h.bias"] = []int{c2}
		s[p+".h.cond"] = []int{c.Classes(), c2}
		s[p+".out.weight"] = []int{c.Channels, c.Channels, 1, 1}
		s[p+".out.bias"] = []int{c.Channels}
	}
	s["head1.weight"] = []int{c.HeadChannels, c.Channels, 1, 1}
	s["head1.bias"] = []int{c.HeadChannels}
	s["head2.weight"] = []int{c.NumCodes, c.HeadChannels, 1, 1}
	s["head2.bias"] = []int{c.NumCodes}
	return s
}

// ParamNames lists the parameter names in sorted order.
func (c Config) ParamNames() []string {
	var names []string
	for n := range c.ParamShapes() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Trainable reports whether the trainer updates parameter name (all but the frozen embedding).
func Trainable(name string) bool { return name != EmbedName }

// VerticalMask is the 0/1 mask of layer l's vertical kernel [2C,In,k,k]: rows strictly above the centre in
// the first layer, rows up to and including it after.
func (c Config) VerticalMask(l int) []float32 {
	k, half := c.Kernel, c.Kernel/2
	m := make([]float32, 2*c.Channels*c.In(l)*k*k)
	for i := range m {
		row := (i / k) % k
		if row < half || (l > 0 && row == half) {
			m[i] = 1
		}
	}
	return m
}

// FLOPs is the multiply-adds ×2 of one forward pass per image, masked taps included (they are computed).
func (c Config) FLOPs() float64 {
	pos := float64(c.Grid * c.Grid)
	c2 := float64(2 * c.Channels)
	var macs float64
	for l := range c.Layers {
		in := float64(c.In(l))
		macs += c2 * in * float64(c.Kernel*c.Kernel) // vertical
		macs += c2 * c2                              // vertical → horizontal
		macs += c2 * in * float64(len(c.Shifts(l)))  // horizontal
		macs += float64(c.Channels * c.Channels)     // out
	}
	macs += float64(c.HeadChannels*c.Channels + c.NumCodes*c.HeadChannels)
	return 2 * macs * pos
}
