package model

import "testing"

// FLOPs: a transposed convolution costs what the convolution it transposes costs, and the residual preset
// at 256×256 counts 5.70 GFLOP per image forward — the figure bench/README.md derived layer by layer.
func TestFLOPs(t *testing.T) {
	conv := Layer{Kind: Conv, In: 8, Out: 16, Kernel: 4, Stride: 2, Pad: 1}
	tr := Layer{Kind: ConvTranspose, In: 16, Out: 8, Kernel: 4, Stride: 2, Pad: 1}
	if conv.OutSize(64) != 32 || tr.OutSize(32) != 64 {
		t.Fatalf("sizes: conv 64 → %d, transposed 32 → %d", conv.OutSize(64), tr.OutSize(32))
	}
	if a, b := conv.FLOPs(64), tr.FLOPs(32); a != b || a != 2*16*8*16*32*32 {
		t.Fatalf("conv %g FLOPs, its transpose %g, want both %d", a, b, 2*16*8*16*32*32)
	}
	c, err := NewConfig("residual", 256)
	if err != nil {
		t.Fatal(err)
	}
	if g := c.FLOPs() / 1e9; g < 5.69 || g > 5.71 {
		t.Fatalf("residual at 256: %.3f GFLOP per image forward, want 5.70", g)
	}
}
