// Package model holds the VQ-VAE: its configuration and presets, its weights as plain named tensors, the
// layer list that both the trainer and the pure-Go inference path walk, and the checkpoint format.
//
// The exact architecture is documented in docs/model.md.
package model

import (
	"fmt"
	"sort"
	"strings"
)

// Preprocess holds the constants that turn a [0,1] pixel image into what the encoder sees.
// Encoder input u = x − Mean; reconstruction x̂ = clip(v + Mean, 0, 1); the reconstruction loss is
// mean((v−u)²)/Variance.
type Preprocess struct {
	Mean     float32 `json:"mean"`     // mean pixel of the training split, in [0,1]
	Variance float32 `json:"variance"` // pixel variance of the training split
}

// Config describes one VQ-VAE.
type Config struct {
	Preset      string  `json:"preset"`        // "residual" or "seed"
	ImageSize   int     `json:"image_size"`    // H = W of the input, a multiple of 4
	Hidden      int     `json:"hidden"`        // Hd: encoder/decoder channels (residual preset)
	ResHidden   int     `json:"res_hidden"`    // R: residual block bottleneck channels
	NumRes      int     `json:"num_res"`       // residual blocks in encoder and decoder
	NumCodes    int     `json:"num_codes"`     // K
	CodeDim     int     `json:"code_dim"`      // D
	Beta        float32 `json:"beta"`          // commitment cost β
	EMA         bool    `json:"ema"`           // learn the codebook by exponential moving averages
	EMADecay    float32 `json:"ema_decay"`     // γ
	EMAEpsilon  float32 `json:"ema_epsilon"`   // ε (Laplace smoothing)
	DeadCodeMin float32 `json:"dead_code_min"` // restart codes whose EMA usage count falls below this (0: never)
}

// Presets lists the preset names in a stable order.
func Presets() []string { return []string{"residual", "seed"} }

// NewConfig returns the preset's configuration for square images of the given size.
func NewConfig(preset string, imageSize int) (Config, error) {
	if imageSize <= 0 || imageSize%4 != 0 {
		return Config{}, fmt.Errorf("image size %d: must be a positive multiple of 4", imageSize)
	}
	c := Config{Preset: preset, ImageSize: imageSize, Beta: 0.25, EMADecay: 0.99, EMAEpsilon: 1e-5}
	switch preset {
	case "residual":
		c.Hidden, c.ResHidden, c.NumRes, c.NumCodes, c.CodeDim = 128, 32, 2, 512, 64
	case "seed":
		c.Hidden, c.ResHidden, c.NumRes, c.NumCodes, c.CodeDim = 64, 0, 0, 128, 16
	default:
		return Config{}, fmt.Errorf("unknown preset %q (choose one of %s)", preset, strings.Join(Presets(), ", "))
	}
	return c, nil
}

// Validate reports the first inconsistency in c.
func (c Config) Validate() error {
	switch {
	case c.Preset != "residual" && c.Preset != "seed":
		return fmt.Errorf("unknown preset %q", c.Preset)
	case c.ImageSize <= 0 || c.ImageSize%4 != 0:
		return fmt.Errorf("image size %d: must be a positive multiple of 4", c.ImageSize)
	case c.NumCodes < 1 || c.CodeDim < 1:
		return fmt.Errorf("codebook %d×%d: both must be positive", c.NumCodes, c.CodeDim)
	case c.Preset == "residual" && (c.Hidden < 2 || c.Hidden%2 != 0 || c.ResHidden < 1 || c.NumRes < 0):
		return fmt.Errorf("residual preset: hidden %d must be even and ≥2, res hidden %d ≥1", c.Hidden, c.ResHidden)
	case c.Beta < 0:
		return fmt.Errorf("commitment cost β=%g must be ≥ 0", c.Beta)
	case c.EMA && (c.EMADecay <= 0 || c.EMADecay >= 1):
		return fmt.Errorf("EMA decay %g must lie in (0,1)", c.EMADecay)
	}
	return nil
}

// LatentSize is the side of the latent grid: ImageSize/4.
func (c Config) LatentSize() int { return c.ImageSize / 4 }

