package model

import (
	"bytes"
	"testing"
)

// FuzzReadCheckpoint feeds arbitrary bytes to the checkpoint reader: it must return a checkpoint or an
// error — never panic, never allocate from an unchecked header — and what it accepts must write back out.
// The seeds are a real checkpoint, its truncations and a few flipped bytes.
func FuzzReadCheckpoint(f *testing.F) {
	var buf bytes.Buffer
	if _, err := smallCheckpoint(f, 1).WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	for _, n := range []int{0, 8, 12, 20, 100, len(good) / 2, len(good) - 4} {
		f.Add(good[:n])
	}
	for _, i := range []int{9, 13, 25, len(good) - 10} {
		f.Add(flip(good, i))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ck, err := ReadCheckpoint(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := ck.WriteTo(&bytes.Buffer{}); err != nil {
			t.Fatalf("an accepted checkpoint does not write back: %v", err)
		}
	})
}
