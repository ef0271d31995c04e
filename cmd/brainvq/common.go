package main

import (
	"fmt"
	"os"
	"time"

	"github.com/brainvq/brainvq/core/data"
)

// loadSplit loads one split of an OASIS-layout dataset with a line of progress.
func loadSplit(root, split string, opt data.LoadOptions) (*data.Split, error) {
	layout, err := data.OpenOASIS(root)
	if err != nil {
		return nil, err
	}
	dir := layout.Dir(split)
	if dir == "" {
		return nil, fmt.Errorf("%s has no %s split (want a folder %s)", root, split, data.SplitDirName(split))
	}
	start := time.Now()
	s, err := data.LoadSplit(dir, opt)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "loaded %s: %d images of %d×%d in %s\n", dir, s.N, s.H, s.W, time.Since(start).Round(time.Millisecond))
	return s, nil
}
