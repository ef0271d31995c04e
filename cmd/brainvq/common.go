package main

import (
	"fmt"
	"os"
	"time"

	"github.com/brainvq/brainvq/core/data"
)

// splitDir is the folder of one split of the OASIS-layout dataset at root.
func splitDir(root, split string) (string, error) {
	layout, err := data.OpenOASIS(root)
	if err != nil {
		return "", err
	}
	dir := layout.Dir(split)
	if dir == "" {
		return "", fmt.Errorf("%s has no %s split (want a folder %s)", root, split, data.SplitDirName(split))
	}
	return dir, nil
}

// loadSplit loads one split of an OASIS-layout dataset with a line of progress.
func loadSplit(root, split string, opt data.LoadOptions) (*data.Split, error) {
	dir, err := splitDir(root, split)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := data.LoadSplit(dir, opt)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "loaded %s: %d images of %d×%d in %s\n", dir, s.N, s.H, s.W, time.Since(start).Round(time.Millisecond))
	return s, nil
}
