package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/brainvq/brainvq/core/atomicfile"
	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/parallel"
)

// MaxSize is the largest image side Make writes: 8 times the OASIS side. Each worker holds about 40 bytes
// per output pixel of per-subject maps (160 MiB at this size).
const MaxSize = 2048

// Options controls Make. Zero values take the defaults given; negative, NaN or infinite values are errors.
type Options struct {
	Seed             uint64 // every random choice derives from it (and the subject number)
	TrainSubjects    int    // pseudo-subjects in the training split; 0: 30
	ValidateSubjects int    // 0: 4
	TestSubjects     int    // 0: 4
	Slices           int    // axial slices per pseudo-subject; 0: 32
	Size             int    // side of the square PNGs, 8 to MaxSize; 0: 256
	MinBrain         float64
	// MinBrain is the fraction of an axial slice of the volume that must be tissue for the slice to be used,
	// below 1; 0: 0.05.

	// SkullStripped says the volume holds the brain only (as the MNI template does): a synthetic skull and
	// scalp (dark bone, bright fat) are painted around it, since OASIS slices show the whole head.
	SkullStripped bool
	// WhiteLevel is the output grey, in (0,1], of the volume's bright-tissue reference r (its 95th percentile
	// inside the head); 0: 0.45, which puts white matter near 110 of 255 as in OASIS. A voxel v becomes
	// WhiteLevel·(v/r)^Contrast, clipped to [0,1].
	WhiteLevel float64
	// Contrast is the exponent above; 0 means 1. Values above 1 darken grey matter and CSF relative to white
	// matter: the MNI template, an average of 152 brains, has washed-out CSF and needs about 1.8.
	Contrast  float64
	Notice    string // written as NOTICE in the dataset root when not empty (the source's copyright notice)
	Source    string // where the volume came from, for the manifest
	Overwrite bool   // replace an existing outRoot/keras_png_slices_data
	Workers   int    // subjects made in parallel; 0: parallel.Threads() (the one thread setting)
}

// check refuses option values that no default stands for, naming the option.
func (o *Options) check() error {
	for _, v := range []struct {
		name string
		n    int
	}{{"TrainSubjects", o.TrainSubjects}, {"ValidateSubjects", o.ValidateSubjects}, {"TestSubjects", o.TestSubjects},
		{"Slices", o.Slices}, {"Size", o.Size}, {"Workers", o.Workers}} {
		if v.n < 0 {
			return fmt.Errorf("option %s = %d must not be negative (0 takes the default)", v.name, v.n)
		}
	}
	if o.Size != 0 && (o.Size < 8 || o.Size > MaxSize) {
		return fmt.Errorf("option Size = %d must be 8 to %d pixels", o.Size, MaxSize)
	}
	for _, v := range []struct {
		name string
		x    float64
		max  float64 // the largest value allowed
	}{{"Contrast", o.Contrast, 100}, {"WhiteLevel", o.WhiteLevel, 1}, {"MinBrain", o.MinBrain, 0.99}} {
		if !(v.x >= 0 && v.x <= v.max) { // also NaN
			return fmt.Errorf("option %s = %g must be a finite value from 0 (the default) to %g", v.name, v.x, v.max)
		}
	}
	return nil
}

func (o *Options) defaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.TrainSubjects, 30)
	def(&o.ValidateSubjects, 4)
	def(&o.TestSubjects, 4)
	def(&o.Slices, 32)
	def(&o.Size, data.DefaultSize)
	def(&o.Workers, parallel.Threads())
	if o.MinBrain <= 0 {
		o.MinBrain = 0.05
	}
	if o.WhiteLevel <= 0 {
		o.WhiteLevel = 0.45
	}
	if o.Contrast <= 0 {
		o.Contrast = 1
	}
}

// ManifestName is the file Make writes in the dataset root to say how the data was made.
const ManifestName = "brainvq_standin.json"

// Manifest records how a stand-in dataset was made.
type Manifest struct {
	Kind     string         `json:"kind"` // "brainvq stand-in"
	Source   string         `json:"source,omitempty"`
	Seed     uint64         `json:"seed"`
	Subjects map[string]int `json:"subjects"` // split → pseudo-subjects
	Cases    map[string]int `json:"first_case"`
	Slices   int            `json:"slices_per_subject"`
	Size     int            `json:"size"`
	SliceZ   [2]int         `json:"slice_range_z"` // the axial slices of the volume used (RAS z indices)
	Scalp    bool           `json:"synthetic_scalp"`
}

