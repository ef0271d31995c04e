package train

import (
	"strings"
	"testing"
)

func TestEstimateMemory(t *testing.T) {
	cfg, err := DefaultConfig("residual", 256)
	if err != nil {
		t.Fatal(err)
	}
	est := EstimateMemory(cfg, 16)
	// The measured peak RSS of this step is ≈ 780 MiB (bench/results.md): the estimate must be of that order.
	if est < 600<<20 || est > 2<<30 {
		t.Fatalf("residual, batch 16: estimate %.0f MiB, want within [600 MiB, 2 GiB]", est/(1<<20))
	}
	if e2 := EstimateMemory(cfg, 32); e2 < 1.7*est {
		t.Fatalf("doubling the batch raised the estimate only from %.0f to %.0f MiB", est/(1<<20), e2/(1<<20))
	}
	if err := CheckMemory(cfg, 100000000); err == nil || !strings.Contains(err.Error(), "--batch") {
		t.Fatalf("batch 1e8: %v, want a refusal with the estimate", err)
	}
	big := cfg
	big.NumCodes = 100000000
	if err := CheckMemory(big, 16); err == nil {
		t.Fatal("K = 1e8 codes accepted")
	}
	if err := CheckMemory(cfg, 16); err != nil && AvailableMemory() > 4<<30 {
		t.Fatalf("the documented setting refused on a machine with %s: %v", gib(AvailableMemory()), err)
	}
	if MinImageSize != 12 {
		t.Fatalf("MinImageSize %d, want 12 (the SSIM window rounded up to a multiple of 4)", MinImageSize)
	}
}
