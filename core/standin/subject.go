package standin

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// wave is a plane wave amp·sin(2π(kx·x + ky·y) + ph) over in-plane mm.
type wave struct{ kx, ky, ph, amp float64 }

func (w wave) at(x, y float64) float64 { return w.amp * math.Sin(2*math.Pi*(w.kx*x+w.ky*y)+w.ph) }

// pseudoSubject is everything one pseudo-subject draws at random, in the order drawn.
type pseudoSubject struct {
	sx, sy, th, shx, shy float64    // in-plane scale per axis, rotation (rad), shift (mm)
	waves                [2][4]wave // elastic displacement (mm) along x and y
	bc                   [9]float64 // bias field exp(Σ c·basis) coefficients
	gain, gamma, noise   float64    // intensity gain, gamma, noise σ (in [0,1] grey units)
	thick                float64    // scalp thickness factor
	thickWave            wave       // its slow variation around the head
	zs, zsh              float64    // slice spread stretch and shift (voxels)
}

// drawSubject draws pseudo-subject cas's parameters from its own stream (seeded by Seed and cas), and
// returns the stream, whose next numbers are the subject's noise.
func (p *prepared) drawSubject(seed uint64, cas int) (pseudoSubject, *rand.Rand) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(cas)))
	uni := func(a, b float64) float64 { return a + (b-a)*r.Float64() }
	var s pseudoSubject
	s.sx, s.sy = uni(0.9, 1.1), uni(0.9, 1.1)
	s.th = uni(-8, 8) * math.Pi / 180
	s.shx, s.shy = uni(-6, 6), uni(-6, 6)
	for c := range 2 {
		for i := range 4 {
			lambda := uni(50, 160)
			dir := uni(0, 2*math.Pi)
			s.waves[c][i] = wave{math.Cos(dir) / lambda, math.Sin(dir) / lambda, uni(0, 2*math.Pi), 1.1 * r.NormFloat64()}
		}
	}
	for i := range s.bc {
		s.bc[i] = 0.07 * r.NormFloat64()
	}
	s.gain = uni(0.92, 1.08)
	s.gamma = math.Exp(uni(math.Log(0.85), math.Log(1.18)))
	s.noise = uni(1, 3) / 255
	s.thick = uni(0.85, 1.2)
	s.thickWave = wave{uni(-1, 1) / 150, uni(-1, 1) / 150, uni(0, 2*math.Pi), 0.12}
	half := float64(p.zHi-p.zLo) / 2
	s.zs = uni(0.9, 1.0)
	s.zsh = uni(-1, 1) * (1 - s.zs) * half
	return s, r
}

// planeMaps holds, per output pixel ([Size,Size]), what every slice of a subject shares.
type planeMaps struct {
	srcX, srcY []float64 // source coordinates in voxels
	bias2      []float64 // in-plane part of the bias exponent
	biasZ      []float64 // multiplies the normalised slice height in the bias exponent
	tscale     []float64 // scalp thickness scale
}

// maps computes the subject's per-pixel maps. In-plane, output mm (q) → volume mm (pt) relative to the head
// centre: pt = diag(1/sx, 1/sy)·R(−θ)·(q − shift) + e(q), e the elastic displacement. The bias field is
// exp(Σ c·basis) over coordinates normalised to about [−1,1].
func (p *prepared) maps(s *pseudoSubject, size int) *planeMaps {
	S := size
	m := &planeMaps{srcX: make([]float64, S*S), srcY: make([]float64, S*S), bias2: make([]float64, S*S),
		biasZ: make([]float64, S*S), tscale: make([]float64, S*S)}
	bc := s.bc
	cos, sin := math.Cos(s.th), math.Sin(s.th)
	for row := range S {
		for col := range S {
			// Rows run along x (left→right of the subject), columns along y (back→front).
			qx := (float64(row) + 0.5 - float64(S)/2) * p.fov[0] / float64(S)
			qy := (float64(col) + 0.5 - float64(S)/2) * p.fov[1] / float64(S)
			ux, uy := qx-s.shx, qy-s.shy
			px := (cos*ux + sin*uy) / s.sx
			py := (-sin*ux + cos*uy) / s.sy
			for _, w := range s.waves[0] {
				px += w.at(qx, qy)
			}
			for _, w := range s.waves[1] {
				py += w.at(qx, qy)
			}
			i := row*S + col
			m.srcX[i] = (p.centre[0] + px) / p.sp[0]
			m.srcY[i] = (p.centre[1] + py) / p.sp[1]
			nx, ny := 2*qx/p.fov[0], 2*qy/p.fov[1]
			m.bias2[i] = bc[0]*nx + bc[1]*ny + bc[2]*nx*ny + bc[3]*nx*nx + bc[4]*ny*ny
			m.biasZ[i] = bc[5] + bc[6]*nx + bc[7]*ny
			m.tscale[i] = s.thick * (1 + s.thickWave.at(qx, qy))
		}
	}
	return m
}