// Make writes an OASIS-layout dataset made from one T1 volume (RAS+, e.g. from LoadNIfTI) to
// outRoot/keras_png_slices_data/keras_png_slices_{train,validate,test}/case_NNN_slice_K.nii.png, split by
// pseudo-subject: cases 1..T are training subjects, the next V validation, the last test. No segmentation
// folder is written.
//
// Each pseudo-subject draws (from Seed and its case number, so the result does not depend on the worker
// count) an in-plane affine map (±10 % scale per axis, ±8° rotation, ±6 mm shift), a smooth elastic warp
// (sum of four random plane waves per axis, ~2 mm rms), both shared by all its slices; a smooth
// multiplicative bias field (exp of a random quadratic, ~±15 %), a gain (±8 %), a gamma in [0.85, 1.18]
// and Gaussian noise (σ 1–3 grey levels) inside the head. Its Slices slices are spread evenly, with a
// random stretch and shift, over the axial slices where at least MinBrain of the area is tissue; slice_0 is
// the lowest.
//
// Images look like OASIS ones: the head's front–back axis runs left to right across the image (front on
// the right, the subject's right side at the bottom; square pixels), the head's length fills about 88 % of the
// frame, brain tissue lies mostly between 20 and 130 grey levels and the background is 0.
//
// Useless data is refused rather than written: a volume with a NaN or infinite voxel, a voxel spacing
// outside 0.01–100 mm, no positive voxel (all black) or every voxel equal, and any output slice whose pixels all have one grey level
// (such a slice means the volume or the options leave nothing to see at that height).
//
// The dataset is built in a temporary folder beside the target and renamed into place when complete, so a
// reader never sees a partial one. progress, if not nil, is called (serially) after each subject with the
// slices written so far and the total.
func Make(vol *Volume, outRoot string, opt Options, progress func(done, total int)) error {
	if err := makeStandIn(vol, outRoot, opt, progress); err != nil {
		return fmt.Errorf("make stand-in: %w", err)
	}
	return nil
}

