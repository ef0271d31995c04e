package prior

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/model"
)

// CodeSet is what a prior learns from: the code grids of a split under one VQ-VAE and each image's slice
// level.
type CodeSet struct {
	Grid   int
	Codes  []int32 // [N,h,w]
	Levels []int32 // [N]; −1 where the file name carries no level
	Files  []string
	VQ     string // Fingerprint of the VQ-VAE that made the codes
}

// N is the number of grids.
func (s *CodeSet) N() int { return len(s.Levels) }

// Grids returns the codes of grids idx, concatenated into dst [len(idx),h,w].
func (s *CodeSet) Grids(dst []int32, idx []int) {
	hw := s.Grid * s.Grid
	for i, j := range idx {
		copy(dst[i*hw:(i+1)*hw], s.Codes[j*hw:(j+1)*hw])
	}
}

// MaxLevel is the largest slice level in the set (−1 when none has a level).
func (s *CodeSet) MaxLevel() int {
	m := -1
	for _, l := range s.Levels {
		m = max(m, int(l))
	}
	return m
}

// sliceLevel matches the axial slice number of OASIS file names, case_NNN_slice_K.nii.png.
var sliceLevel = regexp.MustCompile(`slice_(\d+)`)

// LevelOf returns the slice level K of an OASIS-style file name (…slice_K…), or −1 when it has none.
func LevelOf(path string) int {
	m := sliceLevel.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return -1
	}
	k, err := strconv.Atoi(m[1])
	if err != nil || k > MaxLevels {
		return -1
	}
	return k
}

// encodeChunk is how many images one encoder pass holds.
const encodeChunk = 32

// Encode runs the VQ-VAE's encoder and quantiser over every image of s and returns the code grids with the
// levels read from the file names. progress, when not nil, is told how many images are done.
func Encode(m *model.Model, s *data.Split, progress func(done, total int)) (*CodeSet, error) {
	cfg := m.Config
	if s == nil || s.N == 0 {
		return nil, fmt.Errorf("encode: empty split")
	}
	if s.H != cfg.ImageSize || s.W != cfg.ImageSize {
		return nil, fmt.Errorf("encode: split %s holds %d×%d images; the model takes %d×%d", s.Name, s.H, s.W, cfg.ImageSize, cfg.ImageSize)
	}
	g := cfg.LatentSize()
	set := &CodeSet{Grid: g, Codes: make([]int32, 0, s.N*g*g), Levels: make([]int32, s.N), Files: s.Files, VQ: Fingerprint(m)}
	px := cfg.ImageSize * cfg.ImageSize
	for lo := 0; lo < s.N; lo += encodeChunk {
		n := min(encodeChunk, s.N-lo)
		ze := m.Encode(s.Pixels[lo*px:(lo+n)*px], n)
		set.Codes = append(set.Codes, m.Quantize(ze, n)...)
		if progress != nil {
			progress(lo+n, s.N)
		}
	}
	for i := range s.N {
		set.Levels[i] = -1
		if i < len(s.Files) {
			set.Levels[i] = int32(LevelOf(s.Files[i]))
		}
	}
	return set, nil
}

