package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Outputs never overwrite inputs, and equal base names do not overwrite each other (issue 10).
func TestOutputNames(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "x", "s.png"), filepath.Join(dir, "y", "s.png")
	for _, p := range []string{a, b} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("input"), 0o644)
	}
	got, err := outputNames(filepath.Join(dir, "out"), []string{a, b, filepath.Join(dir, "z", "s")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"s.png", "s_2.png", "s_3.png"}
	for i, g := range got {
		if filepath.Base(g) != want[i] {
			t.Fatalf("outputs %v, want base names %v", got, want)
		}
	}
	if _, err := outputNames(filepath.Join(dir, "x"), []string{a}); err == nil || !strings.Contains(err.Error(), "overwrite the input") {
		t.Fatalf("output folder = input folder: %v", err)
	}
	// The same folder reached through another path is still the same file.
	if _, err := outputNames(filepath.Join(dir, "x", "..", "x"), []string{a}); err == nil {
		t.Fatal("output folder through '..' accepted")
	}
}
