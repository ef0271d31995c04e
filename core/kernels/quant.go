package kernels

import (
	"fmt"
	"math"
)

// codeDistance is the quantiser's distance between the position z (its D components z[i·stride]) and code e
// [D], evaluated in float64 with the sums taken in component order:
//
//	d = (‖z‖² − 2·z·e) + ‖e‖²,
//
// where zz = ‖z‖² and ee = ‖e‖² were summed the same way. Products of two float32 values are exact in
// float64, so the result does not depend on whether the compiler fuses multiply-adds.
func codeDistance(z []float32, stride int, e []float32, zz, ee float64) float64 {
	var ze float64
	for i, ev := range e {
		ze += float64(z[i*stride]) * float64(ev)
	}
	return (zz - 2*ze) + ee
}

// sumSquares64 is Σ v_i² in float64, summed in index order.
func sumSquares64(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

// quantBudget is the target size, in float32 elements, of one worker's [Kc, band] score tile.
var quantBudget = 1 << 17

// NearestCodes writes, for every position of z [N,D,HW] (NCHW with HW = h·w), the index of the nearest code
// of codebook [Kc,D]: idx[n·HW+p] = argmin_k (‖z‖² − 2·z·E_k) + ‖E_k‖², ties going to the lowest k.
//
// The result equals that of the plain float64 evaluation of this formula (codeDistance) over every code,
// exact ties included. The fast path finds, per image, the scores E·z_n [Kc,HW] with a float32 Sgemm and
// keeps the best and second-best ‖E_k‖² − 2·E_k·z per position; where the two are closer than a rigorous
// bound on the float32 rounding error (or anything is not finite), the candidates within the bound are
// re-ranked with the float64 formula. Codebooks with many identical codes make that slow path common.
func NearestCodes(z []float32, n, d, hw int, codebook []float32, kc int, idx []int32) {
	if n < 1 || d < 1 || hw < 1 || kc < 1 || kc > math.MaxInt32 || len(z) < n*d*hw || len(codebook) < kc*d ||
		len(idx) < n*hw {
		panic(fmt.Errorf("kernels.NearestCodes: n=%d d=%d hw=%d kc=%d with len(z)=%d len(codebook)=%d len(idx)=%d: %w",
			n, d, hw, kc, len(z), len(codebook), len(idx), errBadShape))
	}
	ee := make([]float64, kc)
	ee32 := make([]float32, kc)
	en := make([]float64, kc)
	enMax := 0.0
	for k := range kc {
		ee[k] = sumSquares64(codebook[k*d : (k+1)*d])
		ee32[k] = float32(ee[k])
		en[k] = math.Sqrt(ee[k])
		enMax = max(enMax, en[k]) // NaN-safe enough: a NaN code makes every distance NaN → exact path
	}
	// Error bounds, u = 2⁻²⁴. The float32 score s_k = fl(E_k·z) is off by at most γ_D·‖z‖‖E_k‖
	// (γ_D = D·u/(1−D·u), any summation order); v_k = fl(ee32_k − 2s_k) adds the rounding of ee32 and of the
	// subtraction, so |v_k − (‖E_k‖² − 2E_k·z)| ≤ 2(D+2)u·(‖E_k‖² + 2‖z‖‖E_k‖) with room to spare. The
	// float64 reference is off from exact by at most (D+4)·2⁻⁵³·(‖z‖+‖E_k‖)², counted twice to be safe.
	fm := 2 * float64(d+2) * 0x1p-24 * 1.01
	rm := float64(d+4) * 0x1p-52
	margin := func(nz, e float64) float64 { return fm*(e*e+2*nz*e) + rm*(nz+e)*(nz+e) }

	band := max(16, quantBudget/kc)
	band = min(band, hw)
	bands := (hw + band - 1) / band
	// With whole 32-column tiles the scores come from the implicit-GEMM kernel: the codebook packed once,
	// the positions read in place from z (component i of a band at offset i·hw).
	implicit := implicitGEMM() && hw%sgemmNR == 0 && band%sgemmNR == 0
	var cb packedMat
	var off []int32
	if implicit {
		wbuf := getConvScratch(packedLen(weightRows(), kc, d))
		defer putConvScratch(wbuf)
		cb = packMat(*wbuf, weightRows(), kc, d, codebook, d, nil)
		off = make([]int32, d)
		for i := range off {
			off[i] = int32(i * hw)
		}
	}
	convTasks(n*bands, func(next func() (int, bool)) {
		sp := getConvScratch(kc * band)
		defer putConvScratch(sp)
		s := *sp
		var tiles []int32
		if implicit {
			tiles = make([]int32, band/sgemmNR)
			for t := range tiles {
				tiles[t] = int32(t * sgemmNR)
			}
		}
		best := make([]float32, band)
		second := make([]float32, band)
		arg := make([]int32, band)
		zz := make([]float64, band)
		for t, ok := next(); ok; t, ok = next() {
			img, b := t/bands, t%bands
			p0 := b * band
			cols := min(band, hw-p0)
			zi := z[img*d*hw:]
			if implicit {
				zb, nt := zi[p0:d*hw], cols/sgemmNR
				checkReach(zb, off, tiles[:nt])
				for k0 := 0; k0 < cb.k; k0 += cb.kc {
					kb := min(cb.kc, cb.k-k0)
					beta := float32(1)
					if k0 == 0 {
						beta = 0
					}
					mulImplicit(kb, cb.block(k0, kb), cb.width, kc, zb, off[k0:k0+kb], tiles[:nt], cols, s, cols, beta)
				}
			} else {
				sgemmSerial(false, false, kc, cols, d, 1, codebook, d, zi[p0:], hw, 0, s, cols)
			}
			scanBestTwo(s, cols, ee32, best[:cols], second[:cols], arg[:cols])
			clear(zz[:cols])
			for i := 0; i < d; i++ {
				for j, v := range zi[i*hw+p0 : i*hw+p0+cols] {
					zz[j] += float64(v) * float64(v)
				}
			}
			out := idx[img*hw+p0 : img*hw+p0+cols]
			for j := range cols {
				nz := math.Sqrt(zz[j])
				thresh := float64(best[j]) + margin(nz, en[arg[j]]) + margin(nz, enMax)
				zp := zi[p0+j:]
				switch {
				case !(thresh < 1e30) || !((nz+enMax)*(nz+enMax) < 1e30):
					// Not finite, or large enough for float32 to overflow: rank every code exactly.
					out[j] = exactArgmin(zp, hw, codebook, d, kc, zz[j], ee, nil, 0, 0)
				case float64(second[j]) <= thresh:
					out[j] = exactArgmin(zp, hw, codebook, d, kc, zz[j], ee, s[j:], cols, thresh)
				default:
					out[j] = arg[j]
				}
			}
		}
	})
}

// scanBestTwo walks the score tile s [Kc, cols] row by row and keeps, per column j, the smallest and second
// smallest v = ee32[k] − 2·s[k,j] and the (lowest) k of the smallest. Four rows go together so that the
// common case, none of the four beating the current second best, costs one comparison each.
func scanBestTwo(s []float32, cols int, ee32, best, second []float32, arg []int32) {
	n := len(best)
	if useAVX512 && n == cols && n%16 == 0 && n > 0 && len(ee32) > 0 {
		_ = s[len(ee32)*cols-1]
		_, _ = second[n-1], arg[n-1]
		scanBestTwoAVX(&s[0], cols, len(ee32), &ee32[0], &best[0], &second[0], &arg[0])
		return
	}
	inf := float32(math.Inf(1))
	second = second[:n]
	arg = arg[:n]
	for j := range best {
		best[j], second[j], arg[j] = inf, inf, 0
	}
	kc := len(ee32)
	k := 0
	for ; k+4 <= kc; k += 4 {
		e0, e1, e2, e3 := ee32[k], ee32[k+1], ee32[k+2], ee32[k+3]
		r0 := s[k*cols : k*cols+n]
		r1 := s[(k+1)*cols : (k+1)*cols+n]
		r2 := s[(k+2)*cols : (k+2)*cols+n]
		r3 := s[(k+3)*cols : (k+3)*cols+n]
		for j, sec := range second {
			v0 := e0 - 2*r0[j]
			v1 := e1 - 2*r1[j]
			v2 := e2 - 2*r2[j]
			v3 := e3 - 2*r3[j]
			if v0 < sec || v1 < sec || v2 < sec || v3 < sec {
				b, sc, a := best[j], sec, arg[j]
				for i, v := range [4]float32{v0, v1, v2, v3} {
					if v < sc {
						if v < b {
							sc, b, a = b, v, int32(k+i)
						} else {
							sc = v
						}
					}
				}
				best[j], second[j], arg[j] = b, sc, a
			}
		}
	}
	for ; k < kc; k++ {
		e := ee32[k]
		row := s[k*cols : k*cols+n]
		for j, sv := range row {
			v := e - 2*sv
			if v < second[j] {
				if v < best[j] {
					second[j], best[j], arg[j] = best[j], v, int32(k)
				} else {
					second[j] = v
				}
			}
		}
	}
}

// exactArgmin ranks codes by codeDistance for the position z (stride hw) and returns the lowest-index
// minimiser. With a score column sc (stride ld, sc[k·ld] = fl32(E_k·z)) only the codes whose float32
// ee32−2·score is ≤ thresh are ranked; the others are provably farther (see NearestCodes).
func exactArgmin(z []float32, hw int, codebook []float32, d, kc int, zz float64, ee []float64,
	sc []float32, ld int, thresh float64) int32 {
	bestK := int32(0)
	bestD := math.Inf(1)
	for k := range kc {
		if sc != nil {
			v := float32(ee[k]) - 2*sc[k*ld]
			if !(float64(v) <= thresh) {
				continue
			}
		}
		dist := codeDistance(z, hw, codebook[k*d:(k+1)*d], zz, ee[k])
		if dist < bestD {
			bestK, bestD = int32(k), dist
		}
	}
	return bestK
}

// GatherCodes writes zq [N,D,HW] with the codes idx [N·HW] picks: zq[n,i,p] = codebook[idx[n·HW+p], i].
// It panics on an index outside [0, kc).
func GatherCodes(idx []int32, codebook []float32, n, d, hw, kc int, zq []float32) {
	checkCodes("GatherCodes", idx, codebook, n, d, hw, kc, zq)
	convFor(n*d, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			img, i := r/d, r%d
			ids := idx[img*hw : (img+1)*hw]
			for p, k := range ids {
				zq[r*hw+p] = codebook[int(k)*d+i]
			}
		}
	})
}