// LayerKind says which operation a Layer applies.
type LayerKind int

const (
	Conv          LayerKind = iota // Conv2D, weight [Cout,Cin,K,K]
	ConvTranspose                  // ConvTranspose2D, weight [Cin,Cout,K,K]
)

// Layer is one convolution or transposed convolution with its bias, followed by an optional ReLU.
type Layer struct {
	Name           string // parameter prefix, e.g. "enc.conv1": weights are Name+".weight", Name+".bias"
	Kind           LayerKind
	In, Out        int // channels
	Kernel, Stride int
	Pad            int // symmetric padding
	ReLU           bool
}

// WeightShape is the shape of the layer's weight tensor.
func (l Layer) WeightShape() []int {
	if l.Kind == ConvTranspose {
		return []int{l.In, l.Out, l.Kernel, l.Kernel}
	}
	return []int{l.Out, l.In, l.Kernel, l.Kernel}
}

// ResBlock is y = x + conv2(relu(conv1(relu(x)))).
type ResBlock struct {
	Name         string // e.g. "enc.res0"
	Conv1, Conv2 Layer
}

// Stage is a step of the encoder or decoder: either a Layer, a ResBlock, or a bare ReLU.
type Stage struct {
	Layer *Layer
	Res   *ResBlock
	ReLU  bool // a bare ReLU (after the residual stack)
}

// Encoder lists the encoder's stages: image [N,1,S,S] → z_e [N,D,S/4,S/4].
func (c Config) Encoder() []Stage {
	if c.Preset == "seed" {
		return []Stage{
			{Layer: &Layer{Name: "enc.conv1", Kind: Conv, In: 1, Out: 32, Kernel: 4, Stride: 2, Pad: 1, ReLU: true}},
			{Layer: &Layer{Name: "enc.conv2", Kind: Conv, In: 32, Out: c.Hidden, Kernel: 4, Stride: 2, Pad: 1, ReLU: true}},
			{Layer: &Layer{Name: "enc.pre_vq", Kind: Conv, In: c.Hidden, Out: c.CodeDim, Kernel: 1, Stride: 1}},
		}
	}
	h := c.Hidden
	s := []Stage{
		{Layer: &Layer{Name: "enc.conv1", Kind: Conv, In: 1, Out: h / 2, Kernel: 4, Stride: 2, Pad: 1, ReLU: true}},
		{Layer: &Layer{Name: "enc.conv2", Kind: Conv, In: h / 2, Out: h, Kernel: 4, Stride: 2, Pad: 1, ReLU: true}},
		{Layer: &Layer{Name: "enc.conv3", Kind: Conv, In: h, Out: h, Kernel: 3, Stride: 1, Pad: 1}},
	}
	s = append(s, c.resStack("enc")...)
	return append(s, Stage{Layer: &Layer{Name: "enc.pre_vq", Kind: Conv, In: h, Out: c.CodeDim, Kernel: 1, Stride: 1}})
}

// Decoder lists the decoder's stages: z_q [N,D,S/4,S/4] → v [N,1,S,S].
func (c Config) Decoder() []Stage {
	if c.Preset == "seed" {
		return []Stage{
			{Layer: &Layer{Name: "dec.deconv1", Kind: ConvTranspose, In: c.CodeDim, Out: c.Hidden, Kernel: 4, Stride: 2, Pad: 1, ReLU: true}},
			{Layer: &Layer{Name: "dec.deconv2", Kind: ConvTranspose, In: c.Hidden, Out: 32, Kernel: 4, Stride: 2, Pad: 1, ReLU: true}},
			{Layer: &Layer{Name: "dec.deconv3", Kind: ConvTranspose, In: 32, Out: 1, Kernel: 3, Stride: 1, Pad: 1}},
		}
	}
	h := c.Hidden
	s := []Stage{{Layer: &Layer{Name: "dec.conv1", Kind: Conv, In: c.CodeDim, Out: h, Kernel: 3, Stride: 1, Pad: 1}}}
	s = append(s, c.resStack("dec")...)
	return append(s,
		Stage{Layer: &Layer{Name: "dec.deconv1", Kind: ConvTranspose, In: h, Out: h / 2, Kernel: 4, Stride: 2, Pad: 1, ReLU: true}},
		Stage{Layer: &Layer{Name: "dec.deconv2", Kind: ConvTranspose, In: h / 2, Out: 1, Kernel: 4, Stride: 2, Pad: 1}},
	)
}