func makeStandIn(vol *Volume, outRoot string, opt Options, progress func(done, total int)) error {
	// Check the options, the volume and the target before any work.
	if err := opt.check(); err != nil {
		return err
	}
	opt.defaults()
	if err := checkVolume(vol); err != nil {
		return err
	}
	target := filepath.Join(outRoot, data.DataDirName)
	if _, err := os.Stat(target); err == nil && !opt.Overwrite {
		return fmt.Errorf("%s already exists; remove it or overwrite it (--force)", target)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	prep, err := prepareVolume(vol, opt)
	if err != nil {
		return err
	}

	// Stage: a temporary folder beside the target (a no-op to remove once renamed).
	if err := os.MkdirAll(outRoot, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(outRoot, "."+data.DataDirName+".*.tmp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	jobs, man, err := planSubjects(stage, opt, prep)
	if err != nil {
		return err
	}
	if err := renderSubjects(prep, opt, stage, jobs, progress); err != nil {
		return err
	}
	if err := writeMeta(stage, man, opt.Notice); err != nil {
		return err
	}
	return publish(stage, target, opt.Overwrite)
}

// Voxel spacings Make accepts, in mm: from microscopy-fine to a 10 cm voxel.
const minSpacing, maxSpacing float64 = 0.01, 100

// checkVolume refuses a volume that cannot give anatomy: inconsistent, empty, with a spacing outside
// minSpacing–maxSpacing, with a non-finite voxel, with no positive voxel, or constant.
func checkVolume(vol *Volume) error {
	if vol == nil || len(vol.Data) != vol.Dim[0]*vol.Dim[1]*vol.Dim[2] || len(vol.Data) == 0 {
		return errors.New("empty or inconsistent volume")
	}
	for a, sp := range vol.Spacing {
		// Zero, negative or NaN spacing reads as 1 mm (prepareVolume); a finite one must be plausible, since
		// the blur radii and scalp widths are set in mm and divided by it.
		if sp > 0 && !(sp >= minSpacing && sp <= maxSpacing) {
			return fmt.Errorf("voxel spacing %g mm along axis %d is outside %g–%g mm", sp, a, minSpacing, maxSpacing)
		}
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for i, v := range vol.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			x, y, z := i%vol.Dim[0], i/vol.Dim[0]%vol.Dim[1], i/(vol.Dim[0]*vol.Dim[1])
			return fmt.Errorf("the volume has a non-finite voxel %g at (%d,%d,%d)", v, x, y, z)
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if !(hi > 0) {
		return errors.New("the volume has no positive voxel (it is all black)")
	}
	if lo == hi {
		return fmt.Errorf("the volume is constant (every voxel is %g): there is no anatomy to slice", hi)
	}
	return nil
}

// subjectJob is one pseudo-subject to render: its split and case number.
type subjectJob struct {
	split string
	cas   int
}

// planSubjects numbers the pseudo-subjects split by split (cases 1..T train, then validate, then test),
// makes the split folders in stage and fills in the manifest.
func planSubjects(stage string, opt Options, prep *prepared) ([]subjectJob, *Manifest, error) {
	counts := []int{opt.TrainSubjects, opt.ValidateSubjects, opt.TestSubjects}
	var jobs []subjectJob
	man := &Manifest{Kind: "brainvq stand-in", Source: opt.Source, Seed: opt.Seed, Subjects: map[string]int{},
		Cases: map[string]int{}, Slices: opt.Slices, Size: opt.Size, SliceZ: [2]int{prep.zLo, prep.zHi},
		Scalp: opt.SkullStripped}
	for si, split := range data.Splits {
		if err := os.Mkdir(filepath.Join(stage, data.SplitDirName(split)), 0o755); err != nil {
			return nil, nil, err
		}
		man.Subjects[split] = counts[si]
		man.Cases[split] = len(jobs) + 1
		for range counts[si] {
			jobs = append(jobs, subjectJob{split, len(jobs) + 1})
		}
	}
	return jobs, man, nil
}

// slicePNG is one worker's reusable PNG encoder state.
type slicePNG struct {
	buf bytes.Buffer
	enc png.Encoder
	img *image.Gray
}

// renderSubjects renders every job's slices into its split folder under stage, subjects handed out by
// parallel.TasksWorkers to at most opt.Workers goroutines. Every subject's images depend only on the seed
// and its case number, so the bytes written do not depend on the worker count. After the first failure the
// subjects not yet started are skipped; the error of the lowest failing job is returned.
func renderSubjects(prep *prepared, opt Options, stage string, jobs []subjectJob, progress func(done, total int)) error {
	total := len(jobs) * opt.Slices
	var (
		mu     sync.Mutex // serialises progress
		done   int
		failed atomic.Bool
		errs   = make([]error, len(jobs))
		states = make([]*slicePNG, opt.Workers) // per worker, made on first use
	)
	parallel.TasksWorkers(len(jobs), opt.Workers, func(i, w int) {
		if failed.Load() {
			return
		}
		if states[w] == nil {
			states[w] = &slicePNG{enc: png.Encoder{CompressionLevel: png.DefaultCompression},
				img: image.NewGray(image.Rect(0, 0, opt.Size, opt.Size))}
		}
		st, j := states[w], jobs[i]
		dir := filepath.Join(stage, data.SplitDirName(j.split))
		err := prep.subject(opt, j.cas, st.img.Pix, func(k int) error {
			st.buf.Reset()
			if err := st.enc.Encode(&st.buf, st.img); err != nil {
				return err
			}
			name := filepath.Join(dir, fmt.Sprintf("case_%03d_slice_%d.nii.png", j.cas, k))
			if err := os.WriteFile(name, st.buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			return nil
		})
		if err != nil {
			errs[i] = err
			failed.Store(true)
			return
		}
		mu.Lock()
		done += opt.Slices
		if progress != nil {
			progress(done, total)
		}
		mu.Unlock()
	})
	return firstError(errs)
}

// firstError is the first non-nil error of errs, or nil.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeMeta writes the manifest and, when there is one, the source's notice into the staged dataset.
func writeMeta(stage string, man *Manifest, notice string) error {
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(stage, ManifestName), append(mb, '\n')); err != nil {
		return err
	}
	if notice != "" {
		text := "This dataset is derived from the volume described below; its notice applies to these images.\n\n" + notice
		if err := atomicfile.WriteBytes(filepath.Join(stage, "NOTICE"), []byte(text)); err != nil {
			return err
		}
	}
	return nil
}

// publish renames the finished stage to target, moving an existing dataset aside first (and removing it
// after) when overwrite is set.
func publish(stage, target string, overwrite bool) error {
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	if overwrite {
		old := target + ".old"
		if err := os.RemoveAll(old); err != nil {
			return err
		}
		if err := os.Rename(target, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move the old dataset aside: %w", err)
		}
		defer os.RemoveAll(old)
	}
	return os.Rename(stage, target)
}
