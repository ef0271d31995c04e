"""Matplotlib figures for training histories, reconstructions and codebooks.

matplotlib is imported only when a function here is called (``pip install matplotlib``); brainvq itself
does not need it. Every function returns the ``matplotlib.figure.Figure`` it drew, so notebooks show it
and scripts can ``fig.savefig(...)`` it.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from brainvq.images import as_images

__all__ = ["losses", "reconstructions", "code_usage", "image_grid"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("brainvq.plot needs matplotlib: pip install matplotlib") from exc
    return plt


def _rows(history: Iterable[Any]) -> List[Dict[str, float]]:
    rows = []
    for e in history:
        d = e if isinstance(e, dict) else e.to_dict()
        rows.append({k: float(v) for k, v in d.items()})
    return rows


def losses(history: Iterable[Any]):
    """Plot a training history: reconstruction and VQ losses (train and validation), validation SSIM
    and codebook perplexity, per epoch.

    Args:
        history: a :class:`brainvq.History` (from ``Trainer.fit``), a list of
            :class:`brainvq.EpochStats`, or a list of dicts with the same keys.

    Returns:
        The figure (2×2 panels). Validation curves are left out when there was no validation.
    """
    plt = _pyplot()
    rows = _rows(history)
    if not rows:
        raise ValueError("the history is empty: train at least one epoch")
    ep = np.array([r["epoch"] for r in rows])

    def col(name: str) -> np.ndarray:
        return np.array([r.get(name, math.nan) for r in rows], dtype=np.float64)

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    panels = [
        (
            "Reconstruction loss",
            "mean (v−u)²/σ²",
            [("train", "train_recon_loss"), ("validation", "val_recon_loss")],
        ),
        (
            "VQ loss",
            "β·commitment (+ codebook)",
            [("train", "train_vq_loss"), ("validation", "val_vq_loss")],
        ),
        ("Validation SSIM", "SSIM", [("validation", "val_ssim")]),
        (
            "Codebook perplexity",
            "perplexity",
            [("train (last batch)", "train_perplexity"), ("validation", "val_perplexity")],
        ),
    ]
    for ax, (title, ylabel, curves) in zip(axes.ravel(), panels):
        drawn = False
        for label, name in curves:
            y = col(name)
            if np.isnan(y).all():
                continue
            ax.plot(ep, y, marker="o", label=label)
            drawn = True
        if drawn and title.endswith("loss"):
            ys = np.concatenate([col(n) for _, n in curves])
            ys = ys[~np.isnan(ys)]
            if ys.size and (ys > 0).all():
                ax.set_yscale("log")
        if not drawn:
            ax.text(0.5, 0.5, "no validation set", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if drawn:
            ax.legend()
        ax.grid(True, alpha=0.3)
    return fig


def reconstructions(
    x: object,
    y: object,
    n: int = 8,
    scores: Union[bool, Sequence[float]] = True,
    titles: Optional[Sequence[str]] = None,
):
    """Show originals (top row) above their reconstructions (bottom row).

    Args:
        x: originals ``[N, S, S]``, ``[N, 1, S, S]`` or ``[S, S]`` (see :mod:`brainvq.images`).
        y: reconstructions, same shape.
        n: show at most the first ``n`` pairs.
        scores: True labels each reconstruction with its SSIM (:func:`brainvq.ssim`); a sequence
            gives the labels' numbers yourself; False shows none.
        titles: optional titles of the originals (e.g. file names).

    Returns:
        The figure.
    """
    plt = _pyplot()
    a = as_images(x, "x").pixels
    b = as_images(y, "y").pixels
    if a.shape != b.shape:
        raise ValueError("x and y must have the same shape, got %s and %s" % (a.shape, b.shape))
    k = min(int(n), a.shape[0])
    if scores is True:
        from brainvq.metrics import ssim

        vals: Optional[np.ndarray] = np.atleast_1d(ssim(a[:k], b[:k]))
    elif scores is False:
        vals = None
    else:
        vals = np.asarray(scores, dtype=np.float64)[:k]
    fig, axes = plt.subplots(2, k, figsize=(2 * k, 4.3), squeeze=False, constrained_layout=True)
    for i in range(k):
        for row, img in ((0, a[i]), (1, b[i])):
            ax = axes[row, i]
            ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        if titles is not None and i < len(titles):
            axes[0, i].set_title(str(titles[i]), fontsize=8)
        if vals is not None:
            axes[1, i].set_title("SSIM %.3f" % vals[i], fontsize=9)
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstruction")
    return fig


def code_usage(counts: object, title: str = "Code usage"):
    """Plot a code histogram: counts per code index (left) and the codes sorted by use (right).

    Args:
        counts: ``[K]`` non-negative counts (e.g. :meth:`brainvq.Model.code_usage`).
        title: figure title.

    Returns:
        The figure.
    """
    plt = _pyplot()
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError("counts must be one-dimensional [K], got shape %s" % (c.shape,))
    total = c.sum()
    p = c / total if total > 0 else c
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), constrained_layout=True)
    left.bar(np.arange(c.size), p, width=1.0)
    left.set_xlabel("code index k")
    left.set_ylabel("share of positions")
    left.set_xlim(-0.5, c.size - 0.5)
    right.plot(np.arange(1, c.size + 1), np.sort(p)[::-1], drawstyle="steps-mid")
    right.set_xlabel("codes, most used first")
    right.set_ylabel("share of positions")
    right.set_yscale("log" if (p > 0).any() else "linear")
    used = int((c > 0).sum())
    fig.suptitle("%s: %d of %d codes used" % (title, used, c.size))
    return fig


def image_grid(
    images: object, titles: Optional[Sequence[str]] = None, ncols: int = 8, size: float = 1.6
):
    """Show images in a grid (e.g. what single codes decode to).

    Args:
        images: ``[N, H, W]``, ``[N, 1, H, W]`` or ``[H, W]`` in [0, 1] (or uint8).
        titles: optional title per image.
        ncols: images per row.
        size: inches per image.

    Returns:
        The figure.
    """
    plt = _pyplot()
    a = as_images(images, "images").pixels
    n = a.shape[0]
    ncols = max(1, min(int(ncols), n))
    nrows = int(math.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, size * nrows + 0.3),
        squeeze=False,
        constrained_layout=True,
    )
    for i, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(a[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        if titles is not None and i < len(titles):
            ax.set_title(str(titles[i]), fontsize=8)
    return fig
