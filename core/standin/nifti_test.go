package standin

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// niftiSpec describes a NIfTI-1 file for the test writer.
type niftiSpec struct {
	dim          []int // sizes of axes 1.. (dim[0] = len)
	datatype     int16
	bitpix       int16
	big          bool
	pixdim       [8]float32
	voxOffset    float32 // 0: 352
	ext          int     // bytes of header extension after the 4-byte extender
	slope, inter float32
	qform, sform int16
	quat         [6]float32 // b, c, d, qoffset x, y, z
	srow         [3][4]float32
	magic        string // "" means "n+1\x00"
	values       []float64
}

// encode writes the spec's header and voxels (converted to its datatype) the way the NIfTI-1 standard lays
// them out.
func (s niftiSpec) encode(t testing.TB) []byte {
	t.Helper()
	var bo binary.ByteOrder = binary.LittleEndian
	if s.big {
		bo = binary.BigEndian
	}
	h := make([]byte, 348)
	bo.PutUint32(h[0:], 348)
	bo.PutUint16(h[40:], uint16(len(s.dim)))
	for i, d := range s.dim {
		bo.PutUint16(h[42+2*i:], uint16(d))
	}
	bo.PutUint16(h[70:], uint16(s.datatype))
	bo.PutUint16(h[72:], uint16(s.bitpix))
	for i, p := range s.pixdim {
		bo.PutUint32(h[76+4*i:], math.Float32bits(p))
	}
	off := s.voxOffset
	if off == 0 {
		off = float32(352 + s.ext)
	}
	bo.PutUint32(h[108:], math.Float32bits(off))
	bo.PutUint32(h[112:], math.Float32bits(s.slope))
	bo.PutUint32(h[116:], math.Float32bits(s.inter))
	bo.PutUint16(h[252:], uint16(s.qform))
	bo.PutUint16(h[254:], uint16(s.sform))
	for i, q := range s.quat {
		bo.PutUint32(h[256+4*i:], math.Float32bits(q))
	}
	for r := range 3 {
		for c := range 4 {
			bo.PutUint32(h[280+16*r+4*c:], math.Float32bits(s.srow[r][c]))
		}
	}
	magic := s.magic
	if magic == "" {
		magic = "n+1\x00"
	}
	copy(h[344:], magic)
	var b bytes.Buffer
	b.Write(h)
	ext := []byte{0, 0, 0, 0}
	if s.ext > 0 {
		ext[0] = 1
	}
	b.Write(ext)
	b.Write(bytes.Repeat([]byte{0xAB}, s.ext))
	for int(off) > b.Len() {
		b.WriteByte(0)
	}
	for _, v := range s.values {
		switch s.datatype {
		case 2:
			b.WriteByte(uint8(v))
		case 256:
			b.WriteByte(byte(int8(v)))
		case 4:
			binary.Write(&b, bo, int16(v))
		case 512:
			binary.Write(&b, bo, uint16(v))
		case 8:
			binary.Write(&b, bo, int32(v))
		case 768:
			binary.Write(&b, bo, uint32(v))
		case 16:
			binary.Write(&b, bo, float32(v))
		case 64:
			binary.Write(&b, bo, v)
		default:
			t.Fatalf("test writer: datatype %d", s.datatype)
		}
	}
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// ramp gives voxel (i,j,k) of an n0×n1×n2 volume the value 100·k + 10·j + i (+ off), in file order.
func ramp(n [3]int, off float64) []float64 {
	var v []float64
	for k := range n[2] {
		for j := range n[1] {
			for i := range n[0] {
				v = append(v, 100*float64(k)+10*float64(j)+float64(i)+off)
			}
		}
	}
	return v
}

func TestReadNIfTIDatatypesEndianScaling(t *testing.T) {
	n := [3]int{4, 3, 2}
	ident := [3][4]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}
	cases := []struct {
		name     string
		dt, bits int16
		off      float64 // added to the ramp (negative values for signed types)
	}{
		{"uint8", 2, 8, 0}, {"int8", 256, 8, -100}, {"int16", 4, 16, -300}, {"uint16", 512, 16, 60000},
		{"int32", 8, 32, -70000}, {"uint32", 768, 32, 3e9}, {"float32", 16, 32, -0.5}, {"float64", 64, 64, 1e-3},
	}
	for _, c := range cases {
		for _, big := range []bool{false, true} {
			for _, zip := range []bool{false, true} {
				for _, scaled := range []bool{false, true} {
					s := niftiSpec{dim: []int{n[0], n[1], n[2]}, datatype: c.dt, bitpix: c.bits, big: big,
						pixdim: [8]float32{1, 1.5, 2, 2.5}, sform: 1, srow: ident, values: ramp(n, c.off), ext: 8}
					slope, inter := 1.0, 0.0
					if scaled {
						s.slope, s.inter, slope, inter = 0.5, 7, 0.5, 7
					}
					b := s.encode(t)
					if zip {
						b = gz(t, b)
					}
					v, err := ReadNIfTI(bytes.NewReader(b))
					name := c.name
					if err != nil {
						t.Fatalf("%s big=%v gz=%v: %v", name, big, zip, err)
					}
					if v.Dim != n {
						t.Fatalf("%s: dim %v", name, v.Dim)
					}
					want := ramp(n, c.off)
					for i, x := range v.Data {
						w := float32(slope*want[i] + inter)
						if c.dt == 16 {
							w = float32(slope*float64(float32(want[i])) + inter)
						}
						if math.Abs(float64(x-w)) > 1e-6*math.Max(1, math.Abs(float64(w))) {
							t.Fatalf("%s big=%v gz=%v scaled=%v voxel %d = %v, want %v", name, big, zip, scaled, i, x, w)
						}
					}
				}
			}
		}
	}
}

