"""Matplotlib figures for training histories, reconstructions and codebooks.

matplotlib is imported only when a function here is called (``pip install matplotlib``); brainvq itself
does not need it.

Every helper works two ways, as matplotlib's own plotting functions do:

* ``ax=None`` (the default): it makes a new figure and returns the ``matplotlib.figure.Figure``. The
  figure is taken out of pyplot's list of open figures before it is returned, so a notebook shows it
  exactly once when it is a cell's last value (Jupyter's inline backend would otherwise show it a
  second time at the end of the cell), and loops that make many figures do not pile up open ones.
  Show it with ``IPython.display.display(fig)`` when it is not the last value; save it with
  ``fig.savefig(...)``; ``plt.show()`` does not show it.
* ``ax=`` an ``Axes``: it draws into that axes and returns None. The figure is yours, and shows as
  your figures do (once in a notebook; ``plt.show()`` in a script). Helpers that draw several panels
  with ``ax=None`` draw one of them into ``ax`` (see each function).
"""

from __future__ import annotations

import math
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    overload,
)

import numpy as np
import numpy.typing as npt

from brainvq.images import ImageArray, as_images

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from brainvq.training import EpochStats

__all__ = ["losses", "reconstructions", "code_usage", "image_grid", "LOSS_PANELS"]

#: A training history: a History, a list of EpochStats, or a list of dicts with their keys.
HistoryLike = Iterable[Union["EpochStats", Mapping[str, Any]]]

#: The panels of :func:`losses`: name → (title, y label, [(curve label, history field)]).
LOSS_PANELS: Dict[str, Tuple[str, str, List[Tuple[str, str]]]] = {
    "recon": (
        "Reconstruction loss",
        "mean (v−u)²/σ²",
        [("train", "train_recon_loss"), ("validation", "val_recon_loss")],
    ),
    "vq": (
        "VQ loss",
        "β·commitment (+ codebook)",
        [("train", "train_vq_loss"), ("validation", "val_vq_loss")],
    ),
    "ssim": ("Validation SSIM", "SSIM", [("validation", "val_ssim")]),
    "perplexity": (
        "Codebook perplexity",
        "perplexity",
        [("train (last batch)", "train_perplexity"), ("validation", "val_perplexity")],
    ),
}


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("brainvq.plot needs matplotlib: pip install matplotlib") from exc
    return plt


def _subplots(nrows: int, ncols: int, figsize: Tuple[float, float]) -> Tuple["Figure", Any]:
    """A new constrained-layout figure with a grid of axes ``[nrows, ncols]``, already removed from
    pyplot's open figures (see the module notes)."""
    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, constrained_layout=True)
    plt.close(fig)
    return fig, axes


def _check_ax(ax: Any) -> "Axes":
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError("ax must be a matplotlib Axes or None, got %s" % type(ax).__name__)
    return ax


def _rows(history: HistoryLike) -> List[Dict[str, float]]:
    rows = []
    for e in history:
        d = e if isinstance(e, Mapping) else e.to_dict()
        rows.append({str(k): float(v) for k, v in d.items()})
    return rows


@overload
def losses(history: HistoryLike, *, ax: None = None, panel: str = "recon") -> "Figure": ...


@overload
def losses(history: HistoryLike, *, ax: "Axes", panel: str = "recon") -> None: ...


def losses(
    history: HistoryLike, *, ax: Optional["Axes"] = None, panel: str = "recon"
) -> Optional["Figure"]:
    """Plot a training history: reconstruction and VQ losses (train and validation), validation SSIM
    and codebook perplexity, per epoch.

    Args:
        history: a :class:`brainvq.History` (from ``Trainer.fit``), a list of
            :class:`brainvq.EpochStats`, or a list of dicts with the same keys.
        ax: None for a new figure with all four panels (2×2); an ``Axes`` to draw one panel into.
        panel: the panel drawn into ``ax``: ``"recon"``, ``"vq"``, ``"ssim"`` or ``"perplexity"``
            (see :data:`LOSS_PANELS`).

    Returns:
        The new figure, or None when ``ax`` is given. Validation curves are left out when there was
        no validation.
    """
    rows = _rows(history)
    if not rows:
        raise ValueError("the history is empty: train at least one epoch")
    if panel not in LOSS_PANELS:
        raise ValueError("panel must be one of %s, got %r" % (", ".join(LOSS_PANELS), panel))
    if ax is not None:
        _loss_panel(_check_ax(ax), rows, panel)
        return None
    fig, axes = _subplots(2, 2, (10, 7))
    for a, name in zip(axes.ravel(), LOSS_PANELS):
        _loss_panel(a, rows, name)
    return fig


