package onnxexport

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteNPYFloat32 writes data with the given shape (row-major) as a NumPy .npy file, format version 1.0,
// dtype '<f4'. The format: the magic "\x93NUMPY", version bytes 1 0, a little-endian uint16 header length,
// an ASCII Python dict literal padded with spaces and ended by '\n' so that the data starts at a multiple of
// 64 bytes, then the raw little-endian values.
func WriteNPYFloat32(w io.Writer, shape []int, data []float32) error {
	return writeNPY(w, "<f4", shape, len(data), func(bw *bufio.Writer) error {
		var b [4]byte
		for _, v := range data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			if _, err := bw.Write(b[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteNPYInt64 writes data with the given shape as a .npy file of dtype '<i8' (see WriteNPYFloat32).
func WriteNPYInt64(w io.Writer, shape []int, data []int64) error {
	return writeNPY(w, "<i8", shape, len(data), func(bw *bufio.Writer) error {
		var b [8]byte
		for _, v := range data {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			if _, err := bw.Write(b[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteNPYFloat64 writes data with the given shape as a .npy file of dtype '<f8' (see WriteNPYFloat32).
func WriteNPYFloat64(w io.Writer, shape []int, data []float64) error {
	return writeNPY(w, "<f8", shape, len(data), func(bw *bufio.Writer) error {
		var b [8]byte
		for _, v := range data {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			if _, err := bw.Write(b[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeNPY(w io.Writer, descr string, shape []int, n int, body func(*bufio.Writer) error) error {
	size := 1
	dims := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		size *= d
		dims[i] = strconv.Itoa(d)
	}
	if size != n {
		return fmt.Errorf("npy: shape %v holds %d values, have %d", shape, size, n)
	}
	tuple := "(" + strings.Join(dims, ", ")
	if len(dims) == 1 {
		tuple += "," // a one-element Python tuple
	}
	tuple += ")"
	header := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + tuple + ", }"
	const preamble = 6 + 2 + 2 // magic, version, header length
	total := preamble + len(header) + 1
	if pad := (64 - total%64) % 64; pad > 0 {
		header += strings.Repeat(" ", pad)
	}
	header += "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy: header of %d bytes is too long for format 1.0", len(header))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("\x93NUMPY\x01\x00")
	var hl [2]byte
	binary.LittleEndian.PutUint16(hl[:], uint16(len(header)))
	bw.Write(hl[:])
	bw.WriteString(header)
	if err := body(bw); err != nil {
		return err
	}
	return bw.Flush()
}