// checkRAS verifies the reoriented volume against the affine directly: source voxel ijk sits at world
// w = M·ijk + t; in a RAS+ volume it must sit at index (w − min w)/spacing along each world axis.
func checkRAS(t *testing.T, v *Volume, n [3]int, m [3][3]float64, values []float64) {
	t.Helper()
	world := func(i, j, k int) [3]float64 {
		var w [3]float64
		for r := range 3 {
			w[r] = m[r][0]*float64(i) + m[r][1]*float64(j) + m[r][2]*float64(k)
		}
		return w
	}
	lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	for _, k := range []int{0, n[2] - 1} {
		for _, j := range []int{0, n[1] - 1} {
			for _, i := range []int{0, n[0] - 1} {
				w := world(i, j, k)
				for r := range 3 {
					lo[r] = math.Min(lo[r], w[r])
				}
			}
		}
	}
	src := 0
	for k := range n[2] {
		for j := range n[1] {
			for i := range n[0] {
				w := world(i, j, k)
				var o [3]int
				for r := range 3 {
					o[r] = int(math.Round((w[r] - lo[r]) / v.Spacing[r]))
				}
				if got := v.At(o[0], o[1], o[2]); float64(got) != values[src] {
					t.Fatalf("source voxel (%d,%d,%d) = %v should be at RAS %v, found %v there", i, j, k, values[src], o, got)
				}
				src++
			}
		}
	}
}