def _loss_panel(ax: "Axes", rows: List[Dict[str, float]], panel: str) -> None:
    title, ylabel, curves = LOSS_PANELS[panel]
    ep = np.array([r["epoch"] for r in rows])

    def col(name: str) -> npt.NDArray[np.float64]:
        return np.array([r.get(name, math.nan) for r in rows], dtype=np.float64)

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


def _mosaic(images: npt.NDArray[np.float32], ncols: int, gap: int = 2) -> npt.NDArray[np.float64]:
    """Images ``[n, H, W]`` tiled row by row into one picture, ``ncols`` a row, with NaN gaps."""
    n, h, w = images.shape
    nrows = int(math.ceil(n / ncols))
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = images[i]
    return out


def _show_mosaic(
    ax: "Axes", images: npt.NDArray[np.float32], ncols: int, labels: Sequence[Optional[str]]
) -> None:
    """Draw :func:`_mosaic` of ``images`` into ``ax`` with label i under image i."""
    import matplotlib

    cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
    ax.imshow(_mosaic(images, ncols), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    _, h, w = images.shape
    for i, label in enumerate(labels):
        if label:
            r, c = divmod(i, ncols)
            ax.text(
                c * (w + 2) + w / 2,
                r * (h + 2) + h + 0.5,
                label,
                ha="center",
                va="top",
                fontsize=8,
            )
    ax.set_xticks([])
    ax.set_yticks([])


@overload
def reconstructions(
    x: ImageArray,
    y: ImageArray,
    n: int = 8,
    scores: Union[bool, Sequence[float]] = True,
    titles: Optional[Sequence[str]] = None,
    *,
    ax: None = None,
) -> "Figure": ...


@overload
def reconstructions(
    x: ImageArray,
    y: ImageArray,
    n: int = 8,
    scores: Union[bool, Sequence[float]] = True,
    titles: Optional[Sequence[str]] = None,
    *,
    ax: "Axes",
) -> None: ...


def reconstructions(
    x: ImageArray,
    y: ImageArray,
    n: int = 8,
    scores: Union[bool, Sequence[float]] = True,
    titles: Optional[Sequence[str]] = None,
    *,
    ax: Optional["Axes"] = None,
) -> Optional["Figure"]:
    """Show originals (top row) above their reconstructions (bottom row).

    Args:
        x: originals ``[N, S, S]``, ``[N, 1, S, S]`` or ``[S, S]`` (see :mod:`brainvq.images`).
        y: reconstructions, same shape.
        n: show at most the first ``n`` pairs.
        scores: True labels each reconstruction with its SSIM (:func:`brainvq.ssim`); a sequence
            gives the labels' numbers yourself; False shows none.
        titles: optional titles of the originals (e.g. file names).
        ax: None for a new figure (one panel per image); an ``Axes`` to draw the same two rows into
            as one picture, labelled below each image.

    Returns:
        The new figure, or None when ``ax`` is given.
    """
    a = as_images(x, "x").pixels
    b = as_images(y, "y").pixels
    if a.shape != b.shape:
        raise ValueError("x and y must have the same shape, got %s and %s" % (a.shape, b.shape))
    k = min(int(n), a.shape[0])
    if k < 1:
        raise ValueError("n must be at least 1, got %d" % n)
    vals: Optional[npt.NDArray[np.float64]]
    if scores is True:
        from brainvq.metrics import ssim

        vals = np.atleast_1d(np.asarray(ssim(a[:k], b[:k]), dtype=np.float64))
    elif scores is False:
        vals = None
    else:
        vals = np.asarray(scores, dtype=np.float64)[:k]
    top = [str(titles[i]) if titles is not None and i < len(titles) else None for i in range(k)]
    bottom = ["SSIM %.3f" % vals[i] if vals is not None else None for i in range(k)]
    if ax is not None:
        _show_mosaic(_check_ax(ax), np.concatenate([a[:k], b[:k]]), k, top + bottom)
        return None
    fig, axes = _subplots(2, k, (2 * k, 4.3))
    for i in range(k):
        for row, img in ((0, a[i]), (1, b[i])):
            cell = axes[row, i]
            cell.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            cell.set_xticks([])
            cell.set_yticks([])
        if top[i]:
            axes[0, i].set_title(top[i], fontsize=8)
        if bottom[i]:
            axes[1, i].set_title(bottom[i], fontsize=9)
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstruction")
    return fig


@overload
def code_usage(
    counts: npt.ArrayLike, title: str = "Code usage", *, ax: None = None
) -> "Figure": ...


@overload
def code_usage(counts: npt.ArrayLike, title: str = "Code usage", *, ax: "Axes") -> None: ...


def code_usage(
    counts: npt.ArrayLike, title: str = "Code usage", *, ax: Optional["Axes"] = None
) -> Optional["Figure"]:
    """Plot a code histogram: the share of positions per code index, and the codes sorted by use.

    Args:
        counts: ``[K]`` non-negative counts (e.g. :meth:`brainvq.Model.code_usage`).
        title: figure title.
        ax: None for a new figure with both panels; an ``Axes`` to draw the per-code panel into
            (titled with ``title`` and the number of codes used).

    Returns:
        The new figure, or None when ``ax`` is given.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError("counts must be one-dimensional [K], got shape %s" % (c.shape,))
    total = c.sum()
    p = c / total if total > 0 else c
    heading = "%s: %d of %d codes used" % (title, int((c > 0).sum()), c.size)
    if ax is not None:
        _code_bars(_check_ax(ax), p)
        ax.set_title(heading)
        return None
    fig, axes = _subplots(1, 2, (11, 3.5))
    left, right = axes[0]
    _code_bars(left, p)
    right.plot(np.arange(1, c.size + 1), np.sort(p)[::-1], drawstyle="steps-mid")
    right.set_xlabel("codes, most used first")
    right.set_ylabel("share of positions")
    right.set_yscale("log" if (p > 0).any() else "linear")
    fig.suptitle(heading)
    return fig


def _code_bars(ax: "Axes", p: npt.NDArray[np.float64]) -> None:
    ax.bar(np.arange(p.size), p, width=1.0)
    ax.set_xlabel("code index k")
    ax.set_ylabel("share of positions")
    ax.set_xlim(-0.5, p.size - 0.5)


@overload
def image_grid(
    images: ImageArray,
    titles: Optional[Sequence[str]] = None,
    ncols: int = 8,
    size: float = 1.6,
    *,
    ax: None = None,
) -> "Figure": ...


@overload
def image_grid(
    images: ImageArray,
    titles: Optional[Sequence[str]] = None,
    ncols: int = 8,
    size: float = 1.6,
    *,
    ax: "Axes",
) -> None: ...


def image_grid(
    images: ImageArray,
    titles: Optional[Sequence[str]] = None,
    ncols: int = 8,
    size: float = 1.6,
    *,
    ax: Optional["Axes"] = None,
) -> Optional["Figure"]:
    """Show images in a grid (e.g. what single codes decode to).

    Args:
        images: ``[N, H, W]``, ``[N, 1, H, W]`` or ``[H, W]`` in [0, 1] (or uint8).
        titles: optional title per image.
        ncols: images per row.
        size: inches per image (new figure only).
        ax: None for a new figure (one panel per image); an ``Axes`` to draw the grid into as one
            picture, each title below its image.

    Returns:
        The new figure, or None when ``ax`` is given.
    """
    a = as_images(images, "images").pixels
    n = a.shape[0]
    ncols = max(1, min(int(ncols), n))
    labels = [str(titles[i]) if titles is not None and i < len(titles) else None for i in range(n)]
    if ax is not None:
        _show_mosaic(_check_ax(ax), a, ncols, labels)
        return None
    nrows = int(math.ceil(n / ncols))
    fig, axes = _subplots(nrows, ncols, (size * ncols, size * nrows + 0.3))
    for i, cell in enumerate(axes.ravel()):
        cell.set_xticks([])
        cell.set_yticks([])
        if i >= n:
            cell.axis("off")
            continue
        cell.imshow(a[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        if labels[i]:
            cell.set_title(labels[i], fontsize=8)
    return fig
