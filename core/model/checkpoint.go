package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/brainvq/brainvq/core/atomicfile"
	"sort"
)

// Checkpoint is everything a training run saves: the model, how far training got, and named state tensors
// (optimiser moments, EMA codebook statistics) the trainer needs to resume. Info is the trainer's own JSON
// (options, history, RNG position); this package stores it without reading it.
type Checkpoint struct {
	Model    *Model
	Epoch    int     // completed epochs
	Step     int     // completed optimiser steps
	TestSSIM float64 // mean test SSIM of this model, NaN when not measured
	State    map[string]*Tensor
	Info     json.RawMessage
}

// The file format, all little-endian:
//
//	magic "BRAINVQ\x00" | uint32 format version | uint64 header length | header JSON |
//	tensor data (float32, in header order) | uint32 CRC-32 (IEEE) of everything before it
//
// The header lists every tensor's name, shape and group ("weight" or "state"). The trailing checksum catches
// truncated and corrupted files.
const (
	checkpointMagic   = "BRAINVQ\x00"
	checkpointVersion = 1
	maxHeaderBytes    = 64 << 20
)

type ckHeader struct {
	Project  string          `json:"project"`
	Version  string          `json:"version"`
	Config   Config          `json:"config"`
	Pre      Preprocess      `json:"preprocess"`
	Epoch    int             `json:"epoch"`
	Step     int             `json:"step"`
	TestSSIM *float64        `json:"test_ssim,omitempty"`
	Info     json.RawMessage `json:"info,omitempty"`
	Tensors  []ckTensor      `json:"tensors"`
}

type ckTensor struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Shape []int  `json:"shape"`
}

// WriteTo writes the checkpoint in the format above.
func (c *Checkpoint) WriteTo(w io.Writer) (int64, error) {
	if c.Model == nil {
		return 0, errors.New("checkpoint has no model")
	}
	if err := c.Model.Config.Validate(); err != nil {
		return 0, err
	}
	if err := c.Model.Weights.Check(c.Model.Config); err != nil {
		return 0, err
	}
	h := ckHeader{Project: "brainvq", Version: Version, Config: c.Model.Config, Pre: c.Model.Pre,
		Epoch: c.Epoch, Step: c.Step, Info: c.Info}
	if !math.IsNaN(c.TestSSIM) {
		v := c.TestSSIM
		h.TestSSIM = &v
	}
	var data []*Tensor
	for _, name := range sortedNames(c.Model.Weights) {
		t := c.Model.Weights[name]
		h.Tensors = append(h.Tensors, ckTensor{name, "weight", t.Shape})
		data = append(data, t)
	}
	for _, name := range sortedNames(c.State) {
		t := c.State[name]
		if len(t.Data) != Size(t.Shape) {
			return 0, fmt.Errorf("state tensor %s: %d values for shape %v", name, len(t.Data), t.Shape)
		}
		h.Tensors = append(h.Tensors, ckTensor{name, "state", t.Shape})
		data = append(data, t)
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	crc := crc32.NewIEEE()
	cw := &countWriter{w: io.MultiWriter(w, crc)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	bw.WriteString(checkpointMagic)
	binary.Write(bw, binary.LittleEndian, uint32(checkpointVersion))
	binary.Write(bw, binary.LittleEndian, uint64(len(hdr)))
	bw.Write(hdr)
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

func sortedNames(m map[string]*Tensor) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReadCheckpoint reads a checkpoint written by WriteTo, verifying its checksum and every tensor's shape.
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	crc := crc32.NewIEEE()
	br := bufio.NewReaderSize(r, 1<<20)
	tr := io.TeeReader(br, crc)
	var magic [8]byte
	if _, err := io.ReadFull(tr, magic[:]); err != nil {
		return nil, fmt.Errorf("not a brainvq checkpoint (file too short: %w)", err)
	}
	if string(magic[:]) != checkpointMagic {
		return nil, errors.New("not a brainvq checkpoint (bad magic bytes)")
	}
	var ver uint32
	var hlen uint64
	if err := binary.Read(tr, binary.LittleEndian, &ver); err != nil {
		return nil, fmt.Errorf("truncated checkpoint header: %w", err)
	}
	if ver != checkpointVersion {
		return nil, fmt.Errorf("checkpoint format version %d is not supported (this build reads version %d)", ver, checkpointVersion)
	}
	if err := binary.Read(tr, binary.LittleEndian, &hlen); err != nil {
		return nil, fmt.Errorf("truncated checkpoint header: %w", err)
	}
	if hlen == 0 || hlen > maxHeaderBytes {
		return nil, fmt.Errorf("corrupt checkpoint: header length %d", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(tr, hb); err != nil {
		return nil, fmt.Errorf("truncated checkpoint header: %w", err)
	}
	var h ckHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("corrupt checkpoint header: %w", err)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, fmt.Errorf("checkpoint config: %w", err)
	}
	ck := &Checkpoint{
		Model: &Model{Config: h.Config, Pre: h.Pre, Weights: Weights{}},
		Epoch: h.Epoch, Step: h.Step, TestSSIM: math.NaN(), State: map[string]*Tensor{}, Info: h.Info,
	}
	if h.TestSSIM != nil {
		ck.TestSSIM = *h.TestSSIM
	}
	buf := make([]byte, 4<<10)
	for _, ht := range h.Tensors {
		n := Size(ht.Shape)
		if n < 0 || n > 1<<30 {
			return nil, fmt.Errorf("corrupt checkpoint: tensor %s shape %v", ht.Name, ht.Shape)
		}
		t := &Tensor{Shape: ht.Shape, Data: make([]float32, n)}
		for i := 0; i < n; i += len(buf) / 4 {
			m := min(n-i, len(buf)/4)
			if _, err := io.ReadFull(tr, buf[:4*m]); err != nil {
				return nil, fmt.Errorf("truncated checkpoint: tensor %s: %w", ht.Name, err)
			}
			for j := 0; j < m; j++ {
				t.Data[i+j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
			}
		}
		switch ht.Group {
		case "weight":
			ck.Model.Weights[ht.Name] = t
		case "state":
			ck.State[ht.Name] = t
		default:
			return nil, fmt.Errorf("corrupt checkpoint: tensor %s has unknown group %q", ht.Name, ht.Group)
		}
	}
	want := crc.Sum32()
	var got uint32
	if err := binary.Read(br, binary.LittleEndian, &got); err != nil {
		return nil, fmt.Errorf("truncated checkpoint: missing checksum: %w", err)
	}
	if got != want {
		return nil, fmt.Errorf("corrupt checkpoint: checksum %08x, computed %08x", got, want)
	}
	if err := ck.Model.Weights.Check(h.Config); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return ck, nil
}

// LoadCheckpoint reads the checkpoint at path.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	defer f.Close()
	ck, err := ReadCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	return ck, nil
}

// Save writes the checkpoint to path atomically: it writes and syncs a temp file in the same folder, then
// renames it over path. A crash at any point leaves either the old file or the new one, never a mix.
func (c *Checkpoint) Save(path string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}
