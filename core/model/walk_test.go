package model

import (
	"fmt"
	"strings"
	"testing"
)

// traceOps records the steps Walk asks for, as text.
type traceOps struct {
	steps []string
	kept  []string // layers whose steps keep their input
}

func (o *traceOps) Conv(s ConvStep, x, skip string) (string, error) {
	y := s.Layer.Name
	if s.ReLUInput {
		y = fmt.Sprintf("%s(relu(%s))", y, x)
	} else {
		y = fmt.Sprintf("%s(%s)", y, x)
	}
	if s.Skip {
		y = fmt.Sprintf("%s+%s", skip, y)
	}
	if s.ReLU {
		y = fmt.Sprintf("relu(%s)", y)
	}
	o.steps = append(o.steps, y)
	if s.KeepInput {
		o.kept = append(o.kept, s.Layer.Name)
	}
	return y, nil
}

func (o *traceOps) ReLU(x string) (string, error) {
	o.steps = append(o.steps, "relu")
	return "relu(" + x + ")", nil
}

// TestWalkResidualBlock checks the function Walk composes for the residual preset's encoder: each block is
// x + conv2(relu(conv1(relu(x)))), the bare ReLU after the stack folds into the last block's conv2, and only
// a block's first convolution keeps its input.
func TestWalkResidualBlock(t *testing.T) {
	cfg, err := NewConfig("residual", 16)
	if err != nil {
		t.Fatal(err)
	}
	var ops traceOps
	got, err := Walk[string](cfg.Encoder(), &ops, "u")
	if err != nil {
		t.Fatal(err)
	}
	c3 := "enc.conv3(relu(enc.conv2(relu(enc.conv1(u)))))"
	r0 := c3 + "+enc.res0.conv2(relu(enc.res0.conv1(relu(" + c3 + "))))"
	want := "enc.pre_vq(relu(" + r0 + "+enc.res1.conv2(relu(enc.res1.conv1(relu(" + r0 + "))))))"
	if got != want {
		t.Errorf("encoder computes\n%s\nwant\n%s", got, want)
	}
	if len(ops.steps) != 8 { // 4 layers + 2 blocks × 2 convolutions, no separate ReLU
		t.Errorf("%d steps, want 8: %s", len(ops.steps), strings.Join(ops.steps, "; "))
	}
	if k := strings.Join(ops.kept, " "); k != "enc.res0.conv1 enc.res1.conv1" {
		t.Errorf("steps that keep their input: %q, want the blocks' conv1 only", k)
	}
	// A bare ReLU with no residual block before it stays a ReLU step.
	ops = traceOps{}
	l := Layer{Name: "c", Kind: Conv, In: 1, Out: 1, Kernel: 1, Stride: 1}
	if got, _ := Walk[string]([]Stage{{Layer: &l}, {ReLU: true}}, &ops, "x"); got != "relu(c(x))" || len(ops.steps) != 2 {
		t.Errorf("layer then bare ReLU: %q in steps %v", got, ops.steps)
	}
}