// ScatterCodeGrad adds into dcodebook [Kc,D] the per-code sums of dzq [N,D,HW]:
// dcodebook[k,i] += Σ_{n,p : idx[n·HW+p] = k} dzq[n,i,p] (the adjoint of GatherCodes). It panics on an index
// outside [0, kc).
func ScatterCodeGrad(idx []int32, dzq []float32, n, d, hw, kc int, dcodebook []float32) {
	checkCodes("ScatterCodeGrad", idx, dcodebook, n, d, hw, kc, dzq)
	// Components are split over workers: each owns the columns i of dcodebook it writes, and sums in
	// (n, p) order, so the result does not depend on the worker count.
	convFor(d, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			for img := range n {
				ids := idx[img*hw : (img+1)*hw]
				g := dzq[(img*d+i)*hw : (img*d+i+1)*hw]
				for p, k := range ids {
					dcodebook[int(k)*d+i] += g[p]
				}
			}
		}
	})
}

func checkCodes(fn string, idx []int32, codebook []float32, n, d, hw, kc int, zq []float32) {
	if n < 1 || d < 1 || hw < 1 || kc < 1 || len(idx) < n*hw || len(codebook) < kc*d || len(zq) < n*d*hw {
		panic(fmt.Errorf("kernels.%s: n=%d d=%d hw=%d kc=%d with len(idx)=%d len(codebook)=%d len(z)=%d: %w",
			fn, n, d, hw, kc, len(idx), len(codebook), len(zq), errBadShape))
	}
	for i, k := range idx[:n*hw] {
		if k < 0 || int(k) >= kc {
			panic(fmt.Errorf("kernels.%s: idx[%d] = %d outside [0, %d): %w", fn, i, k, kc, errBadShape))
		}
	}
}
