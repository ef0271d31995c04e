package model

// Walk is the one place that turns a stage list (Config.Encoder, Config.Decoder) into operations. The
// training graph (core/train), the inference path (Model.Encode/Decode) and the ONNX exporter each supply
// a StageOps over their own kind of value — a gorgonia node, an NCHW activation, an ONNX value name — and
// Walk composes them, so the residual block is written here once:
//
//	y = x + conv2(relu(conv1(relu(x))))
//
// Walk hands each convolution to the backend together with the elementwise work around it (ConvStep), so
// that a backend with fused kernels (the inference path) runs a residual block as two convolutions, while a
// backend of separate operations (gorgonia, ONNX) spells the same step out as ReLU, Conv, Add nodes. Every
// backend computes the same function.

// ConvStep is one convolution with the elementwise operations Walk attaches to it:
//
//	y = post(skip + conv_l(pre(x)) + b),   pre = ReLU if ReLUInput, post = ReLU if ReLU
//
// where the skip term is present only when Skip is set. ReLU replaces Layer.ReLU (a backend reads ReLU, not
// Layer.ReLU). With Skip set, ReLU applies after the addition: it is the bare ReLU stage that follows the
// residual stack, which Walk folds into the block's last convolution.
type ConvStep struct {
	Layer     Layer
	ReLUInput bool // the convolution reads relu(x); x itself stays unchanged
	Skip      bool // add the skip input (the residual block's input) to the convolution's output
	ReLU      bool // apply ReLU to the result (after the skip addition, when there is one)
	// KeepInput says Walk reads x again after this step (x is a residual block's input, which the block's
	// second convolution adds back); a backend that recycles buffers must not release x then.
	KeepInput bool
	// Block names the residual block the convolution belongs to ("" outside one); backends use it to name
	// the block's ReLU and Add nodes.
	Block string
}

// StageOps are the operations Walk composes, over a backend's value type T.
type StageOps[T any] interface {
	// Conv runs one ConvStep on x [N,Cin,H,W]; skip [N,Cout,H',W'] is the value to add when s.Skip is set
	// (else the zero T). It returns y [N,Cout,H',W'].
	Conv(s ConvStep, x, skip T) (T, error)
	// ReLU returns max(x, 0) for a bare ReLU stage that Walk could not fold into a convolution.
	ReLU(x T) (T, error)
}

// Walk applies stages to x with ops and returns the result: the encoder (image → z_e) or the decoder
// (z_q → v) depending on the stage list.
func Walk[T any](stages []Stage, ops StageOps[T], x T) (T, error) {
	var zero T
	var err error
	for i := 0; i < len(stages); i++ {
		st := stages[i]
		switch {
		case st.Layer != nil:
			x, err = ops.Conv(ConvStep{Layer: *st.Layer, ReLU: st.Layer.ReLU}, x, zero)
		case st.Res != nil:
			// y = x + conv2(relu(conv1(relu(x)))), then the bare ReLU that follows, if any.
			b := st.Res
			var h T
			h, err = ops.Conv(ConvStep{Layer: b.Conv1, ReLUInput: true, ReLU: true, KeepInput: true, Block: b.Name}, x, zero)
			if err != nil {
				return zero, err
			}
			relu := i+1 < len(stages) && isBareReLU(stages[i+1])
			x, err = ops.Conv(ConvStep{Layer: b.Conv2, Skip: true, ReLU: relu, Block: b.Name}, h, x)
			if relu {
				i++
			}
		case st.ReLU:
			x, err = ops.ReLU(x)
		}
		if err != nil {
			return zero, err
		}
	}
	return x, nil
}

func isBareReLU(s Stage) bool { return s.ReLU && s.Layer == nil && s.Res == nil }
