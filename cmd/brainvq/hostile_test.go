package main

import (
	"bytes"
	"compress/zlib"
	be "encoding/binary" // the package-level name binary is the brainvq binary under test
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/runlock"
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

// Every flag of train is checked before any data is read, naming the flag; impossible memory needs are
// refused with the estimate; a locked run folder names its writer.
func TestTrainRefusesHostileFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	for _, c := range []struct {
		want string
		args []string
	}{
		{"needs about", []string{"--batch", "100000000"}},
		{"needs about", []string{"--codes", "100000000", "--size", "32"}},
		{"--size 4", []string{"--size", "4", "--resize"}},
		{"--size 30", []string{"--size", "30"}},
		{"--lr", []string{"--lr", "NaN"}},
		{"--lr", []string{"--lr", "-1"}},
		{"--beta", []string{"--beta", "NaN"}},
		{"--batch", []string{"--batch", "-3"}},
		{"--epochs", []string{"--epochs", "0"}},
		{"--threads", []string{"--threads", "-2"}},
		{"--codes", []string{"--codes", "-5"}},
		{"unknown preset", []string{"--preset", "huge"}},
	} {
		// --data points nowhere: a flag error must come before the data is looked at.
		mustFail(t, c.want, append([]string{"train", "--data", filepath.Join(dir, "none"), "--out", out}, c.args...)...)
	}
	os.MkdirAll(out, 0o755)
	held, err := runlock.Acquire(out)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	mustFail(t, fmt.Sprintf("process %d is writing into it", os.Getpid()), "train", "--data", filepath.Join(dir, "none"), "--out", out)
}

// A PNG whose header claims 40000×40000 pixels (1.5 MB of zeros would decode to 1.6 GB) is refused from its
// header, under an address-space limit that a full decode would break.
func TestHugePNGHeaderUnderMemoryCap(t *testing.T) {
	dir := t.TempDir()
	split := filepath.Join(dir, "keras_png_slices_data", "keras_png_slices_train")
	os.MkdirAll(split, 0o755)
	for _, s := range []string{"validate", "test"} {
		os.MkdirAll(filepath.Join(dir, "keras_png_slices_data", "keras_png_slices_"+s), 0o755)
	}
	if err := os.WriteFile(filepath.Join(split, "case_001_slice_0.nii.png"), hugePNG(t, 40000, 40000), 0o644); err != nil {
		t.Fatal(err)
	}
	// bash's ulimit -v caps the address space of brainvq at 3 GiB (Go reserves little up front).
	cmd := exec.Command("bash", "-c", `ulimit -v 3145728 && exec "$0" "$@"`, binary, "train", "--data", dir,
		"--out", filepath.Join(dir, "run"), "--size", "32", "--preset", "seed")
	outb, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("training on a 40000×40000 PNG succeeded:\n%s", outb)
	}
	o := string(outb)
	if !strings.Contains(o, "case_001_slice_0.nii.png") || !strings.Contains(o, "40000") || strings.Contains(o, "goroutine") || strings.Contains(o, "out of memory") {
		t.Fatalf("want a clear error naming the file and its size, got:\n%s", o)
	}
}

// hugePNG is a valid 8-bit grey PNG header claiming w×h pixels, followed by a little compressed data: small on
// disk, enormous once decoded.
func hugePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		be.Write(&buf, be.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		buf.WriteString(typ)
		buf.Write(data)
		be.Write(&buf, be.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	be.BigEndian.PutUint32(ihdr[0:], uint32(w))
	be.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return buf.Bytes()
}
