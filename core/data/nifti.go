package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Volume is a 3-D scalar image in RAS+ voxel order: voxel index x grows towards the subject's Right, y towards
// Anterior, z towards Superior.
type Volume struct {
	Dim     [3]int     // voxels along x (left→right), y (posterior→anterior), z (inferior→superior)
	Spacing [3]float64 // voxel size in mm along x, y, z
	Data    []float32  // [Dim[2],Dim[1],Dim[0]]: voxel (x,y,z) at x + Dim[0]·(y + Dim[1]·z)
}

// At returns voxel (x, y, z).
func (v *Volume) At(x, y, z int) float32 { return v.Data[x+v.Dim[0]*(y+v.Dim[1]*z)] }

// LoadNIfTI reads a .nii or .nii.gz file (see ReadNIfTI); errors name the file.
func LoadNIfTI(path string) (*Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read NIfTI %s: %w", path, err)
	}
	defer f.Close()
	v, err := ReadNIfTI(f)
	if err != nil {
		return nil, fmt.Errorf("read NIfTI %s: %w", path, err)
	}
	return v, nil
}

const (
	niftiHeaderSize = 348
	nifti2Size      = 540
)

// niftiTypes maps the supported NIfTI-1 datatype codes to their names and sizes in bytes.
var niftiTypes = map[int16]struct {
	name string
	size int
}{
	2: {"uint8", 1}, 4: {"int16", 2}, 8: {"int32", 4}, 16: {"float32", 4}, 64: {"float64", 8},
	256: {"int8", 1}, 512: {"uint16", 2}, 768: {"uint32", 4}, 1024: {"int64", 8}, 1280: {"uint64", 8},
}

var niftiUnsupported = map[int16]string{
	1: "binary", 32: "complex64", 128: "RGB24", 1536: "float128", 1792: "complex128", 2048: "complex256", 2304: "RGBA32",
}

