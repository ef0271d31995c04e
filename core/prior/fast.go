package prior

import (
	"fmt"

	"github.com/brainvq/brainvq/core/kernels"
)

// The fast sampler (after Ramachandran et al. 2017, "Fast Generation for Convolutional Autoregressive
// Models") computes every activation of the prior once, when the codes it depends on are known, instead of
// running the whole network once per position:
//
//   - Before row i is sampled, the vertical stacks of all layers at row i are computed in one pass over the
//     row: they see only rows < i, which are final. Each layer keeps the last k/2+1 rows of its vertical
//     input; the masked k×k convolution becomes one product per unmasked tap over the whole row of all N
//     samples, and the vertical-to-horizontal link of the row is computed there too.
//   - Then, column by column, the horizontal stacks of all layers at (i,j) are computed from the cached row
//     (columns ≤ j), the head gives the logits of the N samples, and the codes are drawn; the new codes'
//     embeddings join the row caches. These products are N columns wide: kernels.RowGemm, which reads its
//     operands in place, instead of Sgemm, whose packing would cost more than the products.
//
// The work per image is that of one forward pass plus the per-position head, against h·w forward passes
// for the naive sampler. Rows are stored channel-major with the N samples innermost — [C][columns][N] — so
// that every product reads contiguous N-wide columns.

// rowCache holds the state of one layer while a row is sampled.
type rowCache struct {
	in   int         // input channels of the layer
	d    int         // its dilation
	wp   int         // padded row width W + 2·d·(k/2)
	hist [][]float32 // vertical input rows i−d·(k/2) … i (oldest first), each [in][wp][N] with zero margins
	h    []float32   // horizontal input of the current row [in][W][N]
	av   []float32   // vertical pre-activation of the row [2C][W][N]
	vout []float32   // its gated output [C][W][N], the next layer's vertical input row
	avh  []float32   // vertical link W_vh·a_v + b_vh of the row [2C][W][N]
	taps [][]float32 // per unmasked tap (ky,kx), its weights [2C][in], with tapAt its (ky,kx)
	at   [][2]int
	hw   [][]float32 // horizontal weights per shift, [2C][in]
}

// Sample draws the codes of r with the fast sampler; it returns what SampleNaive returns, up to rounding
// in the logits (both compute the same sums in a different order).
func (p *Prior) Sample(r Request) ([]int32, error) {
	if err := p.check(r); err != nil {
		return nil, err
	}
	c, w := p.Config, p.Weights
	g, n, k, half := c.Grid, r.N, c.Kernel, c.Kernel/2
	c2 := 2 * c.Channels
	hw := g * g
	caches := make([]*rowCache, c.Layers+1) // caches[L] holds the last layer's horizontal output
	for l := 0; l <= c.Layers; l++ {
		in := c.Channels
		if l == 0 {
			in = c.In(0)
		}
		rc := &rowCache{in: in, h: make([]float32, in*g*n)}
		if l < c.Layers {
			rc.d = c.Dilation(l)
			rc.wp = g + 2*half*rc.d
			rc.hist = make([][]float32, half*rc.d+1)
			for i := range rc.hist {
				rc.hist[i] = make([]float32, in*rc.wp*n)
			}
			rc.av = make([]float32, c2*g*n)
			rc.avh = make([]float32, c2*g*n)
			rc.vout = make([]float32, c.Channels*g*n)
			vw := p.maskedVertical(l)
			mask := c.VerticalMask(l)
			for ky := range k {
				for kx := range k {
					if mask[ky*k+kx] == 0 {
						continue
					}
					t := make([]float32, c2*in)
					for o := range c2 {
						for ci := range in {
							t[o*in+ci] = vw[((o*in+ci)*k+ky)*k+kx]
						}
					}
					rc.taps, rc.at = append(rc.taps, t), append(rc.at, [2]int{ky, kx})
				}
			}
			for _, s := range c.Shifts(l) {
				rc.hw = append(rc.hw, w[fmt.Sprintf("%s.h%d.weight", LayerName(l), s)].Data)
			}
		}
		caches[l] = rc
	}
	codes := make([]int32, n*hw)
	embed := w[EmbedName].Data
	d := newDrawer(c.NumCodes)
	col := make([]float32, c.NumCodes)
	ah := make([]float32, c2*n)
	gated := make([]float32, c.Channels*n)
	hid := make([]float32, c.HeadChannels*n)
	relu := make([]float32, c.Channels*n)
	logits := make([]float32, c.NumCodes*n)
	out := make([]float32, c.Channels*n)
	for i := range g {
		p.verticalRow(caches, r.Classes, n)
		for j := range g {
			// Horizontal stacks at (i,j), layer by layer.
			for l := range c.Layers {
				rc, next := caches[l], caches[l+1]
				pre := LayerName(l)
				for o := range c2 {
					copy(ah[o*n:(o+1)*n], rc.avh[(o*g+j)*n:(o*g+j+1)*n])
				}
				for si, s := range c.Shifts(l) {
					if j-s*rc.d < 0 {
						continue
					}
					kernels.RowGemm(ah, n, rc.hw[si], rc.h[(j-s*rc.d)*n:], g*n, c2, rc.in, n)
				}
				addRowBias(ah, w[pre+".h.bias"].Data, w[pre+".h.cond"].Data, r.Classes, c2, 1, n)
				kernels.Gate(gated, ah, 1, c.Channels, n)
				// next.h[:, j, :] = (l > 0 ? h[:, j, :] : 0) + W_o·gated + b_o
				clear(out)
				if l > 0 {
					for ch := range c.Channels {
						copy(out[ch*n:(ch+1)*n], rc.h[(ch*g+j)*n:(ch*g+j+1)*n])
					}
				}
				kernels.RowGemm(out, n, w[pre+".out.weight"].Data, gated, n, c.Channels, c.Channels, n)
				bo := w[pre+".out.bias"].Data
				for ch := range c.Channels {
					dst := next.h[(ch*g+j)*n : (ch*g+j+1)*n]
					for s := range dst {
						dst[s] = out[ch*n+s] + bo[ch]
					}
				}
			}
			// Head: logits [K][N] of column j.
			last := caches[c.Layers].h
			for ch := range c.Channels {
				for s := range n {
					relu[ch*n+s] = max(last[(ch*g+j)*n+s], 0)
				}
			}
			clear(hid)
			kernels.RowGemm(hid, n, w["head1.weight"].Data, relu, n, c.HeadChannels, c.Channels, n)
			b1 := w["head1.bias"].Data
			for o := range c.HeadChannels {
				for s := range n {
					hid[o*n+s] = max(hid[o*n+s]+b1[o], 0)
				}
			}
			clear(logits)
			kernels.RowGemm(logits, n, w["head2.weight"].Data, hid, n, c.NumCodes, c.HeadChannels, n)
			b2 := w["head2.bias"].Data
			// Draw (or keep) the codes at (i,j) and feed their embeddings to the first layer's caches.
			for s := range n {
				q := s*hw + i*g + j
				var code int32
				if r.Keep != nil && r.Keep[q] {
					code = r.Known[q]
				} else {
					for kk := range c.NumCodes {
						col[kk] = logits[kk*n+s] + b2[kk]
					}
					code = d.Draw(col, r.Uniforms[q], r.Options)
				}
				codes[q] = code
				e := embed[int(code)*c.CodeDim : (int(code)+1)*c.CodeDim]
				first := caches[0]
				cur := first.hist[len(first.hist)-1] // row i of the input, read by later rows' vertical passes
				put := func(dd int, v float32) {
					first.h[(dd*g+j)*n+s] = v
					cur[(dd*first.wp+half*first.d+j)*n+s] = v
				}
				for dd, v := range e {
					put(dd, v)
				}
				put(c.CodeDim, Coord(i, g))
				put(c.CodeDim+1, Coord(j, g))
			}
		}
	}
	return codes, nil
}

