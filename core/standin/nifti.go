package standin

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
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

// LoadNIfTI reads a .nii or .nii.gz file (see ReadNIfTI); errors name the file, and those about its
// content are *FormatError. An uncompressed file's header is checked against the file's real size before
// any voxel is read.
func LoadNIfTI(path string) (*Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read NIfTI %s: %w", path, err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	v, err := readNIfTI(f, size)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.File = path
			return nil, err
		}
		return nil, fmt.Errorf("read NIfTI %s: %w", path, err)
	}
	return v, nil
}

// FormatError reports a NIfTI file ReadNIfTI cannot use: not NIfTI-1, cut short, a header field out of
// range or unsupported, a volume larger than MaxVoxels, or voxels that are NaN or infinite. Callers branch
// on it with errors.As; a decompression error, when there is one, is wrapped (Unwrap).
type FormatError struct {
	File  string // the file at fault ("" when read from a stream with no name)
	Field string // the header field at fault ("sizeof_hdr", "magic", "dim", "datatype", "vox_offset"), or "gzip", "voxels"
	Msg   string // what is wrong, with the values found and the ones wanted
	Err   error  // the underlying error, or nil
}

func (e *FormatError) Error() string {
	s := "NIfTI: " + e.Msg
	if e.File != "" {
		s = "read NIfTI " + e.File + ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(field, format string, a ...any) *FormatError {
	return &FormatError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

const (
	niftiHeaderSize = 348
	nifti2Size      = 540

	// MaxVoxels bounds the volumes ReadNIfTI reads: 2²⁶ voxels (512×512×256; a 1 mm T1 is 256³ = 2²⁴).
	// Reading costs about 16 bytes a voxel and the stand-in maker about 30 more, so the largest volume
	// accepted needs about 3 GiB; a header claiming more is refused before anything is allocated.
	MaxVoxels = 1 << 26
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

// niftiHeader is what ReadNIfTI takes from the 348-byte header.
type niftiHeader struct {
	bo           binary.ByteOrder
	n            [3]int // voxels along the three voxel axes (axis 0 fastest in the file)
	code         int16  // datatype
	typeName     string
	typeSize     int
	voxOffset    int64 // where the voxels start
	slope, inter float64
	aff          [3][3]float64 // linear part of the voxel-to-world map
}

// ReadNIfTI reads a single-file NIfTI-1 image (magic "n+1"), gzip-compressed or not, in either byte order.
//
// Voxels of type uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32 or float64 become
// y = scl_slope·v + scl_inter when scl_slope is non-zero and finite (else y = v). A NaN or ±Inf voxel (before
// or after scaling) is an error: brainvq's intensity statistics need finite values, and silently reading
// them as 0 would paint holes into the anatomy; replace them in the file first (e.g. with 0).
// The voxel-to-world orientation comes from the sform when sform_code > 0, else from the qform (quaternion,
// pixdim, qfac) when qform_code > 0, else from pixdim alone, read as an ANALYZE-style radiological image with
// voxel i running towards Left (as nibabel and FSL read such files). The volume is then reoriented to
// RAS+ voxel order: each voxel axis is assigned to the world axis it runs closest to (the assignment with the
// largest total alignment), and flipped where it runs towards Left, Posterior or Inferior. Oblique volumes
// are not resampled; their axes go to the nearest world axes. Spacing is the length of each voxel axis.
//
// A 4-D (or higher) file with more than one volume is refused: brainvq makes slices from one 3-D T1 volume,
// and silently taking the first of many (an fMRI run, say) would hide a mistake. So is a volume of more than
// MaxVoxels voxels. The voxel data is read in growing pieces, so a header that claims more voxels than the
// stream holds (or decompresses to) costs no more memory than the data really there. Every error about the
// content is a *FormatError.
func ReadNIfTI(r io.Reader) (*Volume, error) { return readNIfTI(r, -1) }

// readNIfTI is ReadNIfTI with the size of an uncompressed stream when known (≥ 0), checked against the
// header's claim before any voxel is read.
func readNIfTI(r io.Reader, size int64) (*Volume, error) {
	br := bufio.NewReader(r)
	gzipped := false
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gzipped = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FormatError{Field: "gzip", Msg: "bad gzip stream", Err: err}
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
		size = -1 // the decompressed size is known only once read
	}
	hdr := make([]byte, niftiHeaderSize)
	if n, err := io.ReadFull(br, hdr); err != nil {
		return nil, readErr(err, "header", fmt.Sprintf("short file: the header needs %d bytes, the file has %d", niftiHeaderSize, n))
	}
	h, err := parseNIfTIHeader(hdr)
	if err != nil {
		return nil, err
	}
	nvox := h.n[0] * h.n[1] * h.n[2]
	need := int64(nvox) * int64(h.typeSize)
	if size >= 0 && h.voxOffset+need > size {
		return nil, formatErr("dim", "the header claims %d×%d×%d %s voxels (%d bytes from byte %d), but the file holds only %d bytes",
			h.n[0], h.n[1], h.n[2], h.typeName, need, h.voxOffset, size)
	}
	if skip := h.voxOffset - niftiHeaderSize; skip > 0 {
		if k, err := io.CopyN(io.Discard, br, skip); err != nil {
			return nil, readErr(err, "vox_offset", fmt.Sprintf("short file: the header extension needs %d bytes, the file has %d", skip, k))
		}
	}
	raw, err := readBounded(br, need)
	if err != nil {
		return nil, readErr(err, "voxels", fmt.Sprintf("short file: voxel data ends after %d of %d bytes (%d×%d×%d %s)",
			len(raw), need, h.n[0], h.n[1], h.n[2], h.typeName))
	}
	if gzipped {
		// Read on to the end of the stream (up to 1 MiB more), so that the gzip checksum is verified.
		if _, err := io.CopyN(io.Discard, br, 1<<20); err != nil && err != io.EOF {
			return nil, readErr(err, "gzip", "the gzip stream is cut short after the voxel data")
		}
	}
	vals := decodeVoxels(raw, h.code, h.bo, nvox)
	if h.slope != 0 && !math.IsNaN(h.slope) && !math.IsInf(h.slope, 0) {
		for i, v := range vals {
			vals[i] = h.slope*v + h.inter
		}
	}
	if err := checkFinite(vals, h.n); err != nil {
		return nil, err
	}
	return reorientRAS(vals, h.n, h.aff), nil
}

// parseNIfTIHeader checks a NIfTI-1 header and takes out what ReadNIfTI needs.
func parseNIfTIHeader(hdr []byte) (*niftiHeader, error) {
	h := &niftiHeader{}
	switch {
	case binary.LittleEndian.Uint32(hdr) == niftiHeaderSize:
		h.bo = binary.LittleEndian
	case binary.BigEndian.Uint32(hdr) == niftiHeaderSize:
		h.bo = binary.BigEndian
	case binary.LittleEndian.Uint32(hdr) == nifti2Size || binary.BigEndian.Uint32(hdr) == nifti2Size:
		return nil, formatErr("sizeof_hdr", "NIfTI-2 files are not supported; convert to NIfTI-1")
	default:
		return nil, formatErr("sizeof_hdr", "not a NIfTI-1 file: header size field is %d, want 348", binary.LittleEndian.Uint32(hdr))
	}
	switch magic := string(hdr[344:348]); magic {
	case "n+1\x00":
	case "ni1\x00":
		return nil, formatErr("magic", "a two-file NIfTI (.hdr/.img pair) is not supported; convert it to a single .nii")
	default:
		return nil, formatErr("magic", "bad NIfTI magic %q, want \"n+1\"", magic)
	}
	i16 := func(off int) int16 { return int16(h.bo.Uint16(hdr[off:])) }
	f32 := func(off int) float64 { return float64(math.Float32frombits(h.bo.Uint32(hdr[off:]))) }

	var dim [8]int
	for i := range dim {
		dim[i] = int(i16(40 + 2*i))
	}
	if dim[0] < 1 || dim[0] > 7 {
		return nil, formatErr("dim", "bad dimension count dim[0]=%d, want 1..7", dim[0])
	}
	for i := range 3 {
		h.n[i] = 1
		if i < dim[0] {
			h.n[i] = dim[i+1]
		}
		if h.n[i] < 1 {
			return nil, formatErr("dim", "bad size %d along axis %d", h.n[i], i+1)
		}
	}
	vols := 1
	for i := 4; i <= dim[0]; i++ {
		if dim[i] > 1 {
			vols *= dim[i]
		}
	}
	if vols > 1 {
		return nil, formatErr("dim", "%d-D image with %d volumes (dim %v); brainvq needs one 3-D volume: extract one first",
			dim[0], vols, dim[1:dim[0]+1])
	}
	if nvox := h.n[0] * h.n[1] * h.n[2]; nvox > MaxVoxels {
		return nil, formatErr("dim", "%d×%d×%d = %d voxels, more than the limit of %d", h.n[0], h.n[1], h.n[2], nvox, MaxVoxels)
	}
	h.code = i16(70)
	typ, ok := niftiTypes[h.code]
	if !ok {
		if name, known := niftiUnsupported[h.code]; known {
			return nil, formatErr("datatype", "unsupported datatype %s (code %d); want an integer or float scalar type", name, h.code)
		}
		return nil, formatErr("datatype", "unsupported datatype code %d", h.code)
	}
	h.typeName, h.typeSize = typ.name, typ.size
	var pixdim [8]float64
	for i := range pixdim {
		pixdim[i] = f32(76 + 4*i)
	}
	voxOffset := f32(108)
	if !(voxOffset >= niftiHeaderSize && voxOffset <= 1<<30) { // also NaN
		return nil, formatErr("vox_offset", "bad vox_offset %g (want 348 to 2³⁰)", voxOffset)
	}
	h.voxOffset = int64(voxOffset)
	h.slope, h.inter = f32(112), f32(116)
	h.aff = niftiAffine(i16(252), i16(254), pixdim, f32)
	return h, nil
}

// readErr turns an error met while reading part of the file into a *FormatError: running out of data gives
// msg; a broken gzip stream says so; other errors (the disk's) are wrapped as they are.
func readErr(err error, field, msg string) error {
	var ce flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &FormatError{Field: field, Msg: msg}
	case errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &ce):
		return &FormatError{Field: "gzip", Msg: "corrupt gzip stream (" + msg + ")", Err: err}
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// readBounded reads exactly n bytes from r into a buffer that starts at no more than 1 MiB and doubles only
// as data keeps coming, so a stream that ends early costs at most about twice what it held. On an error it
// returns what it read so far.
func readBounded(r io.Reader, n int64) ([]byte, error) {
	buf := make([]byte, 0, min(n, 1<<20))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(n-int64(len(buf)), int64(len(buf)))))
		}
		k, err := io.ReadFull(r, buf[len(buf):min(int64(cap(buf)), n)])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// checkFinite refuses NaN and ±Inf voxels, and those beyond float32's range (they would become ±Inf in the
// Volume), naming how many and the first (in file voxel order).
func checkFinite(vals []float64, n [3]int) error {
	bad, first := 0, -1
	for i, v := range vals {
		if !(math.Abs(v) <= math.MaxFloat32) { // also NaN
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad == 0 {
		return nil
	}
	i, j, k := first%n[0], first/n[0]%n[1], first/(n[0]*n[1])
	return formatErr("voxels", "%d of %d voxels are NaN, infinite or beyond float32 range (the first at voxel (%d,%d,%d), value %g); replace them with finite values first",
		bad, len(vals), i, j, k, vals[first])
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
// one voxel along axis a. An sform or qform that is singular or holds NaN or ±Inf is passed over for the
// next source (sform, then qform, then pixdim alone).
func niftiAffine(qformCode, sformCode int16, pixdim [8]float64, f32 func(int) float64) (m [3][3]float64) {
	if sformCode > 0 {
		for r := range 3 {
			for c := range 3 {
				m[r][c] = f32(280 + 16*r + 4*c)
			}
		}
		if usableAffine(m) {
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
		if usableAffine(m) {
			return m
		}
	}
	// No orientation: like nibabel (and FSL), read the voxels as a converted ANALYZE 7.5 image, stored
	// radiologically: i runs towards Left, j Anterior, k Superior.
	for i := range 3 {
		m[i][i] = positiveOr1(math.Abs(pixdim[i+1]))
	}
	m[0][0] = -m[0][0]
	return m
}

// usableAffine reports whether m is finite and invertible.
func usableAffine(m [3][3]float64) bool {
	d := det3(m)
	return d != 0 && !math.IsNaN(d) && !math.IsInf(d, 0)
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
	best, world := -1.0, axisPermutations[0]
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
				v.Data[o] = float32(vals[src])
				src++
				o += stride[0]
			}
		}
	}
	return v
}
