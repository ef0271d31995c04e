#!/usr/bin/env python3
"""Write the reference fixtures that core/metrics is tested against.

Each fixture is a pair of float32 images in [0, 1] (row-major [H, W], raw little-endian) and the
values scikit-image computes for them:

* ``ssim``: ``structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1.0)`` with the images cast to float64 (the cast is exact,
  so this is the reference without float32 rounding inside scikit-image);
* ``ssim_f32``: the same call on the float32 arrays themselves (scikit-image then filters in float32);
* ``mse``: ``mean_squared_error(a, b)`` in float64;
* ``psnr``: ``peak_signal_noise_ratio(a, b, data_range=1.0)``, or the string ``"inf"`` when a == b;
* ``map``: for small pairs, the full float64 SSIM map (``full=True``) as raw little-endian float64.

``perplexity`` holds code-usage histograms and exp(entropy) as scipy.stats.entropy computes it.

Run from the repository root: ``python scripts/make_ssim_fixtures.py`` (deterministic; rewrites
testdata/ssim/).
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import scipy
import scipy.ndimage as ndi
import skimage
from scipy.stats import entropy
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

OUT_DIR = os.path.join("testdata", "ssim")
MAP_MAX_PIXELS = 64 * 64  # store full SSIM maps only for pairs this small


def smooth_field(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """A random field in [0, 1] with structure at scale ``sigma`` pixels."""
    f = ndi.gaussian_filter(rng.standard_normal((h, w)), sigma, mode="wrap")
    f -= f.min()
    return f / max(f.max(), 1e-12)


def quantize8(x: np.ndarray) -> np.ndarray:
    """Round to the 8-bit grid k/255 like a PNG pixel, as float32."""
    return (np.round(np.clip(x, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def brain_like(rng: np.random.Generator, n: int = 256) -> np.ndarray:
    """A dark axial-slice-like head: bright scalp ring, skull gap, textured brain, ventricles.

    The head's front-back axis runs left-right, as in the OASIS slices.
    """
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    cy, cx = n / 2 + 3, n / 2 - 2
    r_head = np.sqrt(((x - cx) / (0.40 * n)) ** 2 + ((y - cy) / (0.33 * n)) ** 2)
    r_brain = np.sqrt(((x - cx) / (0.35 * n)) ** 2 + ((y - cy) / (0.28 * n)) ** 2)
    img = np.zeros((n, n))
    scalp = (r_head < 1.0) & (r_head > 0.93)
    img[scalp] = 0.85 + 0.15 * smooth_field(rng, n, n, 3.0)[scalp]
    brain = r_brain < 1.0
    texture = smooth_field(rng, n, n, 4.0)
    folds = 0.5 + 0.5 * np.sin(0.35 * x + 4.0 * texture) * np.cos(0.3 * y - 3.0 * texture)
    tissue = 0.18 + 0.22 * folds + 0.12 * smooth_field(rng, n, n, 12.0)
    img[brain] = tissue[brain]
    vent = (((x - cx - 8) / 22.0) ** 2 + ((y - cy + 6) / 7.0) ** 2 < 1.0) | (
        ((x - cx - 8) / 22.0) ** 2 + ((y - cy - 8) / 7.0) ** 2 < 1.0
    )
    img[vent & brain] = 0.06
    img += 0.01 * rng.standard_normal((n, n)) * (r_head < 1.0)
    return quantize8(img)


def make_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20240611)
    pairs = []

    a = smooth_field(rng, 16, 16, 2.0).astype(np.float32)
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1).astype(np.float32)
    pairs.append(("noise_16x16", a, b))

    a = smooth_field(rng, 11, 11, 1.0).astype(np.float32)
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1).astype(np.float32)
    pairs.append(("noise_11x11_min", a, b))

    a = rng.random((37, 53)).astype(np.float32)
    b = ndi.gaussian_filter(a.astype(np.float64), 1.3, mode="nearest").astype(np.float32)
    pairs.append(("blur_37x53", a, b))

    a = smooth_field(rng, 53, 37, 3.0).astype(np.float32)
    pairs.append(("identical_53x37", a, a.copy()))

    a = smooth_field(rng, 64, 64, 2.5).astype(np.float32)
    b = np.roll(a, shift=(2, -3), axis=(0, 1))
    pairs.append(("shift_64x64", a, b))

    a = smooth_field(rng, 64, 64, 1.5).astype(np.float32)
    b = (0.5 + 0.6 * (a - 0.5)).astype(np.float32)
    pairs.append(("contrast_64x64", a, b))

    a = np.full((16, 16), 0.3, dtype=np.float32)
    b = np.full((16, 16), 0.6, dtype=np.float32)
    pairs.append(("constant_16x16", a, b))

    a = np.full((24, 20), 0.25, dtype=np.float32)
    b = smooth_field(rng, 24, 20, 2.0).astype(np.float32)
    pairs.append(("constant_vs_field_24x20", a, b))

    a = quantize8(rng.random((16, 16)) > 0.5)
    b = np.zeros((16, 16), dtype=np.float32)
    b[::2, :] = 1.0
    pairs.append(("binary_16x16", a, b))

    a = brain_like(rng)
    b = ndi.gaussian_filter(a.astype(np.float64), 1.0, mode="nearest")
    b = quantize8(b + 0.02 * rng.standard_normal(b.shape))
    pairs.append(("brain_256x256", a, b))
    return pairs


def write_raw(path: str, arr: np.ndarray, dtype: str) -> None:
    data = np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    with open(path, "wb") as f:
        f.write(data)


def main() -> int:
    os.makedirs(OUT_DIR, exist_ok=True)
    ssim_args = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    index = {
        "generator": "scripts/make_ssim_fixtures.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-image": skimage.__version__,
        },
        "ssim_call": "structural_similarity(a, b, gaussian_weights=True, sigma=1.5, "
        "use_sample_covariance=False, data_range=1.0)",
        "pairs": [],
        "perplexity": [],
    }
    for name, a, b in make_pairs():
        assert a.dtype == np.float32 and b.dtype == np.float32 and a.shape == b.shape
        assert 0.0 <= a.min() and a.max() <= 1.0 and 0.0 <= b.min() and b.max() <= 1.0
        h, w = a.shape
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        ssim, smap = structural_similarity(a64, b64, full=True, **ssim_args)
        ssim32 = structural_similarity(a, b, **ssim_args)
        mse = mean_squared_error(a64, b64)
        with np.errstate(divide="ignore"):
            psnr = peak_signal_noise_ratio(a64, b64, data_range=1.0)
        entry = {
            "name": name,
            "h": h,
            "w": w,
            "a": f"{name}_a.f32",
            "b": f"{name}_b.f32",
            "ssim": float(ssim),
            "ssim_f32": float(ssim32),
            "mse": float(mse),
            "psnr": "inf" if math.isinf(psnr) else float(psnr),
        }
        write_raw(os.path.join(OUT_DIR, entry["a"]), a, "f4")
        write_raw(os.path.join(OUT_DIR, entry["b"]), b, "f4")
        if h * w <= MAP_MAX_PIXELS:
            entry["map"] = f"{name}_map.f64"
            write_raw(os.path.join(OUT_DIR, entry["map"]), smap, "f8")
        index["pairs"].append(entry)

    rng = np.random.default_rng(7)
    histograms = [
        [5, 0, 3, 0, 0, 12, 1],
        [1, 1, 1, 1],
        [0, 0, 9, 0],
        rng.integers(0, 50, size=128).tolist(),
        (rng.integers(0, 3, size=512) * rng.integers(0, 1000, size=512)).tolist(),
    ]
    for counts in histograms:
        c = np.asarray(counts, dtype=np.float64)
        index["perplexity"].append(
            {
                "counts": [int(v) for v in counts],
                "perplexity": float(np.exp(entropy(c))),
                "used_fraction": float(np.count_nonzero(c) / c.size),
            }
        )

    with open(os.path.join(OUT_DIR, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in os.listdir(OUT_DIR))
    print(f"wrote {len(index['pairs'])} pairs to {OUT_DIR} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
