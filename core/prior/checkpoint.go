package prior

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/model"
)

// Checkpoint is what a prior's training run saves: the prior, how far training got, and the trainer's state
// tensors (Adam's moments) and JSON Info, which this package stores without reading.
type Checkpoint struct {
	Prior *Prior
	Epoch int
	Step  int
	// Test holds the prior's score on the test split once measured (nil before).
	Test  *TestScore
	State map[string]*model.Tensor
	Info  json.RawMessage
}

// TestScore is a prior's fit to the test split beside the unigram baseline.
type TestScore struct {
	BitsPerCode     float64 `json:"bits_per_code"`
	Accuracy        float64 `json:"accuracy"`
	UnigramBits     float64 `json:"unigram_bits_per_code"`
	UnigramAccuracy float64 `json:"unigram_accuracy"`
}

// A prior checkpoint is a container (model.WriteContainer) with its own magic, so that neither kind of
// checkpoint is ever mistaken for the other.
const (
	checkpointMagic   = "BVQPRIOR"
	checkpointVersion = 1
	checkpointWhat    = "prior checkpoint"
)

type ckHeader struct {
	Project string                 `json:"project"`
	Version string                 `json:"version"`
	Config  Config                 `json:"config"`
	VQ      string                 `json:"vqvae_fingerprint"`
	Epoch   int                    `json:"epoch"`
	Step    int                    `json:"step"`
	Test    *TestScore             `json:"test,omitempty"`
	Info    json.RawMessage        `json:"info,omitempty"`
	Tensors []model.ContainerEntry `json:"tensors"`
}

// WriteTo writes the checkpoint.
func (c *Checkpoint) WriteTo(w io.Writer) (int64, error) {
	if c.Prior == nil {
		return 0, fmt.Errorf("prior checkpoint has no prior")
	}
	p := c.Prior
	if err := CheckWeights(p.Config, p.Weights); err != nil {
		return 0, err
	}
	h := ckHeader{Project: "brainvq", Version: model.Version, Config: p.Config, VQ: p.VQ, Epoch: c.Epoch, Step: c.Step,
		Test: c.Test, Info: c.Info}
	var data []*model.Tensor
	for _, name := range p.Config.ParamNames() {
		t := p.Weights[name]
		h.Tensors = append(h.Tensors, model.ContainerEntry{Name: name, Group: "weight", Shape: t.Shape})
		data = append(data, t)
	}
	for _, name := range sortedKeys(c.State) {
		t := c.State[name]
		h.Tensors = append(h.Tensors, model.ContainerEntry{Name: name, Group: "state", Shape: t.Shape})
		data = append(data, t)
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	return model.WriteContainer(w, checkpointMagic, checkpointVersion, hdr, data)
}

// ReadCheckpoint reads a prior checkpoint, checking every weight; problems are *model.FormatError.
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	hb, entries, data, err := model.ReadContainer(r, checkpointMagic, checkpointVersion, checkpointWhat)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &model.FormatError{What: checkpointWhat, Problem: fmt.Sprintf(format, args...)}
	}
	var h ckHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, bad("header: %v", err)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, bad("config: %v", err)
	}
	w := model.Weights{}
	ck := &Checkpoint{Epoch: h.Epoch, Step: h.Step, Test: h.Test, State: map[string]*model.Tensor{}, Info: h.Info}
	for i, e := range entries {
		switch e.Group {
		case "weight":
			w[e.Name] = data[i]
		case "state":
			ck.State[e.Name] = data[i]
		default:
			return nil, bad("tensor %s has unknown group %q", e.Name, e.Group)
		}
	}
	if ck.Prior, err = New(h.Config, w, h.VQ); err != nil {
		return nil, bad("%v", err)
	}
	return ck, nil
}

// LoadCheckpoint reads the prior checkpoint at path.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load prior: %w", err)
	}
	defer f.Close()
	ck, err := ReadCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("load prior %s: %w", path, err)
	}
	return ck, nil
}

// Save writes the checkpoint to path atomically (core/atomicfile).
func (c *Checkpoint) Save(path string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}

// CheckModel reports whether the prior models the codes of VQ-VAE m.
func (p *Prior) CheckModel(m *model.Model) error {
	cfg := m.Config
	switch {
	case cfg.NumCodes != p.Config.NumCodes || cfg.CodeDim != p.Config.CodeDim || cfg.LatentSize() != p.Config.Grid:
		return fmt.Errorf("the prior models %d codes of dimension %d on a %d×%d grid; this VQ-VAE has %d of %d on %d×%d",
			p.Config.NumCodes, p.Config.CodeDim, p.Config.Grid, p.Config.Grid, cfg.NumCodes, cfg.CodeDim, cfg.LatentSize(), cfg.LatentSize())
	case p.VQ != "" && p.VQ != Fingerprint(m):
		return fmt.Errorf("the prior was trained on the codes of another VQ-VAE (fingerprint %s, this one is %s)", p.VQ, Fingerprint(m))
	}
	return nil
}

func sortedKeys(m map[string]*model.Tensor) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