// ReadNIfTI reads a single-file NIfTI-1 image (magic "n+1"), gzip-compressed or not, in either byte order.
//
// Voxels of type uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32 or float64 become
// y = scl_slope·v + scl_inter when scl_slope is non-zero and finite (else y = v); NaN and ±Inf voxels become 0.
// The voxel-to-world orientation comes from the sform when sform_code > 0, else from the qform (quaternion,
// pixdim, qfac) when qform_code > 0, else from pixdim alone, read as an ANALYZE-style radiological image with
// voxel i running towards Left (as nibabel and FSL read such files). The volume is then reoriented to
// RAS+ voxel order: each voxel axis is assigned to the world axis it runs closest to (the assignment with the
// largest total alignment), and flipped where it runs towards Left, Posterior or Inferior. Oblique volumes
// are not resampled; their axes go to the nearest world axes. Spacing is the length of each voxel axis.
//
// A 4-D (or higher) file with more than one volume is refused: brainvq makes slices from one 3-D T1 volume,
// and silently taking the first of many (an fMRI run, say) would hide a mistake.
func ReadNIfTI(r io.Reader) (*Volume, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	hdr := make([]byte, niftiHeaderSize)
	if n, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("short file: the header needs %d bytes, the file has %d", niftiHeaderSize, n)
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(hdr) == niftiHeaderSize:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(hdr) == niftiHeaderSize:
		bo = binary.BigEndian
	case binary.LittleEndian.Uint32(hdr) == nifti2Size || binary.BigEndian.Uint32(hdr) == nifti2Size:
		return nil, errors.New("NIfTI-2 files are not supported; convert to NIfTI-1")
	default:
		return nil, fmt.Errorf("not a NIfTI-1 file: header size field is %d, want 348", binary.LittleEndian.Uint32(hdr))
	}
	switch magic := string(hdr[344:348]); magic {
	case "n+1\x00":
	case "ni1\x00":
		return nil, errors.New("a two-file NIfTI (.hdr/.img pair) is not supported; convert it to a single .nii")
	default:
		return nil, fmt.Errorf("bad NIfTI magic %q, want \"n+1\"", magic)
	}
	i16 := func(off int) int16 { return int16(bo.Uint16(hdr[off:])) }
	f32 := func(off int) float64 { return float64(math.Float32frombits(bo.Uint32(hdr[off:]))) }

	var dim [8]int
	for i := range dim {
		dim[i] = int(i16(40 + 2*i))
	}
	if dim[0] < 1 || dim[0] > 7 {
		return nil, fmt.Errorf("bad dimension count dim[0]=%d, want 1..7", dim[0])
	}
	var n [3]int
	for i := range 3 {
		n[i] = 1
		if i < dim[0] {
			n[i] = dim[i+1]
		}
		if n[i] < 1 {
			return nil, fmt.Errorf("bad size %d along axis %d", n[i], i+1)
		}
	}
	vols := 1
	for i := 4; i <= dim[0]; i++ {
		if dim[i] > 1 {
			vols *= dim[i]
		}
	}
	if vols > 1 {
		return nil, fmt.Errorf("%d-D image with %d volumes (dim %v); brainvq needs one 3-D volume: extract one first",
			dim[0], vols, dim[1:dim[0]+1])
	}
	code := i16(70)
	typ, ok := niftiTypes[code]
	if !ok {
		if name, known := niftiUnsupported[code]; known {
			return nil, fmt.Errorf("unsupported datatype %s (code %d); want an integer or float scalar type", name, code)
		}
		return nil, fmt.Errorf("unsupported datatype code %d", code)
	}
	var pixdim [8]float64
	for i := range pixdim {
		pixdim[i] = f32(76 + 4*i)
	}
	voxOffset := f32(108)
	slope, inter := f32(112), f32(116)
	if voxOffset < niftiHeaderSize || voxOffset > 1<<30 {
		return nil, fmt.Errorf("bad vox_offset %g (want ≥ 348)", voxOffset)
	}
	if skip := int64(voxOffset) - niftiHeaderSize; skip > 0 {
		if k, err := io.CopyN(io.Discard, br, skip); err != nil {
			return nil, fmt.Errorf("short file: the header extension needs %d bytes, the file has %d", skip, k)
		}
	}
	nvox := n[0] * n[1] * n[2]
	raw := make([]byte, nvox*typ.size)
	if k, err := io.ReadFull(br, raw); err != nil {
		return nil, fmt.Errorf("short file: voxel data ends after %d of %d bytes (%d×%d×%d %s)", k, len(raw),
			n[0], n[1], n[2], typ.name)
	}
	vals := decodeVoxels(raw, code, bo, nvox)
	if slope != 0 && !math.IsNaN(slope) && !math.IsInf(slope, 0) {
		for i, v := range vals {
			vals[i] = slope*v + inter
		}
	}

	aff := niftiAffine(i16(252), i16(254), pixdim, f32)
	return reorientRAS(vals, n, aff), nil
}

// decodeVoxels converts nvox raw voxels of a NIfTI datatype to float64.
func decodeVoxels(raw []byte, code int16, bo binary.ByteOrder, nvox int) []float64 {
	out := make([]float64, nvox)
	for i := range out {
		switch code {
		case 2:
			out[i] = float64(raw[i])
		case 256:
			out[i] = float64(int8(raw[i]))
		case 4:
			out[i] = float64(int16(bo.Uint16(raw[2*i:])))
		case 512:
			out[i] = float64(bo.Uint16(raw[2*i:]))
		case 8:
			out[i] = float64(int32(bo.Uint32(raw[4*i:])))
		case 768:
			out[i] = float64(bo.Uint32(raw[4*i:]))
		case 1024:
			out[i] = float64(int64(bo.Uint64(raw[8*i:])))
		case 1280:
			out[i] = float64(bo.Uint64(raw[8*i:]))
		case 16:
			out[i] = float64(math.Float32frombits(bo.Uint32(raw[4*i:])))
		case 64:
			out[i] = math.Float64frombits(bo.Uint64(raw[8*i:]))
		}
	}
	return out
}

