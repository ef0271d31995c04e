package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// The container is the one file layout of every brainvq file of tensors — the VQ-VAE's checkpoint, the
// prior's checkpoint, cached code grids — all little-endian:
//
//	magic (8 bytes) | uint32 format version | uint64 header length | header JSON |
//	tensor data (float32, in the order of the header's "tensors" list) | uint32 CRC-32 (IEEE) of all before it
//
// The header is the caller's JSON object; it must carry a "tensors" list of {name, group, shape} entries,
// which says how many float32 values follow and in what order. The trailing checksum catches truncated and
// corrupted files; sizes are checked against the header before anything is allocated.

// ContainerEntry is one tensor of a container's header.
type ContainerEntry struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Shape []int  `json:"shape"`
}

const (
	maxHeaderBytes = 64 << 20
	maxTensorSize  = 1 << 30 // values in one tensor
)

// FormatError reports a file that is not a well-formed container of the kind expected, in the manner of
// image/png's FormatError but with the place at fault: What names the kind ("checkpoint", "prior checkpoint",
// …), File the file (set by the loaders that open one, such as LoadCheckpoint; "" for a bare reader), Field
// the part at fault, Problem what is wrong with the values found and wanted, Err the underlying error (a
// short read, a JSON or validation error) or nil. Foreign is set when the file is not of that kind at all
// (too short, other magic bytes) rather than damaged.
//
// Field is one of "magic" (the leading bytes), "version" (the format version), "header" (its length or
// JSON), "tensors" (a tensor's shape, data or group), "checksum" (the trailing CRC or a file cut short
// before it), and for checkpoints "config" (the model configuration) and "weights" (the parameter set).
type FormatError struct {
	What    string
	File    string
	Field   string
	Problem string
	Foreign bool
	Err     error
}

func (e *FormatError) Error() string {
	what := e.What
	if e.File != "" {
		what += " " + e.File
	}
	if e.Foreign {
		return fmt.Sprintf("not a brainvq %s (%s)", what, e.Problem)
	}
	return fmt.Sprintf("corrupt %s: %s", what, e.Problem)
}

func (e *FormatError) Unwrap() error { return e.Err }

// WriteContainer writes header (a JSON object whose "tensors" list describes data, in order) and the
// tensors' values. It returns the number of bytes written.
func WriteContainer(w io.Writer, magic string, version uint32, header []byte, data []*Tensor) (int64, error) {
	if len(magic) != 8 {
		return 0, fmt.Errorf("container magic %q must be 8 bytes", magic)
	}
	for _, t := range data {
		if len(t.Data) != Size(t.Shape) {
			return 0, fmt.Errorf("tensor of shape %v holds %d values", t.Shape, len(t.Data))
		}
	}
	crc := crc32.NewIEEE()
	cw := &countWriter{w: io.MultiWriter(w, crc)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	bw.WriteString(magic)
	binary.Write(bw, binary.LittleEndian, version)
	binary.Write(bw, binary.LittleEndian, uint64(len(header)))
	bw.Write(header)
	buf := make([]byte, 4<<10)
	for _, t := range data {
		for i := 0; i < len(t.Data); i += len(buf) / 4 {
			chunk := t.Data[i:min(len(t.Data), i+len(buf)/4)]
			for j, v := range chunk {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
			}
			bw.Write(buf[:4*len(chunk)])
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	if err := binary.Write(w, binary.LittleEndian, crc.Sum32()); err != nil {
		return cw.n, err
	}
	return cw.n + 4, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadContainer reads a container with the given magic and version, verifying the checksum, and returns
// its header JSON, its tensor list and the tensors in that order. Problems with the contents are
// *FormatError. what names the kind of file in errors
// ("checkpoint", "prior checkpoint", …).
func ReadContainer(r io.Reader, magic string, version uint32, what string) ([]byte, []ContainerEntry, []*Tensor, error) {
	bad := func(field string, err error, format string, args ...any) error {
		return &FormatError{What: what, Field: field, Problem: fmt.Sprintf(format, args...), Err: err}
	}
	crc := crc32.NewIEEE()
	br := bufio.NewReaderSize(r, 1<<20)
	tr := io.TeeReader(br, crc)
	got := make([]byte, len(magic))
	if _, err := io.ReadFull(tr, got); err != nil {
		return nil, nil, nil, &FormatError{What: what, Field: "magic", Problem: fmt.Sprintf("file too short: %v", err), Foreign: true, Err: err}
	}
	if string(got) != magic {
		return nil, nil, nil, &FormatError{What: what, Field: "magic", Problem: fmt.Sprintf("bad magic bytes %q, want %q", got, magic), Foreign: true}
	}
	var ver uint32
	var hlen uint64
	if err := binary.Read(tr, binary.LittleEndian, &ver); err != nil {
		return nil, nil, nil, bad("version", err, "truncated header (%v)", err)
	}
	if ver != version {
		return nil, nil, nil, bad("version", nil, "format version %d is not supported (this build reads version %d)", ver, version)
	}
	if err := binary.Read(tr, binary.LittleEndian, &hlen); err != nil {
		return nil, nil, nil, bad("header", err, "truncated header (%v)", err)
	}
	if hlen == 0 || hlen > maxHeaderBytes {
		return nil, nil, nil, bad("header", nil, "header length %d outside (0, %d]", hlen, maxHeaderBytes)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(tr, hb); err != nil {
		return nil, nil, nil, bad("header", err, "truncated header (%v)", err)
	}
	var list struct {
		Tensors []ContainerEntry `json:"tensors"`
	}
	if err := json.Unmarshal(hb, &list); err != nil {
		return nil, nil, nil, bad("header", err, "corrupt header (%v)", err)
	}
	data := make([]*Tensor, len(list.Tensors))
	buf := make([]byte, 4<<10)
	for k, e := range list.Tensors {
		n := 1
		for _, d := range e.Shape {
			if d < 0 || d > maxTensorSize || n*max(d, 1) > maxTensorSize {
				return nil, nil, nil, bad("tensors", nil, "tensor %s has shape %v (more than %d values)", e.Name, e.Shape, maxTensorSize)
			}
			n *= d
		}
		t := &Tensor{Shape: e.Shape, Data: make([]float32, 0, min(n, 1<<20))}
		for i := 0; i < n; i += len(buf) / 4 {
			m := min(n-i, len(buf)/4)
			if _, err := io.ReadFull(tr, buf[:4*m]); err != nil {
				return nil, nil, nil, bad("tensors", err, "truncated at tensor %s (%v)", e.Name, err)
			}
			for j := range m {
				t.Data = append(t.Data, math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:])))
			}
		}
		data[k] = t
	}
	want := crc.Sum32()
	var sum uint32
	if err := binary.Read(br, binary.LittleEndian, &sum); err != nil {
		return nil, nil, nil, bad("checksum", err, "truncated: missing checksum (%v)", err)
	}
	if sum != want {
		return nil, nil, nil, bad("checksum", nil, "checksum %08x, computed %08x", sum, want)
	}
	return hb, list.Tensors, data, nil
}