func TestReadNIfTIOrientation(t *testing.T) {
	n := [3]int{5, 4, 3}
	vals := ramp(n, 0)
	t.Run("sform permuted and flipped", func(t *testing.T) {
		// Voxel i runs Posterior (−y, 2 mm), j runs Right (+x, 1.5 mm), k runs Inferior (−z, 3 mm).
		m := [3][3]float64{{0, 1.5, 0}, {-2, 0, 0}, {0, 0, -3}}
		s := niftiSpec{dim: n[:], datatype: 4, bitpix: 16, pixdim: [8]float32{1, 2, 1.5, 3}, sform: 2, qform: 0, values: vals}
		for r := range 3 {
			for c := range 3 {
				s.srow[r][c] = float32(m[r][c])
			}
			s.srow[r][3] = float32(10 * r)
		}
		v, err := ReadNIfTI(bytes.NewReader(s.encode(t)))
		if err != nil {
			t.Fatal(err)
		}
		if v.Dim != [3]int{4, 5, 3} || v.Spacing != [3]float64{1.5, 2, 3} {
			t.Fatalf("dim %v spacing %v, want [4 5 3] [1.5 2 3]", v.Dim, v.Spacing)
		}
		checkRAS(t, v, n, m, vals)
	})
	t.Run("sform wins over qform", func(t *testing.T) {
		m := [3][3]float64{{-1, 0, 0}, {0, 0, 1}, {0, 1, 0}}
		s := niftiSpec{dim: n[:], datatype: 2, bitpix: 8, pixdim: [8]float32{1, 1, 1, 1}, sform: 4, qform: 1,
			quat: [6]float32{0, 0, 1}, values: vals}
		for r := range 3 {
			for c := range 3 {
				s.srow[r][c] = float32(m[r][c])
			}
		}
		v, err := ReadNIfTI(bytes.NewReader(gz(t, s.encode(t))))
		if err != nil {
			t.Fatal(err)
		}
		checkRAS(t, v, n, m, vals)
	})
	t.Run("qform quaternion with qfac -1", func(t *testing.T) {
		// 90° about z: quaternion (a,b,c,d) = (√½, 0, 0, √½) rotates x→y, y→−x; qfac −1 flips k.
		// Expected linear part R·diag(p1, p2, −p3) written out by hand.
		p := [3]float64{1.2, 0.8, 2}
		m := [3][3]float64{{0, -p[1], 0}, {p[0], 0, 0}, {0, 0, -p[2]}}
		h := float32(math.Sqrt(0.5))
		s := niftiSpec{dim: n[:], datatype: 16, bitpix: 32, big: true,
			pixdim: [8]float32{-1, float32(p[0]), float32(p[1]), float32(p[2])}, qform: 1, quat: [6]float32{0, 0, h, 5, 6, 7},
			values: vals}
		v, err := ReadNIfTI(bytes.NewReader(s.encode(t)))
		if err != nil {
			t.Fatal(err)
		}
		for a := range 3 {
			if math.Abs(v.Spacing[a]-[3]float64{0.8, 1.2, 2}[a]) > 1e-6 {
				t.Fatalf("spacing %v, want [0.8 1.2 2]", v.Spacing)
			}
		}
		checkRAS(t, v, n, m, vals)
	})
	t.Run("no orientation: pixdim, i towards Left", func(t *testing.T) {
		s := niftiSpec{dim: n[:], datatype: 2, bitpix: 8, pixdim: [8]float32{0, 2, 3, 4}, values: vals}
		v, err := ReadNIfTI(bytes.NewReader(s.encode(t)))
		if err != nil {
			t.Fatal(err)
		}
		if v.Dim != n || v.Spacing != [3]float64{2, 3, 4} {
			t.Fatalf("dim %v spacing %v", v.Dim, v.Spacing)
		}
		checkRAS(t, v, n, [3][3]float64{{-2, 0, 0}, {0, 3, 0}, {0, 0, 4}}, vals)
	})
	t.Run("oblique sform goes to nearest axes", func(t *testing.T) {
		// Voxel axes tilted 20° from A, −R and S: still a permutation with one flip.
		c, s20 := math.Cos(20*math.Pi/180), math.Sin(20*math.Pi/180)
		m := [3][3]float64{{s20, -c, 0}, {c, s20, 0}, {0, 0, 1}}
		s := niftiSpec{dim: n[:], datatype: 2, bitpix: 8, pixdim: [8]float32{1, 1, 1, 1}, sform: 1, values: vals}
		for r := range 3 {
			for cc := range 3 {
				s.srow[r][cc] = float32(m[r][cc])
			}
		}
		v, err := ReadNIfTI(bytes.NewReader(s.encode(t)))
		if err != nil {
			t.Fatal(err)
		}
		// i ≈ +A (y), j ≈ −R (x, flipped), k = S.
		if v.Dim != [3]int{4, 5, 3} {
			t.Fatalf("dim %v", v.Dim)
		}
		if got, want := v.At(0, 0, 0), float32(vals[0+5*3]); got != want { // source (0, 3, 0)
			t.Fatalf("RAS (0,0,0) = %v, want source (0,3,0) = %v", got, want)
		}
		if got, want := v.At(3, 4, 2), float32(vals[4+5*(0+4*2)]); got != want { // source (4, 0, 2)
			t.Fatalf("RAS (3,4,2) = %v, want source (4,0,2) = %v", got, want)
		}
	})
}

