"""Sample brainvq's prior.onnx with onnxruntime, drawing the codes brainvq's Go sampler draws.

Codes are drawn one position at a time in raster order (row by row, left to right), each from the logits
prior.onnx gives at that position and one uniform number u in [0,1) (``draw``, the procedure of
core/prior/sample.go). ``go_uniforms`` makes the numbers brainvq's ``prior.Uniforms`` makes, so a seed gives
the same samples here as in Go. ``agreement`` checks samples that Go drew with one pass of prior.onnx.
Needs numpy and onnxruntime only.
"""

import numpy as np

_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_PCG_MUL = (2549297995355413924 << 64) | 4865540595714422341
_PCG_INC = (6364136223846793005 << 64) | 1442695040888963407


def go_uniforms(seed, first, n, grid):
    """The uniforms of samples first..first+n-1 of seed, float64 [n,grid,grid], as Go's prior.Uniforms:
    sample s takes the successive Float64() values of Go's math/rand/v2 PCG seeded with (seed, s).
    """
    out = np.empty((n, grid * grid), dtype=np.float64)
    for i in range(n):
        state = ((seed & _M64) << 64) | ((first + i) & _M64)
        for p in range(grid * grid):
            state = (state * _PCG_MUL + _PCG_INC) & _M128  # the 128-bit LCG step
            hi, lo = state >> 64, state & _M64
            x = hi ^ (hi >> 32)  # DXSM output
            x = (x * 0xDA942042E4DD58B5) & _M64
            x ^= x >> 48
            x = (x * (lo | 1)) & _M64
            out[i, p] = (x & ((1 << 53) - 1)) / (1 << 53)  # Float64: the low 53 bits over 2^53
    return out.reshape(n, grid, grid)


def draw(logits, u, temperature=1.0, top_k=0, top_p=1.0):
    """Codes int64 [M] drawn from logits [M,K] (float32) with uniforms u [M], exactly as Go's Draw."""
    z = np.asarray(logits, dtype=np.float32).astype(np.float64) / temperature
    m, k = z.shape
    if top_k > 0 or top_p < 1:
        # Ranked by z descending; the stable sort keeps tied codes in index order (lower first).
        order = np.argsort(-z, axis=1, kind="stable")
        if top_k > 0:
            order = order[:, :top_k]
    else:
        order = np.broadcast_to(np.arange(k), (m, k))  # all codes in index order
    zc = np.take_along_axis(z, order, axis=1)
    run = np.cumsum(np.exp(zc - zc.max(axis=1, keepdims=True)), axis=1)  # summed in candidate order
    rows = np.arange(m)
    last = np.full(m, order.shape[1] - 1)
    if top_p < 1:  # the shortest prefix whose sum reaches top_p of the total
        last = np.argmax(run >= top_p * run[:, -1:], axis=1)
    total = run[rows, last]
    # The first candidate (up to the last one kept) whose running sum exceeds u·W, else the last one.
    t = np.asarray(u, dtype=np.float64) * total
    hit = (run > t[:, None]) & (np.arange(order.shape[1]) <= last[:, None])
    r = np.where(hit.any(axis=1), np.argmax(hit, axis=1), last)
    return order[rows, r].astype(np.int64)


def sample(session, classes, uniforms, temperature=1.0, top_k=0, top_p=1.0, known=None, keep=None):
    """Codes int64 [N,h,w] sampled with prior.onnx (an onnxruntime session), one graph run per position.

    classes: int64 [N], a slice level or the null class (metadata "null_class") per sample; uniforms:
    float64 [N,h,w]. For completion, known [N,h,w] codes are kept where keep [N,h,w] is true and only the
    other positions are drawn.
    """
    classes = np.asarray(classes, dtype=np.int64)
    uniforms = np.asarray(uniforms, dtype=np.float64)
    n, h, w = uniforms.shape
    codes = np.zeros((n, h, w), dtype=np.int64)
    free = np.ones((n, h, w), dtype=bool)
    if keep is not None:
        free = ~np.asarray(keep, dtype=bool)
        codes[~free] = np.asarray(known, dtype=np.int64)[~free]
    for i in range(h):
        for j in range(w):
            todo = free[:, i, j]
            if not todo.any():
                continue
            (logits,) = session.run(["logits"], {"codes": codes, "level": classes})
            codes[todo, i, j] = draw(
                logits[todo, :, i, j], uniforms[todo, i, j], temperature, top_k, top_p
            )
    return codes


def agreement(session, codes, classes, uniforms, temperature=1.0, top_k=0, top_p=1.0, keep=None):
    """bool [N]: whether sample n of codes [N,h,w] (drawn elsewhere, e.g. by Go, from these uniforms and
    options) is exactly what ``sample`` draws here.

    One graph run over the finished codes gives the logits at every position; each drawn position is drawn
    again from them with its uniform. The logits at a position depend only on the codes before it, so if
    every position gives back its code, this runtime would have drawn the whole sample identically, and if
    not, its sample would have diverged at the first position that differs. The mean is the fraction of
    identical samples.
    """
    codes = np.asarray(codes, dtype=np.int64)
    uniforms = np.asarray(uniforms, dtype=np.float64)
    n, h, w = codes.shape
    (logits,) = session.run(["logits"], {"codes": codes, "level": np.asarray(classes, np.int64)})
    same = np.empty(n, dtype=bool)
    for s in range(n):  # one sample at a time: [h*w, K] float64 stays small
        z = logits[s].reshape(logits.shape[1], h * w).T
        again = draw(z, uniforms[s].reshape(-1), temperature, top_k, top_p)
        ok = again == codes[s].reshape(-1)
        if keep is not None:
            ok |= np.asarray(keep, dtype=bool)[s].reshape(-1)
        same[s] = ok.all()
    return same
