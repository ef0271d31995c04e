package train

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/brainvq/brainvq/core/metrics"
	"github.com/brainvq/brainvq/core/model"
)

// MinImageSize is the smallest image side training accepts: validation scores SSIM, whose window is 11
// pixels, and the model needs a multiple of 4.
const MinImageSize = (metrics.SSIMWindow + 3) / 4 * 4

// EstimateMemory is the memory, in bytes, a training step of cfg at batch size batch needs, estimated
// before anything is allocated so that impossible settings are refused at once: every layer's output and
// its gradient (the memory plan shares buffers, but a step holds most of them at its peak), the input
// batch, the quantiser's distances for one band, and the weights four times over (values, gradients,
// Adam's two moments). For the residual preset at 256×256 and batch 16 it gives about 1 GiB; a benchmark
// step's measured peak resident size is about 640 MiB (the memory plan's buffers: 537 MiB).
func EstimateMemory(cfg model.Config, batch int) float64 {
	s := float64(cfg.ImageSize)
	b := float64(batch)
	var act float64
	side := s
	for _, l := range cfg.Layers() {
		if l.Kind == model.ConvTranspose {
			side *= float64(l.Stride)
		} else {
			side /= float64(l.Stride)
		}
		act += float64(l.Out) * side * side
	}
	lat := float64(cfg.LatentSize())
	act += 2 * float64(cfg.CodeDim) * lat * lat // z_e, z_q
	params := 0.0
	for _, shape := range cfg.ParamShapes() {
		params += float64(model.Size(shape))
	}
	bytes := 4 * (2*b*act + b*s*s + 4*params)
	bytes += 4 * b * lat * float64(cfg.NumCodes) // distances of the quantiser's search
	return bytes
}

// AvailableMemory is the memory the machine can give a new process (Linux MemAvailable), or 0 when unknown.
func AvailableMemory() float64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// CheckMemory refuses settings whose estimated need exceeds what the machine has available.
func CheckMemory(cfg model.Config, batch int) error {
	need, have := EstimateMemory(cfg, batch), AvailableMemory()
	if have > 0 && need > have {
		return fmt.Errorf("training %s at %d×%d, batch %d, K=%d, D=%d needs about %s of memory; %s is available (lower --batch, --codes, --dim or --size)",
			cfg.Preset, cfg.ImageSize, cfg.ImageSize, batch, cfg.NumCodes, cfg.CodeDim, gib(need), gib(have))
	}
	return nil
}

func gib(b float64) string { return fmt.Sprintf("%.1f GiB", b/(1<<30)) }
