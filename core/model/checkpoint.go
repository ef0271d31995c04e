package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/brainvq/brainvq/core/atomicfile"
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

// A checkpoint is a container (container.go) with magic "BRAINVQ\x00", version 1, whose header holds the
// configuration, preprocessing, progress and the trainer's Info; its tensors are the weights (group
// "weight") and the trainer's state (group "state").
const (
	checkpointMagic   = "BRAINVQ\x00"
	checkpointVersion = 1
)

type ckHeader struct {
	Project  string           `json:"project"`
	Version  string           `json:"version"`
	Config   Config           `json:"config"`
	Pre      Preprocess       `json:"preprocess"`
	Epoch    int              `json:"epoch"`
	Step     int              `json:"step"`
	TestSSIM *float64         `json:"test_ssim,omitempty"`
	Info     json.RawMessage  `json:"info,omitempty"`
	Tensors  []ContainerEntry `json:"tensors"`
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
		h.Tensors = append(h.Tensors, ContainerEntry{name, "weight", t.Shape})
		data = append(data, t)
	}
	for _, name := range sortedNames(c.State) {
		t := c.State[name]
		if len(t.Data) != Size(t.Shape) {
			return 0, fmt.Errorf("state tensor %s: %d values for shape %v", name, len(t.Data), t.Shape)
		}
		h.Tensors = append(h.Tensors, ContainerEntry{name, "state", t.Shape})
		data = append(data, t)
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	return WriteContainer(w, checkpointMagic, checkpointVersion, hdr, data)
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
// A damaged or foreign file gives a *FormatError naming the field at fault.
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	hb, entries, data, err := ReadContainer(r, checkpointMagic, checkpointVersion, "checkpoint")
	if err != nil {
		return nil, err
	}
	h, err := parseCheckpointHeader(hb)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{
		Model: &Model{Config: h.Config, Pre: h.Pre, Weights: Weights{}},
		Epoch: h.Epoch, Step: h.Step, TestSSIM: math.NaN(), State: map[string]*Tensor{}, Info: h.Info,
	}
	if h.TestSSIM != nil {
		ck.TestSSIM = *h.TestSSIM
	}
	if err := ck.addTensors(entries, data); err != nil {
		return nil, err
	}
	if err := ck.Model.Weights.Check(h.Config); err != nil {
		return nil, &FormatError{What: "checkpoint", Field: "weights", Problem: err.Error(), Err: err}
	}
	return ck, nil
}

// parseCheckpointHeader decodes the checkpoint's header JSON and validates its model configuration.
func parseCheckpointHeader(hb []byte) (*ckHeader, error) {
	var h ckHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, &FormatError{What: "checkpoint", Field: "header", Problem: fmt.Sprintf("header: %v", err), Err: err}
	}
	if err := h.Config.Validate(); err != nil {
		return nil, &FormatError{What: "checkpoint", Field: "config", Problem: fmt.Sprintf("config: %v", err), Err: err}
	}
	return &h, nil
}

// addTensors files the container's tensors under the model's weights (group "weight") or the trainer's
// state (group "state").
func (ck *Checkpoint) addTensors(entries []ContainerEntry, data []*Tensor) error {
	for i, e := range entries {
		switch e.Group {
		case "weight":
			ck.Model.Weights[e.Name] = data[i]
		case "state":
			ck.State[e.Name] = data[i]
		default:
			return &FormatError{What: "checkpoint", Field: "tensors", Problem: fmt.Sprintf("tensor %s has unknown group %q", e.Name, e.Group)}
		}
	}
	return nil
}

// LoadCheckpoint reads the checkpoint at path. A *FormatError in the result carries path as its File.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	defer f.Close()
	ck, err := ReadCheckpoint(f)
	var fe *FormatError
	if errors.As(err, &fe) {
		fe.File = path // the message now names the file
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
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