// Fingerprint identifies a VQ-VAE by its configuration and weights (SHA-256, first 16 hex digits): a prior
// records the fingerprint of the model whose codes it learned and refuses any other.
func Fingerprint(m *model.Model) string {
	h := sha256.New()
	cfg, _ := json.Marshal(m.Config)
	h.Write(cfg)
	var buf [4]byte
	for _, name := range m.Config.ParamNames() {
		h.Write([]byte(name))
		for _, v := range m.Weights[name].Data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Unigram is the baseline a prior must beat: the frequency of each code over a training set, with add-one
// smoothing so every code has a probability.
type Unigram struct{ P []float64 }

// NewUnigram counts the codes of s (K codes).
func NewUnigram(s *CodeSet, k int) Unigram {
	counts := make([]float64, k)
	for _, c := range s.Codes {
		counts[c]++
	}
	total := float64(len(s.Codes) + k)
	for i := range counts {
		counts[i] = (counts[i] + 1) / total
	}
	return Unigram{P: counts}
}

// BitsPerCode is the mean of −log2 p(code) over the codes of s.
func (u Unigram) BitsPerCode(s *CodeSet) float64 {
	var sum float64
	for _, c := range s.Codes {
		sum -= math.Log2(u.P[c])
	}
	return sum / float64(len(s.Codes))
}

// Accuracy is how often the most frequent code is the true one.
func (u Unigram) Accuracy(s *CodeSet) float64 {
	best := 0
	for k, p := range u.P {
		if p > u.P[best] {
			best = k
		}
	}
	hits := 0
	for _, c := range s.Codes {
		if int(c) == best {
			hits++
		}
	}
	return float64(hits) / float64(len(s.Codes))
}

// scoreChunk is how many grids one scoring pass holds.
const scoreChunk = 16

// ScoreSet scores every grid of s, each conditioned on its level (no level where it has none or where the
// prior has no such level).
func (p *Prior) ScoreSet(s *CodeSet) (Score, error) {
	if s.VQ != "" && p.VQ != "" && s.VQ != p.VQ {
		return Score{}, fmt.Errorf("prior: codes come from VQ-VAE %s, the prior models VQ-VAE %s", s.VQ, p.VQ)
	}
	if s.Grid != p.Config.Grid {
		return Score{}, fmt.Errorf("prior: codes on a %d×%d grid, the prior models %d×%d", s.Grid, s.Grid, p.Config.Grid, p.Config.Grid)
	}
	var total Score
	hw := s.Grid * s.Grid
	for lo := 0; lo < s.N(); lo += scoreChunk {
		n := min(scoreChunk, s.N()-lo)
		classes := make([]int32, n)
		for i := range n {
			classes[i] = p.ClassOf(int(s.Levels[lo+i]))
		}
		sc, err := p.Score(s.Codes[lo*hw:(lo+n)*hw], classes, n)
		if err != nil {
			return Score{}, err
		}
		total.Add(sc)
	}
	return total, nil
}

// ClassOf is the conditioning class of an image at level (the null class when level < 0 or unknown to the
// prior).
func (p *Prior) ClassOf(level int) int32 {
	if level < 0 || level >= p.Config.Levels {
		return int32(p.Config.NullClass())
	}
	return int32(level)
}

// Cached code sets are containers (model.WriteContainer) with magic "BVQCODES": the header names the VQ-VAE
// and the files, the tensors hold the codes and levels (exact in float32: both are below 2^24).
const (
	codesMagic   = "BVQCODES"
	codesVersion = 1
	codesWhat    = "code cache"
)

type codesHeader struct {
	VQ      string                 `json:"vqvae_fingerprint"`
	Grid    int                    `json:"grid"`
	Files   []string               `json:"files"`
	Tensors []model.ContainerEntry `json:"tensors"`
}

// Save writes the set to path atomically.
func (s *CodeSet) Save(path string) error {
	toF := func(v []int32) []float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return f
	}
	h := codesHeader{VQ: s.VQ, Grid: s.Grid, Files: s.Files, Tensors: []model.ContainerEntry{
		{Name: "codes", Group: "codes", Shape: []int{s.N(), s.Grid, s.Grid}},
		{Name: "levels", Group: "codes", Shape: []int{s.N()}},
	}}
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	data := []*model.Tensor{{Shape: h.Tensors[0].Shape, Data: toF(s.Codes)}, {Shape: h.Tensors[1].Shape, Data: toF(s.Levels)}}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := model.WriteContainer(w, codesMagic, codesVersion, hdr, data)
		return err
	})
}

// LoadCodes reads a code set that Save wrote.
func LoadCodes(path string) (*CodeSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hb, entries, data, err := model.ReadContainer(f, codesMagic, codesVersion, codesWhat)
	if err != nil {
		return nil, fmt.Errorf("load codes %s: %w", path, err)
	}
	var h codesHeader
	if err := json.Unmarshal(hb, &h); err != nil || len(entries) != 2 || h.Grid < 1 ||
		len(data[0].Data) != len(data[1].Data)*h.Grid*h.Grid {
		return nil, fmt.Errorf("load codes %s: %w", path, &model.FormatError{What: codesWhat, Problem: "inconsistent header"})
	}
	toI := func(v []float32) []int32 {
		o := make([]int32, len(v))
		for i, x := range v {
			o[i] = int32(x)
		}
		return o
	}
	return &CodeSet{Grid: h.Grid, Codes: toI(data[0].Data), Levels: toI(data[1].Data), Files: h.Files, VQ: h.VQ}, nil
}
