"""Image and codebook metrics, computed by the same Go code the trainer and ``brainvq eval`` use.

Images follow :mod:`brainvq.images` (``[H, W]``, ``[N, H, W]`` or ``[N, 1, H, W]``; uint8 ÷255, bool or
floats in [0, 1]); the two arguments of a pair metric must have the same shape. One image pair gives a
float, a batch gives a float64 array ``[N]``.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from brainvq import _binding
from brainvq.arrays import bytes_to_float64, float32_to_bytes, int64_to_bytes
from brainvq.images import as_images

__all__ = ["ssim", "psnr", "mse", "perplexity", "used_fraction", "code_histogram"]

_pb = _binding._pb


def _pair(fn, a: object, b: object, *extra) -> Union[float, np.ndarray]:
    x = as_images(a, "a")
    y = as_images(b, "b")
    if x.pixels.shape != y.pixels.shape:
        raise ValueError(
            "a and b must hold the same number of images of the same size, got %s and %s"
            % (np.shape(a), np.shape(b))
        )
    n, h, w = x.pixels.shape
    da, _ = float32_to_bytes(x.pixels)
    db, _ = float32_to_bytes(y.pixels)
    out = bytes_to_float64(_binding.call_bytes(fn, da, db, n, h, w, *extra), (n,), "scores")
    return float(out[0]) if x.layout == "HW" else out


def ssim(a: object, b: object) -> Union[float, np.ndarray]:
    """Structural similarity of image pairs (Wang et al. 2004).

    Settings: 11×11 Gaussian window with σ 1.5, K1 0.01, K2 0.03, data range 1, population
    covariances; the mean is taken over the positions whose window lies inside the image. This equals
    scikit-image's ``structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1.0)``.

    Args:
        a, b: images of the same shape, each side at least 11 pixels.

    Returns:
        A float for one ``[H, W]`` pair, else float64 ``[N]``.
    """
    return _pair(_pb.SSIMBatch, a, b)


def psnr(a: object, b: object, data_range: float = 1.0) -> Union[float, np.ndarray]:
    """Peak signal-to-noise ratio 10·log10(data_range² / MSE) in dB (inf for identical images).

    Returns:
        A float for one ``[H, W]`` pair, else float64 ``[N]``.
    """
    return _pair(_pb.PSNRBatch, a, b, float(data_range))


def mse(a: object, b: object) -> Union[float, np.ndarray]:
    """Mean squared error per image pair (pixels in [0, 1]).

    Returns:
        A float for one ``[H, W]`` pair, else float64 ``[N]``.
    """
    return _pair(_pb.MSEBatch, a, b)


def code_histogram(indices: object, num_codes: int) -> np.ndarray:
    """Count how often each of ``num_codes`` codes occurs in an array of code indices (any shape).

    Returns:
        int64 ``[num_codes]``.

    Raises:
        ValueError: an index outside [0, num_codes).
    """
    idx = np.asarray(indices).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= num_codes):
        raise ValueError(
            "indices must lie in [0, %d), found [%d, %d]" % (num_codes, idx.min(), idx.max())
        )
    return np.bincount(idx.astype(np.int64), minlength=int(num_codes)).astype(np.int64)


def perplexity(counts: object, num_codes: Optional[int] = None) -> float:
    """Codebook perplexity exp(−Σ p_k log p_k), p_k = counts[k] / Σ counts.

    It is 1 when a single code is used and K when K codes are used equally often; 0 for no counts.

    Args:
        counts: a histogram ``[K]`` of non-negative integers, or — when ``num_codes`` is given — code
            indices of any shape, counted first with :func:`code_histogram`.
        num_codes: K, to pass indices instead of counts.
    """
    if num_codes is not None:
        counts = code_histogram(counts, num_codes)
    return float(_binding.call_bytes(_pb.Perplexity, int64_to_bytes(counts, "counts")))


def used_fraction(counts: object, num_codes: Optional[int] = None) -> float:
    """Fraction of codes with a non-zero count; arguments as for :func:`perplexity`."""
    if num_codes is not None:
        counts = code_histogram(counts, num_codes)
    return float(_binding.call_bytes(_pb.UsedFraction, int64_to_bytes(counts, "counts")))
