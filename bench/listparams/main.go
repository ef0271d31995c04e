// Command listparams prints a preset's parameter names and shapes, as core/model builds them, as one JSON
// object {"name": [dims...]}. The PyTorch benchmark's tests compare it with their own model, so that both
// frameworks are known to train the same architecture.
//
// Usage: go run ./bench/listparams -preset residual [-size 256]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/brainvq/brainvq/core/model"
)

func main() {
	preset := flag.String("preset", "residual", "model preset")
	size := flag.Int("size", 256, "image side (a multiple of 4)")
	flag.Parse()
	if err := run(*preset, *size); err != nil {
		fmt.Fprintf(os.Stderr, "listparams: %v\n", err)
		os.Exit(1)
	}
}

func run(preset string, size int) error {
	c, err := model.NewConfig(preset, size)
	if err != nil {
		return fmt.Errorf("preset %s: %w", preset, err)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(c.ParamShapes()); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