// niftiAffine returns the 3×3 linear part of the voxel-to-world (RAS mm) map: column a is the world step of
// one voxel along axis a.
func niftiAffine(qformCode, sformCode int16, pixdim [8]float64, f32 func(int) float64) (m [3][3]float64) {
	if sformCode > 0 {
		for r := range 3 {
			for c := range 3 {
				m[r][c] = f32(280 + 16*r + 4*c)
			}
		}
		if det3(m) != 0 {
			return m
		}
	}
	if qformCode > 0 {
		b, c, d := f32(256), f32(260), f32(264)
		a := math.Sqrt(math.Max(0, 1-b*b-c*c-d*d))
		rot := [3][3]float64{
			{a*a + b*b - c*c - d*d, 2 * (b*c - a*d), 2 * (b*d + a*c)},
			{2 * (b*c + a*d), a*a + c*c - b*b - d*d, 2 * (c*d - a*b)},
			{2 * (b*d - a*c), 2 * (c*d + a*b), a*a + d*d - b*b - c*c},
		}
		qfac := 1.0
		if pixdim[0] < 0 {
			qfac = -1
		}
		scale := [3]float64{pixdim[1], pixdim[2], qfac * pixdim[3]}
		for r := range 3 {
			for c := range 3 {
				m[r][c] = rot[r][c] * positiveOr1(math.Abs(scale[c])) * sign(scale[c])
			}
		}
		return m
	}
	// No orientation: like nibabel (and FSL), read the voxels as a converted ANALYZE 7.5 image, stored
	// radiologically: i runs towards Left, j Anterior, k Superior.
	for i := range 3 {
		m[i][i] = positiveOr1(math.Abs(pixdim[i+1]))
	}
	m[0][0] = -m[0][0]
	return m
}

func positiveOr1(v float64) float64 {
	if v > 0 && !math.IsInf(v, 0) {
		return v
	}
	return 1
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// axisPermutations lists the six ways to give the three voxel axes three distinct world axes.
var axisPermutations = [6][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}

// rasMapping picks, for the linear part m of a voxel-to-world map, the world axis world[a] of each voxel axis
// a (the permutation maximising Σ_a |cos| between voxel axis a and world axis world[a]) and whether the axis
// runs backwards along it (flip[a]); step[a] is the length of one voxel step along axis a.
func rasMapping(m [3][3]float64) (world [3]int, flip [3]bool, step [3]float64) {
	for a := range 3 {
		step[a] = math.Sqrt(m[0][a]*m[0][a] + m[1][a]*m[1][a] + m[2][a]*m[2][a])
	}
	best := -1.0
	for _, p := range axisPermutations {
		s := 0.0
		for a := range 3 {
			s += math.Abs(m[p[a]][a]) / positiveOr1(step[a])
		}
		if s > best+1e-12 {
			best, world = s, p
		}
	}
	for a := range 3 {
		flip[a] = m[world[a]][a] < 0
		step[a] = positiveOr1(step[a])
	}
	return world, flip, step
}

// reorientRAS permutes and flips the voxels of a volume of size n (axis 0 fastest) with orientation m into
// RAS+ order.
func reorientRAS(vals []float64, n [3]int, m [3][3]float64) *Volume {
	world, flip, step := rasMapping(m)
	v := &Volume{}
	for a := range 3 {
		v.Dim[world[a]] = n[a]
		v.Spacing[world[a]] = step[a]
	}
	v.Data = make([]float32, len(vals))
	// Output stride of each source axis, and the output offset of source voxel (0,0,0).
	outStride := [3]int{1, v.Dim[0], v.Dim[0] * v.Dim[1]}
	var stride [3]int
	base := 0
	for a := range 3 {
		s := outStride[world[a]]
		if flip[a] {
			base += (n[a] - 1) * s
			s = -s
		}
		stride[a] = s
	}
	src := 0
	for k := range n[2] {
		for j := range n[1] {
			o := base + j*stride[1] + k*stride[2]
			for range n[0] {
				x := vals[src]
				if math.IsNaN(x) || math.IsInf(x, 0) {
					x = 0
				}
				v.Data[o] = float32(x)
				src++
				o += stride[0]
			}
		}
	}
	return v
}
