package standin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/brainvq/brainvq/core/data"
)

// allocDuring returns the bytes allocated while f ran (all goroutines; the test runs alone).
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// headerOnly is a NIfTI-1 header (and the 4-byte extender) that claims dim voxels of datatype dt, with no
// voxel data after it.
func headerOnly(t testing.TB, dim []int, dt, bitpix int16) []byte {
	s := niftiSpec{dim: dim, datatype: dt, bitpix: bitpix, pixdim: [8]float32{1, 1, 1, 1}}
	return s.encode(t)
}

// TestHostileNIfTIHeaders: headers that claim more than the file holds, or more than MaxVoxels, are refused
// with a *FormatError before the claimed size is allocated, whether the stream is plain, gzip-compressed or
// a named file (whose real size is checked first).
func TestHostileNIfTIHeaders(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		file  []byte
		field string
		wants []string
	}{
		{"32767³ uint8", headerOnly(t, []int{32767, 32767, 32767}, 2, 8), "dim", []string{"32767×32767×32767", "limit of 67108864"}},
		{"32767²×1 float64", headerOnly(t, []int{32767, 32767, 1}, 64, 64), "dim", []string{"limit"}},
		{"2²⁶+1 voxels", headerOnly(t, []int{8193, 8192, 1}, 2, 8), "dim", []string{"limit"}},
		{"400³ float64 in 352 bytes", headerOnly(t, []int{400, 400, 400}, 64, 64), "", []string{"400×400×400"}},
		{"8192²×1 int16 in 352 bytes", headerOnly(t, []int{8192, 8192, 1}, 4, 16), "", []string{"8192×8192×1"}},
		{"negative dim", headerOnly(t, []int{4, -3, 2}, 2, 8), "dim", []string{"bad size -3"}},
		{"dim[0] = 0", headerOnly(t, []int{}, 2, 8), "dim", []string{"dim[0]=0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".nii")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			gzPath := path + ".gz"
			if err := os.WriteFile(gzPath, gz(t, c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			var errs [4]error
			alloc := allocDuring(func() {
				_, errs[0] = ReadNIfTI(bytes.NewReader(c.file))
				_, errs[1] = ReadNIfTI(bytes.NewReader(gz(t, c.file)))
				_, errs[2] = LoadNIfTI(path)
				_, errs[3] = LoadNIfTI(gzPath)
			})
			for i, err := range errs {
				var fe *FormatError
				if !errors.As(err, &fe) || (c.field != "" && fe.Field != c.field) {
					t.Fatalf("reader %d: error %v (%T) is not a *FormatError with Field %q", i, err, err, c.field)
				}
				for _, w := range c.wants {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("reader %d: error %q does not mention %q", i, err, w)
					}
				}
			}
			if !strings.Contains(errs[2].Error(), path) || !strings.Contains(errs[3].Error(), gzPath) {
				t.Errorf("LoadNIfTI errors %q, %q do not name the files", errs[2], errs[3])
			}
			// A named plain file is checked against its size before reading.
			if strings.Contains(c.name, "352 bytes") && !strings.Contains(errs[2].Error(), "the file holds only 352 bytes") {
				t.Errorf("plain file: %v, want the size check", errs[2])
			}
			// Four reads of a claim up to 16 GiB: a few MiB in all (the 1 MiB first piece of voxel data, the
			// gzip and bufio buffers).
			if alloc > 16<<20 {
				t.Errorf("reading allocated %d MiB, want under 16 MiB", alloc>>20)
			}
		})
	}
}