// verticalRow computes, for the row about to be sampled, every layer's vertical pre-activation a_v and
// link a_vh, and moves each layer's history one row down. On entry the newest row of caches[0].hist holds
// the embedding of the row just sampled (zeros before the first row). With dilation d the masked tap
// (ky,kx) of a layer reads the row d·(k/2−ky) above, hist[ky·d], at column offset (kx−k/2)·d.
func (p *Prior) verticalRow(caches []*rowCache, classes []int32, n int) {
	c, w := p.Config, p.Weights
	g, half := c.Grid, c.Kernel/2
	c2 := 2 * c.Channels
	// Layer 0's input rows are embeddings of final rows: rotate so that the newest is a fresh zero row
	// (row i's embedding, written while row i is sampled) and the one before it the row just finished.
	rotate(caches[0].hist)
	for l := range c.Layers {
		rc := caches[l]
		pre := LayerName(l)
		clear(rc.av)
		for t, tap := range rc.taps {
			ky, kx := rc.at[t][0], rc.at[t][1]
			kernels.Sgemm(false, false, c2, g*n, rc.in, 1, tap, rc.in, rc.hist[ky*rc.d][kx*rc.d*n:], rc.wp*n, 1, rc.av, g*n)
		}
		addRowBias(rc.av, w[pre+".v.bias"].Data, w[pre+".v.cond"].Data, classes, c2, g, n)
		kernels.Sgemm(false, false, c2, g*n, c2, 1, w[pre+".vh.weight"].Data, c2, rc.av, g*n, 0, rc.avh, g*n)
		bvh := w[pre+".vh.bias"].Data
		for o := range c2 {
			seg := rc.avh[o*g*n : (o+1)*g*n]
			for q := range seg {
				seg[q] += bvh[o]
			}
		}
		if l+1 < c.Layers {
			// The gated vertical output is the next layer's vertical input at this row.
			next := caches[l+1]
			rotate(next.hist)
			gated := rc.vout
			kernels.Gate(gated, rc.av, 1, c.Channels, g*n)
			row := next.hist[len(next.hist)-1]
			off := half * next.d
			for ch := range c.Channels {
				copy(row[(ch*next.wp+off)*n:(ch*next.wp+off+g)*n], gated[ch*g*n:(ch+1)*g*n])
			}
		}
	}
}

// rotate moves rows one place towards the front (dropping the oldest) and clears the newest.
func rotate(rows [][]float32) {
	first := rows[0]
	copy(rows, rows[1:])
	clear(first)
	rows[len(rows)-1] = first
}

// addRowBias adds bias[o] + table[classes[s], o] to a [C][cols][N] block.
func addRowBias(a, bias, table []float32, classes []int32, c, cols, n int) {
	for o := range c {
		for s := range n {
			b := bias[o] + table[int(classes[s])*c+o]
			for q := range cols {
				a[(o*cols+q)*n+s] += b
			}
		}
	}
}