func (c Config) resStack(prefix string) []Stage {
	var s []Stage
	for i := 0; i < c.NumRes; i++ {
		name := fmt.Sprintf("%s.res%d", prefix, i)
		s = append(s, Stage{Res: &ResBlock{
			Name:  name,
			Conv1: Layer{Name: name + ".conv1", Kind: Conv, In: c.Hidden, Out: c.ResHidden, Kernel: 3, Stride: 1, Pad: 1},
			Conv2: Layer{Name: name + ".conv2", Kind: Conv, In: c.ResHidden, Out: c.Hidden, Kernel: 1, Stride: 1},
		}})
	}
	if c.NumRes > 0 {
		s = append(s, Stage{ReLU: true})
	}
	return s
}

// Layers returns every Layer of the encoder then the decoder, residual-block convs included, in order.
func (c Config) Layers() []Layer {
	var out []Layer
	for _, st := range append(c.Encoder(), c.Decoder()...) {
		switch {
		case st.Layer != nil:
			out = append(out, *st.Layer)
		case st.Res != nil:
			out = append(out, st.Res.Conv1, st.Res.Conv2)
		}
	}
	return out
}

// CodebookName is the parameter name of the codebook [K,D].
const CodebookName = "vq.codebook"

// ParamShapes maps every parameter name to its shape.
func (c Config) ParamShapes() map[string][]int {
	m := map[string][]int{CodebookName: {c.NumCodes, c.CodeDim}}
	for _, l := range c.Layers() {
		m[l.Name+".weight"] = l.WeightShape()
		m[l.Name+".bias"] = []int{l.Out}
	}
	return m
}

// ParamNames lists the parameter names in a stable (sorted) order.
func (c Config) ParamNames() []string {
	m := c.ParamShapes()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FLOPs is the arithmetic of one forward pass per image, counted as 2 per multiply-add: every convolution
// as the GEMM computes it (padded taps included), 2·Out·In·k²·OH·OW (a transposed convolution as the
// convolution it transposes, over its input grid), plus the quantiser's distances, 2·K·D per latent cell.
// A training step costs about 3× this (forward, input gradients, weight gradients); the benchmarks divide
// by it to report GFLOP/s and % of the CPU's peak.
func (c Config) FLOPs() float64 {
	var f float64
	size := c.ImageSize
	for _, st := range append(c.Encoder(), c.Decoder()...) {
		layers := []Layer{}
		switch {
		case st.Layer != nil:
			layers = append(layers, *st.Layer)
		case st.Res != nil:
			layers = append(layers, st.Res.Conv1, st.Res.Conv2)
		}
		for _, l := range layers {
			f += l.FLOPs(size)
			size = l.OutSize(size)
		}
		if st.Layer != nil && st.Layer.Name == "enc.pre_vq" {
			f += 2 * float64(c.NumCodes*c.CodeDim) * float64(size*size)
		}
	}
	return f
}

// OutSize is the side of the layer's output for an input of side in.
func (l Layer) OutSize(in int) int {
	if l.Kind == ConvTranspose {
		return (in-1)*l.Stride - 2*l.Pad + l.Kernel
	}
	return (in+2*l.Pad-l.Kernel)/l.Stride + 1
}

// FLOPs is the layer's forward arithmetic for an input of side in (see Config.FLOPs).
func (l Layer) FLOPs(in int) float64 {
	grid := l.OutSize(in) // a convolution's products run over its output grid
	if l.Kind == ConvTranspose {
		grid = in // a transposed one's over its input grid
	}
	return 2 * float64(l.Out*l.In*l.Kernel*l.Kernel) * float64(grid*grid)
}