func TestReadNIfTIErrors(t *testing.T) {
	n := []int{3, 3, 3}
	good := niftiSpec{dim: n, datatype: 2, bitpix: 8, pixdim: [8]float32{1, 1, 1, 1}, values: ramp([3]int{3, 3, 3}, 0)}
	cases := []struct {
		name  string
		data  func() []byte
		field string // the *FormatError's Field
		want  string
	}{
		{"bad magic", func() []byte { s := good; s.magic = "abc\x00"; return s.encode(t) }, "magic", "bad NIfTI magic"},
		{"pair", func() []byte { s := good; s.magic = "ni1\x00"; return s.encode(t) }, "magic", ".hdr/.img pair"},
		{"not nifti", func() []byte { return bytes.Repeat([]byte("x"), 400) }, "sizeof_hdr", "not a NIfTI-1 file"},
		{"short header", func() []byte { return good.encode(t)[:100] }, "header", "short file: the header needs 348 bytes, the file has 100"},
		{"short data", func() []byte { b := good.encode(t); return b[:len(b)-5] }, "voxels", "short file: voxel data ends after 22 of 27 bytes"},
		{"short gz", func() []byte { b := gz(t, good.encode(t)); return b[:len(b)/2] }, "", "short file"},
		{"unsupported type", func() []byte { s := good; s.datatype = 128; s.bitpix = 24; s.values = nil; return s.encode(t)[:348] }, "datatype", "unsupported datatype RGB24"},
		{"unknown type", func() []byte { s := good; s.datatype = 9999; s.values = nil; return s.encode(t)[:348] }, "datatype", "unsupported datatype code 9999"},
		{"4-D", func() []byte {
			s := good
			s.dim = []int{3, 3, 3, 2}
			s.values = append(ramp([3]int{3, 3, 3}, 0), ramp([3]int{3, 3, 3}, 0)...)
			return s.encode(t)
		}, "dim", "4-D image with 2 volumes"},
		{"bad vox_offset", func() []byte { s := good; s.voxOffset = 100; return s.encode(t)[:348] }, "vox_offset", "bad vox_offset"},
	}
	for _, c := range cases {
		_, err := ReadNIfTI(bytes.NewReader(c.data()))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		var fe *FormatError
		if !errors.As(err, &fe) || (c.field != "" && fe.Field != c.field) {
			t.Errorf("%s: error %v (%T) is not a *FormatError with Field %q", c.name, err, err, c.field)
		}
	}
	// A 4-D file holding one volume is a 3-D volume.
	s := good
	s.dim = []int{3, 3, 3, 1}
	if _, err := ReadNIfTI(bytes.NewReader(s.encode(t))); err != nil {
		t.Errorf("4-D with one volume: %v", err)
	}
	// LoadNIfTI names the file.
	p := filepath.Join(t.TempDir(), "broken.nii.gz")
	os.WriteFile(p, gz(t, good.encode(t)[:200]), 0o644)
	if _, err := LoadNIfTI(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("LoadNIfTI error %v does not name %s", err, p)
	}
	if _, err := LoadNIfTI(p + ".missing"); err == nil || !strings.Contains(err.Error(), "broken.nii.gz.missing") {
		t.Errorf("LoadNIfTI missing file error %v", err)
	}
}

// TestReadNIfTIAgainstNibabel reads files written byte for byte by testdata/data/make_nifti_fixtures.py and
// compares with what nibabel's as_closest_canonical made of them (dimensions, voxel sizes, scaled values).
func TestReadNIfTIAgainstNibabel(t *testing.T) {
	for _, name := range []string{"oblique_qform_be_int16.nii.gz", "oblique_sform_float64.nii", "no_orientation_uint8.nii"} {
		v, err := LoadNIfTI(filepath.Join("..", "..", "testdata", "data", name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "data", strings.Split(name, ".nii")[0]+".expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			Dim     [3]int
			Spacing [3]float64
			Data    []float64
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if v.Dim != want.Dim {
			t.Fatalf("%s: dim %v, nibabel %v", name, v.Dim, want.Dim)
		}
		for a := range 3 {
			if math.Abs(v.Spacing[a]-want.Spacing[a]) > 1e-5 {
				t.Fatalf("%s: spacing %v, nibabel %v", name, v.Spacing, want.Spacing)
			}
		}
		for i, w := range want.Data {
			if math.Abs(float64(v.Data[i])-w) > 1e-6*math.Max(1, math.Abs(w)) {
				t.Fatalf("%s: voxel %d = %v, nibabel %v", name, i, v.Data[i], w)
			}
		}
	}
}
