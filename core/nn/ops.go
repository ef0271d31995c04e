// Package nn holds the gorgonia building blocks the VQ-VAE is trained with: convolution and transposed
// convolution with fused bias and ReLU, a standalone ReLU, the residual Add, stop-gradient, and the vector
// quantiser's nearest-code lookup with its codebook gradient. Each is a custom gorgonia Op whose forward and
// backward passes run the kernels of package kernels; gorgonia supplies the graph, the tape machine and
// reverse-mode autodiff. PlanMemory lays the ops' outputs over buffers that are reused on every run.
package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opIDs gives every op instance a distinct identity so gorgonia never merges two of them.
var opIDs atomic.Int64

type opBase struct{ id int64 }

func newBase() opBase { return opBase{id: opIDs.Add(1)} }

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

func hashOf(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s.String())
	return h.Sum32()
}

func writeHash(h hash.Hash, s fmt.Stringer) { fmt.Fprint(h, s.String()) }

// tensorT is a float tensor type of the given rank (the element type is left to unification).
func tensorT(dims int) hm.Type { return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')} }

// f32 returns the float32 backing array of a gorgonia value.
func f32(v G.Value) []float32 {
	return v.Data().([]float32)
}

// newDense returns a fresh, zeroed float32 tensor of the shape: the output of an op whose output PlanMemory
// has not placed (outSlot.output); planned ops write into their planned tensor instead.
func newDense(shape tensor.Shape) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
}

// shapeOf reads a node's static shape as an int slice.
func shapeOf(n *G.Node) []int { return []int(n.Shape()) }

func checkF32(n *G.Node, name string) error {
	if n.Dtype() != tensor.Float32 {
		return fmt.Errorf("%s: want float32, got %v", name, n.Dtype())
	}
	return nil
}