// x^γ by table: linear between powN samples over [0, powMax] (larger x saturate anyway); the error stays
// far below the 1/255 step of the output.
const powN, powMax = 4096, 1.25

func powTable(gamma float64) []float64 {
	t := make([]float64, powN+2)
	for i := range t {
		t[i] = math.Pow(float64(i)*powMax/powN, gamma)
	}
	return t
}

// subject renders the slices of pseudo-subject cas into pix ([Size,Size] grey bytes), calling emit(k) after
// each slice k. Its Slices slices are spread over zLo..zHi, stretched and shifted a little per subject.
// A slice whose pixels all have one grey level is an error (see Make).
func (p *prepared) subject(opt Options, cas int, pix []byte, emit func(k int) error) error {
	s, r := p.drawSubject(opt.Seed, cas)
	m := p.maps(&s, opt.Size)
	zc := float64(p.zLo+p.zHi) / 2
	half := float64(p.zHi-p.zLo) / 2
	powTab := powTable(s.gamma)
	nxy := p.dim[0] * p.dim[1]
	tissue := make([]float32, nxy)
	var dist []float32
	if p.dist != nil {
		dist = make([]float32, nxy)
	}
	for k := range opt.Slices {
		u := (float64(k)+0.5)/float64(opt.Slices)*2 - 1 // in (−1, 1)
		z := math.Min(float64(p.zHi), math.Max(float64(p.zLo), zc+u*s.zs*half+s.zsh))
		axialPlane(p.tissue, p.dim, z, tissue)
		if dist != nil {
			axialPlane(p.dist, p.dim, z, dist)
		}
		p.renderSlice(&s, m, r, u, tissue, dist, powTab, pix)
		if lo, hi := minMax(pix); lo == hi {
			return fmt.Errorf("pseudo-subject %d, slice %d (volume z %.1f): every pixel is %d; the volume and options give nothing to see",
				cas, k, z, lo)
		}
		if err := emit(k); err != nil {
			return err
		}
	}
	return nil
}

// renderSlice fills pix with one slice: the volume's grey (tissue, and the scalp by dist when not nil)
// sampled through the subject's maps, times its bias field and gain, through its gamma, plus noise inside
// the head; nz ∈ (−1,1) is the normalised slice height.
func (p *prepared) renderSlice(s *pseudoSubject, m *planeMaps, r *rand.Rand, nz float64, tissue, dist []float32, powTab []float64, pix []byte) {
	bzz := s.bc[8] * nz * nz
	for i := range pix {
		t := float64(bilinear(tissue, p.dim[0], p.dim[1], m.srcX[i], m.srcY[i], 0))
		if dist != nil {
			d := float64(bilinear(dist, p.dim[0], p.dim[1], m.srcX[i], m.srcY[i], 1e3))
			t += scalpProfile(d / m.tscale[i])
		}
		if t <= 0.004 { // air stays black
			pix[i] = 0
			continue
		}
		x := min(powMax, s.gain*math.Exp(m.bias2[i]+nz*m.biasZ[i]+bzz)*t) * (powN / powMax)
		j := int(x)
		v := powTab[j] + (x-float64(j))*(powTab[j+1]-powTab[j])
		v += s.noise * r.NormFloat64() * math.Min(1, t/0.02)
		pix[i] = uint8(math.Round(255 * math.Min(1, math.Max(0, v))))
	}
}

// minMax returns the smallest and largest byte of b.
func minMax(b []byte) (lo, hi byte) {
	lo, hi = 255, 0
	for _, v := range b {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}
