package data

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// pngChunk encodes one PNG chunk: length, type, data, CRC over type and data.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// claimPNG is a small, well-formed 8-bit grey PNG file whose header claims w×h pixels while its pixel
// stream holds only 64 KiB of zeros (a few hundred bytes compressed): what a hostile file looks like.
func claimPNG(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // bit depth 8, colour type grey
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1<<16)) // 64 KiB of zeros: compresses to a few hundred bytes
	zw.Close()
	var b bytes.Buffer
	b.WriteString(pngSignature)
	b.Write(pngChunk("IHDR", ihdr))
	b.Write(pngChunk("IDAT", z.Bytes()))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}

// allocDuring returns the bytes allocated while f ran (all goroutines; the test runs alone).
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestHostilePNGs: each bad file is refused by LoadSplit, LoadImage and ScanSplit with a *FormatError that
// names the file and the field at fault, and huge claims cost no memory.
func TestHostilePNGs(t *testing.T) {
	good := encodePNG(t, greyImage(16, 16, tag(1)))
	corrupt := slices.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xff
	// A wrong-size image with a broken pixel stream: the size is refused from the header, before decoding.
	smallBroken := encodePNG(t, greyImage(8, 8, tag(2)))
	smallBroken = smallBroken[:len(smallBroken)-20]
	cases := []struct {
		name   string
		file   []byte
		resize bool
		field  string
		wants  []string
	}{
		{"empty", nil, false, "signature", []string{"empty file"}},
		{"gif", []byte("GIF89a not a png at all"), false, "signature", []string{"not a PNG file", "GIF89a"}},
		{"signature only", []byte(pngSignature), false, "data", []string{"truncated PNG"}},
		{"cut in header", good[:20], false, "data", []string{"truncated PNG"}},
		{"cut in pixels", good[:len(good)/2], false, "data", []string{"truncated PNG"}},
		{"corrupt", corrupt, false, "data", []string{"PNG"}},
		{"wrong size", encodePNG(t, greyImage(8, 8, tag(2))), false, "size", []string{"8×8, want 16×16", "--resize"}},
		{"wrong size, broken pixels", smallBroken, false, "size", []string{"8×8, want 16×16"}},
		{"40000² claim", claimPNG(40000, 40000), false, "size", []string{"40000×40000", "4096"}},
		{"40000² claim, resize", claimPNG(40000, 40000), true, "size", []string{"40000×40000", "4096"}},
		{"wide claim, resize", claimPNG(1<<20, 16), true, "size", []string{"1048576×16", "4096"}},
		{"2³¹−1 claim", claimPNG(math.MaxInt32, math.MaxInt32), true, "", []string{"PNG"}},
		{"zero width", claimPNG(0, 16), true, "", []string{"PNG"}},
		{"within limit, no pixels", claimPNG(4096, 4096), true, "data", []string{"PNG"}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			split := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			os.Mkdir(split, 0o755)
			path := filepath.Join(split, "case_1_slice_0.nii.png")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			opt := LoadOptions{Size: 16, Resize: c.resize}
			var errs [3]error
			alloc := allocDuring(func() {
				_, errs[0] = LoadSplit(split, opt)
				_, errs[1] = LoadImage(path, 16, c.resize)
				_, errs[2] = ScanSplit(split, opt)
			})
			for i, err := range errs {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("reader %d: error %v is not a *FormatError", i, err)
				}
				if fe.File != path || (c.field != "" && fe.Field != c.field) {
					t.Errorf("reader %d: FormatError file %q field %q, want %q and %q", i, fe.File, fe.Field, path, c.field)
				}
				mustErr(t, err, append([]string{path}, c.wants...)...)
			}
			// The header check comes first: no claim costs more than a few MiB, except the 4096² image within
			// the limit, whose 16 MiB the PNG decoder allocates before reading pixels (once per reader).
			limit := uint64(8 << 20)
			if c.name == "within limit, no pixels" {
				limit += 3 * 20 << 20
			}
			if alloc > limit {
				t.Errorf("reading allocated %d MiB, want under %d MiB", alloc>>20, limit>>20)
			}
		})
	}
	// A valid image at the limit is read (resampled).
	big := filepath.Join(dir, "big.png")
	writePNG(t, big, greyImage(MaxImageSide, 3, func(x, y int) uint8 { return 255 }))
	px, err := LoadImage(big, 16, true)
	if err != nil || px[0] != 1 {
		t.Fatalf("a %d×3 image: %v", MaxImageSide, err)
	}
	if _, err := LoadImage(big, 16, false); err == nil || !strings.Contains(err.Error(), "4096×3, want 16×16") {
		t.Fatalf("a %d×3 image without resize: %v", MaxImageSide, err)
	}
}

// FuzzLoadSplitPNG feeds arbitrary bytes as the one PNG of a split folder to LoadSplit, as 16×16 with and
// without resize. It must never panic; a file it accepts gives finite values in [0,1]; one it refuses gives
// a *FormatError naming the file. Seeds: testdata/fuzz/FuzzLoadSplitPNG.
func FuzzLoadSplitPNG(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "case_1_slice_0.nii.png")
	f.Fuzz(func(t *testing.T, b []byte, resize bool) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSplit(dir, LoadOptions{Size: 16, Resize: resize, Workers: 1})
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != path {
				t.Fatalf("error %v (%T) is not a *FormatError naming %s", err, err, path)
			}
			return
		}
		if s.N != 1 || len(s.Pixels) != 256 {
			t.Fatalf("split N=%d with %d values", s.N, len(s.Pixels))
		}
		for i, v := range s.Pixels {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("pixel %d = %v, outside [0,1]", i, v)
			}
		}
	})
}