// TestHostileNIfTIValues: non-finite voxels, a vox_offset out of range or past the end, and broken gzip
// streams are *FormatError naming the field; an unusable orientation falls back to pixdim.
func TestHostileNIfTIValues(t *testing.T) {
	n := [3]int{3, 3, 3}
	base := niftiSpec{dim: n[:], datatype: 16, bitpix: 32, pixdim: [8]float32{1, 1, 1, 1}, values: ramp(n, 1)}
	with := func(f func(s *niftiSpec)) []byte {
		s := base
		s.values = ramp(n, 1)
		f(&s)
		return s.encode(t)
	}
	good := with(func(*niftiSpec) {})
	// voxOffset patches vox_offset into a copy of good's header (little-endian) and cuts the file to n bytes.
	voxOffset := func(off float32, n int) []byte {
		b := bytes.Clone(good[:n])
		binary.LittleEndian.PutUint32(b[108:], math.Float32bits(off))
		return b
	}
	zipped := gz(t, good)
	badCRC := bytes.Clone(zipped)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer
	badLen := bytes.Clone(zipped)
	badLen[len(badLen)-1] ^= 0xff // the length in the gzip trailer
	cases := []struct {
		name  string
		file  []byte
		field string
		wants []string
	}{
		{"NaN voxel", with(func(s *niftiSpec) { s.values[13] = math.NaN() }), "voxels", []string{"1 of 27 voxels", "(1,1,1)"}},
		{"+Inf voxel", with(func(s *niftiSpec) { s.values[0] = math.Inf(1) }), "voxels", []string{"(0,0,0)", "+Inf"}},
		{"all NaN", with(func(s *niftiSpec) {
			for i := range s.values {
				s.values[i] = math.NaN()
			}
		}), "voxels", []string{"27 of 27"}},
		{"-Inf float64", with(func(s *niftiSpec) { s.datatype, s.bitpix, s.values[26] = 64, 64, math.Inf(-1) }), "voxels", []string{"(2,2,2)"}},
		{"1e300 float64", with(func(s *niftiSpec) { s.datatype, s.bitpix, s.values[5] = 64, 64, 1e300 }), "voxels", []string{"float32 range"}},
		{"slope overflow", with(func(s *niftiSpec) { s.datatype, s.bitpix, s.slope = 2, 8, 1e38 }), "voxels", []string{"float32 range"}},
		{"NaN vox_offset", voxOffset(float32(math.NaN()), 360), "vox_offset", []string{"bad vox_offset"}},
		{"vox_offset 2³¹", voxOffset(1<<31, 360), "vox_offset", []string{"bad vox_offset"}},
		{"negative vox_offset", voxOffset(-352, 360), "vox_offset", []string{"bad vox_offset"}},
		{"vox_offset past the end", voxOffset(1<<29, len(good)), "vox_offset", []string{"short file"}},
		{"gzip CRC", badCRC, "gzip", []string{"gzip"}},
		{"gzip length", badLen, "gzip", []string{"gzip"}},
		{"gzip header only", zipped[:10], "", []string{""}},
		{"gzip magic then junk", append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{0xee}, 400)...), "gzip", []string{"gzip"}},
	}
	for _, c := range cases {
		_, err := ReadNIfTI(bytes.NewReader(c.file))
		var fe *FormatError
		if !errors.As(err, &fe) || (c.field != "" && fe.Field != c.field) {
			t.Errorf("%s: error %v (%T) is not a *FormatError with Field %q", c.name, err, err, c.field)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	// Orientations that cannot be used (NaN or singular sform, NaN quaternion) fall back to the next source;
	// the volume is still a permutation of the file's voxels.
	for _, f := range []func(s *niftiSpec){
		func(s *niftiSpec) { s.sform, s.srow[0][0] = 1, float32(math.NaN()) },
		func(s *niftiSpec) { s.sform = 1 }, // all-zero srow: singular
		func(s *niftiSpec) { s.qform, s.quat[0] = 1, float32(math.NaN()) },
		func(s *niftiSpec) {
			s.sform, s.qform, s.quat[0], s.srow[1][1] = 1, 1, float32(math.Inf(1)), float32(math.Inf(1))
		},
		func(s *niftiSpec) {
			s.qform, s.pixdim = 1, [8]float32{1, float32(math.NaN()), -0, float32(math.Inf(1))}
		},
	} {
		v, err := ReadNIfTI(bytes.NewReader(with(f)))
		if err != nil {
			t.Fatal(err)
		}
		if v.Dim != n || len(v.Data) != 27 {
			t.Fatalf("dim %v, %d voxels", v.Dim, len(v.Data))
		}
		for a, sp := range v.Spacing {
			if !(sp > 0) || math.IsInf(sp, 0) {
				t.Fatalf("spacing %d = %v", a, sp)
			}
		}
		sum := 0.0
		for _, x := range v.Data {
			sum += float64(x)
		}
		if want := 27.0 * (111 + 1); sum != want {
			t.Fatalf("voxel sum %v, want %v (a permutation of the file's voxels)", sum, want)
		}
	}
}

// TestReadNIfTILargerThanFirstPiece reads volumes of several MiB (more than readBounded's first 1 MiB
// piece), plain and compressed, and checks every voxel.
func TestReadNIfTILargerThanFirstPiece(t *testing.T) {
	n := [3]int{160, 144, 100} // 2.2 MiB of uint8
	vals := make([]float64, n[0]*n[1]*n[2])
	for i := range vals {
		vals[i] = float64((i*7 + i/1000) % 251)
	}
	s := niftiSpec{dim: n[:], datatype: 2, bitpix: 8, pixdim: [8]float32{1, 1, 1, 1}, values: vals, sform: 1,
		srow: [3][4]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}}
	plain := s.encode(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big.nii"), plain, 0o644)
	os.WriteFile(filepath.Join(dir, "big.nii.gz"), gz(t, plain), 0o644)
	for _, name := range []string{"big.nii", "big.nii.gz"} {
		v, err := LoadNIfTI(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v.Dim != n {
			t.Fatalf("%s: dim %v", name, v.Dim)
		}
		for i, x := range v.Data {
			if float64(x) != vals[i] {
				t.Fatalf("%s: voxel %d = %v, want %v", name, i, x, vals[i])
			}
		}
	}
	// The same file cut 1 byte short is refused, plain or compressed.
	for _, b := range [][]byte{plain[:len(plain)-1], gz(t, plain[:len(plain)-1])} {
		if _, err := ReadNIfTI(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "short file") {
			t.Fatalf("cut file: %v", err)
		}
	}
}

// TestMakeRefusesBadOptionsAndVolumes: each bad option, each useless volume, and a volume that renders to
// constant slices is refused with an error naming the problem, and nothing is left in the output folder.
func TestMakeRefusesBadOptionsAndVolumes(t *testing.T) {
	good := Options{Seed: 1, TrainSubjects: 1, ValidateSubjects: 1, TestSubjects: 1, Slices: 3, Size: 32}
	opt := func(f func(o *Options)) Options { o := good; f(&o); return o }
	head := synthHead([3]float64{0, 50, 0})
	vol := func(f func(v *Volume)) *Volume {
		v := &Volume{Dim: head.Dim, Spacing: head.Spacing, Data: append([]float32(nil), head.Data...)}
		f(v)
		return v
	}
	fill := func(x float32) func(v *Volume) {
		return func(v *Volume) {
			for i := range v.Data {
				v.Data[i] = x
			}
		}
	}
	cases := []struct {
		name string
		vol  *Volume
		opt  Options
		want string
	}{
		{"negative subjects", head, opt(func(o *Options) { o.TrainSubjects = -1 }), "TrainSubjects = -1"},
		{"negative slices", head, opt(func(o *Options) { o.Slices = -5 }), "Slices = -5"},
		{"negative workers", head, opt(func(o *Options) { o.Workers = -2 }), "Workers = -2"},
		{"size 4", head, opt(func(o *Options) { o.Size = 4 }), "Size = 4"},
		{"size 100000", head, opt(func(o *Options) { o.Size = 100000 }), "Size = 100000"},
		{"contrast NaN", head, opt(func(o *Options) { o.Contrast = math.NaN() }), "Contrast = NaN"},
		{"contrast -1", head, opt(func(o *Options) { o.Contrast = -1 }), "Contrast = -1"},
		{"contrast +Inf", head, opt(func(o *Options) { o.Contrast = math.Inf(1) }), "Contrast = +Inf"},
		{"white level 2", head, opt(func(o *Options) { o.WhiteLevel = 2 }), "WhiteLevel = 2"},
		{"white level NaN", head, opt(func(o *Options) { o.WhiteLevel = math.NaN() }), "WhiteLevel = NaN"},
		{"min brain 1", head, opt(func(o *Options) { o.MinBrain = 1 }), "MinBrain = 1"},
		{"nil volume", nil, good, "empty or inconsistent volume"},
		{"short data", &Volume{Dim: [3]int{4, 4, 4}, Data: make([]float32, 63)}, good, "empty or inconsistent volume"},
		{"NaN voxel", vol(func(v *Volume) { v.Data[500] = float32(math.NaN()) }), good, "non-finite voxel NaN"},
		{"-Inf voxel", vol(func(v *Volume) { v.Data[7] = float32(math.Inf(-1)) }), good, "non-finite voxel -Inf at (7,0,0)"},
		{"all zero", vol(fill(0)), good, "no positive voxel"},
		{"all negative", vol(fill(-3)), good, "no positive voxel"},
		{"constant", vol(fill(100)), good, "constant (every voxel is 100)"},
		{"spacing 1e-5 mm", vol(func(v *Volume) { v.Spacing[1] = 1e-5 }), good, "spacing 1e-05 mm along axis 1"},
		{"spacing 1e6 mm", vol(func(v *Volume) { v.Spacing[2] = 1e6 }), good, "spacing 1e+06 mm along axis 2"},
		{"too few tissue slices", vol(func(v *Volume) {
			clear(v.Data)
			v.Data[100] = 5
		}), good, "fewer than 3 axial slices"},
		// Grey 1e-4 of white: every pixel is under the air threshold, every slice black.
		{"all-black slices", head, opt(func(o *Options) { o.WhiteLevel = 1e-4 }), "every pixel is 0"},
	}
	for _, c := range cases {
		out := t.TempDir()
		err := Make(c.vol, out, c.opt, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "make stand-in: ") {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("%s: left %v in the output folder", c.name, entries)
		}
	}
	// Zero and NaN spacing read as 1 mm (as before); the good options work.
	if err := Make(vol(func(v *Volume) { v.Spacing = [3]float64{0, float64(math.NaN()), 4} }), t.TempDir(), good, nil); err != nil {
		t.Fatalf("zero and NaN spacing: %v", err)
	}
	out := t.TempDir()
	if err := Make(head, out, good, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := data.OpenOASIS(out); err != nil {
		t.Fatal(err)
	}
}

// FuzzReadNIfTI feeds arbitrary bytes to ReadNIfTI. It must never panic; a volume it returns has
// Dim[0]·Dim[1]·Dim[2] finite voxels and positive finite spacing; an error is a *FormatError (a bytes.Reader
// never fails to read). Seeds: testdata/fuzz/FuzzReadNIfTI.
func FuzzReadNIfTI(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ReadNIfTI(bytes.NewReader(b))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FormatError", err, err)
			}
			return
		}
		if len(v.Data) != v.Dim[0]*v.Dim[1]*v.Dim[2] || len(v.Data) == 0 {
			t.Fatalf("dim %v with %d voxels", v.Dim, len(v.Data))
		}
		for a, sp := range v.Spacing {
			if !(sp > 0) || math.IsInf(sp, 0) {
				t.Fatalf("spacing %d = %v", a, sp)
			}
		}
		for i, x := range v.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("voxel %d = %v", i, x)
			}
		}
	})
}
