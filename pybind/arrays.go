package pybind

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Arrays cross the boundary as little-endian bytes: float32 (images, latents, codebooks), int32 (code
// indices), int64 (histogram counts) and float64 (per-image scores). The helpers below convert and check
// lengths, naming the argument in their errors.

// float32s decodes b as little-endian float32 values; it must hold exactly want of them.
func float32s(b []byte, want int, what string) ([]float32, error) {
	if want < 0 || len(b) != 4*want {
		return nil, fmt.Errorf("brainvq: %s: expected %d float32 values (%d bytes), got %d bytes", what, want, 4*want, len(b))
	}
	out := make([]float32, want)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// float32Bytes encodes v as little-endian float32 bytes (4·len(v) bytes).
func float32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

// float64Bytes encodes v as little-endian float64 bytes (8·len(v) bytes).
func float64Bytes(v []float64) []byte {
	out := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(x))
	}
	return out
}

// int32s decodes b as little-endian int32 values; it must hold exactly want of them.
func int32s(b []byte, want int, what string) ([]int32, error) {
	if want < 0 || len(b) != 4*want {
		return nil, fmt.Errorf("brainvq: %s: expected %d int32 values (%d bytes), got %d bytes", what, want, 4*want, len(b))
	}
	out := make([]int32, want)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// int32Bytes encodes v as little-endian int32 bytes (4·len(v) bytes).
func int32Bytes(v []int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

// int64Counts decodes b as little-endian int64 histogram counts (any number of them), refusing negative
// counts and counts that do not fit an int.
func int64Counts(b []byte, what string) ([]int, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("brainvq: %s: %d bytes is not a whole number of int64 values", what, len(b))
	}
	out := make([]int, len(b)/8)
	for i := range out {
		v := int64(binary.LittleEndian.Uint64(b[8*i:]))
		if v < 0 {
			return nil, fmt.Errorf("brainvq: %s: count %d of code %d is negative", what, v, i)
		}
		out[i] = int(v)
	}
	return out, nil
}

// checkPixels reports the first value of x outside [0,1] (NaN included); what names the argument.
func checkPixels(x []float32, what string) error {
	for i, v := range x {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("brainvq: %s: value %g at flat index %d is outside [0,1]", what, v, i)
		}
	}
	return nil
}

// checkCount reports a negative or zero image count n.
func checkCount(n int, what string) error {
	if n < 1 {
		return fmt.Errorf("brainvq: %s: image count %d must be at least 1", what, n)
	}
	return nil
}

// jsonFloat is a float64 that JSON-encodes ±Inf and NaN as the strings "inf", "-inf" and "nan" (JSON has
// no such numbers; Python's float() reads those strings back).
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"nan"`), nil
	case math.IsInf(v, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// jsonFloats is a []float64 encoded element by element as jsonFloat.
type jsonFloats []float64

// MarshalJSON implements json.Marshaler.
func (fs jsonFloats) MarshalJSON() ([]byte, error) {
	out := []byte{'['}
	for i, v := range fs {
		if i > 0 {
			out = append(out, ',')
		}
		b, _ := jsonFloat(v).MarshalJSON()
		out = append(out, b...)
	}
	return append(out, ']'), nil
}

// jsonObject turns a struct with json tags into a map for encoding, with every float64 field as a
// jsonFloat, so that non-finite values do not make the encoding fail.
func jsonObject(v any) map[string]any {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	out := make(map[string]any, rt.NumField())
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if f.Type.Kind() == reflect.Float64 || f.Type.Kind() == reflect.Float32 {
			out[name] = jsonFloat(rv.Field(i).Float())
		} else {
			out[name] = rv.Field(i).Interface()
		}
	}
	return out
}
