"""Image and codebook metrics, computed by the same Go code the trainer and ``brainvq eval`` use.

Images follow :mod:`brainvq.images` (``[H, W]``, ``[N, H, W]`` or ``[N, 1, H, W]``; uint8 ÷255, bool or
floats in [0, 1]); the two arguments of a pair metric must have the same shape. One image pair gives a
float, a batch gives a float64 array ``[N]``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

from brainvq import _binding
from brainvq._args import float_arg, int_arg
from brainvq.arrays import bytes_to_float64, float32_to_bytes, int64_to_bytes
from brainvq.images import ImageArray, as_images

__all__ = ["ssim", "psnr", "mse", "perplexity", "used_fraction", "code_histogram"]

_pb = _binding._pb


#: One score for one image pair, float64 ``[N]`` for a batch.
Scores = Union[float, npt.NDArray[np.float64]]


def _pair(fn: Callable[..., Any], a: ImageArray, b: ImageArray, *extra: Any) -> Scores:
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


def ssim(a: ImageArray, b: ImageArray) -> Scores:
    """Structural similarity of image pairs (Wang et al. 2004).

    Settings: 11×11 Gaussian window with σ 1.5, K1 0.01, K2 0.03, data range 1, population
    covariances; the mean is taken over the positions whose window lies inside the image. This equals
    scikit-image's ``structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1.0)``.

    Args:
        a, b: images of the same shape, each side at least 11 pixels.

    Returns:
        A float for one ``[H, W]`` pair, else float64 ``[N]``.

    Raises:
        ValueError: images smaller than 11×11, or ``a`` and ``b`` of different shapes.
    """
    return _pair(_pb.SSIMBatch, a, b)


def psnr(a: ImageArray, b: ImageArray, data_range: float = 1.0) -> Scores:
    """Peak signal-to-noise ratio 10·log10(data_range² / MSE) in dB (inf for identical images).

    Returns:
        A float for one ``[H, W]`` pair, else float64 ``[N]``.
    """
    return _pair(_pb.PSNRBatch, a, b, float_arg(data_range, "data_range"))


def mse(a: ImageArray, b: ImageArray) -> Scores:
    """Mean squared error per image pair (pixels in [0, 1]).

    Returns:
        A float for one ``[H, W]`` pair, else float64 ``[N]``.
    """
    return _pair(_pb.MSEBatch, a, b)


def code_histogram(indices: npt.ArrayLike, num_codes: int) -> npt.NDArray[np.int64]:
    """Count how often each of ``num_codes`` codes occurs in an array of code indices (any shape).

    Returns:
        int64 ``[num_codes]``.

    Raises:
        ValueError: an index outside [0, num_codes).
    """
    num_codes = int_arg(num_codes, "num_codes", minimum=1)
    idx = np.asarray(indices).ravel()
    if idx.size and idx.dtype.kind not in "iub":
        raise TypeError("indices must be integers, got dtype %s" % idx.dtype)
    if idx.size and (idx.min() < 0 or idx.max() >= num_codes):
        raise ValueError(
            "indices must lie in [0, %d), found [%d, %d]" % (num_codes, idx.min(), idx.max())
        )
    return np.bincount(idx.astype(np.int64), minlength=int(num_codes)).astype(np.int64)


def perplexity(counts: npt.ArrayLike, num_codes: Optional[int] = None) -> float:
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


def used_fraction(counts: npt.ArrayLike, num_codes: Optional[int] = None) -> float:
    """Fraction of codes with a non-zero count; arguments as for :func:`perplexity`."""
    if num_codes is not None:
        counts = code_histogram(counts, num_codes)
    return float(_binding.call_bytes(_pb.UsedFraction, int64_to_bytes(counts, "counts")))
