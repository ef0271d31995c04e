package standin

import (
	"fmt"
	"math"
)

// Scalp layers painted around a skull-stripped brain, by distance (mm) outside the head hull: skull (dark
// cortical bone around brighter marrow), muscle, fat (the bright ring), skin.
var scalpKnots = [][2]float64{
	{0, 0.03}, {0.8, 0.02}, {1.6, 0.02}, {2.4, 0.16}, {3.2, 0.02}, {4.4, 0.02},
	{5.2, 0.22}, {6.2, 0.25}, {7, 0.84}, {9, 0.8}, {9.8, 0.33}, {10.5, 0},
}

const (
	scalpOuter = 10.5 // mm: the scalp ends here
	hullFill   = 0.03 // grey of the space inside the head hull that is not brain (CSF, bone): dark
)

// scalpProfile is the grey of the scalp layers at d mm outside the head hull (linear between scalpKnots).
func scalpProfile(d float64) float64 {
	if d <= 0 || d >= scalpOuter {
		return 0
	}
	for i := 1; i < len(scalpKnots); i++ {
		if d <= scalpKnots[i][0] {
			a, b := scalpKnots[i-1], scalpKnots[i]
			t := (d - a[0]) / (b[0] - a[0])
			return a[1] + t*(b[1]-a[1])
		}
	}
	return 0
}

// prepared is the volume turned into what every pseudo-subject samples.
type prepared struct {
	dim    [3]int
	sp     [3]float64
	tissue []float32 // grey in [0,1] of the volume's own tissue, OASIS-like levels
	dist   []float32 // mm outside the brain hull (skull-stripped volumes only), else nil
	zLo    int       // the usable axial slices: zLo..zHi
	zHi    int
	centre [2]float64 // head centre in mm from voxel (0,0) along x and y
	fov    [2]float64 // field of view in mm: image rows span fov[0] along x, columns fov[1] along y
}

// prepareVolume turns a checked volume (checkVolume) into grey levels and the frame every pseudo-subject
// samples, in five steps: the reference level, the grey levels and head mask, the usable slices, the
// synthetic scalp (skull-stripped volumes) and the field of view.
func prepareVolume(vol *Volume, opt Options) (*prepared, error) {
	p := &prepared{dim: vol.Dim, sp: vol.Spacing}
	for a := range 3 {
		if !(p.sp[a] > 0) {
			p.sp[a] = 1
		}
	}
	ref, err := referenceLevel(vol.Data)
	if err != nil {
		return nil, err
	}
	inside := p.greyLevels(vol.Data, ref, opt)
	if err := p.usableSlices(inside, opt.MinBrain); err != nil {
		return nil, err
	}
	head, margin := inside, 0.0
	if opt.SkullStripped {
		head, margin = p.paintScalp(inside), scalpOuter
	}
	p.frame(head, margin)
	return p, nil
}

// referenceLevel is the volume's bright-tissue reference r: the 95th percentile (by a 4096-bin histogram)
// of the voxels above 2 % of the maximum (the head, not the air).
func referenceLevel(vox []float32) (float64, error) {
	maxV := float32(0)
	for _, v := range vox {
		maxV = max(maxV, v)
	}
	if !(maxV > 0) {
		return 0, fmt.Errorf("the volume has no positive voxel")
	}
	const bins = 4096
	var hist [bins]int
	cnt := 0
	for _, v := range vox {
		if v > 0.02*maxV {
			hist[min(bins-1, int(float64(v)/float64(maxV)*bins))]++
			cnt++
		}
	}
	ref, acc := float64(maxV), 0
	for b := range bins {
		acc += hist[b]
		if acc >= int(0.95*float64(cnt)) {
			ref = (float64(b) + 0.5) / bins * float64(maxV)
			break
		}
	}
	return ref, nil
}

// greyLevels sets p.tissue to WhiteLevel·(v/ref)^Contrast clipped to [0,1] and returns the head mask:
// the voxels above 10 % of ref.
func (p *prepared) greyLevels(vox []float32, ref float64, opt Options) (inside []bool) {
	p.tissue = make([]float32, len(vox))
	inside = make([]bool, len(vox))
	thr := float32(0.1 * ref)
	for i, v := range vox {
		if v > thr {
			inside[i] = true
		}
		u := math.Max(0, float64(v)/ref)
		p.tissue[i] = float32(math.Min(1, opt.WhiteLevel*math.Pow(u, opt.Contrast)))
	}
	return inside
}

// usableSlices sets p.zLo..p.zHi to the span of axial slices at least minBrain of whose area is in the head
// mask, refusing volumes with fewer than three.
func (p *prepared) usableSlices(inside []bool, minBrain float64) error {
	nxy := p.dim[0] * p.dim[1]
	p.zLo, p.zHi = -1, -1
	for z := range p.dim[2] {
		c := 0
		for _, in := range inside[z*nxy : (z+1)*nxy] {
			if in {
				c++
			}
		}
		if float64(c) >= minBrain*float64(nxy) {
			if p.zLo < 0 {
				p.zLo = z
			}
			p.zHi = z
		}
	}
	if p.zLo < 0 || p.zHi-p.zLo < 2 {
		return fmt.Errorf("the volume has fewer than 3 axial slices with ≥%.0f%% tissue", 100*minBrain)
	}
	return nil
}

// paintScalp builds the head hull around a skull-stripped brain and returns it: each axial slice's convex
// hull of the tissue, smoothed (σ 5 mm in-plane, 3 mm across slices) so its corners round off and the
// outline changes gradually with height. Inside it, what is not brain becomes dark (hullFill: CSF, bone);
// p.dist gets the distance outside it, which the scalp layers follow.
func (p *prepared) paintScalp(inside []bool) (hull []bool) {
	h := convexHullSlices(inside, p.dim)
	m := make([]float32, len(inside))
	for i, in := range h {
		if in {
			m[i] = 1
		}
	}
	gaussianBlur3D(m, p.dim, [3]float64{5 / p.sp[0], 5 / p.sp[1], 3 / p.sp[2]})
	hull = make([]bool, len(inside))
	for i, v := range m {
		hull[i] = v >= 0.5
		if hull[i] && p.tissue[i] < hullFill {
			p.tissue[i] = hullFill
		}
	}
	p.dist = distanceOutside(hull, p.dim, p.sp)
	return hull
}

// frame sets the head centre and the square field of view: the head's extent in x and y over the usable
// slices, plus margin mm each side, its longer side (front–back) spanning 88 % of the frame.
func (p *prepared) frame(head []bool, margin float64) {
	nxy := p.dim[0] * p.dim[1]
	lo, hi := [2]int{p.dim[0], p.dim[1]}, [2]int{-1, -1}
	for z := p.zLo; z <= p.zHi; z++ {
		for y := range p.dim[1] {
			row := head[z*nxy+y*p.dim[0] : z*nxy+(y+1)*p.dim[0]]
			for x, in := range row {
				if in {
					lo[0], hi[0] = min(lo[0], x), max(hi[0], x)
					lo[1], hi[1] = min(lo[1], y), max(hi[1], y)
				}
			}
		}
	}
	const fill = 0.88
	fov := 0.0
	for a := range 2 {
		p.centre[a] = (float64(lo[a]+hi[a]) / 2) * p.sp[a]
		fov = max(fov, (float64(hi[a]-lo[a]+1)*p.sp[a]+2*margin)/fill)
	}
	p.fov = [2]float64{fov, fov}
}
