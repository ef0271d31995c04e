package standin

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDistanceOutsideAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	dim := [3]int{9, 7, 6}
	sp := [3]float64{1, 1.5, 0.7}
	n := dim[0] * dim[1] * dim[2]
	for trial := range 3 {
		in := make([]bool, n)
		for i := range in {
			in[i] = r.Float64() < []float64{0.02, 0.1, 0.5}[trial]
		}
		got := distanceOutside(in, dim, sp)
		for z := range dim[2] {
			for y := range dim[1] {
				for x := range dim[0] {
					best := math.Inf(1)
					for zz := range dim[2] {
						for yy := range dim[1] {
							for xx := range dim[0] {
								if in[xx+dim[0]*(yy+dim[1]*zz)] {
									dx, dy, dz := float64(x-xx)*sp[0], float64(y-yy)*sp[1], float64(z-zz)*sp[2]
									best = math.Min(best, math.Sqrt(dx*dx+dy*dy+dz*dz))
								}
							}
						}
					}
					if g := got[x+dim[0]*(y+dim[1]*z)]; math.Abs(float64(g)-best) > 1e-5 {
						t.Fatalf("trial %d voxel (%d,%d,%d): distance %v, brute force %v", trial, x, y, z, g, best)
					}
				}
			}
		}
	}
	if d := distanceOutside(make([]bool, n), dim, sp); !math.IsInf(float64(d[0]), 1) {
		t.Fatalf("no inside voxel: distance %v, want +Inf", d[0])
	}
}

func TestGaussianBlurAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	dim := [3]int{8, 6, 5}
	sigma := [3]float64{1.2, 0.8, 0}
	n := dim[0] * dim[1] * dim[2]
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()
	}
	orig := append([]float32(nil), v...)
	gaussianBlur3D(v, dim, sigma)
	// Naive: direct 3-D sum with the product of the normalised 1-D kernels, zero outside.
	kern := func(s float64) (func(d int) float64, int) {
		if s <= 0 {
			return func(d int) float64 {
				if d == 0 {
					return 1
				}
				return 0
			}, 0
		}
		rad := int(math.Ceil(3 * s))
		sum := 0.0
		for d := -rad; d <= rad; d++ {
			sum += math.Exp(-float64(d*d) / (2 * s * s))
		}
		return func(d int) float64 {
			if d < -rad || d > rad {
				return 0
			}
			return math.Exp(-float64(d*d)/(2*s*s)) / sum
		}, rad
	}
	kx, _ := kern(sigma[0])
	ky, _ := kern(sigma[1])
	kz, _ := kern(sigma[2])
	for z := range dim[2] {
		for y := range dim[1] {
			for x := range dim[0] {
				want := 0.0
				for zz := range dim[2] {
					for yy := range dim[1] {
						for xx := range dim[0] {
							want += kx(xx-x) * ky(yy-y) * kz(zz-z) * float64(orig[xx+dim[0]*(yy+dim[1]*zz)])
						}
					}
				}
				if g := v[x+dim[0]*(y+dim[1]*z)]; math.Abs(float64(g)-want) > 1e-5 {
					t.Fatalf("voxel (%d,%d,%d): blurred %v, naive %v", x, y, z, g, want)
				}
			}
		}
	}
}

func TestTrilinear(t *testing.T) {
	// A trilinear function a + b·x + c·y + d·z + e·x·y·z is reproduced exactly inside the grid; outside the
	// grid the volume counts as 0.
	dim := [3]int{4, 5, 3}
	f := func(x, y, z float64) float64 { return 0.5 + 0.1*x - 0.2*y + 0.3*z + 0.05*x*y*z }
	v := make([]float32, dim[0]*dim[1]*dim[2])
	for z := range dim[2] {
		for y := range dim[1] {
			for x := range dim[0] {
				v[x+dim[0]*(y+dim[1]*z)] = float32(f(float64(x), float64(y), float64(z)))
			}
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		x, y, z := r.Float64()*3, r.Float64()*4, r.Float64()*2
		if got := trilinear(v, dim, x, y, z, 0); math.Abs(float64(got)-f(x, y, z)) > 1e-5 {
			t.Fatalf("at (%v,%v,%v): %v, want %v", x, y, z, got, f(x, y, z))
		}
	}
	// Half a voxel beyond the last x: halfway between the edge value and 0.
	if got, want := trilinear(v, dim, 3.5, 1, 1, 0), 0.5*f(3, 1, 1); math.Abs(float64(got)-want) > 1e-6 {
		t.Fatalf("beyond the edge: %v, want %v", got, want)
	}
	if got := trilinear(v, dim, -2, 1, 1, 0); got != 0 {
		t.Fatalf("far outside: %v, want 0", got)
	}
}

func TestFillConvexHull(t *testing.T) {
	// Reference: a pixel is in the hull of a point set iff it is a convex combination of the points; for
	// these small sets, test it as "not strictly outside any supporting line through two points".
	r := rand.New(rand.NewPCG(13, 14))
	const w, h = 23, 19
	for trial := range 20 {
		in := make([]bool, w*h)
		var pts [][2]int
		for range 2 + trial%7 {
			x, y := r.IntN(w), r.IntN(h)
			in[y*w+x] = true
			pts = append(pts, [2]int{x, y})
		}
		out := make([]bool, w*h)
		fillConvexHull(in, out, w, h)
		for y := range h {
			for x := range w {
				if want := inHullBrute(pts, x, y); out[y*w+x] != want {
					t.Fatalf("trial %d points %v: pixel (%d,%d) in hull = %v, brute force %v", trial, pts, x, y, out[y*w+x], want)
				}
			}
		}
	}
}

// inHullBrute decides hull membership of (x,y) by the separating-line test over all point pairs, plus the
// degenerate cases (all points on a line).
func inHullBrute(pts [][2]int, x, y int) bool {
	for _, p := range pts {
		if p[0] == x && p[1] == y {
			return true
		}
	}
	// Separated iff some line through two points has all points on one closed side and (x,y) strictly on
	// the other, or (for collinear sets) (x,y) is off the line or beyond the extreme points.
	collinear := true
	for i := range pts {
		for j := range pts {
			for k := range pts {
				if cross(pts[i], pts[j], pts[k]) != 0 {
					collinear = false
				}
			}
		}
	}
	if collinear {
		for i := range pts {
			for j := range pts {
				if i == j || pts[i] == pts[j] {
					continue
				}
				if cross(pts[i], pts[j], [2]int{x, y}) != 0 {
					return false
				}
				// On the line: inside iff between some pair.
				if dot(pts[i], [2]int{x, y}, pts[j]) >= 0 && dot(pts[j], [2]int{x, y}, pts[i]) >= 0 {
					return true
				}
			}
		}
		return false
	}
	for i := range pts {
		for j := range pts {
			if pts[i] == pts[j] {
				continue
			}
			allLeft := true
			for k := range pts {
				if cross(pts[i], pts[j], pts[k]) < 0 {
					allLeft = false
					break
				}
			}
			if allLeft && cross(pts[i], pts[j], [2]int{x, y}) < 0 {
				return false
			}
		}
	}
	return true
}

func cross(o, a, b [2]int) int { return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0]) }

// dot is (p−o)·(q−o) for o = a: positive when p and q lie on the same side of a.
func dot(a, p, q [2]int) int { return (p[0]-a[0])*(q[0]-a[0]) + (p[1]-a[1])*(q[1]-a[1]) }
